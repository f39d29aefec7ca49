// tern dummy: write a random-weight model of a named layout.
#include <unistd.h>

#include <cstdio>

#include "cli/common.h"
#include "core/error.h"
#include "core/timer.h"
#include "engine/dummy.h"

namespace tern::cli {

RunFn add_dummy(CLI::App& app) {
  auto* cmd = app.add_subcommand("dummy", "Write a random-weight BitNet b1.58 model of a named layout");
  struct Args {
    std::string layout = "tiny", type = "i2_s", embd_type = "f16", out;
    uint64_t seed = 1;
    int64_t layers = 0, vocab = 0;
    bool list = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--layout", a->layout, "tiny, 2B-4T, 125M, 350M, 700M, 1B, 1.5B, 2.7B, 3B, 3.8B, 7B, 8B, 13B, 30B, 70B, 100B");
  cmd->add_option("--type", a->type, "Projection type: i2_s, tq2_0, tq1_0, f16, bf16, f32");
  cmd->add_option("--embd-type", a->embd_type, "Embedding / head type: f16, f32, bf16, q8_0, q6_k, q4_k, q4_0");
  cmd->add_option("-o,--out", a->out, "Output GGUF file");
  cmd->add_option("--seed", a->seed, "Random seed");
  cmd->add_option("--layers", a->layers, "Override the layer count")->check(CLI::Range(1, 1000));
  cmd->add_option("--vocab", a->vocab, "Override the vocabulary size")->check(CLI::Range(300, 1000000));
  cmd->add_flag("--list", a->list, "List the layouts and exit");
  return [a]() {
    if (a->list) {
      std::printf("%-7s %7s %7s %6s %6s %6s %7s  %s\n", "layout", "n_embd", "n_ff", "layers", "heads", "kv", "vocab", "source");
      for (const auto& l : dummy_layouts()) {
        std::printf("%-7s %7lld %7lld %6lld %6lld %6lld %7lld  %s\n", l.name, static_cast<long long>(l.n_embd),
                    static_cast<long long>(l.n_ff), static_cast<long long>(l.n_layer), static_cast<long long>(l.n_head),
                    static_cast<long long>(l.n_head_kv), static_cast<long long>(l.n_vocab), l.source);
      }
      return 0;
    }
    if (a->out.empty()) fail("tern dummy: give the output file with -o FILE.gguf");
    DummyOptions o;
    o.layout = a->layout;
    auto t = ggml_type_from_name(a->type);
    if (!t) fail("--type ", a->type, ": unknown type");
    o.type = *t;
    auto et = ggml_type_from_name(a->embd_type);
    if (!et) fail("--embd-type ", a->embd_type, ": unknown type");
    o.embd_type = *et;
    o.seed = a->seed;
    o.n_layer = a->layers;
    o.n_vocab = a->vocab;
    const double t0 = now_seconds();
    o.progress = progress_bar();
    write_dummy_model(a->out, o);
    std::fprintf(stderr, "tern: wrote %s (layout %s, %s) in %.1f s\n", a->out.c_str(), a->layout.c_str(), a->type.c_str(),
                 now_seconds() - t0);
    return 0;
  };
}

}  // namespace tern::cli
