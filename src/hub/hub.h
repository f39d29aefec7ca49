// Downloads from the Hugging Face Hub (or any server with its URL layout: HF_ENDPOINT), with
// resume, progress, size and SHA-256 checks. What a server sends is untrusted: file names are
// checked for path traversal, sizes and checksums are verified before a file is kept.
//
// URL layout (huggingface_hub's file_download.py / hf_api.py):
//   GET {endpoint}/api/models/{repo}/tree/{revision}?recursive=true   -> JSON file list
//   GET {endpoint}/{repo}/resolve/{revision}/{path}                   -> file (may redirect)
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tern {

struct HubFile {
  std::string path;
  uint64_t size = 0;
  std::string sha256;  // lowercase hex for LFS files; empty when the Hub gives none
};

struct HubOptions {
  std::string endpoint;  // default: $HF_ENDPOINT or https://huggingface.co
  std::string token;     // default: $HF_TOKEN (sent as a bearer token, never to other hosts)
  std::string revision = "main";
  static HubOptions from_env();
};

using DownloadProgress = std::function<void(const std::string& path, uint64_t done, uint64_t total)>;

class Hub {
 public:
  explicit Hub(HubOptions opt);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Lists the repository's files. Throws tern::Error with the HTTP status explained.
  std::vector<HubFile> list_files(const std::string& repo);
  // Downloads `f` to dest_dir/f.path (resuming dest.incomplete), checks size and sha256, and
  // returns the final path. A file already present with the right size and checksum is kept.
  std::string download(const std::string& repo, const HubFile& f, const std::string& dest_dir,
                       const DownloadProgress& progress = {});

  const HubOptions& options() const { return opt_; }

 private:
  HubOptions opt_;
  void* curl_;  // CURL*
};

// "owner/name" with letters, digits, '-', '_', '.'; throws tern::Error otherwise.
void check_repo_id(const std::string& repo);
// A relative path with no "..", no empty or absolute components; throws tern::Error otherwise.
void check_repo_path(const std::string& path);
// Files to fetch: those matching any --include glob; without globs, the GGUF files if the
// repository has any, else what `tern convert` needs (config, tokenizer and weight files).
std::vector<HubFile> select_files(const std::vector<HubFile>& all, const std::vector<std::string>& include);
// Where pulled repositories go: $TERN_CACHE, else $XDG_CACHE_HOME/tern, else ~/.cache/tern.
std::string hub_cache_dir();

}  // namespace tern
