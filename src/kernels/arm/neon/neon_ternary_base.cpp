// The NEON ternary GEMM without the dot-product extension (plain armv8-a: Cortex-A53/A72/A73,
// e.g. Raspberry Pi 3 and 4), which would otherwise run the scalar reference.
//
// For each register of codes (4 rows x 4 columns) and lane s of the block's activations
// broadcast to every 32-bit lane, vmlal_s8 / vmlal_high_s8 multiply-accumulate the 16 byte
// products into two int16x8 (one per pair of rows), summed over 128 columns: a product is at
// most 2 * 128 = 256 in magnitude and each int16 lane takes 4 per block, 32 per chunk, so
// 8192; adjacent lanes are then added (16384, still int16) and widened by pairs into the
// int32 sums of the 4 rows. Exact, like every ternary kernel. Built without ISA flags.
#include "kernels/arm/neon/neon_tr16.h"

namespace tern::neon {
namespace {

template <int S>
inline void mla(int16x8_t& lo, int16x8_t& hi, int8x16_t c, int32x4_t a) {
  const int8x16_t as = vreinterpretq_s8_s32(vdupq_laneq_s32(a, S));
  lo = vmlal_s8(lo, vget_low_s8(c), vget_low_s8(as));
  hi = vmlal_high_s8(hi, c, as);
}

// NT tokens against one group, one register of 4 rows at a time (2 NT int16 accumulators).
template <int NT>
void gemm_group(const uint8_t* codes, int64_t k_pad, const int8_t* q, int64_t q_stride,
                int32_t* out, int64_t out_stride) {
  constexpr int64_t kChunkCols = 128;
  for (int t = 0; t < NT; ++t) {
    for (int r = 0; r < 4; ++r) vst1q_s32(out + t * out_stride + 4 * r, vdupq_n_s32(0));
  }
  for (int64_t c0 = 0; c0 < k_pad; c0 += kChunkCols) {
    for (int r = 0; r < 4; ++r) {
      int16x8_t lo[NT], hi[NT];
      for (int t = 0; t < NT; ++t) lo[t] = hi[t] = vdupq_n_s16(0);
      for (int64_t b = c0 / kTrBlockCols; b < (c0 + kChunkCols) / kTrBlockCols; ++b) {
        const uint8x16_t v = vld1q_u8(codes + b * 64 + 16 * r);
        const int8x16_t c[4] = {neon_unpack(v, 0), neon_unpack(v, 1), neon_unpack(v, 2), neon_unpack(v, 3)};
        for (int t = 0; t < NT; ++t) {
          const int32x4_t a = vreinterpretq_s32_s8(vld1q_s8(q + t * q_stride + b * kTrBlockCols));
          mla<0>(lo[t], hi[t], c[0], a);
          mla<1>(lo[t], hi[t], c[1], a);
          mla<2>(lo[t], hi[t], c[2], a);
          mla<3>(lo[t], hi[t], c[3], a);
        }
      }
      for (int t = 0; t < NT; ++t) {
        int32_t* o = out + t * out_stride + 4 * r;
        vst1q_s32(o, vpadalq_s16(vld1q_s32(o), vpaddq_s16(lo[t], hi[t])));
      }
    }
  }
}

}  // namespace

void tr16_gemm_smull(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                     int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) {
  tr16_token_quads(
      [&](auto nt, const uint8_t* w, const int8_t* qt, int32_t* o) { gemm_group<nt()>(w, k_pad, qt, q_stride, o, out_stride); },
      codes, n_groups, k_pad, q, q_stride, n_tok, out, out_stride);
}

}  // namespace tern::neon
