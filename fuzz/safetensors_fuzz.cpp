// libFuzzer: the safetensors reader (header JSON, dtypes, shapes, offsets) on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "convert/safetensors.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto f = tern::convert::SafetensorsFile::from_memory(data, size, "fuzz.safetensors");
    (void)f;
  } catch (const tern::Error&) {
  }
  return 0;
}
