// libFuzzer: the SentencePiece tokenizer.model (protobuf wire format) reader on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "convert/spm_model.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto m = tern::convert::parse_spm_model(data, size, "fuzz.model");
    (void)m;
  } catch (const tern::Error&) {
  }
  return 0;
}
