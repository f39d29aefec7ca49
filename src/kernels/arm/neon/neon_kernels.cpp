// NEON kernels for every AArch64 CPU (plain armv8-a: built without ISA flags). Only the ternary
// GEMM has a faster form on CPUs with the dot-product extension, in its own file. The test
// suite cross-builds these files and runs their parity check under qemu-aarch64 as a CPU with
// and one without that extension (tests/kernels/cross).
#include <arm_neon.h>

#include <cmath>
#include <cstring>

#include "core/cpu.h"
#include "core/fp16.h"
#include "kernels/table.h"

namespace tern::neon {

void tr16_gemm_sdot(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                    int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride);
void tr16_gemm_smull(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
                     int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride);

namespace {

void quantize_act(const float* x, int64_t n, int64_t n_pad, int8_t* q, float* scale,
                  int32_t* qsum) {
  float32x4_t vmax = vdupq_n_f32(0.0f);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vmax = vmaxq_f32(vmax, vabsq_f32(vld1q_f32(x + i)));
  float amax = vmaxvq_f32(vmax);
  for (; i < n; ++i) amax = std::fmax(amax, std::fabs(x[i]));
  const float s = 127.0f / std::fmax(amax, 1e-5f);

  const float32x4_t vs = vdupq_n_f32(s), lo = vdupq_n_f32(-128.0f), hi = vdupq_n_f32(127.0f);
  int32x4_t vsum = vdupq_n_s32(0);
  i = 0;
  for (; i + 8 <= n; i += 8) {
    // vrndnq rounds half to even, like nearbyint in the default rounding mode.
    const float32x4_t f0 = vminq_f32(vmaxq_f32(vrndnq_f32(vmulq_f32(vld1q_f32(x + i), vs)), lo), hi);
    const float32x4_t f1 = vminq_f32(vmaxq_f32(vrndnq_f32(vmulq_f32(vld1q_f32(x + i + 4), vs)), lo), hi);
    const int32x4_t v0 = vcvtq_s32_f32(f0), v1 = vcvtq_s32_f32(f1);
    vsum = vaddq_s32(vsum, vaddq_s32(v0, v1));
    const int16x8_t h = vcombine_s16(vmovn_s32(v0), vmovn_s32(v1));
    vst1_s8(q + i, vmovn_s16(h));
  }
  int32_t sum = vaddvq_s32(vsum);
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

// The ternary GEMM: with the dot-product extension where the CPU has it (HWCAP asimddp),
// else multiply-accumulate into int16 (neon_ternary_dot.cpp, neon_ternary_base.cpp).
void tr16_gemm(const uint8_t* codes, int64_t n_groups, int64_t k_pad, const int8_t* q,
               int64_t q_stride, int64_t n_tok, int32_t* out, int64_t out_stride) {
  static const bool dot = cpu_features().dotprod;
  (dot ? tr16_gemm_sdot : tr16_gemm_smull)(codes, n_groups, k_pad, q, q_stride, n_tok, out, out_stride);
}

template <typename Load>
inline float dot_row(Load load, const float* x, int64_t k, float tail_init) {
  float32x4_t a0 = vdupq_n_f32(0.0f), a1 = vdupq_n_f32(0.0f);
  int64_t i = 0;
  for (; i + 8 <= k; i += 8) {
    a0 = vfmaq_f32(a0, load(i), vld1q_f32(x + i));
    a1 = vfmaq_f32(a1, load(i + 4), vld1q_f32(x + i + 4));
  }
  return vaddvq_f32(vaddq_f32(a0, a1)) + tail_init;
}

// F16 GEMM over the R4 layout (kernels/table.h): per supergroup and 512-column block, 4 rows
// x 1 token per pass over each group's chunks (4 rows x 4 vectors of 4); further tokens re-read
// the block (4 KB, in L1).
void f16_gemm(const uint16_t* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok,
              float* out, int64_t out_stride) {
  const int64_t k16 = round_up_16(k);
  for (int64_t r0 = 0; r0 < nrows; r0 += kF16SuperRows, w += kF16SuperRows * k16) {
    const int64_t nr = nrows - r0 < kF16SuperRows ? nrows - r0 : kF16SuperRows;
    for (int64_t t = 0; t < n_tok; ++t) {
      float part[64] = {};
      for (int64_t kb = 0; kb * kF16BlockCols < k16; ++kb) {
        const int64_t i0 = kb * kF16BlockCols;
        const int64_t kbw = k16 - i0 < kF16BlockCols ? k16 - i0 : kF16BlockCols;
        const int64_t kv = k - i0 < kbw ? k - i0 : kbw;
        const int64_t n_full = kv / 16;
        const float* xt = x + t * k + i0;
        for (int g = 0; g < 16; ++g) {
          const uint16_t* wg = w + kb * kF16SuperRows * kF16BlockCols + g * 4 * kbw;
          float32x4_t acc[4] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
          for (int64_t c = 0; c < n_full; ++c) {
            const float32x4_t x0 = vld1q_f32(xt + 16 * c), x1 = vld1q_f32(xt + 16 * c + 4);
            const float32x4_t x2 = vld1q_f32(xt + 16 * c + 8), x3 = vld1q_f32(xt + 16 * c + 12);
            for (int r = 0; r < 4; ++r) {
              const uint16_t* wr = wg + 64 * c + 16 * r;
              acc[r] = vfmaq_f32(acc[r], vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(wr))), x0);
              acc[r] = vfmaq_f32(acc[r], vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(wr + 4))), x1);
              acc[r] = vfmaq_f32(acc[r], vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(wr + 8))), x2);
              acc[r] = vfmaq_f32(acc[r], vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(wr + 12))), x3);
            }
          }
          for (int r = 0; r < 4; ++r) {
            float sum = vaddvq_f32(acc[r]);
            const uint16_t* wr = wg + 64 * n_full + 16 * r;
            for (int64_t j = 0; j < kv % 16; ++j) {
              sum += vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(wr[j]))), 0) * xt[16 * n_full + j];
            }
            part[4 * g + r] += sum;
          }
        }
      }
      std::memcpy(out + t * out_stride + r0, part, static_cast<size_t>(nr) * sizeof(float));
    }
  }
}

void f32_gemm(const float* w, int64_t nrows, int64_t k, const float* x, int64_t n_tok, float* out,
              int64_t out_stride) {
  const int64_t k8 = k / 8 * 8;
  for (int64_t r = 0; r < nrows; ++r) {
    const float* wr = w + r * k;
    auto load = [wr](int64_t i) { return vld1q_f32(wr + i); };
    for (int64_t t = 0; t < n_tok; ++t) {
      const float* xt = x + t * k;
      float acc = dot_row(load, xt, k, 0.0f);
      for (int64_t i = k8; i < k; ++i) acc += wr[i] * xt[i];
      out[t * out_stride + r] = acc;
    }
  }
}

inline uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// 16 int8 -> 4 x 4 floats, scaled by s (w = s * q, one rounding, as the reference).
inline void i8_to_ps(int8x16_t v, float32x4_t s, float32x4_t* o) {
  const int16x8_t lo = vmovl_s8(vget_low_s8(v)), hi = vmovl_high_s8(v);
  o[0] = vmulq_f32(s, vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo))));
  o[1] = vmulq_f32(s, vcvtq_f32_s32(vmovl_high_s16(lo)));
  o[2] = vmulq_f32(s, vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi))));
  o[3] = vmulq_f32(s, vcvtq_f32_s32(vmovl_high_s16(hi)));
}

// Quantized rows: each weight vector is decoded once in registers (exactly the stored weight)
// and FMA'd into NT tokens; one row at a time (one sequential stream).
template <int NT>
void q8_0_row(const uint8_t* wr, int64_t k, const float* x, float* out, int64_t out_stride) {
  float32x4_t acc[NT][2];
  for (int t = 0; t < NT; ++t) acc[t][0] = acc[t][1] = vdupq_n_f32(0.0f);
  for (int64_t b = 0; b < k / kQ8_0Elems; ++b) {
    const uint8_t* blk = wr + b * kQ8_0Bytes;
    const float32x4_t d = vdupq_n_f32(fp16_to_f32(load_u16(blk)));
    float32x4_t wv[8];
    i8_to_ps(vld1q_s8(reinterpret_cast<const int8_t*>(blk + 2)), d, wv);
    i8_to_ps(vld1q_s8(reinterpret_cast<const int8_t*>(blk + 18)), d, wv + 4);
    for (int t = 0; t < NT; ++t) {
      const float* xt = x + t * k + b * kQ8_0Elems;
      for (int j = 0; j < 8; ++j) acc[t][j & 1] = vfmaq_f32(acc[t][j & 1], wv[j], vld1q_f32(xt + 4 * j));
    }
  }
  for (int t = 0; t < NT; ++t) out[t * out_stride] = vaddvq_f32(vaddq_f32(acc[t][0], acc[t][1]));
}

// Q6_K: per 16 weights (one sub-block, one scale) of a 128-weight half, the 6-bit q is the
// nibble of ql and 2 bits of qh (kernels/ref: q6_k_weight); w = (d * scale_j) * (q - 32).
template <int NT>
void q6_k_row(const uint8_t* wr, int64_t k, const float* x, float* out, int64_t out_stride) {
  const uint8x16_t m0f = vdupq_n_u8(0x0f), m30 = vdupq_n_u8(0x30);
  const int8x16_t k32 = vdupq_n_s8(32);
  float32x4_t acc[NT][2];
  for (int t = 0; t < NT; ++t) acc[t][0] = acc[t][1] = vdupq_n_f32(0.0f);
  for (int64_t sb = 0; sb < k / kQ6_KElems; ++sb) {
    const uint8_t* blk = wr + sb * kQ6_KBytes;
    const float d = fp16_to_f32(load_u16(blk + 208));
    const int8_t* sc = reinterpret_cast<const int8_t*>(blk + 192);
    for (int h = 0; h < 2; ++h) {
      for (int c = 0; c < 2; ++c) {
        const uint8x16_t qa = vld1q_u8(blk + 64 * h + 16 * c);
        const uint8x16_t qb = vld1q_u8(blk + 64 * h + 32 + 16 * c);
        const uint8x16_t qh = vld1q_u8(blk + 128 + 32 * h + 16 * c);
        uint8x16_t g[4];
        g[0] = vorrq_u8(vandq_u8(qa, m0f), vandq_u8(vshlq_n_u8(qh, 4), m30));
        g[1] = vorrq_u8(vandq_u8(qb, m0f), vandq_u8(vshlq_n_u8(qh, 2), m30));
        g[2] = vorrq_u8(vshrq_n_u8(qa, 4), vandq_u8(qh, m30));
        g[3] = vorrq_u8(vshrq_n_u8(qb, 4), vandq_u8(vshrq_n_u8(qh, 2), m30));
        for (int gi = 0; gi < 4; ++gi) {
          const int j = 8 * h + 2 * gi + c;  // sub-block: weights 16 j .. 16 j + 15
          float32x4_t wv[4];
          i8_to_ps(vsubq_s8(vreinterpretq_s8_u8(g[gi]), k32), vdupq_n_f32(d * static_cast<float>(sc[j])), wv);
          for (int t = 0; t < NT; ++t) {
            const float* xt = x + t * k + sb * kQ6_KElems + 16 * j;
            for (int u = 0; u < 4; ++u) acc[t][u & 1] = vfmaq_f32(acc[t][u & 1], wv[u], vld1q_f32(xt + 4 * u));
          }
        }
      }
    }
  }
  for (int t = 0; t < NT; ++t) out[t * out_stride] = vaddvq_f32(vaddq_f32(acc[t][0], acc[t][1]));
}

#include "kernels/quant_gemm_driver.h"  // q8_0_gemm, q6_k_gemm from the rows above

float dot_f32(const float* a, const float* b, int64_t n) {
  auto load = [a](int64_t i) { return vld1q_f32(a + i); };
  float acc = dot_row(load, b, n, 0.0f);
  for (int64_t i = n / 8 * 8; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void axpy_f32(float a, const float* x, float* y, int64_t n) {
  const float32x4_t va = vdupq_n_f32(a);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_f32(vld1q_f32(y + i), va, vld1q_f32(x + i)));
  for (; i < n; ++i) y[i] += a * x[i];
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
    std::memset(o, 0, static_cast<size_t>(d) * sizeof(float));
    for (int64_t j = 0; j < nk; ++j) axpy_f32(p[i * p_stride + j], v + j * v_stride, o, d);
  }
}

// exp(x) for x <= 0 (see the AVX-512 file): Cephes polynomial, 2^t built in the exponent bits.
inline float32x4_t exp_ps(float32x4_t x) {
  x = vmaxq_f32(x, vdupq_n_f32(-87.33654f));
  const float32x4_t t = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
  float32x4_t r = vfmsq_f32(x, t, vdupq_n_f32(0.693359375f));
  r = vfmsq_f32(r, t, vdupq_n_f32(-2.12194440e-4f));
  float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
  p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
  p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
  p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(t), vdupq_n_s32(127)), 23);
  return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

void softmax(float* x, int64_t n, int64_t n_total, float scale, float* max_sum) {
  float32x4_t vmax = vdupq_n_f32(-INFINITY);
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float32x4_t v = vmulq_n_f32(vld1q_f32(x + j), scale);
    vst1q_f32(x + j, v);
    vmax = vmaxq_f32(vmax, v);
  }
  float mx = vmaxvq_f32(vmax);
  for (int64_t t = j; t < n; ++t) {
    x[t] *= scale;
    mx = std::fmax(mx, x[t]);
  }
  const float32x4_t vmx = vdupq_n_f32(mx);
  float32x4_t vsum = vdupq_n_f32(0.0f);
  for (j = 0; j + 4 <= n; j += 4) {
    const float32x4_t e = exp_ps(vsubq_f32(vld1q_f32(x + j), vmx));
    vst1q_f32(x + j, e);
    vsum = vaddq_f32(vsum, e);
  }
  float sum = vaddvq_f32(vsum);
  for (int64_t t = j; t < n; ++t) {
    x[t] = std::exp(x[t] - mx);
    sum += x[t];
  }
  if (max_sum) {
    max_sum[0] = mx;
    max_sum[1] = sum;
  }
  const float inv = 1.0f / sum;
  for (j = 0; j + 4 <= n; j += 4) vst1q_f32(x + j, vmulq_n_f32(vld1q_f32(x + j), inv));
  for (; j < n; ++j) x[j] *= inv;
  for (j = n; j < n_total; ++j) x[j] = 0.0f;
}

void bitlinear_out(const int32_t* acc, int64_t n, int32_t qsum, float inv_scale, const float* row_scale,
                   float* y) {
  const int32x4_t qs = vdupq_n_s32(qsum);
  int64_t r = 0;
  for (; r < (n & ~int64_t{3}); r += 4) {
    const float32x4_t v = vcvtq_f32_s32(vsubq_s32(vld1q_s32(acc + r), qs));
    vst1q_f32(y + r, vmulq_f32(vmulq_n_f32(v, inv_scale), vld1q_f32(row_scale + r)));
  }
  for (; r < n; ++r) y[r] = static_cast<float>(acc[r] - qsum) * inv_scale * row_scale[r];
}

void rms_norm(const float* x, const float* w, int64_t n, float eps, float* out) {
  // Lane l of accumulator a is partial sum 2 a + l: sixteen independent chains. Products of two
  // floats are exact in double, so the fused multiply-add rounds exactly as the reference's
  // multiply then add.
  float64x2_t acc[16];
  for (auto& a : acc) a = vdupq_n_f64(0.0);
  for (int64_t i = 0; i + kNormParts <= n; i += kNormParts) {
    for (int a = 0; a < 8; ++a) {
      const float32x4_t v = vld1q_f32(x + i + 4 * a);
      const float64x2_t lo = vcvt_f64_f32(vget_low_f32(v)), hi = vcvt_high_f64_f32(v);
      acc[2 * a] = vfmaq_f64(acc[2 * a], lo, lo);
      acc[2 * a + 1] = vfmaq_f64(acc[2 * a + 1], hi, hi);
    }
  }
  double part[kNormParts];
  for (int a = 0; a < 16; ++a) vst1q_f64(part + 2 * a, acc[a]);
  const float inv = rms_norm_inv(part, x, n, eps);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(out + i, vmulq_f32(vmulq_n_f32(vld1q_f32(x + i), inv), vld1q_f32(w + i)));
  for (; i < n; ++i) out[i] = x[i] * inv * w[i];
}

void relu_sqr_mul(const float* g, const float* u, float* out, int64_t n) {
  const float32x4_t zero = vdupq_n_f32(0.0f);
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float32x4_t gv = vld1q_f32(g + j);
    const float32x4_t r = vbslq_f32(vcgtq_f32(gv, zero), gv, zero);  // NaN > 0 is false: 0
    vst1q_f32(out + j, vmulq_f32(vmulq_f32(r, r), vld1q_f32(u + j)));
  }
  for (; j < n; ++j) {
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
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(src + i))));
  for (; i < n; ++i) dst[i] = fp16_to_f32(src[i]);
}

void f32_to_f16(const float* src, int64_t n, uint16_t* dst) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1_u16(dst + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(src + i))));
  for (; i < n; ++i) dst[i] = f32_to_fp16(src[i]);
}

// Weights stay TR16 on this path; the TN16 entries are the reference's (table.h).
constexpr auto tn16_gemm = &tn16_gemm_by_ref;
constexpr auto tn16_to_tr16 = &tn16_to_tr16_by_ref;
constexpr bool prefers_tn16() { return false; }

}  // namespace

TERN_DEFINE_KERNEL_TABLE("neon")

}  // namespace tern::neon
