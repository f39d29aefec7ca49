#include "cli/common.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "core/timer.h"
#include "kernels/table.h"
#include "threading/pool.h"

namespace tern::cli {

void ModelFlags::add(CLI::App& cmd, bool model_required, bool with_threads) {
  auto* m = cmd.add_option("-m,--model", model, "Model file (GGUF)");
  if (model_required) m->required();
  if (with_threads) cmd.add_option("-t,--threads", threads, "Threads (default: all available cores)")->check(CLI::Range(0, 1024));
  cmd.add_option("--isa", isa, "Force a kernel path: ref, avx2, avxvnni, avx512, neon (default: best for this CPU)");
  cmd.add_option("--layout", layout,
                 "Ternary weights in memory: auto (default: tn16 on AVX-512 with VBMI, else tr16), tr16 "
                 "(2 bits per weight) or tn16 (1.67 bits, faster decoding where memory-bound); results "
                 "are identical")
      ->check(CLI::IsMember({"auto", "tr16", "tn16"}));
  cmd.add_option("--ffn-act", ffn_act, "Override the FFN activation: relu2 or silu");
  cmd.add_option("--cache-type", cache_type,
                 "KV cache precision: f32 (default, exact) or f16 (half the memory and the reads at "
                 "long contexts; keys and values rounded to half precision, as llama.cpp's default)")
      ->check(CLI::IsMember({"f32", "f16"}));
  cmd.add_option("--tl-config", tl_config,
                 "bitnet.cpp include/kernel_config.ini a TL1/TL2 file was converted with (needed for "
                 "shapes other than bitnet_b1_58-large/-3B and Llama3-8B-1.58)");
}

LoadOptions ModelFlags::load_options() const {
  LoadOptions opt;
  opt.n_threads = resolved_threads();
  if (layout != "auto") opt.tn16 = layout == "tn16";
  if (!ffn_act.empty()) {
    opt.ffn_act = parse_ffn_activation(ffn_act);
    if (!opt.ffn_act) fail("--ffn-act ", ffn_act, ": unknown activation (use relu2 or silu)");
  }
  if (!tl_config.empty()) {
    std::ifstream in(tl_config, std::ios::binary);
    if (!in) fail("--tl-config ", tl_config, ": cannot read the file");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() > (1u << 20)) fail("--tl-config ", tl_config, ": larger than 1 MiB, not a kernel_config.ini");
    opt.tl_configs = formats::parse_tl_kernel_config(text, tl_config);
    opt.tl_config_source = tl_config;
  }
  return opt;
}

int ModelFlags::resolved_threads() const {
  return threads > 0 ? threads : ThreadPool::hardware_threads();
}

// The model bundled with the repository (docs/MODEL.md).
constexpr const char* kBundledModel = "assets/models/tern-kjv-small.i2_s.gguf";

std::string default_model_path() {
  namespace fs = std::filesystem;
  if (const char* e = std::getenv("TERN_MODEL"); e && *e) return e;
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path().parent_path() / kBundledModel);  // build/tern -> repo
    candidates.push_back(exe.parent_path().parent_path() / "share" / "tern" / fs::path(kBundledModel).filename());
  }
#ifdef TERN_SOURCE_DIR
  candidates.push_back(fs::path(TERN_SOURCE_DIR) / kBundledModel);
#endif
  for (const auto& c : candidates) {
    if (fs::exists(c, ec)) return c.string();
  }
  return "";
}

std::unique_ptr<Model> ModelFlags::load() const {
  if (!isa.empty()) set_kernel_isa(isa);
  std::string path = model.empty() ? default_model_path() : model;
  if (path.empty()) {
    fail("no model given and the bundled model (", kBundledModel, ") was not found: pass -m FILE.gguf "
         "(or make one: `tern dummy --layout tiny -o tiny.gguf`)");
  }
  LoadOptions opt = load_options();
  opt.progress = isatty(STDERR_FILENO);
  return Model::load(path, opt);
}

std::function<void(uint64_t, uint64_t)> progress_bar() {
  struct State {
    bool tty = isatty(STDERR_FILENO);
    double last = 0;
    int last_decile = -1;
  };
  auto st = std::make_shared<State>();
  return [st](uint64_t done, uint64_t total) {
    const double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    if (st->tty) {
      const double now = now_seconds();
      if (done != total && now - st->last < 0.2) return;
      st->last = now;
    } else {
      const int decile = static_cast<int>(frac * 10);
      if (decile == st->last_decile) return;
      st->last_decile = decile;
    }
    const int width = 30, fill = static_cast<int>(frac * width);
    std::fprintf(stderr, "%s[%.*s%*s] %3d%% %.0f/%.0f MiB%s", st->tty ? "\r" : "", fill,
                 "##############################", width - fill, "", static_cast<int>(100.0 * frac),
                 static_cast<double>(done) / (1 << 20), static_cast<double>(total) / (1 << 20),
                 !st->tty || done == total ? "\n" : "");
  };
}

std::vector<int32_t> parse_int_list(const std::string& s, const char* flag) {
  std::vector<int32_t> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ',' || s[i] == ' ')) ++i;
    if (i >= s.size()) break;
    size_t j = i;
    if (s[j] == '-') ++j;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j == i || (j == i + 1 && s[i] == '-') || (j < s.size() && s[j] != ',' && s[j] != ' ')) {
      fail(flag, " '", s, "': expected comma-separated integers such as 1,2,3");
    }
    const long long v = std::strtoll(s.c_str() + i, nullptr, 10);
    if (v < INT32_MIN || v > INT32_MAX) fail(flag, ": ", s.substr(i, j - i), " is out of range");
    out.push_back(static_cast<int32_t>(v));
    i = j;
  }
  if (out.empty()) fail(flag, " is empty: give comma-separated integers such as 1,2,3");
  return out;
}

std::vector<std::string> normalize_args(int argc, char** argv) {
  static const char* const kLong[] = {"-temp", "-cnv", "-np", "-sys"};
  std::vector<std::string> out;
  // CLI11 wants the arguments in reverse order.
  for (int i = argc - 1; i >= 1; --i) {
    std::string a = argv[i];
    for (const char* l : kLong) {
      if (a == l) {
        a = std::string("-") + l;
        break;
      }
    }
    out.push_back(a);
  }
  return out;
}

}  // namespace tern::cli
