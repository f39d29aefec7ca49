// What the two NEON ternary GEMMs share (neon_ternary_dot.cpp with the dot-product extension,
// neon_ternary_base.cpp without it). Included by files built with different -march flags, so
// everything here has internal linkage.
//
// TR16 (kernels/table.h): a 64-byte block is four q-registers of 4 rows each; in every 32-bit
// lane (one row), (byte >> 2s) & 3 holds 4 consecutive columns. Codes 0..2 are valid signed
// bytes, so signed multiplies serve.
#pragma once

#include <arm_neon.h>

#include <type_traits>

#include "kernels/table.h"

namespace tern {
namespace {

inline int8x16_t neon_unpack(uint8x16_t v, int s) {
  const uint8x16_t m3 = vdupq_n_u8(3);
  switch (s) {
    case 0: return vreinterpretq_s8_u8(vandq_u8(v, m3));
    case 1: return vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(v, 2), m3));
    case 2: return vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(v, 4), m3));
    default: return vreinterpretq_s8_u8(vshrq_n_u8(v, 6));
  }
}

// tr16_gemm's loops: tokens 4 at a time against each group in turn; group(NT, codes of the
// group, activations of the first token, out of the first token) with NT an integral_constant.
template <class Group>
void neon_tr16_tokens(Group&& group, const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                      int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) {
  const int64_t gb = tr_group_bytes(k_pad);
  constexpr int64_t kTok = 4;
  for (int64_t t0 = 0; t0 < n_tok; t0 += kTok) {
    const int64_t nt = n_tok - t0 < kTok ? n_tok - t0 : kTok;
    const int8_t* qt = q + t0 * q_stride;
    for (int64_t g = 0; g < n_groups; ++g) {
      const uint8_t* w = codes + g * gb;
      int32_t* o = out + t0 * out_stride + g * kTrRows;
      switch (nt) {
        case 1: group(std::integral_constant<int, 1>{}, w, qt, o); break;
        case 2: group(std::integral_constant<int, 2>{}, w, qt, o); break;
        case 3: group(std::integral_constant<int, 3>{}, w, qt, o); break;
        default: group(std::integral_constant<int, 4>{}, w, qt, o); break;
      }
    }
  }
}

}  // namespace
}  // namespace tern
