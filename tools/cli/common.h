// Shared pieces of the tern CLI subcommands.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "model/model.h"

namespace tern::cli {

// Each subcommand registers its options on `app` and returns the function that runs it.
using RunFn = std::function<int()>;
RunFn add_run(CLI::App& app);
RunFn add_dummy(CLI::App& app);
RunFn add_info(CLI::App& app);
RunFn add_logits(CLI::App& app);
RunFn add_tokenize(CLI::App& app);
RunFn add_bench(CLI::App& app);
RunFn add_ppl(CLI::App& app);
RunFn add_pull(CLI::App& app);
RunFn add_serve(CLI::App& app);
RunFn add_convert(CLI::App& app);
RunFn add_quantize(CLI::App& app);

// Options shared by commands that load a model.
struct ModelFlags {
  std::string model;
  int threads = 0;          // 0: all available
  std::string isa;          // --isa
  std::string layout = "auto";  // --layout: in-memory ternary weight layout
  std::string ffn_act;      // --ffn-act
  std::string tl_config;    // --tl-config: bitnet.cpp kernel_config.ini for TL1/TL2 files
  std::string cache_type = "f32";  // --cache-type: KV cache precision (f32 exact, f16 half the memory)
  KvType kv_type() const { return parse_kv_type(cache_type); }
  void add(CLI::App& cmd, bool model_required = false, bool with_threads = true);
  int resolved_threads() const;
  // --ffn-act, --tl-config, --layout and the thread count as LoadOptions. Throws tern::Error.
  LoadOptions load_options() const;
  // Applies --isa, then loads (with a progress line on a terminal). Throws tern::Error.
  std::unique_ptr<Model> load() const;
};

// A progress bar on stderr for byte counts (a redrawn line on a terminal, a line per 10% in
// logs).
std::function<void(uint64_t done, uint64_t total)> progress_bar();

// Default model when -m is not given: $TERN_MODEL, else the bundled model if present.
std::string default_model_path();

// "1,2, 3" -> {1,2,3}; throws tern::Error naming the flag on bad input.
std::vector<int32_t> parse_int_list(const std::string& s, const char* flag);

// Rewrites run_inference.py / llama.cpp style single-dash long flags (-temp, -cnv, -np, -sys)
// to their --long form so CLI11 accepts them.
std::vector<std::string> normalize_args(int argc, char** argv);

}  // namespace tern::cli
