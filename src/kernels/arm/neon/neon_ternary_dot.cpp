// The NEON ternary GEMM with the dot-product extension (armv8.2-a+dotprod: Cortex-A55/A76 and
// later, Apple M1+, Graviton 2+): vdotq_laneq_s32 multiplies a register of codes (4 rows x 4
// columns) by lane s of the block's 16 activations. Compiled with +dotprod for this file only;
// neon_kernels.cpp calls it only when HWCAP reports asimddp.
#include "kernels/arm/neon/neon_tr16.h"

namespace tern::neon {
namespace {

// NT tokens against one group (16 rows = 4 registers of 4 rows).
template <int NT>
void gemm_group(const uint8_t* codes, int64_t k_pad, const int8_t* q, int64_t q_stride,
                int32_t* out, int64_t out_stride) {
  int32x4_t acc[4][NT];
  for (int r = 0; r < 4; ++r) {
    for (int t = 0; t < NT; ++t) acc[r][t] = vdupq_n_s32(0);
  }
  const int64_t n_blocks = k_pad / kTrBlockCols;
  for (int64_t b = 0; b < n_blocks; ++b) {
    int8x16_t a[NT];
    for (int t = 0; t < NT; ++t) a[t] = vld1q_s8(q + t * q_stride + b * kTrBlockCols);
    for (int r = 0; r < 4; ++r) {
      const uint8x16_t v = vld1q_u8(codes + b * 64 + 16 * r);
      const int8x16_t c0 = neon_unpack(v, 0), c1 = neon_unpack(v, 1), c2 = neon_unpack(v, 2), c3 = neon_unpack(v, 3);
      for (int t = 0; t < NT; ++t) {
        acc[r][t] = vdotq_laneq_s32(acc[r][t], c0, a[t], 0);
        acc[r][t] = vdotq_laneq_s32(acc[r][t], c1, a[t], 1);
        acc[r][t] = vdotq_laneq_s32(acc[r][t], c2, a[t], 2);
        acc[r][t] = vdotq_laneq_s32(acc[r][t], c3, a[t], 3);
      }
    }
  }
  for (int t = 0; t < NT; ++t) {
    for (int r = 0; r < 4; ++r) vst1q_s32(out + t * out_stride + 4 * r, acc[r][t]);
  }
}

}  // namespace

void tr16_gemm_sdot(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                    int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) {
  tr16_token_quads(
      [&](auto nt, const uint8_t* w, const int8_t* qt, int32_t* o) { gemm_group<nt()>(w, k_pad, qt, q_stride, o, out_stride); },
      codes, n_groups, k_pad, q, q_stride, n_tok, out, out_stride);
}

}  // namespace tern::neon
