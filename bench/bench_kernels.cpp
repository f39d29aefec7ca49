// Kernel micro-benchmarks: each benchmark first checks the kernel against the scalar reference
// (exactly for integer kernels), then times it and reports bytes/s and int8 ops/s, to compare
// with the machine's measured peaks (docs/PERFORMANCE.md; `tern_bench_kernels --benchmark_filter=bandwidth`).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "core/aligned.h"
#include "core/fp16.h"
#include "kernels/table.h"
#include "ops/ops.h"
#include "threading/pool.h"

namespace tern {
namespace {

struct TernaryCase {
  int64_t rows, k, n_tok;
  AlignedBuffer<uint8_t> codes;
  AlignedBuffer<int8_t> q;
};

TernaryCase make_case(int64_t rows, int64_t k, int64_t n_tok) {
  TernaryCase c{rows, k, n_tok, AlignedBuffer<uint8_t>(static_cast<size_t>(rows * k / 4)),
                AlignedBuffer<int8_t>(static_cast<size_t>(n_tok * k))};
  std::mt19937 rng(7);
  for (size_t i = 0; i < c.codes.size(); ++i) {
    uint8_t b = 0;
    for (int s = 0; s < 4; ++s) b |= static_cast<uint8_t>((rng() % 3) << (2 * s));
    c.codes[i] = b;
  }
  for (size_t i = 0; i < c.q.size(); ++i) c.q[i] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  return c;
}

// rows x k ternary weights against nt tokens (1: decode; 2-4: batched decoding; 64: a prefill
// tile). With copies > 1 the kernel cycles through that many matrices, so the weights come
// from DRAM as they do in the model (about 70 MB for 8 copies of 13824 x 2560, beyond the
// 32 MB L3); with copies = 1 they stay in cache.
void BM_tr16_gemm(benchmark::State& st, const char* isa) {
  const KernelTable* kt = kernel_table_for(isa);
  if (!kt) {
    st.SkipWithError("ISA not available on this CPU");
    return;
  }
  const int64_t rows = st.range(0), k = st.range(1), nt = st.range(2), copies = st.range(3);
  TernaryCase c = make_case(rows * copies, k, nt);
  const int64_t mat_bytes = rows * k / 4;
  std::vector<int32_t> out(static_cast<size_t>(rows * nt)), want(out.size());
  // Any byte whose 2-bit fields are all <= 2 is a valid TR16 block, so random codes serve.
  kernel_table_for("ref")->tr16_gemm(c.codes.data(), rows / 16, k, c.q.data(), k, nt, want.data(), rows);
  kt->tr16_gemm(c.codes.data(), rows / 16, k, c.q.data(), k, nt, out.data(), rows);
  if (out != want) {
    st.SkipWithError("kernel disagrees with the reference");
    return;
  }
  int64_t i = 0;
  for (auto _ : st) {
    kt->tr16_gemm(c.codes.data() + (i++ % copies) * mat_bytes, rows / 16, k, c.q.data(), k, nt, out.data(), rows);
    benchmark::DoNotOptimize(out.data());
  }
  st.counters["weight_GB/s"] = benchmark::Counter(static_cast<double>(mat_bytes) * static_cast<double>(st.iterations()),
                                                  benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  st.counters["GOP/s"] = benchmark::Counter(2.0 * static_cast<double>(rows * k * nt) * static_cast<double>(st.iterations()) / 1e9,
                                            benchmark::Counter::kIsRate);
}

// BitLinear whole (tr16_bitlinear: sums, scales and, with GLU, relu^2 gating) for a prefill task
// of rows x k against nt tokens, checked bit for bit against the reference first.
void BM_tr16_bitlinear(benchmark::State& st, const char* isa) {
  const KernelTable* kt = kernel_table_for(isa);
  if (!kt) {
    st.SkipWithError("ISA not available on this CPU");
    return;
  }
  const int64_t rows = st.range(0), k = st.range(1), nt = st.range(2);
  const bool glu = st.range(3) != 0;
  TernaryCase c = make_case(rows, k, nt);
  std::vector<int32_t> qsum(static_cast<size_t>(nt));
  std::vector<float> inv(static_cast<size_t>(nt)), rs(static_cast<size_t>(rows));
  for (int64_t t = 0; t < nt; ++t) {
    for (int64_t i = 0; i < k; ++i) qsum[static_cast<size_t>(t)] += c.q[static_cast<size_t>(t * k + i)];
    inv[static_cast<size_t>(t)] = 0.01f + 0.001f * static_cast<float>(t);
  }
  for (int64_t r = 0; r < rows; ++r) rs[static_cast<size_t>(r)] = 0.5f + 0.01f * static_cast<float>(r % 7);
  TrEpilogue ep;
  ep.qsum = qsum.data();
  ep.inv_scale = inv.data();
  ep.row_scale = rs.data();
  ep.n_out = glu ? rows / 2 : rows;
  ep.act = glu ? TrAct::kReluSqr : TrAct::kNone;
  std::vector<float> y(static_cast<size_t>(nt * ep.n_out)), want(y.size());
  kernel_table_for("ref")->tr16_bitlinear(c.codes.data(), rows / 16, k, c.q.data(), k, nt, ep, want.data(), ep.n_out);
  kt->tr16_bitlinear(c.codes.data(), rows / 16, k, c.q.data(), k, nt, ep, y.data(), ep.n_out);
  if (std::memcmp(y.data(), want.data(), y.size() * sizeof(float)) != 0) {
    st.SkipWithError("kernel disagrees with the reference");
    return;
  }
  for (auto _ : st) {
    kt->tr16_bitlinear(c.codes.data(), rows / 16, k, c.q.data(), k, nt, ep, y.data(), ep.n_out);
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["GOP/s"] = benchmark::Counter(2.0 * static_cast<double>(rows * k * nt) * static_cast<double>(st.iterations()) / 1e9,
                                            benchmark::Counter::kIsRate);
}

// One attention task as the forward pass runs it: rows query rows (8 tokens x 4 GQA heads = 32
// in prefill, 4 for a decoded token) against nk keys of one KV head (head_dim 128, positions
// contiguous as in the KV cache), scores + softmax + values. Checked against the reference
// (relative 1e-4: float sums in another order), then timed; the FMA peak is 32 flop/cycle per
// core on Zen 4 (~117 GFLOP/s at 3.66 GHz). scores_only: the score kernel alone (its blocks: 16 or
// 8 queries in the lanes for a prompt, the 4-query blocks for a decoded token).
void BM_attention(benchmark::State& st, const char* isa, bool scores_only) {
  const KernelTable* kt = kernel_table_for(isa);
  if (!kt) {
    st.SkipWithError("ISA not available on this CPU");
    return;
  }
  const int64_t rows = st.range(0), nk = st.range(1), d = 128;
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> q(static_cast<size_t>(rows * d)), kk(static_cast<size_t>(nk * d)), v(kk.size());
  for (auto* b : {&q, &kk, &v}) {
    for (auto& x : *b) x = nd(rng);
  }
  std::vector<float> sc(static_cast<size_t>(rows * nk)), out(static_cast<size_t>(rows * d));
  if (scores_only) out.resize(sc.size());
  auto run = [&](const KernelTable& t, std::vector<float>& o) {
    if (scores_only) {
      t.attn_scores(q.data(), rows, d, kk.data(), nk, d, d, o.data(), nk);
      return;
    }
    t.attn_scores(q.data(), rows, d, kk.data(), nk, d, d, sc.data(), nk);
    for (int64_t r = 0; r < rows; ++r) t.softmax(sc.data() + r * nk, nk, nk, 0.0883883f, nullptr);
    t.attn_values(sc.data(), rows, nk, v.data(), nk, d, d, o.data(), d);
  };
  std::vector<float> want(out.size());
  run(*kernel_table_for("ref"), want);
  run(*kt, out);
  for (size_t i = 0; i < out.size(); ++i) {
    if (std::fabs(out[i] - want[i]) > 1e-4f * (std::fabs(want[i]) + 1.0f)) {
      st.SkipWithError("kernel disagrees with the reference");
      return;
    }
  }
  for (auto _ : st) {
    run(*kt, out);
    benchmark::DoNotOptimize(out.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter((scores_only ? 2.0 : 4.0) * static_cast<double>(rows * nk * d) * static_cast<double>(st.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
}

// RMSNorm of one row of n floats (the forward pass's norms: n = 2560 and 6912 for 2B-4T), checked
// bit for bit against the reference, then timed per call from L1.
void BM_rms_norm(benchmark::State& st, const char* isa) {
  const KernelTable* kt = kernel_table_for(isa);
  if (!kt) {
    st.SkipWithError("ISA not available on this CPU");
    return;
  }
  const int64_t n = st.range(0);
  std::vector<float> x(static_cast<size_t>(n)), w(x.size()), out(x.size()), want(x.size());
  for (int64_t i = 0; i < n; ++i) {
    x[static_cast<size_t>(i)] = static_cast<float>(i % 17) * 0.1f - 0.8f;
    w[static_cast<size_t>(i)] = 1.0f + static_cast<float>(i % 5) * 0.01f;
  }
  kernel_table_for("ref")->rms_norm(x.data(), w.data(), n, 1e-5f, want.data());
  kt->rms_norm(x.data(), w.data(), n, 1e-5f, out.data());
  if (out != want) {
    st.SkipWithError("kernel disagrees with the reference");
    return;
  }
  for (auto _ : st) {
    kt->rms_norm(x.data(), w.data(), n, 1e-5f, out.data());
    benchmark::DoNotOptimize(out.data());
  }
}

void BM_f16_gemv(benchmark::State& st, const char* isa) {
  const KernelTable* kt = kernel_table_for(isa);
  if (!kt) {
    st.SkipWithError("ISA not available on this CPU");
    return;
  }
  // rows x k weights, nt tokens (1: decode; 2-4: batched decoding, one token per server slot)
  const int64_t rows = st.range(0), k = st.range(1), nt = st.range(2);
  AlignedBuffer<uint16_t> w(static_cast<size_t>(f16_r4_size(rows, k)));  // R4 layout
  AlignedBuffer<float> x(static_cast<size_t>(k * nt));
  for (size_t i = 0; i < w.size(); ++i) w[i] = f32_to_fp16(static_cast<float>(i % 17) * 0.01f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 5) * 0.1f;
  std::vector<float> out(static_cast<size_t>(rows * nt)), want(out.size());
  kernel_table_for("ref")->f16_gemm(w.data(), rows, k, x.data(), nt, want.data(), rows);
  kt->f16_gemm(w.data(), rows, k, x.data(), nt, out.data(), rows);
  for (size_t i = 0; i < out.size(); ++i) {
    if (std::fabs(out[i] - want[i]) > 1e-3f * (1.0f + std::fabs(want[i]))) {
      st.SkipWithError("kernel disagrees with the reference");
      return;
    }
  }
  for (auto _ : st) {
    kt->f16_gemm(w.data(), rows, k, x.data(), nt, out.data(), rows);
    benchmark::DoNotOptimize(out.data());
  }
  st.counters["GB/s"] = benchmark::Counter(static_cast<double>(rows * k * 2) * static_cast<double>(st.iterations()),
                                           benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(rows * k * nt) * static_cast<double>(st.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
}

// The quantized heads (q8_0: 34 bytes per 32 weights; q6_k: 210 per 256) at the 2B-4T head
// shape, cycling through enough rows to come from DRAM as in decoding. Checked first against
// the reference on the first 64 rows.
void BM_quant_gemv(benchmark::State& st, const char* isa, bool q8) {
  const KernelTable* kt = kernel_table_for(isa);
  if (!kt) {
    st.SkipWithError("ISA not available on this CPU");
    return;
  }
  const int64_t rows = st.range(0), k = st.range(1);
  const int64_t elems = q8 ? kQ8_0Elems : kQ6_KElems, bytes = q8 ? kQ8_0Bytes : kQ6_KBytes;
  const int64_t row_bytes = k / elems * bytes, d_off = q8 ? 0 : 208;
  AlignedBuffer<uint8_t> w(static_cast<size_t>(rows * row_bytes));
  std::mt19937 rng(9);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<uint8_t>(rng());
  for (int64_t b = 0; b < rows * k / elems; ++b) {  // finite fp16 scales
    const uint16_t d = f32_to_fp16(static_cast<float>(rng() % 1000) * 1e-5f);
    std::memcpy(w.data() + b * bytes + d_off, &d, 2);
  }
  AlignedBuffer<float> x(static_cast<size_t>(k));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 5) * 0.1f;
  auto gemm = q8 ? kt->q8_0_gemm : kt->q6_k_gemm;
  auto ref = q8 ? kernel_table_for("ref")->q8_0_gemm : kernel_table_for("ref")->q6_k_gemm;
  std::vector<float> out(static_cast<size_t>(rows)), want(64);
  ref(w.data(), 64, k, x.data(), 1, want.data(), 64);
  gemm(w.data(), 64, k, x.data(), 1, out.data(), 64);
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::fabs(out[i] - want[i]) > 1e-3f * (1.0f + std::fabs(want[i]))) {
      st.SkipWithError("kernel disagrees with the reference");
      return;
    }
  }
  for (auto _ : st) {
    gemm(w.data(), rows, k, x.data(), 1, out.data(), rows);
    benchmark::DoNotOptimize(out.data());
  }
  st.counters["GB/s"] = benchmark::Counter(static_cast<double>(rows * row_bytes) * static_cast<double>(st.iterations()),
                                           benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  st.counters["Gweights/s"] = benchmark::Counter(static_cast<double>(rows * k) * static_cast<double>(st.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
}

// Read bandwidth of this machine with T threads (the second argument), each streaming its own
// contiguous 1/T of a buffer in huge-page memory, as the engine's weights are: the roofline
// for decoding with T threads.
void BM_bandwidth(benchmark::State& st) {
  const size_t n = static_cast<size_t>(st.range(0)) << 20;
  const int n_threads = static_cast<int>(st.range(1));
  AlignedBuffer<uint64_t> buf(n / 8);
  std::memset(buf.data(), 1, n);
  std::vector<uint64_t> sinks(static_cast<size_t>(n_threads) * 8);
  auto read_part = [&](int t) {
    const size_t lo = buf.size() * static_cast<size_t>(t) / static_cast<size_t>(n_threads);
    const size_t hi = buf.size() * static_cast<size_t>(t + 1) / static_cast<size_t>(n_threads);
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (size_t i = lo; i + 4 <= hi; i += 4) {
      a0 += buf[i];
      a1 += buf[i + 1];
      a2 += buf[i + 2];
      a3 += buf[i + 3];
    }
    sinks[static_cast<size_t>(t) * 8] += a0 + a1 + a2 + a3;  // one cache line per thread
  };
  for (auto _ : st) {
    std::vector<std::thread> threads;
    for (int t = 1; t < n_threads; ++t) threads.emplace_back(read_part, t);
    read_part(0);
    for (auto& th : threads) th.join();
  }
  benchmark::DoNotOptimize(sinks.data());
  st.counters["GB/s"] = benchmark::Counter(static_cast<double>(n) * static_cast<double>(st.iterations()),
                                           benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

// One decoded token of the 2B-4T layout as the engine runs it: 30 layers of ternary matmuls
// (q|k|v 3840x2560, o 2560x2560, gate|up 13824x2560, down 2560x6912: 0.52 GB of TR16 codes, or
// 0.44 GB of TN16) and the F16 head (128256x2560 in R4; 0.66 GB), through ops:: on a pool of T
// threads (the argument), each layout's codes in one block as the model loader places them
// (huge pages throughout). Both weight layouts are built (random codes) and alternated within
// every iteration, so their rates compare under the same host conditions; the first matrix of
// each is checked against the reference kernel. Compare with BM_bandwidth/1024/T run alongside.
void BM_decode_step(benchmark::State& st) {
  const int n_threads = static_cast<int>(st.range(0));
  constexpr int kLayers = 30;
  constexpr int64_t kShapes[4][2] = {{3840, 2560}, {2560, 2560}, {13824, 2560}, {2560, 6912}};
  constexpr int64_t kVocab = 128256, kEmbd = 2560;
  uint8_t valid[81];  // every byte whose four 2-bit codes are in {0, 1, 2}
  for (int i = 0; i < 81; ++i) valid[i] = static_cast<uint8_t>((i % 3) | (i / 3 % 3) << 2 | (i / 9 % 3) << 4 | (i / 27) << 6);
  uint64_t rs = 0x9e3779b97f4a7c15ull;
  auto next = [&rs] {  // xorshift64: filling 1.2 GB with mt19937 would take seconds
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
  };
  std::vector<TernaryMatrix> mats[2];  // [0] TR16, [1] TN16
  AlignedBuffer<uint8_t> blocks[2];    // each layout's codes in one block, as the model loader lays them out
  double tern_bytes[2] = {0, 0};
  for (int lay = 0; lay < 2; ++lay) {
    mats[lay].resize(kLayers * 4);
    size_t total = 0;
    for (size_t i = 0; i < mats[lay].size(); ++i) total += TernaryMatrix::slot_bytes(kShapes[i % 4][0], kShapes[i % 4][1], lay == 1);
    blocks[lay].resize(total);
    uint8_t* at = blocks[lay].data();
    for (size_t i = 0; i < mats[lay].size(); ++i) {
      TernaryMatrix& m = mats[lay][i];
      m.allocate(kShapes[i % 4][0], kShapes[i % 4][1], lay == 1, at);
      at += TernaryMatrix::slot_bytes(m.rows, m.cols, m.tn16);
      const int64_t gb = m.group_bytes(), main_bytes = lay == 1 ? tn_supers(m.k_pad) * kTnSuperBytes : 0;
      for (int64_t g = 0; g < m.n_groups(); ++g) {
        uint8_t* grp = m.codes.data() + g * gb;
        for (int64_t j = 0; j < main_bytes; ++j) {
          const bool sign = j % kTnSuperBytes >= 256;  // sign masks take any bits, nibbles 0..13
          grp[j] = static_cast<uint8_t>(sign ? next() : next() % 14 | (next() % 14) << 4);
        }
        for (int64_t j = main_bytes; j < gb; ++j) grp[j] = valid[next() % 81];
      }
      for (size_t j = 0; j < m.row_scale.size(); ++j) m.row_scale[j] = 1.0f;
      tern_bytes[lay] += static_cast<double>(m.codes.size());
    }
  }
  AlignedBuffer<uint16_t> head(static_cast<size_t>(f16_r4_size(kVocab, kEmbd)));
  for (size_t j = 0; j < head.size(); ++j) head[j] = static_cast<uint16_t>(0x3c00 ^ (next() & 0x83ff));
  ops::FloatMatrix hm;
  hm.rows = kVocab;
  hm.cols = kEmbd;
  hm.f16 = head.data();
  std::vector<float> x(6912), y(13824), logits(kVocab);
  for (size_t j = 0; j < x.size(); ++j) x[j] = static_cast<float>(next() % 2001) / 1000.0f - 1.0f;
  ThreadPool pool(n_threads);
  ops::QuantActs a2560, a6912;
  ops::quantize_acts(pool, x.data(), 1, 2560, a2560);
  ops::quantize_acts(pool, x.data(), 1, 6912, a6912);
  for (int lay = 0; lay < 2; ++lay) {
    const TernaryMatrix& m = mats[lay][0];
    const KernelTable* ref = kernel_table_for("ref");
    std::vector<int32_t> acc(static_cast<size_t>(m.rows_pad));
    (lay ? ref->tn16_gemm : ref->tr16_gemm)(m.codes.data(), m.n_groups(), m.k_pad, a2560.q.data(), m.k_pad, 1, acc.data(),
                                          m.rows_pad);
    ops::ternary_matmul(pool, m, a2560, y.data(), m.rows);
    for (int64_t r = 0; r < m.rows; ++r) {
      if (y[static_cast<size_t>(r)] != static_cast<float>(acc[static_cast<size_t>(r)] - a2560.qsum[0]) * a2560.inv_scale[0]) {
        st.SkipWithError("ternary_matmul disagrees with the reference kernel");
        return;
      }
    }
  }
  double t_tern[2] = {0, 0}, best[2] = {1e9, 1e9}, t_head = 0;
  for (auto _ : st) {
    for (int lay = 0; lay < 2; ++lay) {
      const auto t0 = std::chrono::steady_clock::now();
      for (const TernaryMatrix& m : mats[lay]) ops::ternary_matmul(pool, m, m.cols == 2560 ? a2560 : a6912, y.data(), m.rows);
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      t_tern[lay] += dt;
      best[lay] = std::min(best[lay], dt);
    }
    const auto t1 = std::chrono::steady_clock::now();
    ops::float_matmul(pool, hm, x.data(), 1, logits.data(), kVocab);
    t_head += std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  }
  benchmark::DoNotOptimize(logits.data());
  const double n = static_cast<double>(st.iterations());
  const double head_bytes = static_cast<double>(kVocab * kEmbd * 2);
  st.counters["head_GB/s"] = head_bytes * n / t_head / 1e9;
  st.counters["tr16_GB/s"] = tern_bytes[0] * n / t_tern[0] / 1e9;
  st.counters["tn16_GB/s"] = tern_bytes[1] * n / t_tern[1] / 1e9;
  // The best pass of each layout: the host's bandwidth swings within a run (docs/PERFORMANCE.md).
  st.counters["tr16_best_GB/s"] = tern_bytes[0] / best[0] / 1e9;
  st.counters["tn16_best_GB/s"] = tern_bytes[1] / best[1] / 1e9;
  st.counters["tr16_tok/s"] = n / (t_tern[0] + t_head);
  st.counters["tn16_tok/s"] = n / (t_tern[1] + t_head);
}

// One 2B-4T layer's four prefill matmuls (q|k|v, o, gate|up with ReLU^2 in the epilogue, down)
// over 512 tokens on a pool of T threads (the argument), TR16 and TN16 alternated within every
// iteration; counters: int8 GOP/s of each layout (2 x 2.085 G multiply-adds per token over 30
// layers; the VNNI peak is ~467 GOP/s per core, docs/PERFORMANCE.md). What the engine's GEMM
// reaches with its task split, the TN16 rewrite and the epilogue stores, without the rest of
// the forward pass.
void BM_prefill_layer(benchmark::State& st) {
  const int n_threads = static_cast<int>(st.range(0));
  constexpr int64_t kTok = 512, kEmbd = 2560, kFf = 6912;
  constexpr int64_t kShapes[4][2] = {{3840, kEmbd}, {kEmbd, kEmbd}, {2 * kFf, kEmbd}, {kEmbd, kFf}};
  std::mt19937 rng(11);
  TernaryMatrix mats[2][4];
  std::vector<int8_t> row;
  for (int lay = 0; lay < 2; ++lay) {
    for (int i = 0; i < 4; ++i) {
      TernaryMatrix& m = mats[lay][i];
      m.allocate(kShapes[i][0], kShapes[i][1], lay == 1);
      row.resize(static_cast<size_t>(m.cols));
      for (int64_t r = 0; r < m.rows; ++r) {
        std::mt19937 rr(static_cast<uint32_t>(r * 4 + i));  // the same weights in both layouts
        for (int8_t& v : row) v = static_cast<int8_t>(static_cast<int>(rr() % 3) - 1);
        m.set_row(r, row.data(), 1.0f);
      }
    }
  }
  std::vector<float> x(static_cast<size_t>(kTok * kFf)), y(static_cast<size_t>(kTok * 2 * kFf));
  for (float& v : x) v = static_cast<float>(rng() % 2001) / 1000.0f - 1.0f;
  ThreadPool pool(n_threads);
  ops::QuantActs a_embd, a_ff;
  ops::quantize_acts(pool, x.data(), kTok, kEmbd, a_embd);
  ops::quantize_acts(pool, x.data(), kTok, kFf, a_ff);
  auto layer = [&](const TernaryMatrix (&m)[4]) {
    ops::ternary_matmul(pool, m[0], a_embd, y.data(), m[0].rows);
    ops::ternary_matmul(pool, m[1], a_embd, y.data(), m[1].rows);
    ops::ternary_matmul_glu(pool, m[2], a_embd, TrAct::kReluSqr, kFf, y.data(), kFf);
    ops::ternary_matmul(pool, m[3], a_ff, y.data(), m[3].rows);
  };
  // The layouts must agree to the bit (the tests check this thoroughly; here: the down matmul).
  std::vector<float> want(static_cast<size_t>(kTok * kEmbd));
  ops::ternary_matmul(pool, mats[0][3], a_ff, want.data(), kEmbd);
  ops::ternary_matmul(pool, mats[1][3], a_ff, y.data(), kEmbd);
  if (std::memcmp(want.data(), y.data(), want.size() * sizeof(float)) != 0) {
    st.SkipWithError("TN16 prefill disagrees with TR16");
    return;
  }
  double t[2] = {0, 0};
  for (auto _ : st) {
    for (int lay = 0; lay < 2; ++lay) {
      const auto t0 = std::chrono::steady_clock::now();
      layer(mats[lay]);
      t[lay] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  benchmark::DoNotOptimize(y.data());
  double macs = 0;
  for (const auto& s : kShapes) macs += static_cast<double>(s[0] * s[1] * kTok);
  const double n = static_cast<double>(st.iterations());
  st.counters["tr16_GOP/s"] = 2 * macs * n / t[0] / 1e9;
  st.counters["tn16_GOP/s"] = 2 * macs * n / t[1] / 1e9;
  st.counters["tn16_pp512_cap"] = n / t[1] / 30 * kTok;  // tokens/s if the rest of the forward were free
}

// 2B-4T shapes: q|k|v fused (3840 x 2560), gate|up (13824 x 2560), down (2560 x 6912).
void tr16_args(benchmark::internal::Benchmark* b) {
  for (int64_t nt : {1, 64}) {
    b->Args({3840, 2560, nt, 1});
    b->Args({13824, 2560, nt, 1});
    b->Args({2560, 6912, nt, 1});
  }
}

BENCHMARK_CAPTURE(BM_tr16_gemm, ref, "ref")->Args({2560, 2560, 1, 1});
BENCHMARK_CAPTURE(BM_tr16_gemm, avx2, "avx2")->Apply(tr16_args);
BENCHMARK_CAPTURE(BM_tr16_gemm, avxvnni, "avxvnni")->Apply(tr16_args);
BENCHMARK_CAPTURE(BM_tr16_gemm, avx512, "avx512")->Apply(tr16_args);
BENCHMARK_CAPTURE(BM_tr16_gemm, avx2_dram, "avx2")->Args({13824, 2560, 1, 8})->Args({13824, 2560, 4, 8});
BENCHMARK_CAPTURE(BM_tr16_gemm, avxvnni_dram, "avxvnni")->Args({13824, 2560, 1, 8})->Args({13824, 2560, 4, 8});
BENCHMARK_CAPTURE(BM_tr16_gemm, avx512_dram, "avx512")->Args({13824, 2560, 1, 8})->Args({13824, 2560, 2, 8})->Args({13824, 2560, 4, 8});
BENCHMARK_CAPTURE(BM_f16_gemv, avx2, "avx2")->Args({16384, 2560, 1})->Args({16384, 2560, 4});
BENCHMARK_CAPTURE(BM_f16_gemv, avx512, "avx512")->Args({16384, 2560, 1})->Args({16384, 2560, 2})->Args({16384, 2560, 4})->Args({256, 2560, 4});
BENCHMARK_CAPTURE(BM_tr16_bitlinear, avx2, "avx2")->Args({64, 2560, 64, 0})->Args({64, 2560, 64, 1});
BENCHMARK_CAPTURE(BM_tr16_bitlinear, avxvnni, "avxvnni")->Args({64, 2560, 64, 0})->Args({64, 2560, 64, 1});
BENCHMARK_CAPTURE(BM_tr16_bitlinear, avx512, "avx512")->Args({64, 2560, 64, 0})->Args({64, 2560, 64, 1});
BENCHMARK_CAPTURE(BM_attention, avx2, "avx2", false)->Args({32, 512})->Args({4, 4096});
BENCHMARK_CAPTURE(BM_attention, avx512, "avx512", false)->Args({32, 512})->Args({32, 2048})->Args({4, 256})->Args({4, 4096});
BENCHMARK_CAPTURE(BM_attention, scores_avx2, "avx2", true)->Args({32, 2048})->Args({4, 256});
BENCHMARK_CAPTURE(BM_attention, scores_avx512, "avx512", true)->Args({32, 2048})->Args({4, 256});
BENCHMARK_CAPTURE(BM_rms_norm, avx2, "avx2")->Arg(2560)->Arg(6912);
BENCHMARK_CAPTURE(BM_rms_norm, avx512, "avx512")->Arg(2560)->Arg(6912);
BENCHMARK(BM_prefill_layer)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_decode_step)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_bandwidth)->Args({1024, 1})->Args({1024, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_quant_gemv, q8_0_avx2, "avx2", true)->Args({16384, 2560});
BENCHMARK_CAPTURE(BM_quant_gemv, q8_0_avx512, "avx512", true)->Args({16384, 2560});
BENCHMARK_CAPTURE(BM_quant_gemv, q6_k_avx2, "avx2", false)->Args({16384, 2560});
BENCHMARK_CAPTURE(BM_quant_gemv, q6_k_avx512, "avx512", false)->Args({16384, 2560});

}  // namespace
}  // namespace tern

BENCHMARK_MAIN();
