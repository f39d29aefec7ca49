// tern pull: download a model repository from the Hugging Face Hub (HF_ENDPOINT, HF_TOKEN),
// resuming partial downloads and checking sizes and SHA-256 checksums.
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cli/common.h"
#include "core/error.h"
#include "core/timer.h"
#include "convert/convert.h"
#include "hub/hub.h"

namespace tern::cli {

RunFn add_pull(CLI::App& app) {
  auto* cmd = app.add_subcommand("pull", "Download a model from the Hugging Face Hub (resumable, checksummed)");
  struct Args {
    std::string repo, revision = "main", dir, outtype = "i2_s", out;
    std::vector<std::string> include;
    bool no_convert = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("repo", a->repo, "Repository id, e.g. microsoft/bitnet-b1.58-2B-4T-gguf")->required();
  cmd->add_option("--include", a->include, "Only files matching this glob (repeatable), e.g. '*i2_s.gguf'");
  cmd->add_option("--revision", a->revision, "Branch, tag or commit");
  cmd->add_option("--dir", a->dir, "Destination (default: the tern cache, ~/.cache/tern/<owner>--<name>)");
  cmd->add_option("--outtype", a->outtype, "For safetensors checkpoints: convert to this type (i2_s, tq2_0, tq1_0, f16, f32)");
  cmd->add_option("-o,--out", a->out, "For safetensors checkpoints: the GGUF to write (default: DIR/model-OUTTYPE.gguf)");
  cmd->add_flag("--no-convert", a->no_convert, "Download a safetensors checkpoint without converting it");
  return [a]() {
    HubOptions o = HubOptions::from_env();
    o.revision = a->revision;
    Hub hub(o);
    check_repo_id(a->repo);
    std::string dir = a->dir;
    if (dir.empty()) {
      std::string flat = a->repo;
      flat.replace(flat.find('/'), 1, "--");
      dir = (std::filesystem::path(hub_cache_dir()) / flat).string();
    }
    const std::vector<HubFile> all = hub.list_files(a->repo);
    const std::vector<HubFile> files = select_files(all, a->include);
    if (files.empty()) {
      fail(a->repo, ": no files to download", a->include.empty() ? " (no GGUF or safetensors checkpoint found)" : " match --include");
    }
    uint64_t total = 0;
    for (const auto& f : files) total += f.size;
    std::fprintf(stderr, "tern: %s@%s: %zu files, %.1f MiB -> %s\n", a->repo.c_str(), a->revision.c_str(), files.size(),
                 static_cast<double>(total) / (1 << 20), dir.c_str());
    const bool tty = isatty(STDERR_FILENO);
    double last = 0;
    bool has_gguf = false;
    for (const auto& f : files) {
      const std::string p = hub.download(a->repo, f, dir, [&](const std::string& name, uint64_t done, uint64_t n) {
        const double now = now_seconds();
        if (!tty || (now - last < 0.2 && done != n)) return;
        last = now;
        std::fprintf(stderr, "\r  %-40s %6.1f / %.1f MiB", name.c_str(), static_cast<double>(done) / (1 << 20),
                     static_cast<double>(n) / (1 << 20));
      });
      if (tty) std::fprintf(stderr, "\r\033[K");
      std::fprintf(stderr, "  %s  ok%s\n", f.path.c_str(), f.sha256.empty() ? "" : " (sha256 verified)");
      if (std::filesystem::path(f.path).extension() == ".gguf") {
        has_gguf = true;
        std::printf("%s\n", p.c_str());
      }
    }
    if (!has_gguf) {
      if (a->no_convert) {
        std::printf("%s\n", dir.c_str());
        return 0;
      }
      // A Hugging Face checkpoint: convert it, as bitnet.cpp's setup_env.py does.
      convert::ConvertOptions co;
      auto t = ggml_type_from_name(a->outtype);
      if (!t || !convert::is_valid_outtype(*t)) fail("--outtype ", a->outtype, ": use i2_s, tq2_0, tq1_0, f16, bf16 or f32");
      co.outtype = *t;
      const std::string out = a->out.empty() ? (std::filesystem::path(dir) / ("model-" + a->outtype + ".gguf")).string() : a->out;
      std::fprintf(stderr, "tern: converting %s -> %s\n", dir.c_str(), out.c_str());
      const convert::ConvertResult cr = convert::convert_hf_model(dir, out, co);
      std::fprintf(stderr, "tern: %s -> %s, %lld tensors, tokenizer %s\n", cr.hf_arch.c_str(), cr.gguf_arch.c_str(),
                   static_cast<long long>(cr.n_tensors), cr.tokenizer.c_str());
      std::printf("%s\n", out.c_str());
    }
    return 0;
  };
}

}  // namespace tern::cli
