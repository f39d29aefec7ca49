// LLaMA-3 byte-level BPE against an independent reference: the npm package llama3-tokenizer-js
// (Meta's LLaMA-3 vocabulary and merges, its own JS BPE). Fixtures come from
// tools/tokenizer/llama3_reference.mjs.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "test_tokenizer_util.h"
#include "tokenizer/pretokenize.h"
#include "tokenizer/tokenizer.h"

namespace tern {
namespace {

using test::load_json;

std::unique_ptr<Tokenizer> subset_tokenizer(const std::string& pre) {
  return Tokenizer::from_vocab(
      test::llama3_vocab_from_json(load_json(test::tokenizer_fixture("llama3_subset.json")), pre));
}

void expect_matches_reference(const Tokenizer& tok, const std::vector<test::Case>& cases) {
  for (const auto& c : cases) {
    EXPECT_EQ(tok.encode(c.text, /*add_bos=*/false, /*parse_special=*/true), c.ids)
        << "text: \"" << c.text << "\"";
    EXPECT_EQ(tok.decode(c.ids, /*show_special=*/true), c.text);
  }
}

TEST(TokenizerLlama3, MatchesReferenceOnCorpus) {
  const auto cases = test::load_cases(load_json(test::tokenizer_fixture("llama3_corpus.json")));
  ASSERT_GE(cases.size(), 20u);
  auto tok = subset_tokenizer("llama-bpe");
  EXPECT_EQ(tok->pre(), "llama3");
  expect_matches_reference(*tok, cases);
}

TEST(TokenizerLlama3, InfersLlama3PreWhenAbsent) {
  // bitnet.cpp's official 2B-4T GGUF has no tokenizer.ggml.pre.
  auto tok = subset_tokenizer("");
  EXPECT_EQ(tok->pre(), "llama3");
  expect_matches_reference(
      *tok, test::load_cases(load_json(test::tokenizer_fixture("llama3_corpus.json"))));
}

TEST(TokenizerLlama3, Gpt2PreSplitsDigitsDifferently) {
  // LLaMA-3 groups digits by three, GPT-2 keeps the run: the pre value must take effect.
  auto l3 = subset_tokenizer("llama-bpe");
  auto g2 = subset_tokenizer("gpt2");
  EXPECT_EQ(g2->pre(), "gpt2");
  const std::string text =
      "Numbers: 1234567 and 3.14159, 2024-01-01, 1,000,000 and 00012 x42y 9999999999";
  EXPECT_NE(l3->encode(text, false, false), g2->encode(text, false, false));
  EXPECT_EQ(g2->decode(g2->encode(text, false, false)), text);
}

TEST(TokenizerLlama3, SpecialTokensAndEog) {
  auto tok = subset_tokenizer("");
  EXPECT_EQ(tok->bos(), 128000);
  EXPECT_EQ(tok->eos(), 128001);
  EXPECT_EQ(tok->eot(), 128009);  // found by text: the file names no eot_token_id
  EXPECT_TRUE(tok->is_eog(128001));
  EXPECT_TRUE(tok->is_eog(128009));
  EXPECT_FALSE(tok->is_eog(128000));
  EXPECT_FALSE(tok->is_eog(9906));
  const std::string text = "<|begin_of_text|>User: hi<|eot_id|>";
  EXPECT_EQ(tok->encode(text, false, true).front(), 128000);
  EXPECT_EQ(tok->encode(text, false, true).back(), 128009);
  // Without parse_special the markers are plain text.
  const auto plain = tok->encode(text, false, false);
  for (int32_t id : plain) EXPECT_LT(id, 128000);
  EXPECT_EQ(tok->decode(plain), text);
  // Control tokens decode to nothing unless asked.
  EXPECT_EQ(tok->decode({128000, 9906, 128009}), "Hello");
  EXPECT_EQ(tok->decode({128000, 9906, 128009}, true), "<|begin_of_text|>Hello<|eot_id|>");
  // add_bos
  EXPECT_EQ(tok->encode("Hello world!", true, true), (std::vector<int32_t>{128000, 9906, 1917, 0}));
}

// The whole vocabulary, exported at test time by the reference script, on the corpus and on a
// few of this repository's own files (prose, markdown and C++). Skipped without node_modules.
TEST(TokenizerLlama3, MatchesReferenceFullVocab) {
  namespace fs = std::filesystem;
  const fs::path src(TERN_SOURCE_DIR);
  const fs::path tools = src / "tools" / "tokenizer";
  if (!fs::exists(tools / "node_modules" / "llama3-tokenizer-js") ||
      std::system("node --version > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "node or tools/tokenizer/node_modules missing (run: npm ci --prefix "
                    "tools/tokenizer)";
  const fs::path out = fs::temp_directory_path() / "tern_llama3_full_vocab.json";
  std::string cmd =
      "cd '" + tools.string() + "' && node llama3_reference.mjs full '" + out.string() + "'";
  for (const char* f :
       {"docs/TOKENIZER.md", "src/tokenizer/bpe.cpp", "tools/tokenizer/llama3_reference.mjs"})
    if (fs::exists(src / f)) cmd += " '" + (src / f).string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const auto j = load_json(out.string());
  fs::remove(out);
  auto tok = Tokenizer::from_vocab(test::llama3_vocab_from_json(j, ""));
  EXPECT_EQ(tok->n_vocab(), 128256);
  EXPECT_EQ(tok->pre(), "llama3");
  expect_matches_reference(*tok, test::load_cases(j));
  expect_matches_reference(
      *tok, test::load_cases(load_json(test::tokenizer_fixture("llama3_corpus.json"))));
}

// The split regexes themselves, on hand-worked examples (GPT-2's encoder.py regex and
// LLaMA-3's tokenizer.json regex).
TEST(TokenizerPreTokenizer, Llama3Regex) {
  PreTokenizer pt(kRegexLlama3);
  using V = std::vector<std::string_view>;
  EXPECT_EQ(pt.split("Hello world's 1234567"),
            (V{"Hello", " world", "'s", " ", "123", "456", "7"}));
  EXPECT_EQ(pt.split("I'M   x\n\n y"), (V{"I", "'M", "  ", " x", "\n\n", " y"}));
  EXPECT_EQ(pt.split("a+=b;\n"), (V{"a", "+=", "b", ";\n"}));
  EXPECT_EQ(pt.split("¿Qué?"), (V{"¿Qué", "?"}));
  EXPECT_TRUE(pt.split("").empty());
}

TEST(TokenizerPreTokenizer, Gpt2Regex) {
  PreTokenizer pt(kRegexGpt2);
  using V = std::vector<std::string_view>;
  EXPECT_EQ(pt.split("Hello world's 1234567"), (V{"Hello", " world", "'s", " 1234567"}));
  EXPECT_EQ(pt.split("I'M   x"), (V{"I", "'", "M", "  ", " x"}));  // GPT-2 is case-sensitive
}

TEST(TokenizerPreTokenizer, InvalidUtf8BecomesOwnWords) {
  PreTokenizer pt(kRegexLlama3);
  const std::string text = std::string("ab\xff\xfe") + "cd \xc3(";
  std::string joined;
  for (auto w : pt.split(text)) joined += w;
  EXPECT_EQ(joined, text);  // covers every byte, in order
}

}  // namespace
}  // namespace tern
