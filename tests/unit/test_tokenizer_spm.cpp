// SentencePiece-style BPE ("llama" model) against Google's sentencepiece: a 1000-piece BPE
// model trained by tools/tokenizer/spm_reference.py, with the ids sentencepiece gave.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "test_tokenizer_util.h"
#include "tokenizer/tokenizer.h"

namespace tern {
namespace {

std::unique_ptr<Tokenizer> spm_tokenizer() {
  return Tokenizer::from_vocab(
      test::spm_vocab_from_json(test::load_json(test::tokenizer_fixture("spm_bpe1000.json"))));
}

TEST(TokenizerSpm, MatchesSentencePiece) {
  const auto cases = test::load_cases(test::load_json(test::tokenizer_fixture("spm_bpe1000.json")));
  ASSERT_GE(cases.size(), 10u);
  auto tok = spm_tokenizer();
  EXPECT_EQ(tok->kind(), "llama");
  for (const auto& c : cases) {
    EXPECT_EQ(tok->encode(c.text, false, false), c.ids) << "text: \"" << c.text << "\"";
    // Identity normalisation + byte fallback: decoding gives the text back.
    EXPECT_EQ(tok->decode(c.ids), c.text) << "text: \"" << c.text << "\"";
  }
}

TEST(TokenizerSpm, BosAndSpecials) {
  auto tok = spm_tokenizer();
  EXPECT_EQ(tok->bos(), 1);
  EXPECT_EQ(tok->eos(), 2);
  EXPECT_TRUE(tok->is_eog(2));
  const auto plain = tok->encode("hello", false, false);
  auto with_bos = tok->encode("hello", true, false);
  ASSERT_EQ(with_bos.size(), plain.size() + 1);
  EXPECT_EQ(with_bos[0], 1);
  // decode strips the space prefix after BOS too
  EXPECT_EQ(tok->decode(with_bos), "hello");
  // "</s>" becomes EOS only with parse_special, and the text after a special token gets the
  // space prefix again (as llama.cpp does).
  const auto ids = tok->encode("a</s>b", false, true);
  std::vector<int32_t> expect = tok->encode("a", false, false);
  expect.push_back(2);
  for (int32_t id : tok->encode("b", false, false)) expect.push_back(id);
  EXPECT_EQ(ids, expect);
  const auto no_special = tok->encode("a</s>b", false, false);
  EXPECT_EQ(std::find(no_special.begin(), no_special.end(), 2), no_special.end());
}

TEST(TokenizerSpm, ByteFallbackRoundTripsArbitraryBytes) {
  auto tok = spm_tokenizer();
  std::string all;
  for (int b = 1; b < 256; ++b) all += static_cast<char>(b);  // invalid UTF-8 included
  const auto ids = tok->encode(all, false, false);
  EXPECT_EQ(tok->decode(ids), all);
}

}  // namespace
}  // namespace tern
