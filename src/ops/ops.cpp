#include "ops/ops.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "kernels/table.h"

namespace tern::ops {
namespace {
// Prefill tiles: 64 rows (40 KB of codes at K = 2560) x 64 tokens (160 KB of activations) stay
// in L2 while the kernel sweeps 8-token x 32-row register tiles over them.
constexpr int64_t kRowsPerTask = 64;
constexpr int64_t kTokPerTile = 64;
// Decode (1-4 tokens: one per sequence in a batch) streams the weights from DRAM, and every
// task is a new stream the prefetchers must ramp up again: each matrix is cut into 2 long
// chunks per thread (the second pair still balances a thread that started late), at most
// kMaxDecodeRows rows each. 128-row tasks (80 KB) streamed ~7% slower (docs/PERFORMANCE.md).
constexpr int64_t kDecodeChunksPerThread = 2;
constexpr int64_t kMaxDecodeRows = 2048;
static_assert(kRowsPerTask % kTrRows == 0 && kMaxDecodeRows % kTrRows == 0);

// Rows per decode task for a matrix of rows_pad rows: a multiple of align (16, or 64 for GLU
// block pairs; kMaxDecodeRows is a multiple of both), chunks a multiple of the thread count
// where the row count allows.
int64_t decode_rows_per_task(int64_t rows_pad, int n_threads, int64_t align) {
  const int64_t t = n_threads;
  int64_t chunks = std::max(kDecodeChunksPerThread * t, (rows_pad + kMaxDecodeRows - 1) / kMaxDecodeRows);
  chunks = (chunks + t - 1) / t * t;
  const int64_t rows = (rows_pad / chunks + align - 1) / align * align;
  return std::clamp<int64_t>(rows, align, kMaxDecodeRows);
}
}  // namespace

void prepare_acts(int64_t n_tok, int64_t k, QuantActs& out) {
  out.n_tok = n_tok;
  out.k = k;
  out.k_pad = round_up_k(k);
  const size_t need = static_cast<size_t>(n_tok * out.k_pad);
  if (out.q.size() < need) out.q.resize(need);
  out.inv_scale.resize(static_cast<size_t>(n_tok));
  out.qsum.resize(static_cast<size_t>(n_tok));
}

void quantize_act_row(const float* x, int64_t t, QuantActs& out) {
  TERN_ASSERT(t >= 0 && t < out.n_tok);
  const size_t i = static_cast<size_t>(t);
  float scale = 0.0f;
  kernels().quantize_act(x, out.k, out.k_pad, out.q.data() + t * out.k_pad, &scale, &out.qsum[i]);
  out.inv_scale[i] = 1.0f / scale;
}

void quantize_acts(ThreadPool& pool, const float* x, int64_t n_tok, int64_t k, QuantActs& out) {
  prepare_acts(n_tok, k, out);
  auto one = [&](int64_t t, int) { quantize_act_row(x + t * k, t, out); };
  if (n_tok < 4) {
    for (int64_t t = 0; t < n_tok; ++t) one(t, 0);
  } else {
    pool.parallel_for(n_tok, one);
  }
}

namespace {

// Task geometry shared by ternary_matmul and ternary_matmul_glu: row tasks of rows_per_task
// (prefill: kRowsPerTask) times token tiles of kTokPerTile.
struct MatmulTasks {
  int64_t rows_per_task, row_tasks, tok_tiles;
};

MatmulTasks matmul_tasks(const TernaryMatrix& w, const QuantActs& a, int n_threads, int64_t row_align) {
  TERN_ASSERT(w.k_pad == a.k_pad && w.cols == a.k && a.n_tok >= 1);
  MatmulTasks mt{};
  mt.rows_per_task = a.n_tok <= 4 ? decode_rows_per_task(w.rows_pad, n_threads, row_align) : kRowsPerTask;
  mt.row_tasks = (w.rows_pad + mt.rows_per_task - 1) / mt.rows_per_task;
  mt.tok_tiles = (a.n_tok + kTokPerTile - 1) / kTokPerTile;
  return mt;
}

// Rows per TN16 prefill task. A task reads every token's activations once (from L3 once a
// prompt's do not fit in L2: 1.3 MB for 512 tokens at K = 2560), so more rows per task means
// fewer passes over them: 128 rows instead of 32 ran the 2B-4T layer's four matmuls 2.5-3.7%
// faster at 1 and 2 threads (in-process A/B). Capped so the task's TR16 copy stays within
// 128 KiB of L2 (64 rows at K = 6912) and each thread still gets 4 or more tasks to balance.
int64_t tn16_prefill_rows(int64_t rows_pad, int64_t k_pad, int n_threads) {
  constexpr int64_t kPair = 2 * kTrRows, kMax = 128, kBudget = 128 << 10;
  int64_t r = kMax;
  while (r > kPair && (r / kTrRows * tr_group_bytes(k_pad) > kBudget || (rows_pad + r - 1) / r < 4 * n_threads)) r -= kPair;
  return r;
}

// TN16 with more than 4 tokens (prefill): tasks of kRows rows (whole GLU gate/up pairs) x every
// token. A task rewrites its rows to TR16 once, into a per-thread buffer that stays in L2 (80 KB
// for 128 rows at K = 2560), and runs the TR16 tiles over all token tiles from there.
void tn16_prefill(ThreadPool& pool, const KernelTable& kt, const TernaryMatrix& w, const QuantActs& a, TrAct act,
                  int64_t n_out_total, float* y, int64_t y_stride) {
  const int64_t kRows = tn16_prefill_rows(w.rows_pad, w.k_pad, pool.n_threads());
  const bool glu = act != TrAct::kNone;
  pool.parallel_for((w.rows_pad + kRows - 1) / kRows, [&](int64_t task, int) {
    thread_local AlignedBuffer<uint8_t> tr;
    const int64_t r0 = task * kRows, nr = std::min(kRows, w.rows_pad - r0), ng = nr / kTrRows;
    const int64_t j0 = glu ? r0 / 2 : r0;
    const int64_t n_out = std::min(glu ? nr / 2 : nr, n_out_total - j0);
    if (n_out <= 0) return;
    const size_t need = static_cast<size_t>(ng * tr_group_bytes(w.k_pad));
    if (tr.size() < need) tr.resize(need);
    kt.tn16_to_tr16(w.codes.data() + r0 / kTrRows * w.group_bytes(), ng, w.k_pad, tr.data());
    TrEpilogue ep;
    ep.row_scale = w.row_scale.data() + r0;
    ep.n_out = n_out;
    ep.act = act;
    for (int64_t t0 = 0; t0 < a.n_tok; t0 += kTokPerTile) {
      const int64_t nt = std::min(kTokPerTile, a.n_tok - t0);
      ep.qsum = a.qsum.data() + t0;
      ep.inv_scale = a.inv_scale.data() + t0;
      kt.tr16_bitlinear(tr.data(), ng, w.k_pad, a.q.data() + t0 * a.k_pad, a.k_pad, nt, ep, y + t0 * y_stride + j0,
                        y_stride);
    }
  });
}

// One task: rows [r0, r0 + nr_pad) x tokens [t0, t0 + nt) of w through tr16_bitlinear (a TN16
// matrix: decode only, through tn16_gemm and the same epilogue); y is the token-t0 row of the
// output with its column for row r0 (GLU: output r0 / 2) applied.
void task_bitlinear(const KernelTable& kt, const TernaryMatrix& w, const QuantActs& a, int64_t r0, int64_t nr_pad,
                    int64_t t0, int64_t nt, int64_t n_out, TrAct act, float* y, int64_t y_stride) {
  TrEpilogue ep;
  ep.qsum = a.qsum.data() + t0;
  ep.inv_scale = a.inv_scale.data() + t0;
  ep.row_scale = w.row_scale.data() + r0;
  ep.n_out = n_out;
  ep.act = act;
  const int8_t* q = a.q.data() + t0 * a.k_pad;
  if (w.tn16) {
    const int64_t gb = tn_group_bytes(w.k_pad);
    tr16_bitlinear_by_parts(kt.tn16_gemm, kt.bitlinear_out, kt.relu_sqr_mul, w.codes.data() + r0 / kTrRows * gb, gb,
                            nr_pad / kTrRows, w.k_pad, q, a.k_pad, nt, ep, y, y_stride);
    return;
  }
  kt.tr16_bitlinear(w.codes.data() + r0 / kTrRows * tr_group_bytes(w.k_pad), nr_pad / kTrRows, w.k_pad, q, a.k_pad,
                    nt, ep, y, y_stride);
}

}  // namespace

void ternary_matmul(ThreadPool& pool, const TernaryMatrix& w, const QuantActs& a, float* y,
                    int64_t y_stride) {
  const KernelTable& kt = kernels();
  const MatmulTasks mt = matmul_tasks(w, a, pool.n_threads(), kTrRows);
  if (w.tn16 && a.n_tok > 4) {
    tn16_prefill(pool, kt, w, a, TrAct::kNone, w.rows, y, y_stride);
    return;
  }
  pool.parallel_for(mt.row_tasks * mt.tok_tiles, [&](int64_t task, int) {
    const int64_t r0 = (task % mt.row_tasks) * mt.rows_per_task;
    const int64_t t0 = (task / mt.row_tasks) * kTokPerTile;
    const int64_t nr_pad = std::min(mt.rows_per_task, w.rows_pad - r0);
    const int64_t nt = std::min(kTokPerTile, a.n_tok - t0);
    task_bitlinear(kt, w, a, r0, nr_pad, t0, nt, std::min(nr_pad, w.rows - r0), TrAct::kNone, y + t0 * y_stride + r0,
                   y_stride);
  });
}

void ternary_matmul_glu(ThreadPool& pool, const TernaryMatrix& w, const QuantActs& a, TrAct act,
                        int64_t n_ff, float* m, int64_t m_stride) {
  TERN_ASSERT(w.rows == glu_rows(n_ff) && act != TrAct::kNone);
  static_assert(kGluRows == kTrRows, "tr16_bitlinear pairs 16-row gate and up groups");
  static_assert(kRowsPerTask % (2 * kGluRows) == 0 && kMaxDecodeRows % (2 * kGluRows) == 0);
  const KernelTable& kt = kernels();
  const MatmulTasks mt = matmul_tasks(w, a, pool.n_threads(), 2 * kGluRows);
  if (w.tn16 && a.n_tok > 4) {
    tn16_prefill(pool, kt, w, a, act, n_ff, m, m_stride);
    return;
  }
  pool.parallel_for(mt.row_tasks * mt.tok_tiles, [&](int64_t task, int) {
    const int64_t r0 = (task % mt.row_tasks) * mt.rows_per_task;
    const int64_t t0 = (task / mt.row_tasks) * kTokPerTile;
    const int64_t nr_pad = std::min(mt.rows_per_task, w.rows_pad - r0);
    const int64_t nt = std::min(kTokPerTile, a.n_tok - t0);
    const int64_t j0 = r0 / 2;  // first output of the task
    task_bitlinear(kt, w, a, r0, nr_pad, t0, nt, std::min(nr_pad / 2, n_ff - j0), act, m + t0 * m_stride + j0,
                   m_stride);
  });
}

void float_matmul(ThreadPool& pool, const FloatMatrix& w, const float* x, int64_t n_tok, float* y,
                  int64_t y_stride) {
  TERN_ASSERT((!w.q8_0 || w.cols % kQ8_0Elems == 0) && (!w.q6_k || w.cols % kQ6_KElems == 0));
  const KernelTable& kt = kernels();
  constexpr int64_t kRows = 256;
  static_assert(kRows % kF16SuperRows == 0, "F16 tasks must start on an R4 supergroup");
  const int64_t tasks = (w.rows + kRows - 1) / kRows;
  pool.parallel_for(tasks, [&](int64_t task, int) {
    const int64_t r0 = task * kRows;
    const int64_t nr = std::min(kRows, w.rows - r0);
    if (w.f16) {
      kt.f16_gemm(w.f16 + f16_r4_index(r0, 0, w.cols), nr, w.cols, x, n_tok, y + r0, y_stride);
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
  kernels().rms_norm(x, w, n, eps, out);
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
