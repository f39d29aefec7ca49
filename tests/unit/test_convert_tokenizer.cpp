// Tokenizer conversion: tokenizer.json (byte-level BPE) and tokenizer.model (SentencePiece)
// give tern tokenizers that produce the reference ids (tokenizer_ref.json: Python sentencepiece
// for SPM, an independent ASCII BPE encoder for BPE), and the BPE vocabulary converted from
// tokenizer.json equals the one the golden GGUF fixtures carry.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/json_sweep.h"
#include "convert/hf_tokenizer.h"
#include "core/error.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace tern::convert {
namespace {

const std::string kFix = std::string(TERN_FIXTURES_DIR);
using json = nlohmann::json;

json load(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

void expect_reference_ids(const std::string& dir, const Tokenizer& tok) {
  const json ref = load(dir + "/tokenizer_ref.json");
  ASSERT_GE(ref["texts"].size(), 10u);
  for (size_t i = 0; i < ref["texts"].size(); ++i) {
    const std::string text = ref["texts"][i].get<std::string>();
    const std::vector<int32_t> want = ref["ids"][i].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode(text, /*add_bos=*/false, /*parse_special=*/false), want) << dir << " text '" << text << "'";
  }
}

TEST(ConvertTokenizer, TokenizerJsonEqualsGoldenGgufVocab) {
  const std::string dir = kFix + "/golden/hf_bitnet_tiny";
  const VocabData v = read_hf_vocab(dir, load(dir + "/config.json"), HfVocabOptions{512, ""});
  auto g = gguf::File::open(kFix + "/golden/bitnet_tiny_i2_s.gguf");
  EXPECT_EQ(v.kind, "gpt2");
  EXPECT_EQ(v.pre, "llama-bpe");
  EXPECT_EQ(v.tokens, g->get_str_array("tokenizer.ggml.tokens"));
  EXPECT_EQ(v.merges, g->get_str_array("tokenizer.ggml.merges"));
  EXPECT_EQ(v.token_types, g->get_i32_array("tokenizer.ggml.token_type"));
  EXPECT_EQ(v.bos_id, 509);
  EXPECT_EQ(v.eos_id, 510);
  EXPECT_EQ(v.eot_id, 511);  // generation_config.json eos_token_id [510, 511]
  EXPECT_TRUE(v.add_bos);
  EXPECT_NE(v.chat_template.find("Assistant: "), std::string::npos);

  auto tok = Tokenizer::from_vocab(v);
  auto tok_gguf = Tokenizer::from_gguf(*g);
  expect_reference_ids(kFix + "/convert/hf_bitnet_bf16", *tok);
  const json ref = load(kFix + "/convert/hf_bitnet_bf16/tokenizer_ref.json");
  for (const auto& t : ref["texts"]) {
    EXPECT_EQ(tok->encode(t.get<std::string>(), true, true), tok_gguf->encode(t.get<std::string>(), true, true));
  }
}

TEST(ConvertTokenizer, SentencePieceModelMatchesPythonSentencepiece) {
  const std::string dir = kFix + "/convert/hf_1bitllm";
  const json cfg = load(dir + "/config.json");
  const VocabData v = read_hf_vocab(dir, cfg, HfVocabOptions{cfg["vocab_size"].get<int64_t>(), ""});
  ASSERT_EQ(v.tokens.size(), 386u);
  EXPECT_EQ(v.kind, "llama");
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_EQ(v.unk_id, 0);
  EXPECT_EQ(v.tokens[384], "<pad>");  // tokenizer_config.json added_tokens_decoder
  EXPECT_EQ(v.token_types[384], 3);
  EXPECT_EQ(v.pad_id, 384);
  EXPECT_EQ(v.tokens[385], "[PAD385]");  // filled up to config.json vocab_size
  EXPECT_EQ(v.token_types[385], 5);
  EXPECT_TRUE(v.add_space_prefix);
  auto tok = Tokenizer::from_vocab(v);
  expect_reference_ids(dir, *tok);
  // Decoding gives the text back (ASCII).
  const std::string s = "Hello world, numbers 12 345.";
  EXPECT_EQ(tok->decode(tok->encode(s, true, false)), s);
}

TEST(ConvertTokenizer, BpeFixturesShareTheReference) {
  for (const char* d : {"/convert/hf_llama_bitnet"}) {
    const std::string dir = kFix + d;
    const VocabData v = read_hf_vocab(dir, load(dir + "/config.json"), HfVocabOptions{512, ""});
    expect_reference_ids(dir, *Tokenizer::from_vocab(v));
  }
}

TEST(ConvertTokenizer, UnknownPreTokenizerNamesTheFix) {
  json tj = load(kFix + "/golden/hf_bitnet_tiny/tokenizer.json");
  tj["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\w+";
  try {
    vocab_from_tokenizer_json(tj, "tokenizer.json", "");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--vocab-pre"), std::string::npos) << e.what();
  }
  EXPECT_EQ(vocab_from_tokenizer_json(tj, "tokenizer.json", "gpt2").pre, "gpt2");
}

// Encodes and decodes texts with special tokens, empty text and invalid UTF-8.
void exercise(const Tokenizer& tok) {
  for (const char* text : {"Hello world <|eot_id|> 123", "", " \n\t", "\xff\xfe bad utf-8"}) {
    const std::vector<int32_t> ids = tok.encode(text, true, true);
    (void)tok.decode(ids);
  }
}

struct SweepCount {
  int worked = 0, refused = 0;
  std::vector<std::string> bad;
  std::string report() const {
    std::string r;
    for (const auto& b : bad) r += "  " + b + "\n";
    return r;
  }
};

// tokenizer.json is untrusted input. Every sampled node of the fixture's tree is replaced in turn
// by a value of each JSON type and, in objects, removed. Each variant must give a vocabulary
// whose tokenizer encodes and decodes text, or fail with tern::Error: never another exception
// (nlohmann's type errors included) or a crash.
TEST(ConvertTokenizer, EveryEditedTokenizerJsonWorksOrIsRefusedWithAnError) {
  const json orig = load(kFix + "/convert/hf_bitnet_bf16/tokenizer.json");
  ASSERT_GT(tern::testing::sampled_nodes(orig).size(), 40u);
  SweepCount c;
  tern::testing::for_each_json_edit(orig, [&](const std::string& what, const json& tj) {
    try {
      exercise(*Tokenizer::from_vocab(vocab_from_tokenizer_json(tj, "tokenizer.json", "")));
      ++c.worked;
    } catch (const Error&) {
      ++c.refused;
    } catch (const std::exception& e) {
      c.bad.push_back(what + ": " + typeid(e).name() + ": " + e.what());
    }
  });
  EXPECT_TRUE(c.bad.empty()) << c.bad.size() << " edited tokenizer.json files misbehaved:\n" << c.report();
  EXPECT_GT(c.worked, 50);
  EXPECT_GT(c.refused, 50);
}

// The same for tokenizer_config.json (added tokens, BOS/EOS, chat template) read beside it.
TEST(ConvertTokenizer, EveryEditedTokenizerConfigWorksOrIsRefusedWithAnError) {
  const std::string src = kFix + "/convert/hf_bitnet_bf16";
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("tern_tcsweep_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(src + "/tokenizer.json", dir / "tokenizer.json", std::filesystem::copy_options::overwrite_existing);
  const json config = load(src + "/config.json");
  const json orig = load(src + "/tokenizer_config.json");
  SweepCount c;
  tern::testing::for_each_json_edit(orig, [&](const std::string& what, const json& tc) {
    std::ofstream(dir / "tokenizer_config.json") << tc.dump();
    try {
      exercise(*Tokenizer::from_vocab(read_hf_vocab(dir.string(), config, HfVocabOptions{512, ""})));
      ++c.worked;
    } catch (const Error&) {
      ++c.refused;
    } catch (const std::exception& e) {
      c.bad.push_back(what + ": " + typeid(e).name() + ": " + e.what());
    }
  });
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(c.bad.empty()) << c.bad.size() << " edited tokenizer_config.json files misbehaved:\n" << c.report();
  EXPECT_GT(c.worked, 20);
  EXPECT_GT(c.refused, 5);
}

}  // namespace
}  // namespace tern::convert
