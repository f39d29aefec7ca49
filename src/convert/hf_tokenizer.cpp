#include "convert/hf_tokenizer.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include "convert/json_errors.h"
#include "core/error.h"
#include "core/mmap.h"
#include "gguf/gguf.h"
#include "tokenizer/pretokenize.h"

namespace tern::convert {

namespace fs = std::filesystem;
using json = nlohmann::json;

json read_json_file(const std::string& path, bool required) {
  if (!fs::exists(path)) {
    if (required) fail(path, ": file is missing");
    return json();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open");
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail(path, ": not valid JSON (damaged or incomplete download?)");
  return j;
}

namespace {

constexpr int32_t kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5;

// Collects every Split regex of a pre_tokenizer (a Sequence or a single one).
void collect_split_regexes(const json& pt, std::vector<std::string>& out, bool& byte_level_regex) {
  if (!pt.is_object()) return;
  const std::string type = pt.value("type", "");
  if (type == "Sequence" && pt.contains("pretokenizers") && pt["pretokenizers"].is_array()) {
    for (const json& p : pt["pretokenizers"]) collect_split_regexes(p, out, byte_level_regex);
  } else if (type == "Split" && pt.contains("pattern") && pt["pattern"].is_object()) {
    const json& pat = pt["pattern"];
    if (pat.contains("Regex") && pat["Regex"].is_string()) out.push_back(pat["Regex"].get<std::string>());
    else if (pat.contains("String") && pat["String"].is_string()) out.push_back("string:" + pat["String"].get<std::string>());
  } else if (type == "ByteLevel") {
    if (pt.value("use_regex", true)) byte_level_regex = true;
  }
}

bool is_byte_level(const json& tj) {
  auto has_bl = [](const json& j) {
    if (!j.is_object()) return false;
    if (j.value("type", "") == "ByteLevel") return true;
    if (j.contains("pretokenizers") && j["pretokenizers"].is_array()) {
      for (const json& p : j["pretokenizers"]) {
        if (p.is_object() && p.value("type", "") == "ByteLevel") return true;
      }
    }
    return false;
  };
  return (tj.contains("pre_tokenizer") && has_bl(tj["pre_tokenizer"])) ||
         (tj.contains("decoder") && has_bl(tj["decoder"]));
}

std::string detect_pre(const json& tj, const std::string& path) {
  std::vector<std::string> regexes;
  bool bl_regex = false;
  if (tj.contains("pre_tokenizer")) collect_split_regexes(tj["pre_tokenizer"], regexes, bl_regex);
  if (regexes.size() == 1 && regexes[0] == kRegexLlama3 && !bl_regex) return "llama-bpe";
  if (regexes.empty() && bl_regex) return "gpt2";
  if (regexes.size() == 1 && regexes[0] == kRegexGpt2 && !bl_regex) return "gpt2";
  std::string shown = regexes.empty() ? std::string("none") : regexes[0].substr(0, 60);
  fail(path, ": pre-tokenizer (split regex: ", shown, regexes.size() > 1 ? ", ..." : "",
       ") is not one tern implements (LLaMA-3 or GPT-2 regex); pass --vocab-pre llama-bpe or --vocab-pre gpt2 "
       "if you know it is equivalent");
}

std::string token_text(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
  return "";
}

// Places token `text` at `id`, growing the table with holes (empty strings) as needed.
void place(VocabData& v, std::vector<bool>& set, int64_t id, const std::string& text, int32_t type, float score,
           const std::string& path) {
  if (id < 0 || id > (int64_t(1) << 24)) fail(path, ": token id ", id, " is out of range");
  const size_t i = static_cast<size_t>(id);
  if (v.tokens.size() <= i) {
    v.tokens.resize(i + 1);
    v.scores.resize(i + 1, 0.0f);
    v.token_types.resize(i + 1, kNormal);
    set.resize(i + 1, false);
  }
  v.tokens[i] = text;
  v.scores[i] = score;
  v.token_types[i] = type;
  set[i] = true;
}

// Fills holes and pads to n_vocab with "[PAD<id>]" UNUSED tokens (llama.cpp's convention).
void fill_holes(VocabData& v, std::vector<bool>& set, int64_t n_vocab, const std::string& path) {
  if (n_vocab > 0 && static_cast<int64_t>(v.tokens.size()) > n_vocab) {
    fail(path, ": the tokenizer has ", v.tokens.size(), " tokens but config.json vocab_size is ", n_vocab,
         ": tokenizer and model do not belong together");
  }
  const size_t n = std::max(v.tokens.size(), static_cast<size_t>(std::max<int64_t>(n_vocab, 0)));
  v.tokens.resize(n);
  v.scores.resize(n, 0.0f);
  v.token_types.resize(n, kNormal);
  set.resize(n, false);
  for (size_t i = 0; i < n; ++i) {
    if (set[i]) continue;
    v.tokens[i] = "[PAD" + std::to_string(i) + "]";
    v.scores[i] = -1000.0f;
    v.token_types[i] = kUnused;
  }
}

int32_t find_id(const VocabData& v, const std::string& text) {
  if (text.empty()) return -1;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.tokens[i] == text) return static_cast<int32_t>(i);
  }
  return -1;
}

}  // namespace

namespace {

VocabData vocab_from_tokenizer_json_impl(const json& tj, const std::string& path, const std::string& pre_override) {
  if (!tj.is_object() || !tj.contains("model") || !tj["model"].is_object()) fail(path, ": no \"model\" object");
  const json& m = tj["model"];
  const std::string type = m.value("type", "BPE");
  if (type != "BPE") fail(path, ": tokenizer model type ", type, " is not supported (tern converts BPE tokenizers)");
  if (!is_byte_level(tj)) {
    fail(path, ": not a byte-level BPE tokenizer (SentencePiece-style tokenizer.json): convert from tokenizer.model instead");
  }
  VocabData v;
  v.kind = "gpt2";
  v.pre = pre_override.empty() ? detect_pre(tj, path) : pre_override;
  if (!m.contains("vocab") || !m["vocab"].is_object()) fail(path, ": model.vocab is missing");
  std::vector<bool> set;
  for (auto it = m["vocab"].begin(); it != m["vocab"].end(); ++it) {
    if (!it->is_number_integer()) fail(path, ": model.vocab entry for a token is not an integer id");
    const int64_t id = it->get<int64_t>();
    if (id >= 0 && static_cast<size_t>(id) < set.size() && set[static_cast<size_t>(id)]) {
      fail(path, ": token id ", id, " appears twice in model.vocab");
    }
    place(v, set, id, it.key(), kNormal, 0.0f, path);
  }
  if (m.contains("merges") && m["merges"].is_array()) {
    v.merges.reserve(m["merges"].size());
    for (const json& mg : m["merges"]) {
      if (mg.is_string()) {
        v.merges.push_back(mg.get<std::string>());
      } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {
        v.merges.push_back(mg[0].get<std::string>() + " " + mg[1].get<std::string>());
      } else {
        fail(path, ": model.merges entry ", v.merges.size(), " is neither \"a b\" nor [a, b]");
      }
    }
  }
  if (tj.contains("added_tokens") && tj["added_tokens"].is_array()) {
    for (const json& a : tj["added_tokens"]) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content")) {
        fail(path, ": an added_tokens entry lacks id or content");
      }
      place(v, set, a["id"].get<int64_t>(), token_text(a), a.value("special", false) ? kControl : kUserDefined,
            0.0f, path);
    }
  }
  // Keep holes marked so read_hf_vocab can pad; here fill them for standalone use.
  fill_holes(v, set, 0, path);
  return v;
}

}  // namespace

VocabData vocab_from_tokenizer_json(const json& tj, const std::string& path, const std::string& pre_override) {
  return json_errors_named(path, [&] { return vocab_from_tokenizer_json_impl(tj, path, pre_override); });
}

VocabData vocab_from_spm(const SpmModel& m, const std::string& path) {
  if (m.model_type != 2) {
    fail(path, ": SentencePiece model type ", m.model_type,
         m.model_type == 1 ? " (unigram)" : "", " is not supported: tern runs SentencePiece BPE models (LLaMA-2 style)");
  }
  VocabData v;
  v.kind = "llama";
  const int32_t n = static_cast<int32_t>(m.pieces.size());
  for (const auto& p : m.pieces) {
    v.tokens.push_back(p.text);
    v.scores.push_back(p.score);
    v.token_types.push_back(p.type);
  }
  auto id_or_none = [n](int32_t id) { return id >= 0 && id < n ? id : -1; };
  v.bos_id = id_or_none(m.bos_id);
  v.eos_id = id_or_none(m.eos_id);
  v.unk_id = id_or_none(m.unk_id);
  v.pad_id = id_or_none(m.pad_id);
  v.add_space_prefix = m.add_dummy_prefix;
  v.add_bos = true;
  (void)path;
  return v;
}

namespace {

VocabData read_hf_vocab_impl(const std::string& dir, const json& config, const HfVocabOptions& opt) {
  const fs::path d(dir);
  const std::string tj_path = (d / "tokenizer.json").string();
  const std::string sp_path = (d / "tokenizer.model").string();
  const json tc = read_json_file((d / "tokenizer_config.json").string(), false);
  VocabData v;
  std::string src;
  json tj = read_json_file(tj_path, false);
  const bool bpe_json = !tj.is_null() && is_byte_level(tj);
  if (bpe_json) {
    v = vocab_from_tokenizer_json(tj, tj_path, opt.pre_override);
    src = tj_path;
  } else if (fs::exists(sp_path)) {
    MappedFile mf(sp_path);
    v = vocab_from_spm(parse_spm_model(mf.data(), mf.size(), sp_path), sp_path);
    src = sp_path;
  } else if (!tj.is_null()) {
    v = vocab_from_tokenizer_json(tj, tj_path, opt.pre_override);  // throws with the reason
  } else {
    fail(dir, ": no tokenizer.json or tokenizer.model: the checkpoint has no tokenizer");
  }

  // Added tokens beyond the base vocabulary (SentencePiece models list them in
  // tokenizer_config.json added_tokens_decoder or added_tokens.json).
  std::vector<bool> set(v.tokens.size(), true);
  auto add_extra = [&](int64_t id, const std::string& text, bool special) {
    if (id < static_cast<int64_t>(v.tokens.size()) && id >= 0 && set[static_cast<size_t>(id)]) {
      if (v.tokens[static_cast<size_t>(id)] != text && v.kind == "llama") {
        fail(dir, ": added token ", id, " '", text, "' clashes with piece '", v.tokens[static_cast<size_t>(id)], "'");
      }
      return;
    }
    place(v, set, id, text, special ? kControl : kUserDefined, 0.0f, dir);
  };
  if (tc.is_object() && tc.contains("added_tokens_decoder") && tc["added_tokens_decoder"].is_object()) {
    for (auto it = tc["added_tokens_decoder"].begin(); it != tc["added_tokens_decoder"].end(); ++it) {
      int64_t id = 0;
      try {
        id = std::stoll(it.key());
      } catch (...) {
        fail(dir, "/tokenizer_config.json: added_tokens_decoder key '", it.key(), "' is not an id");
      }
      add_extra(id, token_text(*it), it->is_object() ? it->value("special", false) : false);
    }
  }
  const json at = read_json_file((d / "added_tokens.json").string(), false);
  if (at.is_object()) {
    for (auto it = at.begin(); it != at.end(); ++it) {
      if (it->is_number_integer()) add_extra(it->get<int64_t>(), it.key(), true);
    }
  }
  fill_holes(v, set, opt.n_vocab, src.empty() ? dir : src);

  // Special ids: tokenizer_config names them by text; config.json by id.
  if (tc.is_object()) {
    if (tc.contains("bos_token")) {
      const int32_t id = find_id(v, token_text(tc["bos_token"]));
      if (id >= 0) v.bos_id = id;
    }
    if (tc.contains("eos_token")) {
      const int32_t id = find_id(v, token_text(tc["eos_token"]));
      if (id >= 0) v.eos_id = id;
    }
    if (tc.contains("pad_token")) {
      const int32_t id = find_id(v, token_text(tc["pad_token"]));
      if (id >= 0) v.pad_id = id;
    }
    if (tc.contains("add_bos_token") && tc["add_bos_token"].is_boolean()) v.add_bos = tc["add_bos_token"].get<bool>();
    if (tc.contains("chat_template")) {
      const json& ct = tc["chat_template"];
      if (ct.is_string()) {
        v.chat_template = ct.get<std::string>();
      } else if (ct.is_array()) {  // [{name, template}, ...]: the default one
        for (const json& e : ct) {
          if (e.is_object() && e.value("name", "") == "default" && e.contains("template") && e["template"].is_string()) {
            v.chat_template = e["template"].get<std::string>();
          }
        }
      }
    }
  }
  if (v.chat_template.empty() && fs::exists(d / "chat_template.jinja")) {
    std::ifstream in(d / "chat_template.jinja", std::ios::binary);
    v.chat_template.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const int32_t nv = static_cast<int32_t>(v.tokens.size());
  auto valid = [nv](const json& j) { return j.is_number_integer() && j.get<int64_t>() >= 0 && j.get<int64_t>() < nv; };
  if (v.bos_id < 0 && config.contains("bos_token_id") && valid(config["bos_token_id"])) {
    v.bos_id = config["bos_token_id"].get<int32_t>();
  }
  std::vector<int32_t> eos_ids;
  const json gc = read_json_file((d / "generation_config.json").string(), false);
  for (const json* src_j : {&gc, &config}) {
    if (!src_j->is_object() || !src_j->contains("eos_token_id")) continue;
    const json& e = (*src_j)["eos_token_id"];
    if (valid(e)) eos_ids.push_back(e.get<int32_t>());
    if (e.is_array()) {
      for (const json& x : e) {
        if (valid(x)) eos_ids.push_back(x.get<int32_t>());
      }
    }
  }
  if (v.eos_id < 0 && !eos_ids.empty()) v.eos_id = eos_ids[0];
  // A second end-of-generation id (LLaMA-3 <|eot_id|>) becomes the EOT token.
  for (int32_t id : eos_ids) {
    if (id != v.eos_id && v.eot_id < 0) v.eot_id = id;
  }
  return v;
}

}  // namespace

VocabData read_hf_vocab(const std::string& dir, const json& config, const HfVocabOptions& opt) {
  return json_errors_named(dir + " (tokenizer files)", [&] { return read_hf_vocab_impl(dir, config, opt); });
}

void write_vocab(gguf::Writer& w, const VocabData& v) {
  w.set_string("tokenizer.ggml.model", v.kind);
  if (!v.pre.empty()) w.set_string("tokenizer.ggml.pre", v.pre);
  w.set_str_array("tokenizer.ggml.tokens", v.tokens);
  w.set_f32_array("tokenizer.ggml.scores", v.scores.empty() ? std::vector<float>(v.tokens.size(), 0.0f) : v.scores);
  w.set_i32_array("tokenizer.ggml.token_type", v.token_types);
  if (v.kind == "gpt2") w.set_str_array("tokenizer.ggml.merges", v.merges);
  auto id = [&](const char* key, int32_t x) {
    if (x >= 0) w.set_u32(key, static_cast<uint32_t>(x));
  };
  id("tokenizer.ggml.bos_token_id", v.bos_id);
  id("tokenizer.ggml.eos_token_id", v.eos_id);
  id("tokenizer.ggml.eot_token_id", v.eot_id);
  id("tokenizer.ggml.unknown_token_id", v.unk_id);
  id("tokenizer.ggml.padding_token_id", v.pad_id);
  w.set_bool("tokenizer.ggml.add_bos_token", v.add_bos);
  if (v.kind == "llama") w.set_bool("tokenizer.ggml.add_space_prefix", v.add_space_prefix);
  if (!v.chat_template.empty()) w.set_string("tokenizer.chat_template", v.chat_template);
}

}  // namespace tern::convert
