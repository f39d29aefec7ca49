// AVX2 ternary GEMM/GEMV over the TR16 layout (kernels/table.h). Compiled with -mavx2 for this
// file only.
//
// A 64-byte TR16 block is two ymm: rows 0..7 then rows 8..15 of the group, each 32-bit lane one
// row x 4 consecutive columns. maddubs takes the unpacked codes (0..2) as its unsigned operand
// and the 4 matching int8 activations broadcast to every lane; a pair sum is at most
// 2 * 2 * 128 = 512 in magnitude, so the sum over a block (4 maddubs) stays within 2048 and 8
// blocks (128 columns) within 16384: int16 cannot saturate before madd widens to int32.
#include <immintrin.h>

#include <cstring>

#include "kernels/table.h"

namespace tern::avx2 {
namespace {

inline __m256i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// Sum over one block of code * q for 8 rows (one half of a group), as int16 pairs.
inline __m256i half_block(__m256i v, __m256i m3, __m256i a0, __m256i a1, __m256i a2, __m256i a3) {
  __m256i s = _mm256_maddubs_epi16(_mm256_and_si256(v, m3), a0);
  s = _mm256_add_epi16(s, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 2), m3), a1));
  s = _mm256_add_epi16(s, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), m3), a2));
  return _mm256_add_epi16(s, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 6), m3), a3));
}

// One token, one group (16 rows).
void gemv_group(const uint8_t* codes, int64_t k_pad, const int8_t* q, int32_t* out) {
  const __m256i m3 = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
  __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
  for (int64_t c0 = 0; c0 < k_pad; c0 += kTrKAlign) {
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    for (int64_t b = c0 / kTrBlockCols; b < (c0 + kTrKAlign) / kTrBlockCols; ++b) {
      const int8_t* a = q + b * kTrBlockCols;
      const __m256i a0 = bcast4(a), a1 = bcast4(a + 4), a2 = bcast4(a + 8), a3 = bcast4(a + 12);
      const uint8_t* w = codes + b * 64;
      s0 = _mm256_add_epi16(s0, half_block(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w)), m3, a0, a1, a2, a3));
      s1 = _mm256_add_epi16(s1, half_block(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32)), m3, a0, a1, a2, a3));
    }
    acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(s0, ones));
    acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(s1, ones));
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), acc0);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8), acc1);
}

// NT tokens against one whole group (16 rows). Each broadcast of 4 activations feeds both
// halves of the group (two maddubs per broadcast, not one), so a block costs 16 broadcasts, 32
// maddubs, 32 adds and 14 unpacking ops for NT = 4. Sums stay int16 over the 8 blocks of a
// 128-column chunk (at most 8 x 2048 = 16384, see above) and are added, widened, into `out`
// once per chunk. The empty asm after each pair of adds keeps the sums in registers: without it
// GCC 12 reassociates the adds into trees of products and spills them (BM_tr16_gemm avx2,
// 64 tokens: ~290 -> ~320 GOP/s for this kernel against the one-half-per-broadcast one; with
// the spills it was slower than that).
template <int NT>
void gemm_group(const uint8_t* codes, int64_t k_pad, const int8_t* q, int64_t q_stride, int32_t* out,
                int64_t out_stride) {
  const __m256i m3 = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
  for (int t = 0; t < NT; ++t) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + t * out_stride), _mm256_setzero_si256());
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + t * out_stride + 8), _mm256_setzero_si256());
  }
  for (int64_t c0 = 0; c0 < k_pad; c0 += kTrKAlign) {
    __m256i lo[NT], hi[NT];
    for (int t = 0; t < NT; ++t) lo[t] = hi[t] = _mm256_setzero_si256();
    for (int64_t b = c0 / kTrBlockCols; b < (c0 + kTrKAlign) / kTrBlockCols; ++b) {
      const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + b * 64));
      const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + b * 64 + 32));
#pragma GCC unroll 4
      for (int s = 0; s < 4; ++s) {
        const __m256i c_lo = _mm256_and_si256(_mm256_srli_epi16(v0, 2 * s), m3);
        const __m256i c_hi = _mm256_and_si256(_mm256_srli_epi16(v1, 2 * s), m3);
        for (int t = 0; t < NT; ++t) {
          const __m256i a = bcast4(q + t * q_stride + b * kTrBlockCols + 4 * s);
          lo[t] = _mm256_add_epi16(lo[t], _mm256_maddubs_epi16(c_lo, a));
          hi[t] = _mm256_add_epi16(hi[t], _mm256_maddubs_epi16(c_hi, a));
          asm("" : "+x"(lo[t]), "+x"(hi[t]));
        }
      }
    }
    for (int t = 0; t < NT; ++t) {
      __m256i* o_lo = reinterpret_cast<__m256i*>(out + t * out_stride);
      __m256i* o_hi = reinterpret_cast<__m256i*>(out + t * out_stride + 8);
      _mm256_storeu_si256(o_lo, _mm256_add_epi32(_mm256_loadu_si256(o_lo), _mm256_madd_epi16(lo[t], ones)));
      _mm256_storeu_si256(o_hi, _mm256_add_epi32(_mm256_loadu_si256(o_hi), _mm256_madd_epi16(hi[t], ones)));
    }
  }
}

void gemm_group_tokens(const uint8_t* codes, int64_t k_pad, const int8_t* q, int64_t q_stride, int64_t nt,
                       int32_t* out, int64_t out_stride) {
  switch (nt) {
    case 1: gemm_group<1>(codes, k_pad, q, q_stride, out, out_stride); break;
    case 2: gemm_group<2>(codes, k_pad, q, q_stride, out, out_stride); break;
    case 3: gemm_group<3>(codes, k_pad, q, q_stride, out, out_stride); break;
    default: gemm_group<4>(codes, k_pad, q, q_stride, out, out_stride); break;
  }
}

}  // namespace

void tr16_gemm(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
               int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) {
  const int64_t gb = tr_group_bytes(k_pad);
  if (n_tok == 1) {
    for (int64_t g = 0; g < n_groups; ++g) gemv_group(codes + g * gb, k_pad, q, out + g * kTrRows);
    return;
  }
  constexpr int64_t kTok = 4;
  for (int64_t t0 = 0; t0 < n_tok; t0 += kTok) {
    const int64_t nt = n_tok - t0 < kTok ? n_tok - t0 : kTok;
    for (int64_t g = 0; g < n_groups; ++g) {
      gemm_group_tokens(codes + g * gb, k_pad, q + t0 * q_stride, q_stride, nt, out + t0 * out_stride + g * kTrRows,
                        out_stride);
    }
  }
}

}  // namespace tern::avx2
