// Tokenizers read back from GGUF: the synthetic vocabulary written by write_synthetic_vocab
// round-trips through the writer and reader (a vocabulary-only file), and bad tokenizer
// metadata gives a clear error.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "core/error.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace tern {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const char* name) {
  return (fs::temp_directory_path() / (std::string("tern_tok_") + std::to_string(getpid()) + "_" + name)).string();
}

TEST(TokenizerGguf, SyntheticVocabRoundTripsThroughAVocabOnlyFile) {
  const std::string path = temp_path("vocab.gguf");
  gguf::Writer w;
  write_synthetic_vocab(w, 1000);
  w.write(path);
  auto f = gguf::File::open(path);
  EXPECT_TRUE(f->tensors().empty());
  auto from_file = Tokenizer::from_gguf(*f);
  auto direct = Tokenizer::from_vocab(build_synthetic_vocab(1000));
  EXPECT_EQ(from_file->n_vocab(), 1000);
  EXPECT_EQ(from_file->bos(), direct->bos());
  EXPECT_EQ(from_file->eos(), direct->eos());
  EXPECT_EQ(from_file->eot(), direct->eot());
  EXPECT_FALSE(from_file->chat_template().empty());
  const std::string text = "The quick brown fox said: \"héllo wörld\" 12345 <|eot_id|> done.\n\ttabs";
  const auto a = from_file->encode(text, true, true);
  EXPECT_EQ(a, direct->encode(text, true, true));
  EXPECT_EQ(a.front(), from_file->bos());
  EXPECT_EQ(from_file->decode(a), text.substr(0, text.find("<|eot_id|>")) + text.substr(text.find("<|eot_id|>") + 10));
  EXPECT_EQ(from_file->decode(a, true).find("<|eot_id|>") != std::string::npos, true);
  fs::remove(path);
}

TEST(TokenizerGguf, MissingOrBrokenMetadataIsAClearError) {
  {
    gguf::Writer w;
    w.set_string("general.architecture", "bitnet-b1.58");
    auto bytes_path = temp_path("novocab.gguf");
    w.write(bytes_path);
    auto f = gguf::File::open(bytes_path);
    try {
      Tokenizer::from_gguf(*f);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("tokenizer"), std::string::npos) << e.what();
    }
    fs::remove(bytes_path);
  }
  {
    gguf::Writer w;
    write_synthetic_vocab(w, 400);
    w.set_u32("tokenizer.ggml.bos_token_id", 5000);  // outside the vocabulary
    auto p = temp_path("badbos.gguf");
    w.write(p);
    auto f = gguf::File::open(p);
    EXPECT_THROW(Tokenizer::from_gguf(*f), Error);
    fs::remove(p);
  }
  {
    gguf::Writer w;
    write_synthetic_vocab(w, 400);
    w.set_string("tokenizer.ggml.model", "wordpiece");
    auto p = temp_path("badmodel.gguf");
    w.write(p);
    auto f = gguf::File::open(p);
    try {
      Tokenizer::from_gguf(*f);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("wordpiece"), std::string::npos) << e.what();
    }
    fs::remove(p);
  }
}

}  // namespace
}  // namespace tern
