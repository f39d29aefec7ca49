// tern pull: download a model repository from the Hugging Face Hub (HF_ENDPOINT, HF_TOKEN),
// resuming partial downloads and checking sizes and SHA-256 checksums.
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cli/common.h"
#include "core/error.h"
#include "core/timer.h"
#include "hub/hub.h"

namespace tern::cli {

RunFn add_pull(CLI::App& app) {
  auto* cmd = app.add_subcommand("pull", "Download a model from the Hugging Face Hub (resumable, checksummed)");
  struct Args {
    std::string repo, revision = "main", dir;
    std::vector<std::string> include;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("repo", a->repo, "Repository id, e.g. microsoft/bitnet-b1.58-2B-4T-gguf")->required();
  cmd->add_option("--include", a->include, "Only files matching this glob (repeatable), e.g. '*i2_s.gguf'");
  cmd->add_option("--revision", a->revision, "Branch, tag or commit");
  cmd->add_option("--dir", a->dir, "Destination (default: the tern cache, ~/.cache/tern/<owner>--<name>)");
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
      std::printf("%s\n", dir.c_str());
      std::fprintf(stderr, "tern: a Hugging Face checkpoint; convert it with: tern convert %s -o model.gguf\n", dir.c_str());
    }
    return 0;
  };
}

}  // namespace tern::cli
