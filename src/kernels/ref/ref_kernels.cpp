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

// Reads the TR16 layout exactly as table.h describes it, a byte (4 codes) at a time: this is the
// path of CPUs without AVX2 or NEON too, and tr16_code_at per code ran it 2.2x slower
// (BM_tr16_gemm/ref/2560/2560/1/1: 3.55 -> 1.60 GOP/s).
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

// TN16 read one code at a time (tn16_code_at: the layout exactly as table.h describes it).
void tn16_gemm(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
               int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) {
  for (int64_t g = 0; g < n_groups; ++g) {
    const uint8_t* grp = codes + g * tn_group_bytes(k_pad);
    for (int64_t lane = 0; lane < kTrRows; ++lane) {
      for (int64_t t = 0; t < n_tok; ++t) {
        int32_t acc = 0;
        for (int64_t c = 0; c < k_pad; ++c) acc += tn16_code_at(grp, k_pad, lane, c) * q[t * q_stride + c];
        out[t * out_stride + g * kTrRows + lane] = acc;
      }
    }
  }
}

void tn16_to_tr16(const uint8_t* tn, int64_t n_groups, int64_t k_pad, uint8_t* tr) {
  for (int64_t g = 0; g < n_groups; ++g) {
    const uint8_t* grp = tn + g * tn_group_bytes(k_pad);
    uint8_t* out = tr + g * tr_group_bytes(k_pad);
    std::memset(out, 0, static_cast<size_t>(tr_group_bytes(k_pad)));
    for (int64_t lane = 0; lane < kTrRows; ++lane) {
      for (int64_t c = 0; c < k_pad; ++c) {
        const int64_t b = c / kTrBlockCols, w = c % kTrBlockCols;
        out[b * 64 + lane * 4 + w % 4] |= static_cast<uint8_t>(tn16_code_at(grp, k_pad, lane, c) << (2 * (w / 4)));
      }
    }
  }
}

constexpr bool prefers_tn16() { return false; }

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

// Weight i of one Q8_0 row: block i / 32 holds fp16 d then 32 int8 q; w = d * q.
float q8_0_weight(const uint8_t* row, int64_t i) {
  const uint8_t* b = row + (i / kQ8_0Elems) * kQ8_0Bytes;
  const float d = fp16_to_f32(static_cast<uint16_t>(b[0] | b[1] << 8));
  return d * static_cast<float>(static_cast<int8_t>(b[2 + i % kQ8_0Elems]));
}

// Weight i of one Q6_K row (ggml's block_q6_K: ql[128], qh[64], int8 scales[16], fp16 d). In
// half h (128 weights) element 32 g + l (g = 0..3, l = 0..31) takes the low (g < 2) or high
// nibble of ql[64 h + 32 (g % 2) + l] and bits 2g+1:2g of qh[32 h + l]; its 16-weight sub-block
// is 8 h + 2 g + l / 16. w = (d * scale) * (q - 32), evaluated in ggml's order.
float q6_k_weight(const uint8_t* row, int64_t i) {
  const uint8_t* b = row + (i / kQ6_KElems) * kQ6_KBytes;
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = fp16_to_f32(static_cast<uint16_t>(b[208] | b[209] << 8));
  const int64_t j = i % kQ6_KElems, h = j / 128, g = (j % 128) / 32, l = j % 32;
  const uint8_t lo = ql[64 * h + 32 * (g % 2) + l];
  const int nib = g < 2 ? (lo & 0x0f) : (lo >> 4);
  const int q = (nib | (((qh[32 * h + l] >> (2 * g)) & 3) << 4)) - 32;
  return d * static_cast<float>(sc[8 * h + 2 * g + l / 16]) * static_cast<float>(q);
}

template <float (*Weight)(const uint8_t*, int64_t)>
void quant_gemm(const uint8_t* w, int64_t row_bytes, int64_t nrows, int64_t k, const float* x,
                int64_t n_tok, float* out, int64_t out_stride) {
  for (int64_t r = 0; r < nrows; ++r) {
    for (int64_t t = 0; t < n_tok; ++t) {
      float acc = 0.0f;
      for (int64_t i = 0; i < k; ++i) acc += Weight(w + r * row_bytes, i) * x[t * k + i];
      out[t * out_stride + r] = acc;
    }
  }
}

void q8_0_gemm(const uint8_t* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
               float* out, int64_t out_stride) {
  quant_gemm<q8_0_weight>(w, k / kQ8_0Elems * kQ8_0Bytes, nrows, k, x, n_tok, out, out_stride);
}

void q6_k_gemm(const uint8_t* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
               float* out, int64_t out_stride) {
  quant_gemm<q6_k_weight>(w, k / kQ6_KElems * kQ6_KBytes, nrows, k, x, n_tok, out, out_stride);
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

void softmax(float* x, int64_t n, int64_t n_total, float scale, float* max_sum) {
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
  if (max_sum) {
    max_sum[0] = mx;
    max_sum[1] = sum;
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n; ++j) x[j] *= inv;
  for (int64_t j = n; j < n_total; ++j) x[j] = 0.0f;
}

void bitlinear_out(const int32_t* acc, int64_t n, int32_t qsum, float inv_scale, const float* row_scale,
                   float* y) {
  for (int64_t r = 0; r < n; ++r) y[r] = static_cast<float>(acc[r] - qsum) * inv_scale * row_scale[r];
}

void rms_norm(const float* x, const float* w, int64_t n, float eps, float* out) {
  double part[kNormParts] = {};
  for (int64_t i0 = 0; i0 + kNormParts <= n; i0 += kNormParts) {
    for (int j = 0; j < kNormParts; ++j) part[j] += static_cast<double>(x[i0 + j]) * x[i0 + j];
  }
  const float inv = rms_norm_inv(part, x, n, eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * inv * w[i];
}

void relu_sqr_mul(const float* g, const float* u, float* out, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const float r = g[j] > 0.0f ? g[j] : 0.0f;
    out[j] = r * r * u[j];
  }
}

void tr16_bitlinear(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q, int64_t q_stride,
                    int64_t n_tok, const TrEpilogue& ep, float* y, int64_t y_stride) {
  tr16_bitlinear_by_parts(tr16_gemm, bitlinear_out, relu_sqr_mul, codes, tr_group_bytes(k_pad), n_groups, k_pad, q, q_stride, n_tok, ep, y,
                          y_stride);
}

void f16_to_f32(const uint16_t* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(src[i]);
}

void f32_to_f16(const float* src, int64_t n, uint16_t* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_fp16(src[i]);
}

}  // namespace

TERN_DEFINE_KERNEL_TABLE("ref")

}  // namespace tern::ref
