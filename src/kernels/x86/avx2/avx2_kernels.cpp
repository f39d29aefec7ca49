// AVX2 (+FMA, F16C) kernels. Compiled with -mavx2 -mfma -mf16c for this file only; called only
// when the CPU reports those features.
#include <immintrin.h>

#include <cmath>
#include <cstring>

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

// One token against R rows at once, so R row streams are in flight (see the AVX-512 file).
template <int R>
void f16_gemv_rows(const uint16_t* w, int64_t k, const float* x, float* out) {
  __m256 a0[R], a1[R];
  for (int r = 0; r < R; ++r) a0[r] = a1[r] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= k; i += 16) {
    const __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
    for (int r = 0; r < R; ++r) {
      const uint16_t* wr = w + r * k + i;
      a0[r] = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wr))), x0, a0[r]);
      a1[r] = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wr + 8))), x1, a1[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    float acc = hsum_ps(_mm256_add_ps(a0[r], a1[r]));
    for (int64_t j = i; j < k; ++j) acc += _cvtsh_ss(w[r * k + j]) * x[j];
    out[r] = acc;
  }
}

void f16_gemm(const uint16_t* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
              float* out, int64_t out_stride) {
  if (n_tok == 1) {
    int64_t r = 0;
    for (; r + 4 <= nrows; r += 4) f16_gemv_rows<4>(w + r * k, k, x, out + r);
    for (; r < nrows; ++r) f16_gemv_rows<1>(w + r * k, k, x, out + r);
    return;
  }
  for (int64_t r = 0; r < nrows; ++r) {
    const uint16_t* wr = w + r * k;
    for (int64_t t = 0; t < n_tok; ++t) {
      const float* xt = x + t * k;
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      int64_t i = 0;
      for (; i + 16 <= k; i += 16) {
        const __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wr + i)));
        const __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wr + i + 8)));
        a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xt + i), a0);
        a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xt + i + 8), a1);
      }
      float acc = hsum_ps(_mm256_add_ps(a0, a1));
      for (; i < k; ++i) acc += _cvtsh_ss(wr[i]) * xt[i];
      out[t * out_stride + r] = acc;
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

float dot_f32(const float* a, const float* b, int64_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  float acc = hsum_ps(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

const KernelTable& table() {
  static const KernelTable t = [] {
    KernelTable k;
    k.isa = "avx2";
    k.quantize_act = quantize_act;
    k.tr16_gemm = tr16_gemm;
    k.f16_gemm = f16_gemm;
    k.f32_gemm = f32_gemm;
    k.dot_f32 = dot_f32;
    k.axpy_f32 = axpy_f32;
    return k;
  }();
  return t;
}

}  // namespace tern::avx2
