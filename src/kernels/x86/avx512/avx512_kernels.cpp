// AVX-512 (F, BW, VL, VNNI) kernels. Compiled with AVX-512 flags for this file only; called only
// when the CPU reports avx512f, avx512bw, avx512vl and avx512vnni.
//
// The ternary GEMM lives in avx512_ternary.cpp.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "kernels/table.h"

namespace tern::avx512 {

void tr16_gemm(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
               int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride);

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

// One token against R rows at once: R independent pairs of accumulators keep R loads in
// flight, which a single-row loop with a horizontal sum per row does not.
template <int R>
void f16_gemv_rows(const uint16_t* w, int64_t k, const float* x, float* out) {
  __m512 a0[R], a1[R];
  for (int r = 0; r < R; ++r) a0[r] = a1[r] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= k; i += 32) {
    const __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + 16);
    for (int r = 0; r < R; ++r) {
      const uint16_t* wr = w + r * k + i;
      a0[r] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr))), x0, a0[r]);
      a1[r] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr + 16))), x1, a1[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    float acc = _mm512_reduce_add_ps(_mm512_add_ps(a0[r], a1[r]));
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
      __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
      int64_t i = 0;
      for (; i + 32 <= k; i += 32) {
        const __m512 w0 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr + i)));
        const __m512 w1 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr + i + 16)));
        a0 = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xt + i), a0);
        a1 = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xt + i + 16), a1);
      }
      float acc = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
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

float dot_f32(const float* a, const float* b, int64_t n) {
  __m512 s0 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
  float acc = _mm512_reduce_add_ps(s0);
  for (; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
  const __m512 va = _mm512_set1_ps(a);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

const KernelTable& table() {
  static const KernelTable t = [] {
    KernelTable k;
    k.isa = "avx512";
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

}  // namespace tern::avx512
