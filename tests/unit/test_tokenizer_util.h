// Helpers shared by the tokenizer tests: fixture paths and JSON fixtures -> VocabData.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace tern::test {

inline std::string tokenizer_fixture(const std::string& name) {
  return std::string(TERN_FIXTURES_DIR) + "/tokenizer/" + name;
}

inline nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

inline std::vector<Case> load_cases(const nlohmann::json& j) {
  std::vector<Case> out;
  for (const auto& c : j.at("cases")) out.push_back({c.at("text"), c.at("ids")});
  return out;
}

// LLaMA-3 vocabulary from llama3_reference.mjs output. The subset form lists [id, text] pairs;
// ids it leaves out get texts with a raw space, which no byte-mapped word can ever equal, so
// they are unreachable (see the script for why the subset is exact on its corpus).
inline VocabData llama3_vocab_from_json(const nlohmann::json& j, const std::string& pre) {
  VocabData v;
  v.kind = "gpt2";
  v.pre = pre;
  const int32_t first_special = j.at("first_special");
  if (j.at("format") == "tern-llama3-vocab-subset") {
    const int32_t n = j.at("n_vocab");
    v.tokens.resize(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) v.tokens[i] = "[absent " + std::to_string(i) + "]";
    for (const auto& p : j.at("tokens")) v.tokens.at(p.at(0).get<size_t>()) = p.at(1);
  } else {
    v.tokens = j.at("tokens").get<std::vector<std::string>>();
  }
  v.merges = j.at("merges").get<std::vector<std::string>>();
  v.token_types.assign(v.tokens.size(), static_cast<int32_t>(TokenType::kNormal));
  for (size_t i = static_cast<size_t>(first_special); i < v.tokens.size(); ++i)
    v.token_types[i] = static_cast<int32_t>(TokenType::kControl);
  v.bos_id = first_special;      // <|begin_of_text|>
  v.eos_id = first_special + 1;  // <|end_of_text|>
  return v;
}

inline VocabData spm_vocab_from_json(const nlohmann::json& j) {
  VocabData v;
  v.kind = "llama";
  for (const auto& p : j.at("pieces")) {
    v.tokens.push_back(p.at(0));
    v.scores.push_back(p.at(1));
    v.token_types.push_back(p.at(2));
  }
  v.unk_id = j.at("unk_id");
  v.bos_id = j.at("bos_id");
  v.eos_id = j.at("eos_id");
  return v;
}

}  // namespace tern::test
