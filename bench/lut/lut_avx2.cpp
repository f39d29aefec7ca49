// AVX2 LT3 lookup-table GEMV (lut.h). vpshufb has one 16-entry table per 128-bit lane, so a
// register of lookups is 32 rows of ONE group (both lanes hold the group's table). The sign is
// applied with vpsignb, the lo and hi planes are interleaved per row (unpack) and
// vpmaddubsw((1, 16), (lo, hi)) gives s (lo + 16 hi) per row in int16; int16 sums are widened
// to int32 every kFlush groups (|s (lo + 16 hi)| <= 93 + 16 * 48 = 861, so 32 groups fit).
#include <immintrin.h>

#include <cstring>

#include "lut.h"

namespace tern::lut::avx2 {
namespace {

constexpr int64_t kFlush = 32;
// 32 sign bits -> 32 bytes of +1 / -1.
inline __m256i expand_signs(const uint8_t* p, __m256i sel, __m256i bit, __m256i one) {
  int32_t w;
  std::memcpy(&w, p, 4);
  const __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32(w), sel);
  return _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_and_si256(b, bit), bit), one);
}

// rows 0-31 (half 0) or 32-63 of the tile: acc16[0] = rows 0-7 | 16-23, acc16[1] = 8-15 | 24-31.
inline void lookup_add(__m256i idx, __m256i sgn, __m256i tlo, __m256i thi, __m256i w116, __m256i* acc16) {
  const __m256i l = _mm256_sign_epi8(_mm256_shuffle_epi8(tlo, idx), sgn);
  const __m256i h = _mm256_sign_epi8(_mm256_shuffle_epi8(thi, idx), sgn);
  acc16[0] = _mm256_add_epi16(acc16[0], _mm256_maddubs_epi16(w116, _mm256_unpacklo_epi8(l, h)));
  acc16[1] = _mm256_add_epi16(acc16[1], _mm256_maddubs_epi16(w116, _mm256_unpackhi_epi8(l, h)));
}

// acc32[4] = rows 0-7, 8-15, 16-23, 24-31.
inline void flush(__m256i* acc16, __m256i* acc32) {
  acc32[0] = _mm256_add_epi32(acc32[0], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(acc16[0])));
  acc32[2] = _mm256_add_epi32(acc32[2], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(acc16[0], 1)));
  acc32[1] = _mm256_add_epi32(acc32[1], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(acc16[1])));
  acc32[3] = _mm256_add_epi32(acc32[3], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(acc16[1], 1)));
  acc16[0] = acc16[1] = _mm256_setzero_si256();
}

void gemv_tile(const uint8_t* w, int64_t n_groups, const uint8_t* tab, const int32_t* corr, int32_t* out) {
  const __m256i nib = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
  const __m256i w116 = _mm256_set1_epi16(0x1001);  // bytes (1, 16)
  const __m256i sel = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  __m256i acc16[2][2], acc32[2][4];
  for (int h = 0; h < 2; ++h) {
    acc16[h][0] = acc16[h][1] = _mm256_setzero_si256();
    for (int i = 0; i < 4; ++i) acc32[h][i] = _mm256_setzero_si256();
  }
  for (int64_t g0 = 0; g0 < n_groups; g0 += kFlush) {
    const int64_t g1 = g0 + kFlush < n_groups ? g0 + kFlush : n_groups;
    for (int64_t g = g0; g < g1; ++g) {
      const uint8_t* p = w + g * kGroupBytes2;
      const uint8_t* t = tab + g / 4 * kTableQuadBytes + 16 * (g % 4);
      const __m256i tlo = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(t)));
      const __m256i thi = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(t + 64)));
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      lookup_add(_mm256_and_si256(v, nib), expand_signs(p + 32, sel, bit, one), tlo, thi, w116, acc16[0]);
      lookup_add(_mm256_and_si256(_mm256_srli_epi16(v, 4), nib), expand_signs(p + 36, sel, bit, one), tlo, thi, w116, acc16[1]);
    }
    flush(acc16[0], acc32[0]);
    flush(acc16[1], acc32[1]);
  }
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < 4; ++i) {
      const int64_t r = 32 * h + 8 * i;
      const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr + r));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + r), _mm256_sub_epi32(acc32[h][i], c));
    }
  }
}

}  // namespace

void build_tables(const int8_t* q, int64_t k3, uint8_t* tab) {
  // Per quad, four registers: lo of groups (0, 1) and (2, 3), hi likewise; one group per lane.
  // sel_i picks activation i of the lane's group; w_i is the pattern's weight (vpsignb by it
  // multiplies by -1, 0 or +1).
  alignas(32) int8_t sel[2][3][32], wt[3][32];
  for (int i = 0; i < 3; ++i) {
    for (int b = 0; b < 32; ++b) {
      const int m = b % 16;
      wt[i][b] = static_cast<int8_t>(m < 14 ? pattern_weight(m, i) : 0);
      for (int hf = 0; hf < 2; ++hf) sel[hf][i][b] = static_cast<int8_t>(3 * (2 * hf + b / 16) + i);
    }
  }
  const __m256i bias_lo = _mm256_set1_epi8(kBiasLo), bias_hi = _mm256_set1_epi8(kBiasHi);
  const __m128i nib = _mm_set1_epi8(0x0f), eight = _mm_set1_epi8(8);
  for (int64_t qd = 0; qd < k3 / kQuadCols; ++qd) {
    // 16 readable bytes (callers pad q); only the first 12 are selected.
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + qd * kQuadCols));
    const __m256i l = _mm256_broadcastsi128_si256(_mm_and_si128(a, nib));
    const __m256i h = _mm256_broadcastsi128_si256(
        _mm_sub_epi8(_mm_xor_si128(_mm_and_si128(_mm_srli_epi16(a, 4), nib), eight), eight));
    for (int hf = 0; hf < 2; ++hf) {
      __m256i tl = bias_lo, th = bias_hi;
      for (int i = 0; i < 3; ++i) {
        const __m256i s = _mm256_load_si256(reinterpret_cast<const __m256i*>(sel[hf][i]));
        const __m256i wi = _mm256_load_si256(reinterpret_cast<const __m256i*>(wt[i]));
        tl = _mm256_add_epi8(tl, _mm256_sign_epi8(_mm256_shuffle_epi8(l, s), wi));
        th = _mm256_add_epi8(th, _mm256_sign_epi8(_mm256_shuffle_epi8(h, s), wi));
      }
      _mm256_store_si256(reinterpret_cast<__m256i*>(tab + qd * kTableQuadBytes + 32 * hf), tl);
      _mm256_store_si256(reinterpret_cast<__m256i*>(tab + qd * kTableQuadBytes + 64 + 32 * hf), th);
    }
  }
}

void lt3_gemv(const Lt3Matrix& m, const uint8_t* data, const uint8_t* tab, int32_t* out) {
  const int64_t n_groups = m.k3 / 3;
  for (int64_t t = 0; t < m.rows / kTileRows2; ++t) {
    gemv_tile(data + t * n_groups * kGroupBytes2, n_groups, tab, m.corr.data() + t * kTileRows2, out + t * kTileRows2);
  }
}

}  // namespace tern::lut::avx2
