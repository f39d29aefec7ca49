// Q8_0 (ggml type 8): blocks of 32 int8 quants with one fp16 scale.
// Source: llama.cpp ggml/src/ggml-quants.c quantize_row_q8_0_ref / dequantize_row_q8_0,
// block_q8_0 in ggml/src/ggml-common.h.
#include <cmath>

#include "core/error.h"
#include "formats/blocks.h"
#include "formats/rows.h"

namespace tern::formats {

void dequantize_row_q8_0(const uint8_t* src, int64_t n, float* dst) {
  TERN_ASSERT(n % kQK8_0 == 0);
  for (int64_t ib = 0; ib < n / kQK8_0; ++ib) {
    const auto b = load_block<BlockQ8_0>(src, ib);
    const float d = load_fp16(b.d);
    for (int64_t j = 0; j < kQK8_0; ++j) dst[ib * kQK8_0 + j] = float(b.qs[j]) * d;
  }
}

// Byte-identical to ggml's reference: d = absmax / 127 rounded to fp16, but the quants use
// the unrounded 1/d, and roundf rounds halves away from zero.
void quantize_row_q8_0(const float* src, int64_t n, uint8_t* dst) {
  TERN_ASSERT(n % kQK8_0 == 0);
  for (int64_t ib = 0; ib < n / kQK8_0; ++ib) {
    const float* x = src + ib * kQK8_0;
    float amax = 0.0f;
    for (int64_t j = 0; j < kQK8_0; ++j) amax = std::fabs(x[j]) > amax ? std::fabs(x[j]) : amax;
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_0 b;
    store_fp16(b.d, d);
    for (int64_t j = 0; j < kQK8_0; ++j) b.qs[j] = int8_t(std::roundf(x[j] * id));
    store_block(dst, ib, b);
  }
}

}  // namespace tern::formats
