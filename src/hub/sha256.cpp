#include "hub/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "core/error.h"

namespace tern {
namespace {

struct Md {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Md() {
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) fail("sha256: OpenSSL initialisation failed");
  }
  ~Md() { EVP_MD_CTX_free(ctx); }
  void update(const void* p, size_t n) { EVP_DigestUpdate(ctx, p, n); }
  std::string hex() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, out, &len);
    static const char* kHex = "0123456789abcdef";
    std::string s;
    for (unsigned i = 0; i < len; ++i) {
      s += kHex[out[i] >> 4];
      s += kHex[out[i] & 15];
    }
    return s;
  }
};

}  // namespace

std::string sha256_hex(std::string_view data) {
  Md md;
  md.update(data.data(), data.size());
  return md.hex();
}

std::string sha256_file_hex(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) fail(path, ": cannot open to verify its checksum");
  Md md;
  std::vector<char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) md.update(buf.data(), n);
  if (std::ferror(f.get())) fail(path, ": read error while verifying its checksum");
  return md.hex();
}

}  // namespace tern
