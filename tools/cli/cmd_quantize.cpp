// tern quantize: re-type the token embedding / output head of a GGUF model (docs/CONVERT.md).
#include <cstdio>

#include "cli/common.h"
#include "convert/quantize.h"
#include "core/error.h"
#include "core/timer.h"
#include "threading/pool.h"

namespace tern::cli {

RunFn add_quantize(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "quantize",
      "Write a copy of a GGUF model with its token embedding / output head in f16, q8_0 or q6_k");
  struct Args {
    std::string in, out, embd_type;
    int threads = 0;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("IN", a->in, "Input GGUF model")->required();
  cmd->add_option("OUT", a->out, "Output GGUF file (a new file; never the input)")->required();
  cmd->add_option("--embd-type", a->embd_type,
                  "Type for token_embd.weight and output.weight: q8_0 (faster decoding, small "
                  "perplexity cost), "
                  "q6_k (smaller, larger cost) or f16")
      ->required();
  cmd->add_option("-t,--threads", a->threads, "Threads (default: all cores)")
      ->check(CLI::Range(1, 1024));
  return [a]() {
    const auto t = ggml_type_from_name(a->embd_type);
    if (!t || !convert::is_valid_embd_type(*t))
      fail("--embd-type ", a->embd_type, ": use f16, q8_0 or q6_k");
    convert::QuantizeOptions o;
    o.embd_type = *t;
    o.n_threads = a->threads > 0 ? a->threads : ThreadPool::hardware_threads();
    o.progress = progress_bar();
    const double t0 = now_seconds();
    const convert::QuantizeResult r = convert::quantize_gguf(a->in, a->out, o);
    for (const std::string& n : r.notes) std::fprintf(stderr, "tern: note: %s\n", n.c_str());
    for (const auto& c : r.changed) {
      std::fprintf(stderr, "tern: %s: %s -> %s\n", c.name.c_str(),
                   std::string(ggml_type_name(c.from)).c_str(),
                   std::string(ggml_type_name(c.to)).c_str());
    }
    std::fprintf(stderr, "tern: wrote %s (%lld tensors, %.1f MB -> %.1f MB) in %.1f s\n",
                 a->out.c_str(), static_cast<long long>(r.n_tensors),
                 static_cast<double>(r.bytes_in) / 1e6, static_cast<double>(r.bytes_out) / 1e6,
                 now_seconds() - t0);
    return 0;
  };
}

}  // namespace tern::cli
