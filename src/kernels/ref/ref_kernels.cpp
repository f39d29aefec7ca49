// Scalar reference kernels: the definition of what every SIMD kernel must compute.
#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "kernels/table.h"

namespace tern::ref {
namespace {

void quantize_act(const float* x, int64_t n, int64_t n_pad, int8_t* q, float* scale,
                  int32_t* qsum) {
  float amax = 0.0f;
  for (int64_t i = 0; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  const float s = 127.0f / std::fmax(amax, 1e-5f);
  int32_t sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    // nearbyint rounds half to even in the default rounding mode, like torch.round.
    float v = std::nearbyint(x[i] * s);
    v = std::fmin(std::fmax(v, -128.0f), 127.0f);
    q[i] = static_cast<int8_t>(v);
    sum += q[i];
  }
  if (n_pad > n) std::memset(q + n, 0, static_cast<size_t>(n_pad - n));
  *scale = s;
  *qsum = sum;
}

// Reads the TR16 layout exactly as table.h describes it, one code at a time.
void tr16_gemm(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
               int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) {
  const int64_t n_blocks = k_pad / kTrBlockCols;
  for (int64_t g = 0; g < n_groups; ++g) {
    const uint8_t* grp = codes + g * tr_group_bytes(k_pad);
    for (int64_t lane = 0; lane < kTrRows; ++lane) {
      for (int64_t t = 0; t < n_tok; ++t) {
        const int8_t* a = q + t * q_stride;
        int32_t acc = 0;
        for (int64_t b = 0; b < n_blocks; ++b) {
          for (int j = 0; j < 4; ++j) {
            const uint8_t v = grp[b * 64 + lane * 4 + j];
            for (int s = 0; s < 4; ++s) acc += ((v >> (2 * s)) & 3) * a[b * kTrBlockCols + 4 * s + j];
          }
        }
        out[t * out_stride + g * kTrRows + lane] = acc;
      }
    }
  }
}

void f16_gemm(const uint16_t* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
              float* out, int64_t out_stride) {
  for (int64_t r = 0; r < nrows; ++r) {
    for (int64_t t = 0; t < n_tok; ++t) {
      float acc = 0.0f;
      for (int64_t i = 0; i < k; ++i) acc += fp16_to_f32(w[f16_r4_index(r, i, k)]) * x[t * k + i];
      out[t * out_stride + r] = acc;
    }
  }
}

void f32_gemm(const float* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok, float* out,
              int64_t out_stride) {
  for (int64_t r = 0; r < nrows; ++r) {
    for (int64_t t = 0; t < n_tok; ++t) {
      float acc = 0.0f;
      for (int64_t i = 0; i < k; ++i) acc += w[r * k + i] * x[t * k + i];
      out[t * out_stride + r] = acc;
    }
  }
}

float dot_f32(const float* a, const float* b, int64_t n) {
  float acc = 0.0f;
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void attn_scores(const float* q, int64_t nq, int64_t q_stride, const float* k, int64_t nk,
                 int64_t k_stride, int64_t d, float* out, int64_t out_stride) {
  for (int64_t i = 0; i < nq; ++i) {
    for (int64_t j = 0; j < nk; ++j) out[i * out_stride + j] = dot_f32(q + i * q_stride, k + j * k_stride, d);
  }
}

void attn_values(const float* p, int64_t nq, int64_t p_stride, const float* v, int64_t nk,
                 int64_t v_stride, int64_t d, float* out, int64_t out_stride) {
  for (int64_t i = 0; i < nq; ++i) {
    float* o = out + i * out_stride;
    for (int64_t c = 0; c < d; ++c) o[c] = 0.0f;
    for (int64_t j = 0; j < nk; ++j) axpy_f32(p[i * p_stride + j], v + j * v_stride, o, d);
  }
}

void softmax(float* x, int64_t n, int64_t n_total, float scale) {
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    x[j] *= scale;
    mx = std::fmax(mx, x[j]);
  }
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j) {
    x[j] = std::exp(x[j] - mx);
    sum += x[j];
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; ++j) x[j] *= inv;
  for (int64_t j = n; j < n_total; ++j) x[j] = 0.0f;
}

}  // namespace

TERN_DEFINE_KERNEL_TABLE("ref")

}  // namespace tern::ref
