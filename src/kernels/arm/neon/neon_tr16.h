// What the two NEON ternary GEMMs share (neon_ternary_dot.cpp with the dot-product extension,
// neon_ternary_base.cpp without it), besides tr16_token_quads (kernels/tile_loops.h). Included by files built with different -march flags, so
// everything here has internal linkage.
//
// TR16 (kernels/table.h): a 64-byte block is four q-registers of 4 rows each; in every 32-bit
// lane (one row), (byte >> 2s) & 3 holds 4 consecutive columns. Codes 0..2 are valid signed
// bytes, so signed multiplies serve.
#pragma once

#include <arm_neon.h>

#include "kernels/table.h"
#include "kernels/tile_loops.h"

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

}  // namespace
}  // namespace tern
