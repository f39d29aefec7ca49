// F32, F16 and BF16: one little-endian value per element. Conversions are core/fp16.h's
// (round to nearest even, NaN kept quiet), the same results as ggml's scalar converters.
#include <cstring>

#include "core/error.h"
#include "core/fp16.h"
#include "formats/blocks.h"
#include "formats/rows.h"

namespace tern::formats {

void dequantize_row_f32(const uint8_t* src, int64_t n, float* dst) {
  TERN_ASSERT(n >= 0);
  std::memcpy(dst, src, size_t(n) * sizeof(float));
}

void quantize_row_f32(const float* src, int64_t n, uint8_t* dst) {
  TERN_ASSERT(n >= 0);
  std::memcpy(dst, src, size_t(n) * sizeof(float));
}

void dequantize_row_f16(const uint8_t* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(load_u16(src + 2 * i));
}

void quantize_row_f16(const float* src, int64_t n, uint8_t* dst) {
  for (int64_t i = 0; i < n; ++i) store_u16(dst + 2 * i, f32_to_fp16(src[i]));
}

void dequantize_row_bf16(const uint8_t* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load_u16(src + 2 * i));
}

void quantize_row_bf16(const float* src, int64_t n, uint8_t* dst) {
  for (int64_t i = 0; i < n; ++i) store_u16(dst + 2 * i, f32_to_bf16(src[i]));
}

}  // namespace tern::formats
