#include "ops/ops.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "kernels/table.h"

namespace tern::ops {
namespace {
// Prefill tiles: 64 rows (40 KB of codes at K = 2560) x 64 tokens (160 KB of activations) stay
// in L2 while the kernel sweeps 8-token x 32-row register tiles over them. Decode tasks take
// 128 rows: large enough that the atomic hand-out is noise, small enough to balance 2 threads.
constexpr int64_t kRowsPerTask = 64;
constexpr int64_t kTokPerTile = 64;
constexpr int64_t kRowsPerDecodeTask = 128;
static_assert(kRowsPerTask % kTrRows == 0 && kRowsPerDecodeTask % kTrRows == 0);
}  // namespace

void quantize_acts(ThreadPool& pool, const float* x, int64_t n_tok, int64_t k, QuantActs& out) {
  const KernelTable& kt = kernels();
  out.n_tok = n_tok;
  out.k = k;
  out.k_pad = round_up_k(k);
  const size_t need = static_cast<size_t>(n_tok * out.k_pad);
  if (out.q.size() < need) out.q.resize(need);
  out.scale.resize(static_cast<size_t>(n_tok));
  out.qsum.resize(static_cast<size_t>(n_tok));
  auto one = [&](int64_t t, int) {
    kt.quantize_act(x + t * k, k, out.k_pad, out.q.data() + t * out.k_pad, &out.scale[t], &out.qsum[t]);
  };
  if (n_tok < 4) {
    for (int64_t t = 0; t < n_tok; ++t) one(t, 0);
  } else {
    pool.parallel_for(n_tok, one);
  }
}

void ternary_matmul(ThreadPool& pool, const TernaryMatrix& w, const QuantActs& a, float* y,
                    int64_t y_stride) {
  TERN_ASSERT(w.k_pad == a.k_pad && w.cols == a.k);
  const KernelTable& kt = kernels();
  const int64_t rows_per_task = a.n_tok == 1 ? kRowsPerDecodeTask : kRowsPerTask;
  const int64_t row_tasks = (w.rows_pad + rows_per_task - 1) / rows_per_task;
  const int64_t tok_tiles = (a.n_tok + kTokPerTile - 1) / kTokPerTile;
  const int64_t gb = tr_group_bytes(w.k_pad);
  pool.parallel_for(row_tasks * tok_tiles, [&](int64_t task, int) {
    const int64_t r0 = (task % row_tasks) * rows_per_task;
    const int64_t t0 = (task / row_tasks) * kTokPerTile;
    const int64_t nr_pad = std::min(rows_per_task, w.rows_pad - r0);
    const int64_t nr = std::min(nr_pad, w.rows - r0);
    const int64_t nt = std::min(kTokPerTile, a.n_tok - t0);
    alignas(64) int32_t acc[kRowsPerTask * kTokPerTile];
    kt.tr16_gemm(w.codes.data() + r0 / kTrRows * gb, nr_pad / kTrRows, w.k_pad,
                 a.q.data() + t0 * a.k_pad, a.k_pad, nt, acc, nr_pad);
    const float* rs = w.row_scale.data() + r0;
    for (int64_t t = 0; t < nt; ++t) {
      const float inv_s = 1.0f / a.scale[t0 + t];
      const int32_t qs = a.qsum[t0 + t];
      const int32_t* at = acc + t * nr_pad;
      float* yt = y + (t0 + t) * y_stride + r0;
      for (int64_t r = 0; r < nr; ++r) yt[r] = static_cast<float>(at[r] - qs) * inv_s * rs[r];
    }
  });
}

void float_matmul(ThreadPool& pool, const FloatMatrix& w, const float* x, int64_t n_tok, float* y,
                  int64_t y_stride) {
  TERN_ASSERT((!w.q8_0 || w.cols % kQ8_0Elems == 0) && (!w.q6_k || w.cols % kQ6_KElems == 0));
  const KernelTable& kt = kernels();
  constexpr int64_t kRows = 256;
  const int64_t tasks = (w.rows + kRows - 1) / kRows;
  pool.parallel_for(tasks, [&](int64_t task, int) {
    const int64_t r0 = task * kRows;
    const int64_t nr = std::min(kRows, w.rows - r0);
    if (w.f16) {
      kt.f16_gemm(w.f16 + r0 * w.cols, nr, w.cols, x, n_tok, y + r0, y_stride);
    } else if (w.q8_0) {
      kt.q8_0_gemm(w.q8_0 + r0 * (w.cols / kQ8_0Elems * kQ8_0Bytes), nr, w.cols, x, n_tok, y + r0, y_stride);
    } else if (w.q6_k) {
      kt.q6_k_gemm(w.q6_k + r0 * (w.cols / kQ6_KElems * kQ6_KBytes), nr, w.cols, x, n_tok, y + r0, y_stride);
    } else {
      kt.f32_gemm(w.f32 + r0 * w.cols, nr, w.cols, x, n_tok, y + r0, y_stride);
    }
  });
}

void rms_norm(const float* x, const float* w, int64_t n, float eps, float* out) {
  double ss = 0.0;  // double: the mean of squares over 6912 values must not drift
  for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * inv * w[i];
}

void rope_angles(int64_t pos, int64_t rot_dim, float theta, float* cs) {
  const int64_t half = rot_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    // inv_freq as HF computes it: theta ^ (-2i / rot_dim)
    const double inv_freq = std::pow(static_cast<double>(theta), -2.0 * static_cast<double>(i) / static_cast<double>(rot_dim));
    const double ang = static_cast<double>(pos) * inv_freq;
    cs[i] = static_cast<float>(std::cos(ang));
    cs[half + i] = static_cast<float>(std::sin(ang));
  }
}

void rope_apply(float* x, int64_t n_heads, int64_t head_dim, int64_t rot_dim, const float* cs) {
  const int64_t half = rot_dim / 2;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      const float c = cs[i], s = cs[half + i];
      const float a = v[i], b = v[i + half];
      v[i] = a * c - b * s;
      v[i + half] = b * c + a * s;
    }
  }
}

void rope_neox(float* x, int64_t n_heads, int64_t head_dim, int64_t rot_dim, int64_t pos,
               float theta) {
  std::vector<float> cs(static_cast<size_t>(rot_dim));
  rope_angles(pos, rot_dim, theta, cs.data());
  rope_apply(x, n_heads, head_dim, rot_dim, cs.data());
}

}  // namespace tern::ops
