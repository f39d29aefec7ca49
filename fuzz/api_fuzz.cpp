// libFuzzer: OpenAI request bodies (JSON from the network) through the server's validation.
#include <cstddef>
#include <cstdint>
#include <string>

#include "server/api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  for (bool chat : {true, false}) {
    try {
      auto r = tern::api::parse_completion(body, chat);
      (void)r;
    } catch (const tern::api::ApiError&) {
    }
  }
  return 0;
}
