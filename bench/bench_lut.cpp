// Lookup-table (T-MAC / bitnet.cpp TL2 style) ternary GEMV against tern's multiply-add TR16
// kernels, on the 2B-4T shapes, from cache and from DRAM (issue #3; results and conclusion in
// docs/PERFORMANCE.md, "Lookup-table kernels"). The LUT kernels and their 1.67-bit format are in
// bench/lut/ (lut.h explains them); they are bench-only.
//
// Every benchmark first checks its kernel on the same random ternary matrix and int8
// activations: the LUT result plus sum(q) must equal tern's reference tr16_gemm exactly (which
// is itself checked against a plain dot product), and SIMD-built tables must equal the scalar
// ones. Only the "lo_only" variant is not exact: it is a cost bound for an int8 (lossy) table.
//
//   nice -n 19 ninja -C build tern_bench_lut
//   ./build/bench/tern_bench_lut --benchmark_repetitions=5 --benchmark_min_time=0.2
//       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/aligned.h"
#include "kernels/table.h"
#include "lut/lut.h"

namespace tern {
namespace {

// Streams at least this many bytes of distinct copies for the "dram" runs (L3 is 32 MB).
constexpr int64_t kDramBytes = int64_t(72) << 20;

// One random ternary matrix and token in every format, with the exact expected result.
struct Case {
  int64_t rows = 0, k = 0, k_pad = 0;
  std::vector<int8_t> w;               // [rows x k] in {-1, 0, 1}
  AlignedBuffer<int8_t> q;             // [max(k_pad, k3) + 64], zero-padded
  std::vector<int32_t> want_tr16;      // ref tr16_gemm: sum code * q
  std::vector<int32_t> want_dot;       // sum w * q
  int32_t qsum = 0;
  AlignedBuffer<uint8_t> tr16;         // TR16 codes
  lut::Lt3Matrix lt512, lt2;
};

AlignedBuffer<uint8_t> pack_tr16(const std::vector<int8_t>& w, int64_t rows, int64_t k, int64_t k_pad) {
  AlignedBuffer<uint8_t> c(static_cast<size_t>(rows * k_pad / 4));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t col = 0; col < k_pad; ++col) {
      const int code = col < k ? w[static_cast<size_t>(r * k + col)] + 1 : 1;
      const int64_t g = r / kTrRows, b = col / kTrBlockCols, s = col % 16 / 4;
      const int64_t i = (r % kTrRows) * 4 + col % 4;
      c[static_cast<size_t>(g * tr_group_bytes(k_pad) + b * 64 + i)] |= static_cast<uint8_t>(code << (2 * s));
    }
  }
  return c;
}

const Case& get_case(int64_t rows, int64_t k) {
  static std::map<std::pair<int64_t, int64_t>, std::unique_ptr<Case>> cache;
  auto& slot = cache[{rows, k}];
  if (slot) return *slot;
  auto c = std::make_unique<Case>();
  c->rows = rows;
  c->k = k;
  c->k_pad = round_up_k(k);
  std::mt19937 rng(static_cast<uint32_t>(rows * 31 + k));
  c->w.resize(static_cast<size_t>(rows * k));
  for (auto& x : c->w) x = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
  const int64_t kq = std::max(c->k_pad, lut::round_up_k3(k)) + 64;
  c->q.resize(static_cast<size_t>(kq));
  for (int64_t i = 0; i < k; ++i) {
    c->q[static_cast<size_t>(i)] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    c->qsum += c->q[static_cast<size_t>(i)];
  }
  c->tr16 = pack_tr16(c->w, rows, k, c->k_pad);
  c->want_tr16.resize(static_cast<size_t>(rows));
  kernel_table_for("ref")->tr16_gemm(c->tr16.data(), rows / kTrRows, c->k_pad, c->q.data(), c->k_pad, 1, c->want_tr16.data(), rows);
  c->want_dot.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    int64_t s = 0;
    for (int64_t i = 0; i < k; ++i) s += c->w[static_cast<size_t>(r * k + i)] * c->q[static_cast<size_t>(i)];
    c->want_dot[static_cast<size_t>(r)] = static_cast<int32_t>(s);
    if (c->want_tr16[static_cast<size_t>(r)] != s + c->qsum) throw std::runtime_error("TR16 reference disagrees with the dot product");
  }
  c->lt512 = lut::pack_lt3_avx512(c->w.data(), rows, k);
  c->lt2 = lut::pack_lt3_avx2(c->w.data(), rows, k);
  slot = std::move(c);
  return *slot;
}

// `copies` back-to-back copies of one matrix's bytes.
AlignedBuffer<uint8_t> replicate(const uint8_t* src, int64_t bytes, int64_t copies) {
  AlignedBuffer<uint8_t> b(static_cast<size_t>(bytes * copies));
  for (int64_t i = 0; i < copies; ++i) std::memcpy(b.data() + i * bytes, src, static_cast<size_t>(bytes));
  return b;
}

int64_t copies_for(int64_t bytes, bool dram) { return dram ? (kDramBytes + bytes - 1) / bytes : 1; }

void set_counters(benchmark::State& st, int64_t bytes, int64_t weights) {
  const double it = static_cast<double>(st.iterations());
  st.counters["weight_GB/s"] = benchmark::Counter(static_cast<double>(bytes) * it, benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  st.counters["weights/ns"] = benchmark::Counter(static_cast<double>(weights) * it / 1e9, benchmark::Counter::kIsRate);
}

bool have_vbmi() { return __builtin_cpu_supports("avx512vbmi") && kernel_table_for("avx512") != nullptr; }

// Multiply-add: tern's TR16 tr16_gemm for one token.
void BM_mad(benchmark::State& st, const char* isa) {
  const KernelTable* kt = kernel_table_for(isa);
  if (!kt) return st.SkipWithError("ISA not available on this CPU");
  const Case& c = get_case(st.range(0), st.range(1));
  const int64_t bytes = c.rows * c.k_pad / 4, copies = copies_for(bytes, st.range(2) != 0);
  AlignedBuffer<uint8_t> w = replicate(c.tr16.data(), bytes, copies);
  std::vector<int32_t> out(static_cast<size_t>(c.rows));
  kt->tr16_gemm(w.data(), c.rows / kTrRows, c.k_pad, c.q.data(), c.k_pad, 1, out.data(), c.rows);
  if (out != c.want_tr16) return st.SkipWithError("kernel disagrees with the reference");
  int64_t i = 0;
  for (auto _ : st) {
    kt->tr16_gemm(w.data() + (i++ % copies) * bytes, c.rows / kTrRows, c.k_pad, c.q.data(), c.k_pad, 1, out.data(), c.rows);
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(st, bytes, c.rows * c.k);
}

enum class Lut { avx512, avx512_lo_only, avx2 };

// Lookup table: build the token's tables, then the GEMV (both timed: a layer rebuilds tables
// once per distinct input, so this is the cost for an unshared input).
void BM_lut(benchmark::State& st, Lut v) {
  if (v != Lut::avx2 ? !have_vbmi() : kernel_table_for("avx2") == nullptr) return st.SkipWithError("ISA not available on this CPU");
  const Case& c = get_case(st.range(0), st.range(1));
  const lut::Lt3Matrix& m = v == Lut::avx2 ? c.lt2 : c.lt512;
  const int64_t bytes = m.bytes(), copies = copies_for(bytes, st.range(2) != 0);
  AlignedBuffer<uint8_t> w = replicate(m.data.data(), bytes, copies);
  AlignedBuffer<uint8_t> tab(static_cast<size_t>(m.k3 / lut::kQuadCols * lut::kTableQuadBytes)), tab_ref(tab.size());
  std::vector<int32_t> out(static_cast<size_t>(c.rows));
  auto build = v == Lut::avx2 ? lut::avx2::build_tables : lut::avx512::build_tables;
  auto gemv = v == Lut::avx2 ? lut::avx2::lt3_gemv : v == Lut::avx512 ? lut::avx512::lt3_gemv : lut::avx512::lt3_gemv_lo_only;
  lut::build_tables_ref(c.q.data(), m.k3, tab_ref.data());
  build(c.q.data(), m.k3, tab.data());
  if (std::memcmp(tab.data(), tab_ref.data(), tab.size()) != 0) return st.SkipWithError("SIMD tables differ from the scalar ones");
  if (v != Lut::avx2) {
    lut::lt3_gemv_ref_avx512_layout(m, w.data(), tab.data(), out.data());
    if (out != c.want_dot) return st.SkipWithError("scalar LT3 GEMV disagrees with the reference");
  }
  gemv(m, w.data(), tab.data(), out.data());
  if (v != Lut::avx512_lo_only) {
    for (size_t r = 0; r < out.size(); ++r) {
      if (out[r] + c.qsum != c.want_tr16[r]) return st.SkipWithError("LUT kernel disagrees with tr16_gemm (ref)");
    }
  }
  int64_t i = 0;
  for (auto _ : st) {
    build(c.q.data(), m.k3, tab.data());
    gemv(m, w.data() + (i++ % copies) * bytes, tab.data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(st, bytes, c.rows * c.k);
}

// Table construction alone (per token, per distinct input).
void BM_lut_tables(benchmark::State& st, Lut v) {
  if (v != Lut::avx2 ? !have_vbmi() : kernel_table_for("avx2") == nullptr) return st.SkipWithError("ISA not available on this CPU");
  const int64_t k3 = lut::round_up_k3(st.range(0));
  AlignedBuffer<int8_t> q(static_cast<size_t>(k3 + 64));
  for (int64_t i = 0; i < k3; ++i) q[static_cast<size_t>(i)] = static_cast<int8_t>(i * 37);
  AlignedBuffer<uint8_t> tab(static_cast<size_t>(k3 / lut::kQuadCols * lut::kTableQuadBytes));
  auto build = v == Lut::avx2 ? lut::avx2::build_tables : lut::avx512::build_tables;
  for (auto _ : st) {
    build(q.data(), k3, tab.data());
    benchmark::DoNotOptimize(tab.data());
  }
}

// Small batches (2-8 tokens), weights from cache: LUT (tables per token) vs TR16 multiply-add.
void BM_gemm(benchmark::State& st, bool use_lut) {
  if (!have_vbmi()) return st.SkipWithError("ISA not available on this CPU");
  const Case& c = get_case(st.range(0), st.range(1));
  const int64_t nt = st.range(2);
  AlignedBuffer<int8_t> q(static_cast<size_t>(nt * c.k_pad));
  std::vector<int32_t> want(static_cast<size_t>(nt * c.rows)), out(want.size());
  std::mt19937 rng(3);
  for (int64_t t = 0; t < nt; ++t) {
    for (int64_t i = 0; i < c.k; ++i) q[static_cast<size_t>(t * c.k_pad + i)] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  }
  kernel_table_for("ref")->tr16_gemm(c.tr16.data(), c.rows / kTrRows, c.k_pad, q.data(), c.k_pad, nt, want.data(), c.rows);
  const KernelTable* kt = kernel_table_for("avx512");
  const lut::Lt3Matrix& m = c.lt512;
  const int64_t tab_bytes = m.k3 / lut::kQuadCols * lut::kTableQuadBytes;
  // The LUT reads k3 >= k activations per token (plus 16 bytes): its own zero-padded copy.
  const int64_t ql_stride = m.k3 + 64;
  AlignedBuffer<int8_t> ql(static_cast<size_t>(nt * ql_stride));
  for (int64_t t = 0; t < nt; ++t) std::memcpy(ql.data() + t * ql_stride, q.data() + t * c.k_pad, static_cast<size_t>(c.k));
  AlignedBuffer<uint8_t> tabs(static_cast<size_t>(nt * tab_bytes));
  std::vector<int32_t> qsum(static_cast<size_t>(nt), 0);
  for (int64_t t = 0; t < nt; ++t) {
    for (int64_t i = 0; i < c.k; ++i) qsum[static_cast<size_t>(t)] += q[static_cast<size_t>(t * c.k_pad + i)];
  }
  auto run = [&] {
    if (use_lut) {
      for (int64_t t = 0; t < nt; ++t) lut::avx512::build_tables(ql.data() + t * ql_stride, m.k3, tabs.data() + t * tab_bytes);
      lut::avx512::lt3_gemm(m, m.data.data(), tabs.data(), nt, out.data());
    } else {
      kt->tr16_gemm(c.tr16.data(), c.rows / kTrRows, c.k_pad, q.data(), c.k_pad, nt, out.data(), c.rows);
    }
  };
  run();
  for (int64_t t = 0; t < nt; ++t) {
    for (int64_t r = 0; r < c.rows; ++r) {
      const size_t i = static_cast<size_t>(t * c.rows + r);
      if (out[i] + (use_lut ? qsum[static_cast<size_t>(t)] : 0) != want[i]) return st.SkipWithError("kernel disagrees with the reference");
    }
  }
  for (auto _ : st) {
    run();
    benchmark::DoNotOptimize(out.data());
  }
  st.counters["GOP/s"] = benchmark::Counter(2.0 * static_cast<double>(c.rows * c.k * nt) * static_cast<double>(st.iterations()) / 1e9,
                                            benchmark::Counter::kIsRate);
}

// 2B-4T: q/o (2560 x 2560), up or gate (6912 x 2560), down (2560 x 6912), gate|up fused
// (13824 x 2560); third argument 0 = from cache (one copy), 1 = from DRAM (>= 72 MB of copies).
void shapes(benchmark::internal::Benchmark* b) {
  for (int64_t dram : {0, 1}) {
    b->Args({2560, 2560, dram});
    b->Args({6912, 2560, dram});
    b->Args({2560, 6912, dram});
    b->Args({13824, 2560, dram});
  }
  b->Unit(benchmark::kMicrosecond);
}

void gemm_shapes(benchmark::internal::Benchmark* b) {
  for (int64_t nt : {2, 4, 8}) b->Args({2560, 2560, nt});
  for (int64_t nt : {4, 8}) b->Args({6912, 2560, nt});
  b->Unit(benchmark::kMicrosecond);
}

BENCHMARK_CAPTURE(BM_mad, avx512, "avx512")->Apply(shapes);
BENCHMARK_CAPTURE(BM_lut, avx512, Lut::avx512)->Apply(shapes);
BENCHMARK_CAPTURE(BM_lut, avx512_lo_only_lossy_bound, Lut::avx512_lo_only)->Apply(shapes);
BENCHMARK_CAPTURE(BM_mad, avx2, "avx2")->Apply(shapes);
BENCHMARK_CAPTURE(BM_lut, avx2, Lut::avx2)->Apply(shapes);
BENCHMARK_CAPTURE(BM_lut_tables, avx512, Lut::avx512)->Arg(2560)->Arg(6912)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_lut_tables, avx2, Lut::avx2)->Arg(2560)->Arg(6912)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_gemm, mad_avx512, false)->Apply(gemm_shapes);
BENCHMARK_CAPTURE(BM_gemm, lut_avx512, true)->Apply(gemm_shapes);

}  // namespace
}  // namespace tern

BENCHMARK_MAIN();
