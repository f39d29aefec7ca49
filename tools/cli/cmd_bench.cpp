// tern bench: prompt-processing and generation speed, like llama-bench (pp / tg tokens per
// second over -r repetitions, mean and standard deviation), as markdown or JSON.
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "core/cpu.h"
#include "core/error.h"
#include "core/timer.h"
#include "engine/session.h"
#include "kernels/table.h"

namespace tern::cli {
namespace {

struct Stat {
  double mean = 0, sd = 0;
};

Stat stats(const std::vector<double>& v) {
  Stat s;
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double acc = 0;
  for (double x : v) acc += (x - s.mean) * (x - s.mean);
  s.sd = v.size() > 1 ? std::sqrt(acc / static_cast<double>(v.size() - 1)) : 0.0;
  return s;
}

}  // namespace

RunFn add_bench(CLI::App& app) {
  auto* cmd = app.add_subcommand("bench", "Measure prompt (pp) and generation (tg) tokens per second");
  struct Args {
    ModelFlags mf;
    int64_t n_prompt = 512, n_gen = 128, reps = 5, n_batch = 512, n_parallel = 1, n_depth = 0;
    std::string threads_list, output = "md";
  };
  auto a = std::make_shared<Args>();
  a->mf.add(*cmd, true, false);
  cmd->add_option("-p,--n-prompt", a->n_prompt, "Prompt tokens (0: skip pp)")->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-n,--n-gen", a->n_gen, "Generated tokens (0: skip tg)")->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-d,--n-depth", a->n_depth,
                  "Tokens already in the context before each pp / tg test (as llama-bench -d): "
                  "measures speed at depth, where attention reads a long KV cache (not the --np test)")
      ->check(CLI::Range(0, 1 << 20));
  cmd->add_option("-b,--batch-size", a->n_batch, "Prompt tokens per forward pass (as tern run -b)")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--np,--parallel", a->n_parallel,
                  "Also time generation for N sequences decoded together, one token each per forward pass "
                  "(the server's continuous batching; reported as aggregate t/s)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("-r,--repetitions", a->reps, "Repetitions")->check(CLI::Range(1, 1000));
  cmd->add_option("-t,--threads", a->threads_list, "Thread count, or a comma-separated sweep such as 1,2 (default: all cores)");
  cmd->add_option("-o,--output", a->output, "md or json")->check(CLI::IsMember({"md", "json"}));
  return [a]() {
    auto model = a->mf.load();
    std::vector<int32_t> threads = a->threads_list.empty()
                                       ? std::vector<int32_t>{a->mf.resolved_threads()}
                                       : parse_int_list(a->threads_list, "--threads");
    for (int32_t t : threads) {
      if (t < 1 || t > 1024) fail("--threads: ", t, " is out of range (1..1024)");
    }
    const ModelConfig& c = model->config();
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(c.n_vocab - 1));
    nlohmann::json results = nlohmann::json::array();
    if (a->output == "md") {
      std::printf("| model | types | isa | threads | test | t/s |\n|---|---|---|---:|---|---:|\n");
    }
    // The KV cache's precision joins the types column when it is not the exact default.
    const std::string types = model->describe_types() + (a->mf.cache_type == "f32" ? "" : ", " + a->mf.cache_type + " kv cache");
    for (int32_t nt : threads) {
      Session s(*model, a->n_depth + a->n_prompt + a->n_gen + 1, nt, a->mf.kv_type());
      // The context each test starts from: n_depth random tokens, evaluated untimed.
      std::vector<int32_t> depth_ids(static_cast<size_t>(a->n_depth));
      for (auto& id : depth_ids) id = tok(rng);
      auto start = [&]() {
        s.reset();
        if (!depth_ids.empty()) s.eval(depth_ids, a->n_batch);
      };
      const std::string at = a->n_depth > 0 ? " @ d" + std::to_string(a->n_depth) : "";
      // One result row: markdown now, JSON at the end. n tokens per sample, np sequences.
      auto report = [&](const std::string& name, int64_t n, int64_t np, const std::vector<double>& tps) {
        const Stat st = stats(tps);
        if (a->output == "md") {
          std::printf("| %s | %s | %s | %d | %s | %.2f ± %.2f |\n", c.name.c_str(), types.c_str(),
                      kernels().isa, nt, name.c_str(), st.mean, st.sd);
          std::fflush(stdout);
        }
        results.push_back({{"model", c.name}, {"types", types}, {"cache_type", a->mf.cache_type}, {"isa", kernels().isa},
                           {"cpu", cpu_features().describe()}, {"threads", nt}, {"test", name},
                           {"n_tokens", n}, {"n_depth", np == 1 ? a->n_depth : 0}, {"n_parallel", np}, {"reps", a->reps}, {"tps_mean", st.mean},
                           {"tps_sd", st.sd}, {"samples", tps}});
      };
      auto run_test = [&](const std::string& name, int64_t n, bool prompt) {
        if (n <= 0) return;
        std::vector<int32_t> ids(static_cast<size_t>(n));
        for (auto& id : ids) id = tok(rng);
        auto once = [&]() {
          start();
          const double t0 = now_seconds();
          if (prompt) {
            s.eval(ids, a->n_batch);
          } else {
            for (int32_t id : ids) s.eval({id});
          }
          return static_cast<double>(n) / (now_seconds() - t0);
        };
        // Warm-up: the whole test once, untimed, as llama-bench's warm-up prompt run. The KV
        // cache and the scratch buffers are mapped lazily, so their first touch (page faults,
        // milliseconds per MB on a VM) lands here and not in the first sample.
        once();
        std::vector<double> tps;
        for (int64_t r = 0; r < a->reps; ++r) tps.push_back(once());
        report(name, n, 1, tps);
      };
      run_test("pp" + std::to_string(a->n_prompt) + at, a->n_prompt, true);
      run_test("tg" + std::to_string(a->n_gen) + at, a->n_gen, false);
      if (a->n_parallel > 1 && a->n_gen > 0) {
        // n_parallel sequences, each generating n_gen tokens; every forward pass carries one
        // token of each (what `tern serve -np N` does with N busy slots).
        const int64_t np = a->n_parallel;
        KvCache kv(c, np, a->n_gen + 1, a->mf.kv_type());
        ForwardScratch scratch;
        std::vector<float> logits;
        Batch batch;
        auto step = [&](int32_t pos) {
          batch.clear();
          for (int64_t sq = 0; sq < np; ++sq) batch.add(tok(rng), pos, static_cast<int32_t>(sq), true);
          model->forward(s.pool(), kv, batch, scratch, logits);
        };
        auto once = [&]() {
          const double t0 = now_seconds();
          for (int32_t p = 0; p < a->n_gen; ++p) step(p);
          return static_cast<double>(np * a->n_gen) / (now_seconds() - t0);
        };
        once();  // warm-up, untimed, as above
        std::vector<double> tps;
        for (int64_t r = 0; r < a->reps; ++r) tps.push_back(once());
        report("tg" + std::to_string(a->n_gen) + " x" + std::to_string(np), np * a->n_gen, np, tps);
      }
    }
    if (a->output == "json") std::printf("%s\n", results.dump(2).c_str());
    return 0;
  };
}

}  // namespace tern::cli
