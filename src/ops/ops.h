// Threaded operators over the kernel table. Activations are token-major: x[t * dim + i].
#pragma once

#include <cstdint>
#include <vector>

#include "core/aligned.h"
#include "kernels/table.h"
#include "ops/ternary_matrix.h"
#include "threading/pool.h"

namespace tern::ops {

// Per-token int8 activations (BitNet b1.58 absmax quantization), padded to k_pad.
struct QuantActs {
  int64_t n_tok = 0, k = 0, k_pad = 0;
  AlignedBuffer<int8_t> q;    // [n_tok, k_pad]
  std::vector<float> inv_scale;  // [n_tok]  1 / s, s = 127 / absmax (what BitLinear's output divides by)
  std::vector<int32_t> qsum;  // [n_tok]  sum of q (undoes the +1 code offset)
};

void quantize_acts(ThreadPool& pool, const float* x, int64_t n_tok, int64_t k, QuantActs& out);
// The same one token at a time, for callers that quantize each token right where they produce
// it (the row is still in L1): prepare_acts sizes out for n_tok tokens of k values, then
// quantize_act_row fills token t from x (k values). Tokens may be filled from several threads.
void prepare_acts(int64_t n_tok, int64_t k, QuantActs& out);
void quantize_act_row(const float* x, int64_t t, QuantActs& out);

// y[t * y_stride + r] = (sum_k t(r,k) q(t,k)) / s(t) * row_scale(r)  for r in [0, w.rows)
void ternary_matmul(ThreadPool& pool, const TernaryMatrix& w, const QuantActs& a, float* y,
                    int64_t y_stride);

// Gate and up projections fused for a GLU feed-forward: 16 gate rows, then the same 16 up rows,
// and so on (n_ff padded to a multiple of 16 with zero rows), so that every 2-group tile of the
// product holds both halves of 16 outputs and the activation is applied in the kernel's
// epilogue (tr16_bitlinear in kernels/table.h).
inline constexpr int64_t kGluRows = 16;
inline constexpr int64_t glu_rows(int64_t n_ff) { return (n_ff + kGluRows - 1) / kGluRows * kGluRows * 2; }
inline constexpr int64_t glu_row(int64_t r, bool up) {
  return r / kGluRows * 2 * kGluRows + (up ? kGluRows : 0) + r % kGluRows;
}
// m[t * m_stride + j] = act(gate_j) * up_j for j in [0, n_ff), with gate_j and up_j the
// ternary_matmul outputs of rows glu_row(j, false / true) of w (w.rows == glu_rows(n_ff)):
// TrAct::kReluSqr is max(g, 0)^2 * u (the kernel table's relu_sqr_mul: a NaN gate gives 0),
// TrAct::kSilu is g / (1 + exp(-g)) * u (llama.cpp's BitNet graph). Bit-identical to
// ternary_matmul followed by that activation.
void ternary_matmul_glu(ThreadPool& pool, const TernaryMatrix& w, const QuantActs& a, TrAct act,
                        int64_t n_ff, float* m, int64_t m_stride);

// A weight matrix [rows, cols] applied to float activations (the output head): F16, F32, or
// GGUF Q8_0 / Q6_K blocks as stored in the file (rows back to back; cols a multiple of the
// block: 32 for Q8_0, 256 for Q6_K).
struct FloatMatrix {
  int64_t rows = 0, cols = 0;
  const uint16_t* f16 = nullptr;  // one of these is set; f16 is in the R4 layout (kernels/table.h)
  const float* f32 = nullptr;
  const uint8_t* q8_0 = nullptr;
  const uint8_t* q6_k = nullptr;
};
// y[t * y_stride + r] = sum_k w(r, k) x(t, k)
void float_matmul(ThreadPool& pool, const FloatMatrix& w, const float* x, int64_t n_tok, float* y,
                  int64_t y_stride);


// RMSNorm over n values: out = x / sqrt(mean(x^2) + eps) * w. out may alias x. (The kernel
// table's rms_norm: the same bits on every ISA.)
void rms_norm(const float* x, const float* w, int64_t n, float eps, float* out);

// Rotary embedding, NeoX / rotate-half pairing (i, i + rot_dim/2), on n_heads heads of
// head_dim; the first rot_dim dims of each head rotate. The angles depend only on the position:
// rope_angles fills cs = [cos x rot_dim/2, sin x rot_dim/2] once per token, and rope_apply uses
// it for q and k of every layer.
void rope_angles(int64_t pos, int64_t rot_dim, float theta, float* cs);
void rope_apply(float* x, int64_t n_heads, int64_t head_dim, int64_t rot_dim, const float* cs);
// Both at once (tests, one-off use).
void rope_neox(float* x, int64_t n_heads, int64_t head_dim, int64_t rot_dim, int64_t pos,
               float theta);

}  // namespace tern::ops
