// AVX2 (+FMA, F16C) kernels. Compiled with -mavx2 -mfma -mf16c for this file only; called only
// when the CPU reports those features.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "core/cpu.h"
#include "core/fp16.h"
#include "kernels/table.h"

namespace tern::avx2 {

void tr16_gemm(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
               int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride);

namespace {

inline float hmax_ps(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

inline float hsum_ps(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int32_t hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

void quantize_act(const float* x, int64_t n, int64_t n_pad, int8_t* q, float* scale,
                  int32_t* qsum) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 vmax = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)), vmax);
  float amax = hmax_ps(vmax);
  for (; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  const float s = 127.0f / std::fmax(amax, 1e-5f);

  const __m256 vs = _mm256_set1_ps(s);
  const __m256 lo = _mm256_set1_ps(-128.0f), hi = _mm256_set1_ps(127.0f);
  __m256i vsum = _mm256_setzero_si256();
  i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i v[4];
    for (int j = 0; j < 4; ++j) {
      __m256 f = _mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * j), vs);
      f = _mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      f = _mm256_min_ps(_mm256_max_ps(f, lo), hi);
      v[j] = _mm256_cvtps_epi32(f);
      vsum = _mm256_add_epi32(vsum, v[j]);
    }
    // packs works within 128-bit lanes; the permute restores element order.
    const __m256i p01 = _mm256_packs_epi32(v[0], v[1]);
    const __m256i p23 = _mm256_packs_epi32(v[2], v[3]);
    __m256i p = _mm256_packs_epi16(p01, p23);
    p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i), p);
  }
  int32_t sum = hsum_epi32(vsum);
  for (; i < n; ++i) {
    float v = std::nearbyint(x[i] * s);
    v = std::fmin(std::fmax(v, -128.0f), 127.0f);
    q[i] = static_cast<int8_t>(v);
    sum += q[i];
  }
  if (n_pad > n) std::memset(q + n, 0, static_cast<size_t>(n_pad - n));
  *scale = s;
  *qsum = sum;
}

// F16 GEMM over the R4 layout (kernels/table.h; see the AVX-512 file). Register tile 4 rows x
// NT <= 2 tokens (8 accumulators + 4 activation halves + a weight vector in 16 registers); more
// tokens make further passes over the block, whose 4 KB of weights are in L1 by then.
template <int NT>
void f16_block(const uint16_t* w, int64_t kbw, int64_t kv, const float* x, int64_t k, float* part) {
  const int64_t n_full = kv / 16, n_chunks = kbw / 16;
  for (int g = 0; g < 16; ++g) {
    __m256 acc[4][NT];
    for (int r = 0; r < 4; ++r) {
      for (int t = 0; t < NT; ++t) acc[r][t] = _mm256_setzero_ps();
    }
    const uint16_t* wg = w + g * 4 * kbw;
    for (int64_t c = 0; c < n_full; ++c) {
      __m256 xl[NT], xh[NT];
      for (int t = 0; t < NT; ++t) {
        xl[t] = _mm256_loadu_ps(x + t * k + 16 * c);
        xh[t] = _mm256_loadu_ps(x + t * k + 16 * c + 8);
      }
      for (int r = 0; r < 4; ++r) {
        const uint16_t* wr = wg + 64 * c + 16 * r;
        const __m256 wl = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wr)));
        for (int t = 0; t < NT; ++t) acc[r][t] = _mm256_fmadd_ps(wl, xl[t], acc[r][t]);
        const __m256 wh = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wr + 8)));
        for (int t = 0; t < NT; ++t) acc[r][t] = _mm256_fmadd_ps(wh, xh[t], acc[r][t]);
      }
    }
    for (int r = 0; r < 4; ++r) {
      for (int t = 0; t < NT; ++t) {
        float sum = hsum_ps(acc[r][t]);
        if (n_full < n_chunks) {  // the last, partial chunk (kv % 16 columns)
          const uint16_t* wr = wg + 64 * n_full + 16 * r;
          for (int64_t j = 0; j < kv % 16; ++j) sum += _cvtsh_ss(wr[j]) * x[t * k + 16 * n_full + j];
        }
        part[t * 64 + 4 * g + r] += sum;
      }
    }
  }
}

void f16_gemm(const uint16_t* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
              float* out, int64_t out_stride) {
  const int64_t k16 = round_up_16(k);
  for (int64_t r0 = 0; r0 < nrows; r0 += kF16SuperRows, w += kF16SuperRows * k16) {
    const int64_t nr = nrows - r0 < kF16SuperRows ? nrows - r0 : kF16SuperRows;
    for (int64_t t0 = 0; t0 < n_tok; t0 += 2) {
      const int64_t nt = n_tok - t0 < 2 ? n_tok - t0 : 2;
      alignas(32) float part[2 * 64] = {};
      for (int64_t kb = 0; kb * kF16BlockCols < k16; ++kb) {
        const int64_t i0 = kb * kF16BlockCols;
        const int64_t kbw = k16 - i0 < kF16BlockCols ? k16 - i0 : kF16BlockCols;
        const int64_t kv = k - i0 < kbw ? k - i0 : kbw;
        const uint16_t* wb = w + kb * kF16SuperRows * kF16BlockCols;
        if (nt == 2) {
          f16_block<2>(wb, kbw, kv, x + t0 * k + i0, k, part);
        } else {
          f16_block<1>(wb, kbw, kv, x + t0 * k + i0, k, part);
        }
      }
      for (int64_t t = 0; t < nt; ++t) std::memcpy(out + (t0 + t) * out_stride + r0, part + t * 64, static_cast<size_t>(nr) * sizeof(float));
    }
  }
}

void f32_gemm(const float* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok, float* out,
              int64_t out_stride) {
  for (int64_t r = 0; r < nrows; ++r) {
    const float* wr = w + r * k;
    for (int64_t t = 0; t < n_tok; ++t) {
      const float* xt = x + t * k;
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      int64_t i = 0;
      for (; i + 16 <= k; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(wr + i), _mm256_loadu_ps(xt + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(wr + i + 8), _mm256_loadu_ps(xt + i + 8), a1);
      }
      float acc = hsum_ps(_mm256_add_ps(a0, a1));
      for (; i < k; ++i) acc += wr[i] * xt[i];
      out[t * out_stride + r] = acc;
    }
  }
}

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// 8 int8 (the low 8 bytes of v) -> 8 floats.
inline __m256 i8_to_ps(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)); }

// Quantized rows: each weight vector is decoded once in registers (w = d * q, exactly the
// stored weight) and FMA'd into NT tokens; one row at a time, like f16_gemm.
template <int NT>
void q8_0_row(const uint8_t* wr, int64_t k, const float* x, float* out, int64_t out_stride) {
  __m256 acc[NT][2];
  for (int t = 0; t < NT; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  for (int64_t b = 0; b < k / kQ8_0Elems; ++b) {
    const uint8_t* blk = wr + b * kQ8_0Bytes;
    const __m256 d = _mm256_cvtph_ps(_mm_set1_epi16(static_cast<short>(load_u16(blk))));
    __m256 wv[4];
    for (int j = 0; j < 4; ++j) {
      wv[j] = _mm256_mul_ps(d, i8_to_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk + 2 + 8 * j))));
    }
    for (int t = 0; t < NT; ++t) {
      const float* xt = x + t * k + b * kQ8_0Elems;
      for (int j = 0; j < 4; ++j) acc[t][j & 1] = _mm256_fmadd_ps(wv[j], _mm256_loadu_ps(xt + 8 * j), acc[t][j & 1]);
    }
  }
  for (int t = 0; t < NT; ++t) out[t * out_stride] = hsum_ps(_mm256_add_ps(acc[t][0], acc[t][1]));
}

// Q6_K: per 16 weights (one sub-block, one scale) of a 128-weight half, the 6-bit q is the
// nibble of ql and 2 bits of qh (kernels/ref: q6_k_weight). ds[j] = d * scale_j once per
// super-block, then w = ds[j] * (q - 32) as ggml evaluates it.
template <int NT>
void q6_k_row(const uint8_t* wr, int64_t k, const float* x, float* out, int64_t out_stride) {
  const __m128i m0f = _mm_set1_epi8(0x0f), m30 = _mm_set1_epi8(0x30), k32 = _mm_set1_epi8(32);
  __m256 acc[NT][2];
  for (int t = 0; t < NT; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  for (int64_t sb = 0; sb < k / kQ6_KElems; ++sb) {
    const uint8_t* blk = wr + sb * kQ6_KBytes;
    alignas(32) float ds[16];
    const __m256 d = _mm256_cvtph_ps(_mm_set1_epi16(static_cast<short>(load_u16(blk + 208))));
    _mm256_store_ps(ds, _mm256_mul_ps(d, i8_to_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk + 192)))));
    _mm256_store_ps(ds + 8, _mm256_mul_ps(d, i8_to_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk + 200)))));
    for (int h = 0; h < 2; ++h) {
      for (int c = 0; c < 2; ++c) {
        const __m128i qa = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 64 * h + 16 * c));
        const __m128i qb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 64 * h + 32 + 16 * c));
        const __m128i qh = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 128 + 32 * h + 16 * c));
        __m128i g[4];
        g[0] = _mm_or_si128(_mm_and_si128(qa, m0f), _mm_and_si128(_mm_slli_epi16(qh, 4), m30));
        g[1] = _mm_or_si128(_mm_and_si128(qb, m0f), _mm_and_si128(_mm_slli_epi16(qh, 2), m30));
        g[2] = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(qa, 4), m0f), _mm_and_si128(qh, m30));
        g[3] = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(qb, 4), m0f), _mm_and_si128(_mm_srli_epi16(qh, 2), m30));
        for (int gi = 0; gi < 4; ++gi) {
          const int j = 8 * h + 2 * gi + c;  // sub-block: weights 16 j .. 16 j + 15
          const __m128i q = _mm_sub_epi8(g[gi], k32);
          const __m256 s = _mm256_set1_ps(ds[j]);
          const __m256 w0 = _mm256_mul_ps(s, i8_to_ps(q));
          const __m256 w1 = _mm256_mul_ps(s, i8_to_ps(_mm_srli_si128(q, 8)));
          for (int t = 0; t < NT; ++t) {
            const float* xt = x + t * k + sb * kQ6_KElems + 16 * j;
            acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xt), acc[t][0]);
            acc[t][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xt + 8), acc[t][1]);
          }
        }
      }
    }
  }
  for (int t = 0; t < NT; ++t) out[t * out_stride] = hsum_ps(_mm256_add_ps(acc[t][0], acc[t][1]));
}

#include "kernels/quant_gemm_driver.h"  // q8_0_gemm, q6_k_gemm from the rows above

// Attention scores for NI queries x NJ keys (see the AVX-512 file); scalar tail for d % 8.
template <int NI, int NJ>
void scores_tile(const float* q, int64_t qs, const float* k, int64_t ks, int64_t d, float* out,
                 int64_t os) {
  __m256 acc[NI][NJ];
  for (int i = 0; i < NI; ++i) {
    for (int j = 0; j < NJ; ++j) acc[i][j] = _mm256_setzero_ps();
  }
  int64_t c = 0;
  for (; c + 8 <= d; c += 8) {
    __m256 kv[NJ];
    for (int j = 0; j < NJ; ++j) kv[j] = _mm256_loadu_ps(k + j * ks + c);
    for (int i = 0; i < NI; ++i) {
      const __m256 qv = _mm256_loadu_ps(q + i * qs + c);
      for (int j = 0; j < NJ; ++j) acc[i][j] = _mm256_fmadd_ps(qv, kv[j], acc[i][j]);
    }
  }
  if constexpr (NJ == 4) {
    // Four sums at once (three hadds), then the scalar tail for d % 8.
    for (int i = 0; i < NI; ++i) {
      const __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(acc[i][0], acc[i][1]), _mm256_hadd_ps(acc[i][2], acc[i][3]));
      _mm_storeu_ps(out + i * os, _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1)));
      for (int64_t t = c; t < d; ++t) {
        for (int j = 0; j < NJ; ++j) out[i * os + j] += q[i * qs + t] * k[j * ks + t];
      }
    }
  } else {
    for (int i = 0; i < NI; ++i) {
      for (int j = 0; j < NJ; ++j) {
        float r = hsum_ps(acc[i][j]);
        for (int64_t t = c; t < d; ++t) r += q[i * qs + t] * k[j * ks + t];
        out[i * os + j] = r;
      }
    }
  }
}

template <int NI>
void scores_rows(const float* q, int64_t qs, const float* k, int64_t nk, int64_t ks, int64_t d,
                 float* out, int64_t os) {
  int64_t j = 0;
  for (; j + 4 <= nk; j += 4) scores_tile<NI, 4>(q, qs, k + j * ks, ks, d, out + j, os);
  for (; j < nk; ++j) scores_tile<NI, 1>(q, qs, k + j * ks, ks, d, out + j, os);
}

// 8 x 8 floats transposed in registers (r[i] lane j <-> r[j] lane i). Data movement only.
inline void transpose8(__m256 (&r)[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

// 8 queries x 8 keys with the queries in the lanes (the AVX-512 file's 16 x 16 block at half
// width): qt is the 8 queries transposed ([d][8]); each step is one load of qt and 8 broadcasts
// of K (plain loads on Zen 4) against 8 accumulators, no horizontal sums; the 8 x 8 result is
// transposed on the way out. kKs > 0: the key stride as a constant (one base register for the 8
// rows). `next`: the following key block, prefetched a cache line every other step.
template <int64_t kKs>
void scores_block(const float* qt, const float* k, int64_t ks_rt, int64_t d, float* out, int64_t os,
                  const float* next) {
  const int64_t ks = kKs > 0 ? kKs : ks_rt;
  __m256 acc[8];
  for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t c = 0; c < d; ++c) {
    // even steps: row (c / 2) % 8, line c / 16 of the next block (shifts, no division)
    if (next && (c & 1) == 0) _mm_prefetch(reinterpret_cast<const char*>(next + ((c >> 1) & 7) * ks + (c >> 4) * 16), _MM_HINT_T0);
    const __m256 qv = _mm256_loadu_ps(qt + c * 8);
    for (int j = 0; j < 8; ++j) acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(k[j * ks + c]), qv, acc[j]);
  }
  transpose8(acc);  // acc[j] lane i (key j, query i) -> acc[i] lane j
  for (int i = 0; i < 8; ++i) _mm256_storeu_ps(out + i * os, acc[i]);
}

// 4 queries x 8 keys with (query, 2 consecutive dims) in the lanes, for a decoded token's 4 GQA
// heads: each step broadcasts 2 floats of each key row (vbroadcastsd) against qp's 4 x 2 values,
// so all 8 lanes work without a transpose; each lane pair then holds one score's odd and even
// halves, added by hadd on the way out.
template <int64_t kKs>
void scores_quad(const float* qp, const float* k, int64_t ks_rt, int64_t d, float* out, int64_t os) {
  const int64_t ks = kKs > 0 ? kKs : ks_rt;
  __m256 acc[8];
  for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t c = 0; c < d; c += 2) {
    const __m256 qv = _mm256_loadu_ps(qp + c * 4);
    for (int j = 0; j < 8; ++j) {
      const __m256 kv = _mm256_castpd_ps(_mm256_broadcast_sd(reinterpret_cast<const double*>(k + j * ks + c)));
      acc[j] = _mm256_fmadd_ps(kv, qv, acc[j]);
    }
  }
  // Keys j..j+3 at a time: hadd gives (key, query 0 / 1) pairs in the low half and (key, query
  // 2 / 3) in the high; two shuffles sort them into one query's 4 scores per half.
  for (int j = 0; j < 8; j += 4) {
    const __m256 h01 = _mm256_hadd_ps(acc[j], acc[j + 1]), h23 = _mm256_hadd_ps(acc[j + 2], acc[j + 3]);
    const __m256 even = _mm256_shuffle_ps(h01, h23, 0x88), odd = _mm256_shuffle_ps(h01, h23, 0xDD);
    _mm_storeu_ps(out + j, _mm256_castps256_ps128(even));
    _mm_storeu_ps(out + os + j, _mm256_castps256_ps128(odd));
    _mm_storeu_ps(out + 2 * os + j, _mm256_extractf128_ps(even, 1));
    _mm_storeu_ps(out + 3 * os + j, _mm256_extractf128_ps(odd, 1));
  }
}

// (The 2 x 4 row tiles alone, with their horizontal sums, ran at ~35% of FMA peak.)
constexpr int64_t kScoreBlock = 8;
constexpr int kTailRows = 2;
constexpr int64_t kQuadKeys = 8, kQuadDims = 2;
#include "kernels/attn_scores_driver.h"  // attn_scores from the kernels above

// NI queries' weighted sums of value rows over 32 columns (4 registers per query), added to
// what out holds. Each value register is loaded once for the NI queries (the empty asm keeps
// GCC from folding the load into every FMA).
template <int NI>
void values_tile32(const float* p, int64_t ps, const float* v, int64_t nk, int64_t vs, float* out, int64_t os) {
  __m256 acc[NI][4];
  for (int i = 0; i < NI; ++i) {
    for (int u = 0; u < 4; ++u) acc[i][u] = _mm256_loadu_ps(out + i * os + 8 * u);
  }
  for (int64_t j = 0; j < nk; ++j) {
    __m256 vv[4];
    for (int u = 0; u < 4; ++u) {
      vv[u] = _mm256_loadu_ps(v + j * vs + 8 * u);
      if (NI > 1) asm("" : "+x"(vv[u]));
    }
    for (int i = 0; i < NI; ++i) {
      const __m256 pb = _mm256_set1_ps(p[i * ps + j]);
      for (int u = 0; u < 4; ++u) acc[i][u] = _mm256_fmadd_ps(pb, vv[u], acc[i][u]);
    }
  }
  for (int i = 0; i < NI; ++i) {
    for (int u = 0; u < 4; ++u) _mm256_storeu_ps(out + i * os + 8 * u, acc[i][u]);
  }
}

// Pairs of queries x 32-column tiles (a value load serves two queries, a broadcast four
// registers); scalar tail for d % 32. Every output sums its keys in order, as the reference.
void attn_values(const float* p, int64_t nq, int64_t p_stride, const float* v, int64_t nk,
                 int64_t v_stride, int64_t d, float* out, int64_t out_stride) {
  // Keys in chunks of 32 so a chunk's value rows stay in L1 while every query uses them (see
  // the AVX-512 file); each query's sums accumulate in out across chunks.
  constexpr int64_t kKeyChunk = 32;
  const int64_t d32 = d / 32 * 32;
  for (int64_t i = 0; i < nq; ++i) std::memset(out + i * out_stride, 0, static_cast<size_t>(d) * sizeof(float));
  for (int64_t j0 = 0; j0 < nk; j0 += kKeyChunk) {
    const int64_t nj = nk - j0 < kKeyChunk ? nk - j0 : kKeyChunk;
    for (int64_t c = 0; c < d32; c += 32) {
      int64_t i = 0;
      for (; i + 2 <= nq; i += 2) {
        values_tile32<2>(p + i * p_stride + j0, p_stride, v + j0 * v_stride + c, nj, v_stride, out + i * out_stride + c, out_stride);
      }
      for (; i < nq; ++i) values_tile32<1>(p + i * p_stride + j0, p_stride, v + j0 * v_stride + c, nj, v_stride, out + i * out_stride + c, out_stride);
    }
    for (int64_t i = 0; i < nq; ++i) {
      const float* pi = p + i * p_stride;
      float* o = out + i * out_stride;
      for (int64_t c = d32; c < d; ++c) {
        float r = o[c];
        for (int64_t j = j0; j < j0 + nj; ++j) r += pi[j] * v[j * v_stride + c];
        o[c] = r;
      }
    }
  }
}

// exp(x) for x <= 0 (see the AVX-512 file): Cephes polynomial, 2^t built in the exponent bits;
// x is clamped at -87.3, so t >= -126 and the result stays a normal float.
inline __m256 exp_ps(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.33654f));
  const __m256 t = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(t, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(t, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(t), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

void softmax(float* x, int64_t n, int64_t n_total, float scale, float* max_sum) {
  const __m256 vs = _mm256_set1_ps(scale);
  __m256 vmax = _mm256_set1_ps(-INFINITY);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + j), vs);
    _mm256_storeu_ps(x + j, v);
    vmax = _mm256_max_ps(vmax, v);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vmax);
  float mx = lanes[0];
  for (int i = 1; i < 8; ++i) mx = std::fmax(mx, lanes[i]);
  for (int64_t t = j; t < n; ++t) {
    x[t] *= scale;
    mx = std::fmax(mx, x[t]);
  }
  const __m256 vmx = _mm256_set1_ps(mx);
  __m256 vsum = _mm256_setzero_ps();
  for (j = 0; j + 8 <= n; j += 8) {
    const __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), vmx));
    _mm256_storeu_ps(x + j, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  float sum = hsum_ps(vsum);
  for (int64_t t = j; t < n; ++t) {
    x[t] = std::exp(x[t] - mx);
    sum += x[t];
  }
  if (max_sum) {
    max_sum[0] = mx;
    max_sum[1] = sum;
  }
  const float inv = 1.0f / sum;
  const __m256 vinv = _mm256_set1_ps(inv);
  for (j = 0; j + 8 <= n; j += 8) _mm256_storeu_ps(x + j, _mm256_mul_ps(_mm256_loadu_ps(x + j), vinv));
  for (; j < n; ++j) x[j] *= inv;
  for (j = n; j < n_total; ++j) x[j] = 0.0f;
}

void bitlinear_out(const int32_t* acc, int64_t n, int32_t qsum, float inv_scale, const float* row_scale,
                   float* y) {
  const __m256i qs = _mm256_set1_epi32(qsum);
  const __m256 is = _mm256_set1_ps(inv_scale);
  int64_t r = 0;
  for (; r + 8 <= n; r += 8) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + r));
    const __m256 v = _mm256_cvtepi32_ps(_mm256_sub_epi32(a, qs));
    _mm256_storeu_ps(y + r, _mm256_mul_ps(_mm256_mul_ps(v, is), _mm256_loadu_ps(row_scale + r)));
  }
  for (; r < n; ++r) y[r] = static_cast<float>(acc[r] - qsum) * inv_scale * row_scale[r];
}

void rms_norm(const float* x, const float* w, int64_t n, float eps, float* out) {
  // Lane l of accumulator a is partial sum 4 a + l: eight independent chains. Products of two
  // floats are exact in double, so the fused multiply-add rounds exactly as the reference's
  // multiply then add.
  __m256d acc[8];
  for (auto& a : acc) a = _mm256_setzero_pd();
  for (int64_t i = 0; i + kNormParts <= n; i += kNormParts) {
    for (int a = 0; a < 8; ++a) {
      const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4 * a));
      acc[a] = _mm256_fmadd_pd(v, v, acc[a]);
    }
  }
  alignas(32) double part[kNormParts];
  for (int a = 0; a < 8; ++a) _mm256_store_pd(part + 4 * a, acc[a]);
  const float inv_s = rms_norm_inv(part, x, n, eps);
  const __m256 inv = _mm256_set1_ps(inv_s);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), inv), _mm256_loadu_ps(w + i)));
  }
  for (; i < n; ++i) out[i] = x[i] * inv_s * w[i];
}

void relu_sqr_mul(const float* g, const float* u, float* out, int64_t n) {
  const __m256 zero = _mm256_setzero_ps();
  int64_t j = 0;
  // max(g, 0) returns the second operand (0) when g is NaN, as the reference's select does.
  for (; j + 8 <= n; j += 8) {
    const __m256 r = _mm256_max_ps(_mm256_loadu_ps(g + j), zero);
    _mm256_storeu_ps(out + j, _mm256_mul_ps(_mm256_mul_ps(r, r), _mm256_loadu_ps(u + j)));
  }
  for (; j < n; ++j) {
    const float r = g[j] > 0.0f ? g[j] : 0.0f;
    out[j] = r * r * u[j];
  }
}

// BitLinear on this file's epilogue kernels after a 256-bit tr16_gemm (maddubs here, VNNI for
// the avxvnni table below).
template <auto Gemm>
void tr16_bitlinear_with(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q, int64_t q_stride,
                         int64_t n_tok, const TrEpilogue& ep, float* y, int64_t y_stride) {
  tr16_bitlinear_by_parts(Gemm, bitlinear_out, relu_sqr_mul, codes, tr_group_bytes(k_pad), n_groups, k_pad, q,
                          q_stride, n_tok, ep, y, y_stride);
}
constexpr auto tr16_bitlinear = &tr16_bitlinear_with<tr16_gemm>;

void f16_to_f32(const uint16_t* src, int64_t n, float* dst) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; ++i) dst[i] = fp16_to_f32(src[i]);
}

void f32_to_f16(const float* src, int64_t n, uint16_t* dst) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; ++i) dst[i] = f32_to_fp16(src[i]);
}

// Weights stay TR16 on this path; the TN16 entries are the reference's (table.h).
constexpr auto tn16_gemm = &tn16_gemm_by_ref;
constexpr auto tn16_to_tr16 = &tn16_to_tr16_by_ref;
constexpr bool prefers_tn16() { return false; }

}  // namespace

TERN_DEFINE_KERNEL_TABLE("avx2")

}  // namespace tern::avx2

namespace tern::avxvnni {

void tr16_gemm_vex(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                   int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride);
void tr16_gemm_evex(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                    int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride);

// The AVX2 table with the ternary matmuls on vpdpbusd (one instruction where AVX2 needs
// maddubs and an add): VEX-encoded where the CPU has AVX-VNNI, else the EVEX encoding of the
// same 256-bit code (dispatch.cpp offers this table only when one of the two runs).
const KernelTable& table() {
  static const KernelTable t = [] {
    KernelTable k = avx2::table();
    k.isa = "avxvnni";
    if (cpu_features().avxvnni) {
      k.tr16_gemm = tr16_gemm_vex;
      k.tr16_bitlinear = avx2::tr16_bitlinear_with<tr16_gemm_vex>;
    } else {
      k.tr16_gemm = tr16_gemm_evex;
      k.tr16_bitlinear = avx2::tr16_bitlinear_with<tr16_gemm_evex>;
    }
    return k;
  }();
  return t;
}

}  // namespace tern::avxvnni
