#include "hub/hub.h"

#include <curl/curl.h>
#include <fnmatch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "hub/sha256.h"

namespace tern {
namespace fs = std::filesystem;

namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

std::string url_path_escape(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string explain_status(long status, const std::string& what, const std::string& repo) {
  switch (status) {
    case 401:
    case 403:
      return str_cat(what, ": access denied (HTTP ", status, "): ", repo,
                     " is gated or private; accept its terms on the Hub and set HF_TOKEN to a token with access");
    case 404:
      return str_cat(what, ": not found (HTTP 404): check the repository id and --revision");
    case 429:
      return str_cat(what, ": rate limited (HTTP 429): wait a minute and try again, or set HF_TOKEN");
    default:
      return str_cat(what, ": the server answered HTTP ", status);
  }
}

size_t write_string(char* p, size_t size, size_t n, void* ud) {
  auto* s = static_cast<std::string*>(ud);
  if (s->size() + size * n > (64u << 20)) return 0;  // a file list over 64 MiB is not a file list
  s->append(p, size * n);
  return size * n;
}

struct FileSink {
  FILE* f = nullptr;
  uint64_t written = 0, base = 0, total = 0;
  const DownloadProgress* progress = nullptr;
  const std::string* path = nullptr;
  long status = 0;
  CURL* curl = nullptr;
};

size_t write_file(char* p, size_t size, size_t n, void* ud) {
  auto* s = static_cast<FileSink*>(ud);
  if (s->status == 0) curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
  if (s->status != 200 && s->status != 206) return size * n;  // error body: discard
  if (std::fwrite(p, 1, size * n, s->f) != size * n) return 0;
  s->written += size * n;
  if (s->total && s->base + s->written > s->total) return 0;  // larger than announced: abort
  if (s->progress && *s->progress) (*s->progress)(*s->path, s->base + s->written, s->total);
  return size * n;
}

void set_common(CURL* c, const HubOptions& o) {
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "tern/0.1");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  // Abort a transfer that stalls below 1 byte/s for a minute instead of hanging forever.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (!o.token.empty()) {
    // libcurl sends bearer credentials only to the original host, not across redirects.
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
    curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, o.token.c_str());
  }
}

bool glob_match(const std::string& pattern, const std::string& path) {
  return fnmatch(pattern.c_str(), path.c_str(), 0) == 0 ||
         fnmatch(pattern.c_str(), fs::path(path).filename().c_str(), 0) == 0;
}

}  // namespace

HubOptions HubOptions::from_env() {
  HubOptions o;
  const char* ep = std::getenv("HF_ENDPOINT");
  o.endpoint = ep && *ep ? ep : "https://huggingface.co";
  while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
  if (const char* t = std::getenv("HF_TOKEN"); t && *t) o.token = t;
  return o;
}

Hub::Hub(HubOptions opt) : opt_(std::move(opt)) {
  static CurlGlobal global;
  if (opt_.endpoint.empty()) opt_.endpoint = HubOptions::from_env().endpoint;
  curl_ = curl_easy_init();
  if (!curl_) fail("cannot initialise libcurl");
}

Hub::~Hub() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

void check_repo_id(const std::string& repo) {
  const size_t slash = repo.find('/');
  bool ok = slash != std::string::npos && slash > 0 && slash + 1 < repo.size() &&
            repo.find('/', slash + 1) == std::string::npos && repo.size() <= 96 && repo.find("..") == std::string::npos;
  for (char c : repo) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/');
  if (!ok) fail("'", repo, "' is not a Hub repository id (expected owner/name, e.g. microsoft/bitnet-b1.58-2B-4T-gguf)");
}

void check_repo_path(const std::string& path) {
  bool ok = !path.empty() && path.size() < 1024 && path.front() != '/' && path.find('\\') == std::string::npos &&
            path.find('\0') == std::string::npos;
  for (const auto& part : fs::path(path)) ok = ok && part != ".." && part != "." && !part.empty();
  if (!ok) fail("the server listed an unsafe file name '", path, "': refusing to write it");
}

std::vector<HubFile> Hub::list_files(const std::string& repo) {
  check_repo_id(repo);
  CURL* c = static_cast<CURL*>(curl_);
  set_common(c, opt_);
  const std::string url = opt_.endpoint + "/api/models/" + repo + "/tree/" + url_path_escape(opt_.revision) + "?recursive=true";
  std::string body;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_string);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) fail(url, ": ", curl_easy_strerror(rc), " (check the network, or HF_ENDPOINT)");
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) fail(explain_status(status, repo, repo));
  std::vector<HubFile> out;
  try {
    const auto j = nlohmann::json::parse(body);
    if (!j.is_array()) fail(url, ": expected a JSON list of files");
    for (const auto& e : j) {
      if (!e.is_object() || e.value("type", "") != "file") continue;
      HubFile f;
      f.path = e.at("path").get<std::string>();
      check_repo_path(f.path);
      f.size = e.value("size", uint64_t{0});
      if (e.contains("lfs") && e["lfs"].is_object()) {
        f.size = e["lfs"].value("size", f.size);
        std::string oid = e["lfs"].value("oid", "");
        if (oid.rfind("sha256:", 0) == 0) oid = oid.substr(7);
        if (oid.size() == 64) f.sha256 = oid;
      }
      out.push_back(std::move(f));
    }
  } catch (const nlohmann::json::exception& e) {
    fail(url, ": malformed file list: ", e.what());
  }
  return out;
}

std::string Hub::download(const std::string& repo, const HubFile& f, const std::string& dest_dir,
                          const DownloadProgress& progress) {
  check_repo_id(repo);
  check_repo_path(f.path);
  const fs::path dest = fs::path(dest_dir) / f.path;
  const fs::path part = dest.string() + ".incomplete";
  fs::create_directories(dest.parent_path());
  auto verify = [&](const fs::path& p) -> std::string {
    const uint64_t size = fs::file_size(p);
    if (f.size && size != f.size) return str_cat("size ", size, " != expected ", f.size);
    if (!f.sha256.empty()) {
      const std::string got = sha256_file_hex(p.string());
      if (got != f.sha256) return str_cat("sha256 ", got, " != expected ", f.sha256);
    }
    return "";
  };
  if (fs::exists(dest) && verify(dest).empty()) return dest.string();

  uint64_t have = fs::exists(part) ? fs::file_size(part) : 0;
  if (f.size && have > f.size) {
    fs::remove(part);
    have = 0;
  }
  CURL* c = static_cast<CURL*>(curl_);
  for (int attempt = 0; attempt < 2; ++attempt) {
    set_common(c, opt_);
    const std::string url = opt_.endpoint + "/" + repo + "/resolve/" + url_path_escape(opt_.revision) + "/" + url_path_escape(f.path);
    std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(part.c_str(), have ? "ab" : "wb"), &std::fclose);
    if (!out) fail(part.string(), ": cannot write (check the directory's permissions and free space)");
    FileSink sink;
    sink.f = out.get();
    sink.base = have;
    sink.total = f.size;
    sink.progress = &progress;
    sink.path = &f.path;
    sink.curl = c;
    const std::string range = str_cat(have, "-");
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    if (have) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_file);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    const CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    out.reset();
    if (status == 416 && have) {  // nothing left to send: the partial file may be whole
      break;
    }
    if (status == 200 && have) {
      // The server ignored the range and sent the whole file after our partial copy: start over.
      fs::remove(part);
      have = 0;
      continue;
    }
    if (rc != CURLE_OK) {
      fail(f.path, ": download failed: ", curl_easy_strerror(rc),
           sink.base + sink.written > 0 ? " (run the same command again to resume)" : " (check the network, or HF_ENDPOINT)");
    }
    if (status != 200 && status != 206) fail(explain_status(status, f.path, repo));
    break;
  }
  const std::string bad = verify(part);
  if (!bad.empty()) {
    fs::remove(part);
    fail(f.path, ": downloaded file is corrupt (", bad, "); it was deleted, run the command again");
  }
  fs::rename(part, dest);
  return dest.string();
}

std::vector<HubFile> select_files(const std::vector<HubFile>& all, const std::vector<std::string>& include) {
  std::vector<HubFile> out;
  if (!include.empty()) {
    for (const auto& f : all) {
      for (const auto& g : include) {
        if (glob_match(g, f.path)) {
          out.push_back(f);
          break;
        }
      }
    }
    return out;
  }
  for (const auto& f : all) {
    if (fs::path(f.path).extension() == ".gguf") out.push_back(f);
  }
  if (!out.empty()) return out;
  static const char* const kConvert[] = {"config.json", "generation_config.json", "tokenizer.json",
                                         "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json",
                                         "*.safetensors", "model.safetensors.index.json"};
  for (const auto& f : all) {
    for (const char* g : kConvert) {
      if (fnmatch(g, f.path.c_str(), 0) == 0) {
        out.push_back(f);
        break;
      }
    }
  }
  return out;
}

std::string hub_cache_dir() {
  if (const char* e = std::getenv("TERN_CACHE"); e && *e) return e;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return (fs::path(x) / "tern").string();
  if (const char* h = std::getenv("HOME"); h && *h) return (fs::path(h) / ".cache" / "tern").string();
  return ".tern-cache";
}

}  // namespace tern
