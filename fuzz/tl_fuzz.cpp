// libFuzzer: bitnet.cpp TL1 / TL2 tensor decoding (formats/tl.h) and kernel_config.ini parsing
// on arbitrary bytes. The first 8 bytes pick the type and a small tiling (any values, valid or
// not); the rest is the tensor data, used only when its size is what the shape needs, or else
// as kernel_config.ini text. Every rejection must be a tern::Error, never a crash.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "formats/tl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tern::formats;
  if (size < 8) return 0;
  const tern::GgmlType t = (data[0] & 1) ? tern::GgmlType::TL2 : tern::GgmlType::TL1;
  TlConfig cfg;
  cfg.rows = 16 * (1 + data[1] % 16);        // 16 .. 256
  cfg.cols = 32 * (1 + data[2] % 24);        // 32 .. 768
  cfg.block_rows = 16 * (data[3] % 9);       // 0 .. 128 (0 and non-divisors must be refused)
  cfg.block_cols = 32 * (data[4] % 13);      // 0 .. 384
  cfg.simd_rows = 16 * (data[5] % 5);        // 0 .. 64
  const std::span<const uint8_t> rest(data + 8, size - 8);
  try {
    const std::vector<TlConfig> parsed = parse_tl_kernel_config(
        std::string_view(reinterpret_cast<const char*>(rest.data()), rest.size()), "fuzz.ini");
    (void)parsed;
  } catch (const tern::Error&) {
  }
  try {
    check_tl_config(t, cfg);
    const uint64_t need = tl_scale_offset(t, cfg.rows, cfg.cols) + 32;
    std::vector<uint8_t> tensor(need);
    // The tensor: the input bytes repeated to the exact size (so random codes reach the decoder).
    for (size_t i = 0; i < tensor.size(); ++i) tensor[i] = rest.empty() ? data[6] : rest[i % rest.size()];
    (void)tl_scale(t, tensor, cfg.rows, cfg.cols);
    std::vector<int8_t> trits(static_cast<size_t>(cfg.block_rows * cfg.cols));
    for (int64_t b = 0; b < cfg.rows / cfg.block_rows; ++b) unpack_tl_block(t, tensor, cfg, b, trits.data());
    // A wrong size must be refused, not read past.
    std::vector<uint8_t> shorter(tensor.begin(), tensor.end() - 1);
    try {
      unpack_tl_block(t, shorter, cfg, 0, trits.data());
      __builtin_trap();
    } catch (const tern::Error&) {
    }
  } catch (const tern::Error&) {
  }
  return 0;
}
