// Sampling, stop strings, the thread pool and the small float ops.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <numeric>
#include <set>
#include <chrono>
#include <thread>

#include "core/error.h"
#include "engine/session.h"
#include "kernels/table.h"
#include "ops/ops.h"
#include "sampling/sampler.h"
#include "threading/pool.h"
#include "tokenizer/tokenizer.h"

namespace tern {
namespace {

TEST(Sampler, GreedyPicksTheArgmax) {
  SamplingParams p;
  p.temperature = 0.0f;
  Sampler s(p);
  std::vector<float> l = {0.1f, 2.0f, -1.0f, 1.9f};
  EXPECT_EQ(s.sample(l.data(), 4, {}), 1);
}

TEST(Sampler, SeedMakesDrawsRepeatable) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 42;
  std::vector<float> base(50);
  for (size_t i = 0; i < base.size(); ++i) base[i] = static_cast<float>(i % 7) * 0.3f;
  auto draw = [&](uint64_t seed) {
    p.seed = seed;
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 20; ++i) {
      auto l = base;
      out.push_back(s.sample(l.data(), 50, {}));
    }
    return out;
  };
  EXPECT_EQ(draw(42), draw(42));
  EXPECT_NE(draw(42), draw(43));
}

TEST(Sampler, TopKOneIsGreedy) {
  SamplingParams p;
  p.temperature = 5.0f;
  p.top_k = 1;
  p.seed = 7;
  Sampler s(p);
  for (int i = 0; i < 10; ++i) {
    std::vector<float> l = {0.0f, 0.5f, 3.0f, 0.2f};
    EXPECT_EQ(s.sample(l.data(), 4, {}), 2);
  }
}

TEST(Sampler, MinPAndTopPCutTheTail) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.5f;  // keeps tokens with prob >= half the best
  p.seed = 3;
  Sampler s(p);
  std::set<int32_t> seen;
  for (int i = 0; i < 200; ++i) {
    std::vector<float> l = {std::log(1.0f), std::log(0.8f), std::log(0.1f), std::log(0.05f)};
    seen.insert(s.sample(l.data(), 4, {}));
  }
  EXPECT_EQ(seen, (std::set<int32_t>{0, 1}));
  p.min_p = 0.0f;
  p.top_p = 0.5f;  // the best alone covers half the mass of {1, .8, .1, .05}
  Sampler s2(p);
  for (int i = 0; i < 50; ++i) {
    std::vector<float> l = {std::log(1.0f), std::log(0.8f), std::log(0.1f), std::log(0.05f)};
    EXPECT_EQ(s2.sample(l.data(), 4, {}), 0);
  }
}

TEST(Sampler, RepeatPenaltyDemotesSeenTokens) {
  SamplingParams p;
  p.temperature = 0.0f;
  p.repeat_penalty = 2.0f;
  Sampler s(p);
  std::vector<float> l = {3.0f, 2.0f};
  EXPECT_EQ(s.sample(l.data(), 2, {0}), 1);  // 3/2 = 1.5 < 2
}

TEST(Sampler, RejectsBadParameters) {
  SamplingParams p;
  p.temperature = -1.0f;
  EXPECT_THROW(p.validate(), Error);
  p = {};
  p.top_p = 0.0f;
  EXPECT_THROW(p.validate(), Error);
  p = {};
  p.min_p = 2.0f;
  EXPECT_THROW(p.validate(), Error);
  p = {};
  p.temperature = NAN;
  EXPECT_THROW(p.validate(), Error);
}

TEST(StopMatcher, HoldsBackPartialMatchesAndCutsAtTheStop) {
  StopMatcher m({"</s>", "User:"});
  bool hit = false;
  std::string out = m.push("Hello <", hit);
  EXPECT_EQ(out, "Hello ");
  EXPECT_FALSE(hit);
  out = m.push("/", hit);
  EXPECT_EQ(out, "");
  out = m.push("s> after", hit);
  EXPECT_TRUE(hit);
  EXPECT_EQ(out, "");
  StopMatcher m2({"User:"});
  out = m2.push("Us", hit);
  EXPECT_EQ(out, "");
  out = m2.push("a", hit);
  EXPECT_EQ(out, "Usa");
  out = m2.push(" ok\nUser: hi", hit);
  EXPECT_TRUE(hit);
  EXPECT_EQ(out, " ok\n");
  StopMatcher none({});
  EXPECT_EQ(none.push("abc", hit), "abc");
}

TEST(ThreadPool, RunsEveryTaskOnceOnAnyThreadCount) {
  for (int n : {1, 2, 3, 8}) {
    ThreadPool pool(n);
    for (int64_t tasks : {0, 1, 5, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(tasks));
      std::atomic<int> max_worker{0};
      pool.parallel_for(tasks, [&](int64_t t, int w) {
        hits[static_cast<size_t>(t)].fetch_add(1);
        int cur = max_worker.load();
        while (w > cur && !max_worker.compare_exchange_weak(cur, w)) {
        }
      });
      for (auto& h : hits) EXPECT_EQ(h.load(), 1);
      EXPECT_LT(max_worker.load(), n);
    }
  }
}

TEST(Ops, RmsNormMatchesDefinition) {
  std::vector<float> x = {1.0f, -2.0f, 3.0f, 0.5f}, w = {1.0f, 2.0f, 0.5f, 1.0f}, out(4);
  ops::rms_norm(x.data(), w.data(), 4, 1e-5f, out.data());
  const float ms = (1 + 4 + 9 + 0.25f) / 4;
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(out[i], x[i] / std::sqrt(ms + 1e-5f) * w[i], 1e-6f);
}

TEST(Ops, RopeRotatesPairsHalfApart) {
  // head_dim 4: pairs (0,2) and (1,3); at pos 1 with theta 10000 the first pair turns 1 rad.
  std::vector<float> x = {1.0f, 0.0f, 0.0f, 1.0f};
  ops::rope_neox(x.data(), 1, 4, 4, 1, 10000.0f);
  EXPECT_NEAR(x[0], std::cos(1.0f), 1e-6f);
  EXPECT_NEAR(x[2], std::sin(1.0f), 1e-6f);
  const float a = 1.0f / 100.0f;  // 10000^(-2/4)
  EXPECT_NEAR(x[1], -std::sin(a), 1e-6f);
  EXPECT_NEAR(x[3], std::cos(a), 1e-6f);
  std::vector<float> y = {0.3f, -0.7f, 1.1f, 2.0f};
  auto z = y;
  ops::rope_neox(z.data(), 1, 4, 4, 0, 500000.0f);
  EXPECT_EQ(y, z);  // position 0 is the identity
}

TEST(Ops, TernaryMatrixRoundTripsRows) {
  TernaryMatrix m;
  m.allocate(3, 300);
  std::vector<int8_t> row(300), back(300);
  for (int r = 0; r < 3; ++r) {
    for (int i = 0; i < 300; ++i) row[static_cast<size_t>(i)] = static_cast<int8_t>((i * 7 + r) % 3 - 1);
    m.set_row(r, row.data(), 0.5f + static_cast<float>(r));
    m.get_row(r, back.data());
    EXPECT_EQ(row, back);
  }
  EXPECT_EQ(m.k_pad, 384);
  EXPECT_EQ(m.row_scale[2], 2.5f);
}

}  // namespace
}  // namespace tern

namespace tern {
namespace {

TEST(TextStream, HoldsBackStopPrefixesAndReleasesThemAtTheEnd) {
  auto tok = Tokenizer::from_vocab(build_synthetic_vocab(1000));
  TextStream ts(*tok, {"User:"});
  std::string out;
  bool stop = false;
  for (int32_t id : tok->encode("Hello Us", false, false)) out += ts.push(id, stop);
  EXPECT_FALSE(stop);
  EXPECT_EQ(out, "Hello ");           // "Us" may start "User:"
  EXPECT_EQ(ts.finish(), "Us");       // generation ended otherwise (e.g. end of text): released
  TextStream ts2(*tok, {"User:"});
  out.clear();
  for (int32_t id : tok->encode("ok\nUser: more", false, false)) {
    out += ts2.push(id, stop);
    if (stop) break;
  }
  EXPECT_TRUE(stop);
  EXPECT_EQ(out, "ok\n");
  // An emoji split across byte tokens is held until complete, and an incomplete tail is
  // released by finish().
  TextStream ts3(*tok, {});
  const std::string smile = "\xF0\x9F\x98\x80";
  out.clear();
  for (int32_t id : tok->encode(smile + "\xF0\x9F", false, false)) out += ts3.push(id, stop);
  EXPECT_EQ(out, smile);
  EXPECT_EQ(ts3.finish(), "\xF0\x9F");
}

}  // namespace
}  // namespace tern

namespace tern {
namespace {
// The relu^2 gate on the kernel table in use (the engine's ISA), against its definition.
TEST(Ops, ReluSqrMulMatchesDefinition) {
  for (int64_t n : {1, 3, 4, 5, 8, 13, 6912}) {
    std::vector<float> g(static_cast<size_t>(n)), u(g.size()), out(g.size(), -7.0f);
    for (int64_t j = 0; j < n; ++j) {
      g[static_cast<size_t>(j)] = static_cast<float>((j * 37) % 11) - 5.5f;
      u[static_cast<size_t>(j)] = 0.25f * static_cast<float>(j % 7) - 0.5f;
    }
    if (n > 4) g[2] = std::nanf("");  // NaN gates act as 0, as in the scalar select
    kernels().relu_sqr_mul(g.data(), u.data(), out.data(), n);
    for (int64_t j = 0; j < n; ++j) {
      const float gj = g[static_cast<size_t>(j)];
      const float r = gj > 0.0f ? gj : 0.0f;
      ASSERT_EQ(out[static_cast<size_t>(j)], r * r * u[static_cast<size_t>(j)]) << "n=" << n << " j=" << j;
    }
  }
}
TEST(Ops, RmsNormLongRowsMatchDoubleDefinition) {
  for (int64_t n : {7, 8, 9, 2560, 6913}) {
    std::vector<float> x(static_cast<size_t>(n)), w(x.size()), out(x.size());
    double ss = 0.0;
    for (int64_t j = 0; j < n; ++j) {
      x[static_cast<size_t>(j)] = std::sin(static_cast<float>(j)) * 3.0f;
      w[static_cast<size_t>(j)] = 1.0f + 0.001f * static_cast<float>(j % 13);
      ss += static_cast<double>(x[static_cast<size_t>(j)]) * x[static_cast<size_t>(j)];
    }
    ops::rms_norm(x.data(), w.data(), n, 1e-5f, out.data());
    const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(n)) + 1e-5f);
    for (int64_t j = 0; j < n; ++j) {
      ASSERT_NEAR(out[static_cast<size_t>(j)], x[static_cast<size_t>(j)] * inv * w[static_cast<size_t>(j)], 1e-6f) << n;
    }
  }
}
}  // namespace
}  // namespace tern

namespace tern {
namespace {
void busy_for(double s) {
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < s) {
  }
}

// Runs 2-task jobs whose worker task sleeps 40 ms (as a preempted worker would keep the join
// waiting) until the pool goes solo or 20 jobs pass; returns how many of the tasks the worker took.
int drive_into_solo_mode(ThreadPool& pool, int& jobs) {
  // The caller's task 0 waits (up to 1 s) until the worker has claimed the other task.
  std::atomic<int> on_worker{0};
  std::atomic<bool> claimed{false};
  auto slow_worker_job = [&](int64_t t, int w) {
    if (w != 0) {
      on_worker.fetch_add(1);
      claimed = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(40));
    } else if (t == 0) {
      const auto t0 = std::chrono::steady_clock::now();
      while (!claimed && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1)) std::this_thread::yield();
    }
  };
  jobs = 0;
  while (pool.solo_jobs_left() == 0 && jobs < 20) {
    claimed = false;
    pool.parallel_for(2, slow_worker_job);
    ++jobs;
  }
  return on_worker.load();
}

// Runs up to 20 jobs of 64 short tasks until a worker (not the caller) takes one; returns how
// many tasks the workers took.
int tasks_on_workers(ThreadPool& pool) {
  std::atomic<int> n{0};
  for (int j = 0; j < 20 && n.load() == 0; ++j) {
    pool.parallel_for(64, [&](int64_t, int w) {
      if (w != 0) n.fetch_add(1);
      busy_for(5e-5);
    });
  }
  return n.load();
}

// A contention policy that reacts within a test's few jobs: 2 waits past 2 ms in 8 jobs.
ContentionPolicy quick_policy(int64_t solo_jobs) {
  ContentionPolicy policy;
  policy.long_wait_s = 2e-3;
  policy.strikes = 2;
  policy.window = 8;
  policy.solo_jobs = solo_jobs;
  return policy;
}

// A worker that keeps the join waiting (as a preempted one would) sends the pool into solo mode:
// the next jobs run every task on the calling thread; after solo_jobs it uses the workers again.
TEST(ThreadPool, FallsBackToTheCallingThreadWhenJoinsKeepWaiting) {
  ThreadPool pool(2, quick_policy(5));
  int jobs = 0;
  const int on_worker = drive_into_solo_mode(pool, jobs);
  ASSERT_GT(on_worker, 0) << "the worker never took a task; the test cannot show anything";
  ASSERT_EQ(pool.solo_jobs_left(), 5) << "no solo mode after " << jobs << " jobs with long joins";
  EXPECT_EQ(pool.solo_jobs_run(), 0);
  // Solo jobs: every task on the calling thread (worker 0).
  std::atomic<int> not_caller{0};
  for (int j = 0; j < 5; ++j) {
    pool.parallel_for(64, [&](int64_t, int w) {
      if (w != 0) not_caller.fetch_add(1);
      busy_for(2e-5);
    });
  }
  EXPECT_EQ(not_caller.load(), 0);
  EXPECT_EQ(pool.solo_jobs_run(), 5);
  // Solo mode is over: the worker takes tasks again.
  EXPECT_GT(tasks_on_workers(pool), 0);
}

// Solo mode also ends after solo_s, however many solo jobs are left: prefill jobs are long, and
// a hiccup must not leave minutes of prompt processing on one thread.
TEST(ThreadPool, SoloModeEndsAfterItsTimeEvenWithJobsLeft) {
  ContentionPolicy policy = quick_policy(1000000);
  policy.solo_s = 0.05;
  ThreadPool pool(2, policy);
  int jobs = 0;
  ASSERT_GT(drive_into_solo_mode(pool, jobs), 0) << "the worker never took a task";
  ASSERT_EQ(pool.solo_jobs_left(), 1000000) << "no solo mode after " << jobs << " jobs with long joins";
  pool.parallel_for(8, [](int64_t, int) { busy_for(1e-5); });  // within solo_s: solo
  EXPECT_EQ(pool.solo_jobs_run(), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  const int on_workers = tasks_on_workers(pool);
  EXPECT_EQ(pool.solo_jobs_left(), 0);
  EXPECT_EQ(pool.solo_jobs_run(), 1);
  EXPECT_GT(on_workers, 0);
}
}  // namespace
}  // namespace tern

namespace tern {
namespace {

// The GLU matmul (gate and up rows interleaved, activation in the epilogue) must give exactly
// what two plain ternary matmuls and the activation give, for prefill tiles, decode chunks and
// batched decoding, with n_ff not a multiple of the 16-row blocks, on 1 and 2 threads.
TEST(Ops, GluMatmulMatchesMatmulThenActivation) {
  const int64_t k = 200;
  for (int64_t n_ff : {100, 64, 7}) {
    TernaryMatrix gate, up, fused, fused_tn16;  // the fused matrix in both layouts
    gate.allocate(n_ff, k);
    up.allocate(n_ff, k);
    fused.allocate(ops::glu_rows(n_ff), k);
    fused_tn16.allocate(ops::glu_rows(n_ff), k, true);
    std::vector<int8_t> row(static_cast<size_t>(k));
    for (int64_t r = 0; r < n_ff; ++r) {
      for (int half = 0; half < 2; ++half) {
        for (int64_t i = 0; i < k; ++i) row[static_cast<size_t>(i)] = static_cast<int8_t>((i * 5 + r * 3 + half * 7 + i * r) % 3 - 1);
        const float scale = 0.01f * static_cast<float>(1 + (r + half) % 5);
        (half ? up : gate).set_row(r, row.data(), scale);
        fused.set_row(ops::glu_row(r, half == 1), row.data(), scale);
        fused_tn16.set_row(ops::glu_row(r, half == 1), row.data(), scale);
      }
    }
    for (int threads : {1, 2}) {
      ThreadPool pool(threads);
      for (int64_t n_tok : {1, 3, 70}) {
        std::vector<float> x(static_cast<size_t>(n_tok * k));
        for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i) * 0.37f) * 3.0f;
        ops::QuantActs a;
        ops::quantize_acts(pool, x.data(), n_tok, k, a);
        std::vector<float> g(static_cast<size_t>(n_tok * n_ff)), u(g.size()), want(g.size());
        ops::ternary_matmul(pool, gate, a, g.data(), n_ff);
        ops::ternary_matmul(pool, up, a, u.data(), n_ff);
        for (TrAct act : {TrAct::kReluSqr, TrAct::kSilu}) {
          for (size_t i = 0; i < want.size(); ++i) {  // the activations' definitions
            const float r = g[i] > 0.0f ? g[i] : 0.0f;
            want[i] = act == TrAct::kReluSqr ? r * r * u[i] : g[i] / (1.0f + std::exp(-g[i])) * u[i];
          }
          for (const TernaryMatrix* w : {&fused, &fused_tn16}) {
            std::vector<float> got(want.size() + 5, -1.0f);  // 5 guard values past the end
            ops::ternary_matmul_glu(pool, *w, a, act, n_ff, got.data(), n_ff);
            for (size_t i = 0; i < want.size(); ++i) {
              ASSERT_EQ(got[i], want[i]) << "n_ff=" << n_ff << " tn16=" << w->tn16 << " threads=" << threads
                                         << " n_tok=" << n_tok << " i=" << i;
            }
            for (size_t i = want.size(); i < got.size(); ++i) ASSERT_EQ(got[i], -1.0f) << "wrote past the output";
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace tern

namespace tern {
namespace {

// ternary_matmul against the reference kernel and BitLinear's formula, for shapes whose decode
// chunks (2 per thread, at most 2048 rows) end mid-matrix and past the last row, and a prefill
// batch spanning two token tiles; in both layouts (TN16 prefill: 128-row tasks for 5000 rows,
// 32-row ones for 37, both ending on a 16-row task).
TEST(Ops, TernaryMatmulMatchesReferenceAcrossTaskShapes) {
  const KernelTable& ref = *kernel_table_for("ref");
  const int64_t k = 136;  // pads to 256 (TN16: 2 superblocks and a 64-column TR16 tail)
  for (int64_t shape = 0; shape < 4; ++shape) {
    const int64_t rows = shape % 2 ? 37 : 5000;
    const bool tn16 = shape >= 2;
    TernaryMatrix w;
    w.allocate(rows, k, tn16);
    std::vector<int8_t> row(static_cast<size_t>(k));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < k; ++i) row[static_cast<size_t>(i)] = static_cast<int8_t>((i * 7 + r * 11 + i * r / 3) % 3 - 1);
      w.set_row(r, row.data(), 0.5f + 0.001f * static_cast<float>(r % 17));
    }
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      for (int64_t n_tok : {1, 4, 70}) {
        std::vector<float> x(static_cast<size_t>(n_tok * k));
        for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(static_cast<float>(i) * 0.11f) * 2.0f;
        ops::QuantActs a;
        ops::quantize_acts(pool, x.data(), n_tok, k, a);
        std::vector<int32_t> sums(static_cast<size_t>(n_tok * w.rows_pad));
        (tn16 ? ref.tn16_gemm : ref.tr16_gemm)(w.codes.data(), w.n_groups(), w.k_pad, a.q.data(), a.k_pad, n_tok,
                                                sums.data(), w.rows_pad);
        const int64_t stride = rows + 3;
        std::vector<float> y(static_cast<size_t>(n_tok * stride), -1.0f);
        ops::ternary_matmul(pool, w, a, y.data(), stride);
        for (int64_t t = 0; t < n_tok; ++t) {
          for (int64_t r = 0; r < stride; ++r) {
            const float got = y[static_cast<size_t>(t * stride + r)];
            if (r >= rows) {
              ASSERT_EQ(got, -1.0f) << "wrote past row " << rows;
              continue;
            }
            const float want = static_cast<float>(sums[static_cast<size_t>(t * w.rows_pad + r)] - a.qsum[static_cast<size_t>(t)]) *
                               a.inv_scale[static_cast<size_t>(t)] * w.row_scale[static_cast<size_t>(r)];
            ASSERT_EQ(got, want) << "rows=" << rows << " tn16=" << tn16 << " threads=" << threads << " n_tok=" << n_tok
                                 << " t=" << t << " r=" << r;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace tern
