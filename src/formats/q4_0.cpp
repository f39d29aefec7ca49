// Q4_0 (ggml type 2): blocks of 32 4-bit quants (offset 8) with one fp16 scale; byte j holds
// element j in its low nibble and element j+16 in its high nibble.
// Source: llama.cpp ggml/src/ggml-quants.c quantize_row_q4_0_ref / dequantize_row_q4_0.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "formats/blocks.h"
#include "formats/rows.h"

namespace tern::formats {

void dequantize_row_q4_0(const uint8_t* src, int64_t n, float* dst) {
  TERN_ASSERT(n % kQK4_0 == 0);
  for (int64_t ib = 0; ib < n / kQK4_0; ++ib) {
    const auto b = load_block<BlockQ4_0>(src, ib);
    const float d = load_fp16(b.d);
    float* y = dst + ib * kQK4_0;
    for (int64_t j = 0; j < kQK4_0 / 2; ++j) {
      y[j] = float((b.qs[j] & 0x0f) - 8) * d;
      y[j + kQK4_0 / 2] = float((b.qs[j] >> 4) - 8) * d;
    }
  }
}

// Same bytes as ggml's reference: the signed value of largest magnitude maps to -8 (so the
// scale carries its sign and the asymmetric range [-8, 7] is used fully); quants are
// truncated after adding 8.5, i.e. rounded half up, and capped at 15.
void quantize_row_q4_0(const float* src, int64_t n, uint8_t* dst) {
  TERN_ASSERT(n % kQK4_0 == 0);
  for (int64_t ib = 0; ib < n / kQK4_0; ++ib) {
    const float* x = src + ib * kQK4_0;
    float amax = 0.0f;
    float max = 0.0f;
    for (int64_t j = 0; j < kQK4_0; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_0 b;
    store_fp16(b.d, d);
    for (int64_t j = 0; j < kQK4_0 / 2; ++j) {
      const int q0 = std::min(15, int(int8_t(x[j] * id + 8.5f)));
      const int q1 = std::min(15, int(int8_t(x[j + kQK4_0 / 2] * id + 8.5f)));
      b.qs[j] = uint8_t(q0 | (q1 << 4));
    }
    store_block(dst, ib, b);
  }
}

}  // namespace tern::formats
