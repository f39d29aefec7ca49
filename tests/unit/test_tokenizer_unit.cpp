// Tokenizer behaviour that needs no external reference: special-token splitting, BOS, EOG,
// round trips over arbitrary bytes, invalid UTF-8, Utf8Stream, validation errors and the
// synthetic vocabulary of `tern dummy`.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace tern {
namespace {

std::unique_ptr<Tokenizer> synthetic(int32_t n = 1000) {
  return Tokenizer::from_vocab(build_synthetic_vocab(n));
}

TEST(TokenizerSynthetic, ShapeAndSpecials) {
  for (int32_t n : {300, 301, 1000, 32000, 128256, 200000}) {
    const VocabData v = build_synthetic_vocab(n);
    ASSERT_EQ(static_cast<int32_t>(v.tokens.size()), n);
    EXPECT_EQ(v.tokens[n - 3], "<|begin_of_text|>");
    EXPECT_EQ(v.tokens[n - 2], "<|end_of_text|>");
    EXPECT_EQ(v.tokens[n - 1], "<|eot_id|>");
    EXPECT_EQ(v.bos_id, n - 3);
    EXPECT_EQ(v.eos_id, n - 2);
    EXPECT_EQ(v.eot_id, n - 1);
    EXPECT_EQ(v.token_types[n - 1], static_cast<int32_t>(TokenType::kControl));
    EXPECT_EQ(v.token_types[0], static_cast<int32_t>(TokenType::kNormal));
    EXPECT_EQ(v.kind, "gpt2");
    EXPECT_EQ(v.pre, "llama-bpe");
    EXPECT_TRUE(v.add_bos);
    EXPECT_FALSE(v.chat_template.empty());
    auto tok = Tokenizer::from_vocab(v);
    EXPECT_TRUE(tok->is_eog(n - 1));
    EXPECT_TRUE(tok->is_eog(n - 2));
  }
  EXPECT_THROW(build_synthetic_vocab(299), Error);
}

TEST(TokenizerSynthetic, Deterministic) {
  const VocabData a = build_synthetic_vocab(5000), b = build_synthetic_vocab(5000);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.merges, b.merges);
}

TEST(TokenizerSynthetic, MergesProduceWholeWords) {
  auto tok = synthetic(4000);
  for (const char* w : {" the", " and", " model", "Hello", " world"}) {
    const auto ids = tok->encode(w, false, false);
    ASSERT_EQ(ids.size(), 1u) << "'" << w << "'";
    EXPECT_EQ(tok->token_to_piece(ids[0]), w);
  }
  // Even the smallest vocabulary merges the most common word.
  auto small = synthetic(300);
  EXPECT_EQ(small->encode(" the", false, false).size(), 1u);
  EXPECT_LT(tok->encode("the model and the world", false, false).size(), 8u);
}

TEST(TokenizerSynthetic, RoundTripsText) {
  auto tok = synthetic(2000);
  for (const std::string text :
       {"Hello world, the model said: \"hi\"!", "  spaces\t\ttabs\n\nnewlines\r\n",
        "unicode: Café 日本語 Привет 😀👍🏽", "digits 1234567 3.14", ""}) {
    const auto ids = tok->encode(text, true, true);
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(ids[0], tok->bos());
    EXPECT_EQ(tok->decode(ids), text);
  }
}

TEST(TokenizerBpe, RoundTripsArbitraryBytes) {
  auto tok = synthetic(1000);
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 200; ++trial) {
    std::string s(rng() % 64, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
    const auto ids = tok->encode(s, false, false);
    EXPECT_EQ(tok->decode(ids), s) << "trial " << trial;
  }
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(tok->decode(tok->encode(all, false, true)), all);
}

TEST(TokenizerBpe, InvalidUtf8DoesNotCrash) {
  auto tok = synthetic(1000);
  for (const std::string& s : {std::string("\xff"), std::string("\xc3"), std::string("a\xe2\x82"),
                               std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80 x"),
                               std::string("\xc0\xaf the"), std::string(1000, '\x80')}) {
    EXPECT_EQ(tok->decode(tok->encode(s, true, true)), s);
  }
}

TEST(TokenizerBpe, LongInputs) {
  auto tok = synthetic(1000);
  const std::string spaces(100000, ' ');
  EXPECT_EQ(tok->decode(tok->encode(spaces, false, false)), spaces);
  std::string word(50000, 'a');
  EXPECT_EQ(tok->decode(tok->encode(word, false, false)), word);
}

TEST(TokenizerSpecial, SplitsLongestFirstAndOnlyWhenAsked) {
  VocabData v = build_synthetic_vocab(1000);
  // a user-defined token (always split) and two control tokens sharing a prefix
  v.tokens[700] = "<|x|>";
  v.token_types[700] = static_cast<int32_t>(TokenType::kControl);
  v.tokens[701] = "<|x|><|x|>";
  v.token_types[701] = static_cast<int32_t>(TokenType::kControl);
  v.tokens[702] = "[[tool]]";
  v.token_types[702] = static_cast<int32_t>(TokenType::kUserDefined);
  auto tok = Tokenizer::from_vocab(v);
  const auto ids = tok->encode("a<|x|><|x|><|x|>b[[tool]]", false, true);
  ASSERT_GE(ids.size(), 5u);
  EXPECT_EQ(ids[1], 701);
  EXPECT_EQ(ids[2], 700);
  EXPECT_EQ(ids.back(), 702);
  const auto plain = tok->encode("a<|x|>b[[tool]]", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 700), 0);
  EXPECT_EQ(plain.back(), 702);  // user-defined tokens split even without parse_special
  EXPECT_EQ(tok->decode(plain), "a<|x|>b[[tool]]");
  EXPECT_EQ(tok->token_to_piece(702), "[[tool]]");
  EXPECT_EQ(tok->token_to_piece(700), "");
  EXPECT_EQ(tok->token_to_piece(700, true), "<|x|>");
  EXPECT_EQ(tok->token_to_piece(-1), "");
  EXPECT_EQ(tok->token_to_piece(1 << 30), "");
}

TEST(TokenizerSpecial, EogIncludesKnownEndMarkers) {
  VocabData v = build_synthetic_vocab(1000);
  v.tokens[800] = "<|im_end|>";
  v.tokens[801] = "<|endoftext|>";
  v.tokens[802] = "<|im_start|>";
  v.eot_id = -1;  // eot found by text
  auto tok = Tokenizer::from_vocab(v);
  EXPECT_TRUE(tok->is_eog(800));
  EXPECT_TRUE(tok->is_eog(801));
  EXPECT_FALSE(tok->is_eog(802));
  EXPECT_TRUE(tok->is_eog(999));   // <|eot_id|>
  EXPECT_FALSE(tok->is_eog(997));  // BOS
}

TEST(TokenizerValidation, RejectsBadData) {
  const auto expect_error = [](VocabData v, const char* needle) {
    try {
      Tokenizer::from_vocab(std::move(v));
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  VocabData v = build_synthetic_vocab(300);
  VocabData bad = v;
  bad.kind = "wordpiece";
  expect_error(bad, "tokenizer.ggml.model");
  bad = v;
  bad.bos_id = 300;
  expect_error(bad, "bos_token_id");
  bad = v;
  bad.scores.pop_back();
  expect_error(bad, "tokenizer.ggml.scores");
  bad = v;
  bad.token_types[3] = 9;
  expect_error(bad, "token_type");
  bad = v;
  bad.merges.push_back("nospace");
  expect_error(bad, "tokenizer.ggml.merges");
  bad = v;
  bad.pre = "qwen2";
  expect_error(bad, "tokenizer.ggml.pre");
  bad = v;
  bad.tokens.clear();
  bad.scores.clear();
  bad.token_types.clear();
  expect_error(bad, "tokenizer.ggml.tokens");
}

TEST(TokenizerPre, InferredFromVocabulary) {
  VocabData v = build_synthetic_vocab(1000);
  v.pre = "";
  EXPECT_EQ(Tokenizer::from_vocab(v)->pre(), "gpt2");  // small, unlike LLaMA-3
  VocabData big = build_synthetic_vocab(128256);
  big.pre = "";
  EXPECT_EQ(Tokenizer::from_vocab(big)->pre(), "llama3");
}

TEST(Utf8Stream, HoldsIncompleteSequences) {
  Utf8Stream s;
  const std::string emoji = "\xF0\x9F\x98\x80";  // U+1F600 split over three pieces
  EXPECT_EQ(s.push("a"), "a");
  EXPECT_EQ(s.push(emoji.substr(0, 1)), "");
  EXPECT_EQ(s.push(emoji.substr(1, 2)), "");
  EXPECT_EQ(s.push(emoji.substr(3) + "b"), emoji + "b");
  EXPECT_EQ(s.push("\xC3"), "");
  EXPECT_EQ(s.push("\xA9"), "\xC3\xA9");
  // invalid bytes are passed on, never held forever
  EXPECT_EQ(s.push("\xFF"), "\xFF");
  EXPECT_EQ(s.push("\x80"), "\x80");
  EXPECT_EQ(s.push("\xE2\x82"), "");
  EXPECT_EQ(s.flush(), "\xE2\x82");
  EXPECT_EQ(s.flush(), "");
}

TEST(Utf8Stream, ReassemblesTokenPieces) {
  auto tok = synthetic(1000);
  const std::string text = "emoji 😀👍🏽 and 日本";
  Utf8Stream s;
  std::string out;
  for (int32_t id : tok->encode(text, false, false)) {
    const std::string part = s.push(tok->token_to_piece(id));
    // each emitted part is whole characters
    if (!part.empty()) {
      EXPECT_NE(static_cast<uint8_t>(part.back()) & 0xC0, 0xC0u);
    }
    out += part;
  }
  out += s.flush();
  EXPECT_EQ(out, text);
}

}  // namespace
}  // namespace tern
