// libFuzzer: text from outside (prompts, HTTP bodies) through both tokenizers: encode must never
// crash, and byte-level BPE must decode back to the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<tern::Tokenizer> bpe = tern::Tokenizer::from_vocab(tern::build_synthetic_vocab(2000));
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto ids = bpe->encode(text, false, false);
  if (bpe->decode(ids) != text) std::abort();
  (void)bpe->encode(text, true, true);
  return 0;
}
