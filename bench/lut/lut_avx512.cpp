// AVX-512 (F/BW/VNNI/VBMI) LT3 lookup-table GEMV (lut.h). Per quad of 12 columns the two
// 64-byte table planes sit in registers; each 64-byte load of nibbles gives 128 indices (2 x 16
// rows x 4 groups); vpermb looks up all 64 bytes of a register at once (4 groups' tables, one
// per 16-byte quarter, selected by index bits 4-5), and vpdpbusd(acc, lookup_u8, sign_s8) adds
// each row's 4 signed entries into its 32-bit lane.
//
// No software prefetch: the loop is bound by vector-op throughput, and 5 prefetches per quad
// (1 KB ahead, as the TR16 GEMV does) measured ~20% slower from DRAM (docs/PERFORMANCE.md).
#include <immintrin.h>

#include "lut.h"

namespace tern::lut::avx512 {
namespace {

// Index bits 4-5: the group j of byte p = p % 4.
inline __m512i group_bits() { return _mm512_set1_epi32(0x30201000); }

template <bool kHi>
void gemv_tile(const uint8_t* w, int64_t n_quads, const uint8_t* tab, const int32_t* corr, int32_t* out) {
  const __m512i nib = _mm512_set1_epi8(0x0f), gb = group_bits();
  const __m512i plus = _mm512_set1_epi8(1), minus = _mm512_set1_epi8(-1);
  __m512i lo[8], hi[8];
  for (int i = 0; i < 8; ++i) lo[i] = hi[i] = _mm512_setzero_si512();
  for (int64_t qd = 0; qd < n_quads; ++qd) {
    const uint8_t* p = w + qd * kQuadBytes512;
    const __m512i tlo = _mm512_load_si512(tab + qd * kTableQuadBytes);
    const __m512i thi = _mm512_load_si512(tab + qd * kTableQuadBytes + 64);
    const uint64_t* sg = reinterpret_cast<const uint64_t*>(p + 256);
    for (int c = 0; c < 4; ++c) {
      const __m512i v = _mm512_loadu_si512(p + 64 * c);
      // (x & 0x0f) | group bits in one vpternlogd.
      const __m512i i0 = _mm512_ternarylogic_epi32(v, nib, gb, 0xea);
      const __m512i i1 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(v, 4), nib, gb, 0xea);
      const __m512i s0 = _mm512_mask_blend_epi8(_cvtu64_mask64(sg[2 * c]), plus, minus);
      const __m512i s1 = _mm512_mask_blend_epi8(_cvtu64_mask64(sg[2 * c + 1]), plus, minus);
      lo[2 * c] = _mm512_dpbusd_epi32(lo[2 * c], _mm512_permutexvar_epi8(i0, tlo), s0);
      lo[2 * c + 1] = _mm512_dpbusd_epi32(lo[2 * c + 1], _mm512_permutexvar_epi8(i1, tlo), s1);
      if (kHi) {
        hi[2 * c] = _mm512_dpbusd_epi32(hi[2 * c], _mm512_permutexvar_epi8(i0, thi), s0);
        hi[2 * c + 1] = _mm512_dpbusd_epi32(hi[2 * c + 1], _mm512_permutexvar_epi8(i1, thi), s1);
      }
    }
  }
  for (int i = 0; i < 8; ++i) {
    __m512i r = _mm512_add_epi32(lo[i], _mm512_slli_epi32(hi[i], 4));
    r = _mm512_sub_epi32(r, _mm512_loadu_si512(corr + 16 * i));
    _mm512_storeu_si512(out + 16 * i, r);
  }
}

// NT tokens: the index and sign registers are built once per chunk and used for every token.
template <int NT>
void gemm_tile(const uint8_t* w, int64_t n_quads, const uint8_t* tabs, int64_t tab_bytes,
               const int32_t* corr, int32_t* out, int64_t out_stride) {
  const __m512i nib = _mm512_set1_epi8(0x0f), gb = group_bits();
  const __m512i plus = _mm512_set1_epi8(1), minus = _mm512_set1_epi8(-1);
  // 32 rows per pass over k (so NT x 2 x 2 accumulators stay in registers).
  for (int c = 0; c < 4; ++c) {
    __m512i lo[NT][2], hi[NT][2];
    for (int t = 0; t < NT; ++t) lo[t][0] = lo[t][1] = hi[t][0] = hi[t][1] = _mm512_setzero_si512();
    for (int64_t qd = 0; qd < n_quads; ++qd) {
      const uint8_t* p = w + qd * kQuadBytes512;
      const uint64_t* sg = reinterpret_cast<const uint64_t*>(p + 256);
      const __m512i v = _mm512_loadu_si512(p + 64 * c);
      const __m512i i0 = _mm512_ternarylogic_epi32(v, nib, gb, 0xea);
      const __m512i i1 = _mm512_ternarylogic_epi32(_mm512_srli_epi16(v, 4), nib, gb, 0xea);
      const __m512i s0 = _mm512_mask_blend_epi8(_cvtu64_mask64(sg[2 * c]), plus, minus);
      const __m512i s1 = _mm512_mask_blend_epi8(_cvtu64_mask64(sg[2 * c + 1]), plus, minus);
      for (int t = 0; t < NT; ++t) {
        const uint8_t* tb = tabs + t * tab_bytes + qd * kTableQuadBytes;
        const __m512i tlo = _mm512_load_si512(tb), thi = _mm512_load_si512(tb + 64);
        lo[t][0] = _mm512_dpbusd_epi32(lo[t][0], _mm512_permutexvar_epi8(i0, tlo), s0);
        lo[t][1] = _mm512_dpbusd_epi32(lo[t][1], _mm512_permutexvar_epi8(i1, tlo), s1);
        hi[t][0] = _mm512_dpbusd_epi32(hi[t][0], _mm512_permutexvar_epi8(i0, thi), s0);
        hi[t][1] = _mm512_dpbusd_epi32(hi[t][1], _mm512_permutexvar_epi8(i1, thi), s1);
      }
    }
    for (int t = 0; t < NT; ++t) {
      for (int h = 0; h < 2; ++h) {
        __m512i r = _mm512_add_epi32(lo[t][h], _mm512_slli_epi32(hi[t][h], 4));
        r = _mm512_sub_epi32(r, _mm512_loadu_si512(corr + 32 * c + 16 * h));
        _mm512_storeu_si512(out + t * out_stride + 32 * c + 16 * h, r);
      }
    }
  }
}

}  // namespace

void build_tables(const int8_t* q, int64_t k3, uint8_t* tab) {
  // sel_i[16 j + m] = 3 j + i picks activation i of group j into every byte of quarter j; the
  // masks say which of the 14 patterns add (w_i = +1) or subtract (w_i = -1) it.
  alignas(64) int8_t sel[3][64];
  __mmask64 kp[3] = {0, 0, 0}, kn[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i) {
    for (int b = 0; b < 64; ++b) {
      sel[i][b] = static_cast<int8_t>(3 * (b / 16) + i);
      const int m = b % 16;
      if (m < 14 && pattern_weight(m, i) > 0) kp[i] |= __mmask64(1) << b;
      if (m < 14 && pattern_weight(m, i) < 0) kn[i] |= __mmask64(1) << b;
    }
  }
  const __m512i s0 = _mm512_load_si512(sel[0]), s1 = _mm512_load_si512(sel[1]), s2 = _mm512_load_si512(sel[2]);
  const __m512i bias_lo = _mm512_set1_epi8(kBiasLo), bias_hi = _mm512_set1_epi8(kBiasHi);
  const __m128i nib = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
  for (int64_t qd = 0; qd < k3 / kQuadCols; ++qd) {
    const __m128i a = _mm_maskz_loadu_epi8(0x0fff, q + qd * kQuadCols);
    const __m128i l = _mm_and_si128(a, nib);
    // h = a >> 4 (arithmetic): (((a >> 4) & 15) ^ 8) - 8.
    const __m128i h = _mm_sub_epi8(_mm_xor_si128(_mm_and_si128(_mm_srli_epi16(a, 4), nib), eight), eight);
    const __m512i lz = _mm512_castsi128_si512(l), hz = _mm512_castsi128_si512(h);
    const __m512i sels[3] = {s0, s1, s2};
    __m512i tl = bias_lo, th = bias_hi;
    for (int i = 0; i < 3; ++i) {
      const __m512i li = _mm512_permutexvar_epi8(sels[i], lz), hi = _mm512_permutexvar_epi8(sels[i], hz);
      tl = _mm512_mask_sub_epi8(_mm512_mask_add_epi8(tl, kp[i], tl, li), kn[i], tl, li);
      th = _mm512_mask_sub_epi8(_mm512_mask_add_epi8(th, kp[i], th, hi), kn[i], th, hi);
    }
    _mm512_store_si512(tab + qd * kTableQuadBytes, tl);
    _mm512_store_si512(tab + qd * kTableQuadBytes + 64, th);
  }
}

void lt3_gemv(const Lt3Matrix& m, const uint8_t* data, const uint8_t* tab, int32_t* out) {
  const int64_t n_quads = m.k3 / kQuadCols;
  for (int64_t t = 0; t < m.rows / kTileRows512; ++t) {
    gemv_tile<true>(data + t * n_quads * kQuadBytes512, n_quads, tab, m.corr.data() + t * kTileRows512, out + t * kTileRows512);
  }
}

void lt3_gemv_lo_only(const Lt3Matrix& m, const uint8_t* data, const uint8_t* tab, int32_t* out) {
  const int64_t n_quads = m.k3 / kQuadCols;
  for (int64_t t = 0; t < m.rows / kTileRows512; ++t) {
    gemv_tile<false>(data + t * n_quads * kQuadBytes512, n_quads, tab, m.corr.data() + t * kTileRows512, out + t * kTileRows512);
  }
}

void lt3_gemm(const Lt3Matrix& m, const uint8_t* data, const uint8_t* tabs, int64_t n_tok, int32_t* out) {
  const int64_t n_quads = m.k3 / kQuadCols, tab_bytes = n_quads * kTableQuadBytes;
  for (int64_t t0 = 0; t0 < n_tok; t0 += 4) {
    const int64_t nt = n_tok - t0 < 4 ? n_tok - t0 : 4;
    for (int64_t t = 0; t < m.rows / kTileRows512; ++t) {
      const uint8_t* w = data + t * n_quads * kQuadBytes512;
      const uint8_t* tb = tabs + t0 * tab_bytes;
      const int32_t* corr = m.corr.data() + t * kTileRows512;
      int32_t* o = out + t0 * m.rows + t * kTileRows512;
      switch (nt) {
        case 1: gemm_tile<1>(w, n_quads, tb, tab_bytes, corr, o, m.rows); break;
        case 2: gemm_tile<2>(w, n_quads, tb, tab_bytes, corr, o, m.rows); break;
        case 3: gemm_tile<3>(w, n_quads, tb, tab_bytes, corr, o, m.rows); break;
        default: gemm_tile<4>(w, n_quads, tb, tab_bytes, corr, o, m.rows); break;
      }
    }
  }
}

}  // namespace tern::lut::avx512
