// TR16 against TN16 on one model file inside one process: the file is loaded twice (once per
// layout) and the two are alternated ABBA, a 512-token prompt and a 32-token decode per turn,
// so both see the same host conditions (this machine's bandwidth swings within seconds,
// docs/PERFORMANCE.md). Prints medians, bests and the paired decode ratios.
//
//   ./build/bench/tern_layout_ab MODEL.gguf [threads=2] [rounds=16]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/session.h"
#include "model/model.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace tern;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.gguf [threads=2] [rounds=16]\n", argv[0]);
    return 2;
  }
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2, rounds = argc > 3 ? std::atoi(argv[3]) : 16;
  if (threads < 1 || rounds < 1) fail("threads and rounds must be positive");
  std::unique_ptr<Model> models[2];
  for (int lay = 0; lay < 2; ++lay) {
    LoadOptions opt;
    opt.n_threads = threads;
    opt.tn16 = lay == 1;
    models[lay] = Model::load(argv[1], opt);
  }
  const int64_t nv = models[0]->config().n_vocab;
  std::vector<int32_t> prompt(512);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 7919 + 13) % static_cast<size_t>(nv));
  std::vector<double> pp[2], tg[2];
  for (int r = 0; r < rounds; ++r) {
    for (int v = 0; v < 2; ++v) {
      const int lay = r % 2 ? 1 - v : v;  // ABBA
      Session s(*models[lay], 1024, threads);
      auto t0 = std::chrono::steady_clock::now();
      s.eval(prompt, 512);
      pp[lay].push_back(static_cast<double>(prompt.size()) / seconds_since(t0));
      t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < 32; ++i) s.eval({static_cast<int32_t>((i * 31 + 5) % nv)});
      tg[lay].push_back(32.0 / seconds_since(t0));
    }
  }
  std::vector<double> ratio;
  int tn16_faster = 0;
  for (int r = 0; r < rounds; ++r) {
    ratio.push_back(tg[1][static_cast<size_t>(r)] / tg[0][static_cast<size_t>(r)]);
    tn16_faster += ratio.back() > 1.0;
  }
  for (int lay = 0; lay < 2; ++lay) {
    std::printf("%s: pp512 median %.2f best %.2f | tg32 median %.2f best %.2f\n", lay ? "tn16" : "tr16", median(pp[lay]),
                *std::max_element(pp[lay].begin(), pp[lay].end()), median(tg[lay]),
                *std::max_element(tg[lay].begin(), tg[lay].end()));
  }
  std::printf("tg32 tn16 / tr16 per round: median %.3f, tn16 faster in %d of %d\n", median(ratio), tn16_faster, rounds);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "tern_layout_ab: %s\n", e.what());
  return 1;
}
