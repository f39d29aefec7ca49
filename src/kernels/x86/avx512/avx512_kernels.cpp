// AVX-512 (F, BW, VL, VNNI) kernels. Compiled with AVX-512 flags for this file only; called only
// when the CPU reports avx512f, avx512bw, avx512vl and avx512vnni.
//
// The ternary GEMM lives in avx512_ternary.cpp.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "core/cpu.h"
#include "core/fp16.h"
#include "kernels/table.h"

namespace tern::avx512 {

void tr16_gemm(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
               int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride);
void tn16_gemm_vbmi(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q, int64_t q_stride,
                    int64_t n_tok, int32_t* out, int64_t out_stride);
void tn16_to_tr16_vbmi(const uint8_t* tn, int64_t n_groups, int64_t k_pad, uint8_t* tr);
void tr16_bitlinear_tiles(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                          int64_t q_stride, int64_t n_tok, const TrEpilogue& ep, float* y, int64_t y_stride);

namespace {

void quantize_act(const float* x, int64_t n, int64_t n_pad, int8_t* q, float* scale,
                  int32_t* qsum) {
  __m512 vmax = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) vmax = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i)), vmax);
  float amax = _mm512_reduce_max_ps(vmax);
  for (; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  const float s = 127.0f / std::fmax(amax, 1e-5f);

  const __m512 vs = _mm512_set1_ps(s);
  const __m512 lo = _mm512_set1_ps(-128.0f), hi = _mm512_set1_ps(127.0f);
  __m512i vsum = _mm512_setzero_si512();
  i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 f = _mm512_mul_ps(_mm512_loadu_ps(x + i), vs);
    f = _mm512_roundscale_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
    const __m512i v = _mm512_cvtps_epi32(f);
    vsum = _mm512_add_epi32(vsum, v);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm512_cvtsepi32_epi8(v));
  }
  int32_t sum = _mm512_reduce_add_epi32(vsum);
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

// The four horizontal sums [sum(a), sum(b), sum(c), sum(d)] in one register: halving to 256
// bits, then three hadds, shares the shuffles that four separate reductions would repeat.
inline __m128 hsum4(__m512 a, __m512 b, __m512 c, __m512 d) {
  const __m256 a2 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm512_extractf32x8_ps(a, 1));
  const __m256 b2 = _mm256_add_ps(_mm512_castps512_ps256(b), _mm512_extractf32x8_ps(b, 1));
  const __m256 c2 = _mm256_add_ps(_mm512_castps512_ps256(c), _mm512_extractf32x8_ps(c, 1));
  const __m256 d2 = _mm256_add_ps(_mm512_castps512_ps256(d), _mm512_extractf32x8_ps(d, 1));
  const __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a2, b2), _mm256_hadd_ps(c2, d2));
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// F16 GEMM over the R4 layout (kernels/table.h). Per 64-row supergroup and 512-column block,
// each 4-row group is a register tile of 4 rows x NT tokens; a chunk is 4 converted weight
// vectors (128 contiguous bytes) and NT activation loads (L1-resident for the whole block).
// Group partial sums gather in part[] (L1) across blocks.
template <int NT>
void f16_block(const uint16_t* w, int64_t kbw, int64_t kv, const float* x, int64_t k, float* part) {
  const __mmask16 tail = kv % 16 ? static_cast<__mmask16>((1u << (kv % 16)) - 1) : static_cast<__mmask16>(0xffff);
  const int64_t n_full = kv / 16, n_chunks = kbw / 16;
  for (int g = 0; g < 16; ++g) {
    __m512 acc[4][NT];
    for (int r = 0; r < 4; ++r) {
      for (int t = 0; t < NT; ++t) acc[r][t] = _mm512_setzero_ps();
    }
    const uint16_t* wg = w + g * 4 * kbw;
    for (int64_t c = 0; c < n_chunks; ++c) {
      __m512 xv[NT];
      if (c < n_full) {
        for (int t = 0; t < NT; ++t) xv[t] = _mm512_loadu_ps(x + t * k + 16 * c);
      } else {  // past the matrix's last column: activations masked, weights are zero padding
        for (int t = 0; t < NT; ++t) xv[t] = _mm512_maskz_loadu_ps(tail, x + t * k + 16 * c);
      }
      for (int r = 0; r < 4; ++r) {
        const __m512 wv = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wg + 64 * c + 16 * r)));
        for (int t = 0; t < NT; ++t) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
      }
    }
    for (int t = 0; t < NT; ++t) {
      float* p = part + t * 64 + 4 * g;
      _mm_storeu_ps(p, _mm_add_ps(_mm_loadu_ps(p), hsum4(acc[0][t], acc[1][t], acc[2][t], acc[3][t])));
    }
  }
}

template <int NT>
void f16_supergroups(const uint16_t* w, int64_t nrows, int64_t k, const float* x, float* out, int64_t out_stride) {
  const int64_t k16 = round_up_16(k);
  for (int64_t r0 = 0; r0 < nrows; r0 += kF16SuperRows, w += kF16SuperRows * k16) {
    alignas(64) float part[64 * NT] = {};
    for (int64_t kb = 0; kb * kF16BlockCols < k16; ++kb) {
      const int64_t i0 = kb * kF16BlockCols;
      const int64_t kbw = k16 - i0 < kF16BlockCols ? k16 - i0 : kF16BlockCols;
      const int64_t kv = k - i0 < kbw ? k - i0 : kbw;  // real columns in this block
      f16_block<NT>(w + kb * kF16SuperRows * kF16BlockCols, kbw, kv, x + i0, k, part);
    }
    const int64_t nr = nrows - r0 < kF16SuperRows ? nrows - r0 : kF16SuperRows;
    for (int t = 0; t < NT; ++t) std::memcpy(out + t * out_stride + r0, part + t * 64, static_cast<size_t>(nr) * sizeof(float));
  }
}

void f16_gemm(const uint16_t* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
              float* out, int64_t out_stride) {
  for (int64_t t0 = 0; t0 < n_tok; t0 += 4) {
    const float* xt = x + t0 * k;
    float* ot = out + t0 * out_stride;
    switch (n_tok - t0) {
      case 1: f16_supergroups<1>(w, nrows, k, xt, ot, out_stride); break;
      case 2: f16_supergroups<2>(w, nrows, k, xt, ot, out_stride); break;
      case 3: f16_supergroups<3>(w, nrows, k, xt, ot, out_stride); break;
      default: f16_supergroups<4>(w, nrows, k, xt, ot, out_stride); break;
    }
  }
}

void f32_gemm(const float* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok, float* out,
              int64_t out_stride) {
  for (int64_t r = 0; r < nrows; ++r) {
    const float* wr = w + r * k;
    for (int64_t t = 0; t < n_tok; ++t) {
      const float* xt = x + t * k;
      __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
      int64_t i = 0;
      for (; i + 32 <= k; i += 32) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(wr + i), _mm512_loadu_ps(xt + i), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(wr + i + 16), _mm512_loadu_ps(xt + i + 16), a1);
      }
      float acc = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
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

// 16 int8 -> 16 floats.
inline __m512 i8_to_ps(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v)); }

// Quantized rows: each weight vector is decoded once in registers (w = d * q, exactly the
// stored weight) and FMA'd into NT tokens. One row at a time, like f16_gemm: one sequential
// stream per thread.
template <int NT>
void q8_0_row(const uint8_t* wr, int64_t k, const float* x, float* out, int64_t out_stride) {
  __m512 acc[NT][2];
  for (int t = 0; t < NT; ++t) acc[t][0] = acc[t][1] = _mm512_setzero_ps();
  for (int64_t b = 0; b < k / kQ8_0Elems; ++b) {
    const uint8_t* blk = wr + b * kQ8_0Bytes;
    const __m512 d = _mm512_cvtph_ps(_mm256_set1_epi16(static_cast<short>(load_u16(blk))));
    const __m512 w0 = _mm512_mul_ps(d, i8_to_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2))));
    const __m512 w1 = _mm512_mul_ps(d, i8_to_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 18))));
    for (int t = 0; t < NT; ++t) {
      const float* xt = x + t * k + b * kQ8_0Elems;
      acc[t][0] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xt), acc[t][0]);
      acc[t][1] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xt + 16), acc[t][1]);
    }
  }
  for (int t = 0; t < NT; ++t) out[t * out_stride] = _mm512_reduce_add_ps(_mm512_add_ps(acc[t][0], acc[t][1]));
}

// Q6_K: per 16 weights (one sub-block, one scale) of a 128-weight half, the 6-bit q is the
// nibble of ql and 2 bits of qh (kernels/ref: q6_k_weight). Scales are widened once per
// super-block: ds[j] = d * scale_j, then w = ds[j] * (q - 32) as ggml evaluates it.
template <int NT>
void q6_k_row(const uint8_t* wr, int64_t k, const float* x, float* out, int64_t out_stride) {
  const __m128i m0f = _mm_set1_epi8(0x0f), m30 = _mm_set1_epi8(0x30), k32 = _mm_set1_epi8(32);
  __m512 acc[NT][2];
  for (int t = 0; t < NT; ++t) acc[t][0] = acc[t][1] = _mm512_setzero_ps();
  for (int64_t sb = 0; sb < k / kQ6_KElems; ++sb) {
    const uint8_t* blk = wr + sb * kQ6_KBytes;
    alignas(64) float ds[16];
    const __m512 d = _mm512_cvtph_ps(_mm256_set1_epi16(static_cast<short>(load_u16(blk + 208))));
    _mm512_store_ps(ds, _mm512_mul_ps(d, i8_to_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192)))));
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
          const __m512 wv = _mm512_mul_ps(_mm512_set1_ps(ds[j]), i8_to_ps(_mm_sub_epi8(g[gi], k32)));
          for (int t = 0; t < NT; ++t) {
            const float* xt = x + t * k + sb * kQ6_KElems + 16 * j;
            acc[t][gi & 1] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(xt), acc[t][gi & 1]);
          }
        }
      }
    }
  }
  for (int t = 0; t < NT; ++t) out[t * out_stride] = _mm512_reduce_add_ps(_mm512_add_ps(acc[t][0], acc[t][1]));
}

#include "kernels/quant_gemm_driver.h"  // q8_0_gemm, q6_k_gemm from the rows above

// Attention scores for NI queries x NJ keys: NI*NJ accumulators over d, so every key load
// serves NI queries and every query load NJ keys; the masked tail covers d % 16.
template <int NI, int NJ>
void scores_tile(const float* q, int64_t qs, const float* k, int64_t ks, int64_t d, float* out,
                 int64_t os) {
  __m512 acc[NI][NJ];
  for (int i = 0; i < NI; ++i) {
    for (int j = 0; j < NJ; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  // Whole 16-float steps with plain loads, then one masked step for d % 16. (With the mask
  // computed inside the loop GCC kept a copy of all NI x NJ accumulators on the stack, storing
  // them every step: decode's 4 x 4 tiles ran at ~35% of FMA peak.)
  auto step = [&](int64_t c, __mmask16 m, bool whole) {
    __m512 kv[NJ];
    for (int j = 0; j < NJ; ++j) kv[j] = whole ? _mm512_loadu_ps(k + j * ks + c) : _mm512_maskz_loadu_ps(m, k + j * ks + c);
    for (int i = 0; i < NI; ++i) {
      const __m512 qv = whole ? _mm512_loadu_ps(q + i * qs + c) : _mm512_maskz_loadu_ps(m, q + i * qs + c);
      for (int j = 0; j < NJ; ++j) acc[i][j] = _mm512_fmadd_ps(qv, kv[j], acc[i][j]);
    }
  };
  int64_t c = 0;
  for (; c + 16 <= d; c += 16) step(c, 0xffff, true);
  if (c < d) step(c, static_cast<__mmask16>((1u << (d - c)) - 1), false);
  if constexpr (NJ == 4) {
    for (int i = 0; i < NI; ++i) _mm_storeu_ps(out + i * os, hsum4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]));
  } else {
    for (int i = 0; i < NI; ++i) {
      for (int j = 0; j < NJ; ++j) out[i * os + j] = _mm512_reduce_add_ps(acc[i][j]);
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

// 16 x 16 floats transposed in registers (r[i] lane j <-> r[j] lane i): pairs of rows
// interleaved, then pairs of pairs, then 128-bit quarters twice. Data movement only.
inline void transpose16(__m512 (&r)[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
    r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
    r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int h = 0; h < 16; h += 8) {
    for (int i = 0; i < 4; ++i) {
      t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + 4 + i], 0x88);
      t[h + 4 + i] = _mm512_shuffle_f32x4(r[h + i], r[h + 4 + i], 0xdd);
    }
  }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
    r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
  }
}

// 16 queries x 16 keys with the queries in the lanes: qt is the 16 queries transposed
// ([d][16]), so each step is one load of qt and 16 broadcasts of K against 16 accumulators, and
// no horizontal sums (a 4 x 4 tile spends as many instructions reducing as multiplying at
// d = 128). The 16 x 16 result is transposed in registers on the way out (gathers from a
// stack copy cost ~16% of the block: 96.6 vs 114 GFLOP/s, one thread, 2048 keys from L2).
// kKs > 0: the key stride as a constant, so the 16 key rows are one base register plus fixed
// offsets (with a run-time stride GCC keeps 16 row pointers and reloads 4 of them from the stack
// every step). `next`: the following key block, prefetched one cache line per step (its 16 rows
// of d floats are d lines), so a prompt's long K streams from L3 without stalls. (The line is
// picked with shifts: a division by d's line count cost an idiv every step.) The blocking
// around it is attn_scores_driver.h.
template <int64_t kKs>
void scores_block(const float* qt, const float* k, int64_t ks_rt, int64_t d, float* out, int64_t os,
                  const float* next) {
  const int64_t ks = kKs > 0 ? kKs : ks_rt;
  __m512 acc[16];
  for (int j = 0; j < 16; ++j) acc[j] = _mm512_setzero_ps();
  for (int64_t c = 0; c < d; ++c) {
    // step c: row c % 16, line c / 16 of the next block (every line once when 16 divides d)
    if (next) _mm_prefetch(reinterpret_cast<const char*>(next + (c & 15) * ks + (c >> 4) * 16), _MM_HINT_T0);
    const __m512 qv = _mm512_loadu_ps(qt + c * 16);
    for (int j = 0; j < 16; ++j) acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(k[j * ks + c]), qv, acc[j]);
  }
  transpose16(acc);  // acc[j] lane i (key j, query i) -> acc[i] lane j
  for (int i = 0; i < 16; ++i) _mm512_storeu_ps(out + i * os, acc[i]);
}

constexpr int64_t kScoreBlock = 16;
constexpr int kTailRows = 4;
// 4 queries x 16 keys with (query, 4 consecutive dims) in the lanes, for a decoded token's 4
// GQA heads (the AVX2 file's quad block at twice the width): each step broadcasts 4 floats of
// each key row against qp's 4 x 4 values; each score's 4 partial sums are then added across
// lanes on the way out.
template <int64_t kKs>
void scores_quad(const float* qp, const float* k, int64_t ks_rt, int64_t d, float* out, int64_t os) {
  const int64_t ks = kKs > 0 ? kKs : ks_rt;
  __m512 acc[16];
  for (int j = 0; j < 16; ++j) acc[j] = _mm512_setzero_ps();
  for (int64_t c = 0; c < d; c += 4) {
    const __m512 qv = _mm512_loadu_ps(qp + c * 4);
    for (int j = 0; j < 16; ++j) acc[j] = _mm512_fmadd_ps(_mm512_broadcast_f32x4(_mm_loadu_ps(k + j * ks + c)), qv, acc[j]);
  }
  // Keys j..j+3 at a time: in-lane shuffles add each 128-bit quarter's 4 partials (quarter r is
  // query r), leaving quarter r = query r's scores for the 4 keys.
  for (int j = 0; j < 16; j += 4) {
    const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(acc[j], acc[j + 1]), _mm512_unpackhi_ps(acc[j], acc[j + 1]));
    const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(acc[j + 2], acc[j + 3]), _mm512_unpackhi_ps(acc[j + 2], acc[j + 3]));
    const __m512 s4 = _mm512_add_ps(_mm512_shuffle_ps(ab, cd, 0x44), _mm512_shuffle_ps(ab, cd, 0xEE));
    _mm_storeu_ps(out + j, _mm512_castps512_ps128(s4));
    _mm_storeu_ps(out + os + j, _mm512_extractf32x4_ps(s4, 1));
    _mm_storeu_ps(out + 2 * os + j, _mm512_extractf32x4_ps(s4, 2));
    _mm_storeu_ps(out + 3 * os + j, _mm512_extractf32x4_ps(s4, 3));
  }
}
constexpr int64_t kQuadKeys = 16, kQuadDims = 4;
#include "kernels/attn_scores_driver.h"  // attn_scores from the kernels above

// Weighted sum of value rows for NI queries over up to 128 columns (8 registers per query),
// added to what out already holds (keys come in L1-sized chunks, below). kFull: dc == 128, so
// plain loads (the masked form needs 8 mask registers and GCC reloads one from the stack every
// key).
template <int NI, bool kFull>
void values_tile(const float* p, int64_t ps, const float* v, int64_t nk, int64_t vs, int64_t dc,
                 float* out, int64_t os) {
  __mmask16 m[8];
  for (int u = 0; u < 8; ++u) {
    const int64_t rem = dc - 16 * u;
    m[u] = rem >= 16 ? static_cast<__mmask16>(0xffff) : rem > 0 ? static_cast<__mmask16>((1u << rem) - 1) : 0;
  }
  auto load = [&](const float* x, int u) { return kFull ? _mm512_loadu_ps(x) : _mm512_maskz_loadu_ps(m[u], x); };
  __m512 acc[NI][8];
  for (int i = 0; i < NI; ++i) {
    for (int u = 0; u < 8; ++u) acc[i][u] = load(out + i * os + 16 * u, u);
  }
  for (int64_t j = 0; j < nk; ++j) {
    __m512 vv[8];
    for (int u = 0; u < 8; ++u) {
      vv[u] = load(v + j * vs + 16 * u, u);
      // Loaded once for all NI queries: kept from being folded into each FMA as a memory
      // operand (NI loads per row; Zen 4 loads one 512-bit register per cycle).
      if (NI > 1) asm("" : "+v"(vv[u]));
    }
    for (int i = 0; i < NI; ++i) {
      const __m512 pb = _mm512_set1_ps(p[i * ps + j]);
      for (int u = 0; u < 8; ++u) acc[i][u] = _mm512_fmadd_ps(pb, vv[u], acc[i][u]);
    }
  }
  for (int i = 0; i < NI; ++i) {
    for (int u = 0; u < 8; ++u) {
      if (kFull) {
        _mm512_storeu_ps(out + i * os + 16 * u, acc[i][u]);
      } else {
        _mm512_mask_storeu_ps(out + i * os + 16 * u, m[u], acc[i][u]);
      }
    }
  }
}

template <bool kFull>
void values_rows(const float* p, int64_t nq, int64_t p_stride, const float* vc, int64_t nj, int64_t v_stride,
                 int64_t dc, float* out, int64_t out_stride) {
  int64_t i = 0;
  for (; i + 2 <= nq; i += 2) values_tile<2, kFull>(p + i * p_stride, p_stride, vc, nj, v_stride, dc, out + i * out_stride, out_stride);
  for (; i < nq; ++i) values_tile<1, kFull>(p + i * p_stride, p_stride, vc, nj, v_stride, dc, out + i * out_stride, out_stride);
}

// Keys in chunks of 32: a chunk's value rows (32 x 512 bytes at d = 128) stay in L1 while every
// pair of queries uses them. Without the chunks each query pair streamed all of V from L2
// (128 KB at 256 keys), which held the kernel to ~40% of FMA peak.
void attn_values(const float* p, int64_t nq, int64_t p_stride, const float* v, int64_t nk,
                 int64_t v_stride, int64_t d, float* out, int64_t out_stride) {
  constexpr int64_t kKeyChunk = 32;
  for (int64_t i = 0; i < nq; ++i) std::memset(out + i * out_stride, 0, static_cast<size_t>(d) * sizeof(float));
  for (int64_t j0 = 0; j0 < nk; j0 += kKeyChunk) {
    const int64_t nj = nk - j0 < kKeyChunk ? nk - j0 : kKeyChunk;
    for (int64_t c = 0; c < d; c += 128) {
      const int64_t dc = d - c < 128 ? d - c : 128;
      const float* vc = v + j0 * v_stride + c;
      if (dc == 128) {
        values_rows<true>(p + j0, nq, p_stride, vc, nj, v_stride, dc, out + c, out_stride);
      } else {
        values_rows<false>(p + j0, nq, p_stride, vc, nj, v_stride, dc, out + c, out_stride);
      }
    }
  }
}

// exp(x) for x <= 0 (softmax inputs after subtracting the max): x = t ln2 + r with t an
// integer and |r| <= ln2 / 2, exp(r) from a degree-7 polynomial (Cephes expf coefficients),
// times 2^t by scalef. Inputs below -87.3 give (nearly) 0, as std::exp underflows there.
inline __m512 exp_ps(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.33654f));
  const __m512 t = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(t, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(t, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, t);
}

void softmax(float* x, int64_t n, int64_t n_total, float scale, float* max_sum) {
  const __m512 vs = _mm512_set1_ps(scale);
  __m512 vmax = _mm512_set1_ps(-INFINITY);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + j), vs);
    _mm512_storeu_ps(x + j, v);
    vmax = _mm512_max_ps(vmax, v);
  }
  if (j < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - j)) - 1);
    const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + j), vs);
    _mm512_mask_storeu_ps(x + j, m, v);
    vmax = _mm512_mask_max_ps(vmax, m, vmax, v);
  }
  const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
  __m512 vsum = _mm512_setzero_ps();
  for (j = 0; j + 16 <= n; j += 16) {
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_loadu_ps(x + j), mx));
    _mm512_storeu_ps(x + j, e);
    vsum = _mm512_add_ps(vsum, e);
  }
  if (j < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - j)) - 1);
    const __m512 e = _mm512_maskz_mov_ps(m, exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), mx)));
    _mm512_mask_storeu_ps(x + j, m, e);
    vsum = _mm512_add_ps(vsum, e);
  }
  const float sum = _mm512_reduce_add_ps(vsum);
  if (max_sum) {
    max_sum[0] = _mm512_cvtss_f32(mx);
    max_sum[1] = sum;
  }
  const __m512 inv = _mm512_set1_ps(1.0f / sum);
  for (j = 0; j + 16 <= n; j += 16) _mm512_storeu_ps(x + j, _mm512_mul_ps(_mm512_loadu_ps(x + j), inv));
  if (j < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - j)) - 1);
    _mm512_mask_storeu_ps(x + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + j), inv));
  }
  for (j = n; j < n_total; ++j) x[j] = 0.0f;
}

void bitlinear_out(const int32_t* acc, int64_t n, int32_t qsum, float inv_scale, const float* row_scale,
                   float* y) {
  const __m512i qs = _mm512_set1_epi32(qsum);
  const __m512 is = _mm512_set1_ps(inv_scale);
  int64_t r = 0;
  for (; r + 16 <= n; r += 16) {
    const __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_loadu_si512(acc + r), qs));
    _mm512_storeu_ps(y + r, _mm512_mul_ps(_mm512_mul_ps(v, is), _mm512_loadu_ps(row_scale + r)));
  }
  if (r < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - r)) - 1);
    const __m512 v = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_maskz_loadu_epi32(m, acc + r), qs));
    _mm512_mask_storeu_ps(y + r, m, _mm512_mul_ps(_mm512_mul_ps(v, is), _mm512_maskz_loadu_ps(m, row_scale + r)));
  }
}

// RMSNorm is the AVX2 path's: the sum of squares is eight 256-bit chains either way (four
// 512-bit ones were slower on Zen 4), and its scaling pass measured the same as a 512-bit one
// (BM_rms_norm at n = 2560: 307-315 vs 284-308 ns).
void rms_norm(const float* x, const float* w, int64_t n, float eps, float* out) {
  avx2::table().rms_norm(x, w, n, eps, out);
}

void relu_sqr_mul(const float* g, const float* u, float* out, int64_t n) {
  const __m512 zero = _mm512_setzero_ps();
  int64_t j = 0;
  // max(g, 0) returns the second operand (0) when g is NaN, as the reference's select does.
  for (; j + 16 <= n; j += 16) {
    const __m512 r = _mm512_max_ps(_mm512_loadu_ps(g + j), zero);
    _mm512_storeu_ps(out + j, _mm512_mul_ps(_mm512_mul_ps(r, r), _mm512_loadu_ps(u + j)));
  }
  if (j < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - j)) - 1);
    const __m512 r = _mm512_max_ps(_mm512_maskz_loadu_ps(m, g + j), zero);
    _mm512_mask_storeu_ps(out + j, m, _mm512_mul_ps(_mm512_mul_ps(r, r), _mm512_maskz_loadu_ps(m, u + j)));
  }
}

void tr16_bitlinear(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q, int64_t q_stride,
                    int64_t n_tok, const TrEpilogue& ep, float* y, int64_t y_stride) {
  // Decode streams the weights and spends next to nothing in the epilogue; SiLU stays scalar.
  if (n_tok <= 4 || ep.act == TrAct::kSilu) {
    tr16_bitlinear_by_parts(tr16_gemm, bitlinear_out, relu_sqr_mul, codes, tr_group_bytes(k_pad), n_groups, k_pad, q, q_stride, n_tok, ep, y,
                            y_stride);
    return;
  }
  tr16_bitlinear_tiles(codes, n_groups, k_pad, q, q_stride, n_tok, ep, y, y_stride);
}

void f16_to_f32(const uint16_t* src, int64_t n, float* dst) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
  for (; i < n; ++i) dst[i] = fp16_to_f32(src[i]);
}

void f32_to_f16(const float* src, int64_t n, uint16_t* dst) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; ++i) dst[i] = f32_to_fp16(src[i]);
}

// TN16 (avx512_tn16.cpp) needs VBMI's vpermb; without it (e.g. Cascade Lake) weights stay
// TR16 and these entries are the reference's, for tests.
bool prefers_tn16() { return cpu_features().avx512vbmi; }
void tn16_gemm(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
               int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) {
  static const bool vbmi = prefers_tn16();
  if (vbmi) {
    tn16_gemm_vbmi(codes, n_groups, k_pad, q, q_stride, n_tok, out, out_stride);
  } else {
    tn16_gemm_by_ref(codes, n_groups, k_pad, q, q_stride, n_tok, out, out_stride);
  }
}
void tn16_to_tr16(const uint8_t* tn, int64_t n_groups, int64_t k_pad, uint8_t* tr) {
  static const bool vbmi = prefers_tn16();
  if (vbmi) {
    tn16_to_tr16_vbmi(tn, n_groups, k_pad, tr);
  } else {
    tn16_to_tr16_by_ref(tn, n_groups, k_pad, tr);
  }
}

}  // namespace

TERN_DEFINE_KERNEL_TABLE("avx512")

}  // namespace tern::avx512
