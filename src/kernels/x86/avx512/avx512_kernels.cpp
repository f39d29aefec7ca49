// AVX-512 (F, BW, VL, VNNI) kernels. Compiled with AVX-512 flags for this file only; called only
// when the CPU reports avx512f, avx512bw, avx512vl and avx512vnni.
//
// Ternary GEMM: vpdpbusd multiplies the unsigned 2-bit codes (0..2) by the signed int8
// activations and accumulates in int32 directly, so no intermediate can saturate. One 64-byte
// load covers two 128-element chunks of the T2 layout; the matching activations are the two
// 32-byte halves a[c + 32k ..] and a[c + 128 + 32k ..].
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "kernels/table.h"

namespace tern::avx512 {
namespace {

inline __m512i load_pair(const int8_t* lo, const int8_t* hi) {
  return _mm512_inserti64x4(
      _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo))),
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hi)), 1);
}

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

// Accumulates one 128-element chunk (the last, odd one) with 256-bit VNNI.
inline __m256i chunk_dot256(__m256i acc, const uint8_t* w, const int8_t* a) {
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
  for (int k = 0; k < 4; ++k) {
    const __m256i c = _mm256_and_si256(_mm256_srli_epi16(v, 2 * k), m3);
    acc = _mm256_dpbusd_epi32(acc, c, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 32 * k)));
  }
  return acc;
}

void t2_gemm(const uint8_t* codes, int64_t nrows, int64_t k_pad, const int8_t* q, int64_t n_tok,
             int32_t* out, int64_t out_stride) {
  const int64_t row_bytes = k_pad / 4;
  const __m512i m3 = _mm512_set1_epi8(3);
  constexpr int64_t kTok = 4;
  const int64_t k_pair = k_pad / (2 * kT2Chunk) * (2 * kT2Chunk);
  for (int64_t r = 0; r < nrows; ++r) {
    const uint8_t* w = codes + r * row_bytes;
    for (int64_t t0 = 0; t0 < n_tok; t0 += kTok) {
      const int64_t nt = n_tok - t0 < kTok ? n_tok - t0 : kTok;
      __m512i acc[kTok] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                           _mm512_setzero_si512()};
      for (int64_t c = 0; c < k_pair; c += 2 * kT2Chunk) {
        const __m512i v = _mm512_loadu_si512(w + c / 4);
        __m512i cs[4];
        cs[0] = _mm512_and_si512(v, m3);
        cs[1] = _mm512_and_si512(_mm512_srli_epi16(v, 2), m3);
        cs[2] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m3);
        cs[3] = _mm512_and_si512(_mm512_srli_epi16(v, 6), m3);
        for (int64_t t = 0; t < nt; ++t) {
          const int8_t* a = q + (t0 + t) * k_pad + c;
          for (int k = 0; k < 4; ++k) {
            acc[t] = _mm512_dpbusd_epi32(acc[t], cs[k], load_pair(a + 32 * k, a + kT2Chunk + 32 * k));
          }
        }
      }
      for (int64_t t = 0; t < nt; ++t) {
        int32_t s = _mm512_reduce_add_epi32(acc[t]);
        if (k_pair < k_pad) {
          __m256i a256 = chunk_dot256(_mm256_setzero_si256(), w + k_pair / 4, q + (t0 + t) * k_pad + k_pair);
          __m128i h = _mm_add_epi32(_mm256_castsi256_si128(a256), _mm256_extracti128_si256(a256, 1));
          h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
          h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
          s += _mm_cvtsi128_si32(h);
        }
        out[(t0 + t) * out_stride + r] = s;
      }
    }
  }
}

void f16_gemm(const uint16_t* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
              float* out, int64_t out_stride) {
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
    k.t2_gemm = t2_gemm;
    k.f16_gemm = f16_gemm;
    k.f32_gemm = f32_gemm;
    k.dot_f32 = dot_f32;
    k.axpy_f32 = axpy_f32;
    return k;
  }();
  return t;
}

}  // namespace tern::avx512
