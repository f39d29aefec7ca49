// The 256-bit TR16 GEMM/GEMV (kernels/table.h), written once over the instruction that
// multiplies unpacked codes by activations:
//   - MaddubsDot (AVX2): vpmaddubsw into int16 pair sums, widened to int32 every 128 columns;
//   - a VNNI dot (vpdpbusd, 4 products straight into an int32 lane), defined by the file that
//     includes this one: the VEX form (AVX-VNNI: Alder Lake and later, Zen 5) or the EVEX form
//     of the same 256-bit instruction (AVX-512 VL + VNNI: Ice Lake, Zen 4), which runs this exact
//     code where AVX-VNNI is missing (and is how the test suite runs it on such hosts).
// Files built with different instruction sets include this header, so everything in it has
// internal linkage: no copy compiled for one ISA can be linked into another's code.
//
// A 64-byte TR16 block is two ymm: rows 0..7 then rows 8..15 of the group, each 32-bit lane one
// row x 4 consecutive columns; the 4 matching int8 activations are broadcast to every lane.
#pragma once

#include <immintrin.h>

#include <cstring>

#include "kernels/table.h"
#include "kernels/tile_loops.h"

namespace tern {
namespace {

inline __m256i ymm_bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// maddubs takes the codes (0..2) as its unsigned operand; a pair sum is at most 2 * 2 * 128 = 512
// in magnitude, so one block (4 maddubs per lane pair) stays within 2048 and 8 blocks (128
// columns) within 16384: int16 cannot saturate before madd widens the sums to int32.
struct MaddubsDot {
  static constexpr bool kVnni = false;
  static constexpr int64_t kChunkCols = 128;  // columns summed in int16 before widening
  static __m256i step(__m256i acc, __m256i codes, __m256i a) {
    return _mm256_add_epi16(acc, _mm256_maddubs_epi16(codes, a));
  }
  static __m256i widen(__m256i acc) { return _mm256_madd_epi16(acc, _mm256_set1_epi16(1)); }
};

// A VNNI dot: Dp::dp(acc, u8 codes, s8 activations) is vpdpbusd; sums are int32 from the start.
template <class Dp>
struct VnniDot {
  static constexpr bool kVnni = true;
  static constexpr int64_t kChunkCols = 0;  // no widening: the whole K in one pass
  static __m256i step(__m256i acc, __m256i codes, __m256i a) { return Dp::dp(acc, codes, a); }
  static __m256i widen(__m256i acc) { return acc; }
};

// One token, one group (16 rows).
template <class Dot>
void ymm_gemv_group(const uint8_t* codes, int64_t k_pad, const int8_t* q, int32_t* out) {
  const int64_t n_blocks = k_pad / kTrBlockCols;
  if constexpr (Dot::kVnni) {
    // No shifts (as the AVX-512 GEMV): v & (3 << 2s) is code * 4^s, accumulated per s, and the
    // exact total is acc0 + acc1/4 + acc2/16 + acc3/64 (acc_s is a multiple of 4^s; a product is
    // at most 2 * 64 * 128 = 16384, so a lane holds K / 4 of them without overflow for any
    // K < 500000). Eight independent accumulators also hide vpdpbusd's latency.
    const __m256i m[4] = {_mm256_set1_epi8(0x03), _mm256_set1_epi8(0x0c), _mm256_set1_epi8(0x30),
                          _mm256_set1_epi8(static_cast<char>(0xc0))};
    __m256i lo[4], hi[4];
    for (int s = 0; s < 4; ++s) lo[s] = hi[s] = _mm256_setzero_si256();
    for (int64_t b = 0; b < n_blocks; ++b) {
      const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + b * 64));
      const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + b * 64 + 32));
      for (int s = 0; s < 4; ++s) {
        const __m256i a = ymm_bcast4(q + b * kTrBlockCols + 4 * s);
        lo[s] = Dot::step(lo[s], _mm256_and_si256(v0, m[s]), a);
        hi[s] = Dot::step(hi[s], _mm256_and_si256(v1, m[s]), a);
      }
    }
    __m256i r0 = lo[0], r1 = hi[0];
    for (int s = 1; s < 4; ++s) {
      r0 = _mm256_add_epi32(r0, _mm256_srai_epi32(lo[s], 2 * s));
      r1 = _mm256_add_epi32(r1, _mm256_srai_epi32(hi[s], 2 * s));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), r0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8), r1);
  } else {
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    for (int64_t c0 = 0; c0 < k_pad; c0 += Dot::kChunkCols) {
      __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
      for (int64_t b = c0 / kTrBlockCols; b < (c0 + Dot::kChunkCols) / kTrBlockCols; ++b) {
        const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + b * 64));
        const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + b * 64 + 32));
        for (int s = 0; s < 4; ++s) {
          const __m256i a = ymm_bcast4(q + b * kTrBlockCols + 4 * s);
          s0 = Dot::step(s0, _mm256_and_si256(_mm256_srli_epi16(v0, 2 * s), m3), a);
          s1 = Dot::step(s1, _mm256_and_si256(_mm256_srli_epi16(v1, 2 * s), m3), a);
        }
      }
      acc0 = _mm256_add_epi32(acc0, Dot::widen(s0));
      acc1 = _mm256_add_epi32(acc1, Dot::widen(s1));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), acc0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8), acc1);
  }
}

// NT tokens against one whole group (16 rows). Each broadcast of 4 activations feeds both
// halves of the group, so a block costs 16 broadcasts, 32 dot steps and 14 unpacking ops for
// NT = 4 (4 x 2 accumulators, 2 code registers, the broadcast, the mask and the two weight
// registers: 14 of the 16 ymm registers AVX2 has). Sums are added, widened, into `out` once
// per chunk (128 columns for maddubs, all of K for VNNI). The empty asm after each pair of
// steps keeps the sums in registers: without it GCC 12 reassociates the maddubs adds into trees
// of products and spills them (BM_tr16_gemm avx2, 64 tokens: ~290 -> ~320 GOP/s against a
// kernel with one half per broadcast; with the spills it was slower than that).
template <int NT, class Dot>
void ymm_gemm_group(const uint8_t* codes, int64_t k_pad, const int8_t* q, int64_t q_stride, int32_t* out,
                    int64_t out_stride) {
  const __m256i m3 = _mm256_set1_epi8(3);
  const int64_t chunk = Dot::kChunkCols ? Dot::kChunkCols : k_pad;
  for (int t = 0; t < NT; ++t) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + t * out_stride), _mm256_setzero_si256());
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + t * out_stride + 8), _mm256_setzero_si256());
  }
  for (int64_t c0 = 0; c0 < k_pad; c0 += chunk) {
    __m256i lo[NT], hi[NT];
    for (int t = 0; t < NT; ++t) lo[t] = hi[t] = _mm256_setzero_si256();
    for (int64_t b = c0 / kTrBlockCols; b < (c0 + chunk) / kTrBlockCols; ++b) {
      const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + b * 64));
      const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + b * 64 + 32));
#pragma GCC unroll 4
      for (int s = 0; s < 4; ++s) {
        const __m256i c_lo = _mm256_and_si256(_mm256_srli_epi16(v0, 2 * s), m3);
        const __m256i c_hi = _mm256_and_si256(_mm256_srli_epi16(v1, 2 * s), m3);
        for (int t = 0; t < NT; ++t) {
          const __m256i a = ymm_bcast4(q + t * q_stride + b * kTrBlockCols + 4 * s);
          lo[t] = Dot::step(lo[t], c_lo, a);
          hi[t] = Dot::step(hi[t], c_hi, a);
          asm("" : "+x"(lo[t]), "+x"(hi[t]));
        }
      }
    }
    for (int t = 0; t < NT; ++t) {
      __m256i* o_lo = reinterpret_cast<__m256i*>(out + t * out_stride);
      __m256i* o_hi = reinterpret_cast<__m256i*>(out + t * out_stride + 8);
      _mm256_storeu_si256(o_lo, _mm256_add_epi32(_mm256_loadu_si256(o_lo), Dot::widen(lo[t])));
      _mm256_storeu_si256(o_hi, _mm256_add_epi32(_mm256_loadu_si256(o_hi), Dot::widen(hi[t])));
    }
  }
}

// tr16_gemm (kernels/table.h) on 256-bit registers: decode one group at a time (one sequential
// stream), more tokens 4 at a time against each group.
template <class Dot>
void ymm_tr16_gemm(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q, int64_t q_stride,
                   int64_t n_tok, int32_t* out, int64_t out_stride) {
  const int64_t gb = tr_group_bytes(k_pad);
  if (n_tok == 1) {
    for (int64_t g = 0; g < n_groups; ++g) ymm_gemv_group<Dot>(codes + g * gb, k_pad, q, out + g * kTrRows);
    return;
  }
  tr16_token_quads(
      [&](auto nt, const uint8_t* w, const int8_t* qt, int32_t* o) {
        ymm_gemm_group<nt(), Dot>(w, k_pad, qt, q_stride, o, out_stride);
      },
      codes, n_groups, k_pad, q, q_stride, n_tok, out, out_stride);
}

}  // namespace
}  // namespace tern
