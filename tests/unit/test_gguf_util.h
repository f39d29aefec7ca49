// Helpers for the GGUF tests: a little-endian byte builder for hand-made images (v2 files,
// malformed headers) that the writer would never produce.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace tern::gguf::test {

class Bytes {
 public:
  template <class T>
  Bytes& le(T v) {
    const size_t old = b_.size();
    b_.resize(old + sizeof v);
    std::memcpy(b_.data() + old, &v, sizeof v);
    return *this;
  }
  Bytes& u8(uint8_t v) { return le(v); }
  Bytes& u32(uint32_t v) { return le(v); }
  Bytes& u64(uint64_t v) { return le(v); }
  Bytes& str(std::string_view s) {
    u64(s.size());
    return raw(s.data(), s.size());
  }
  Bytes& raw(const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    b_.insert(b_.end(), c, c + n);
    return *this;
  }
  Bytes& append(const Bytes& o) { return raw(o.b_.data(), o.b_.size()); }
  Bytes& zeros(size_t n) {
    b_.resize(b_.size() + n, 0);
    return *this;
  }
  Bytes& pad_to(size_t alignment) { return zeros((alignment - b_.size() % alignment) % alignment); }
  size_t size() const { return b_.size(); }
  const std::vector<uint8_t>& vec() const { return b_; }
  std::vector<uint8_t>& vec() { return b_; }

 private:
  std::vector<uint8_t> b_;
};

// One metadata pair, encoded: key, u32 value type, value.
inline Bytes kv_u32(std::string_view key, uint32_t v) { return Bytes().str(key).u32(4).u32(v); }
inline Bytes kv_str(std::string_view key, std::string_view v) {
  return Bytes().str(key).u32(8).str(v);
}

// One tensor info: name, n_dims, ne..., ggml type, offset.
inline Bytes tensor_info(std::string_view name, const std::vector<uint64_t>& ne, uint32_t type,
                         uint64_t offset) {
  Bytes b;
  b.str(name).u32(static_cast<uint32_t>(ne.size()));
  for (uint64_t d : ne) b.u64(d);
  return b.u32(type).u64(offset);
}

// A complete image: header, the given pairs and tensor infos, padding to `alignment`, then
// `data_bytes` bytes of data (a pattern, so pointers into it can be checked).
inline std::vector<uint8_t> image(uint32_t version, const std::vector<Bytes>& kvs,
                                  const std::vector<Bytes>& tensors, size_t data_bytes,
                                  size_t alignment = 32) {
  Bytes b;
  b.raw("GGUF", 4).u32(version).u64(tensors.size()).u64(kvs.size());
  for (const Bytes& kv : kvs) b.append(kv);
  for (const Bytes& t : tensors) b.append(t);
  b.pad_to(alignment);
  for (size_t i = 0; i < data_bytes; ++i) b.u8(static_cast<uint8_t>(i * 7 + 1));
  return b.vec();
}

// The small valid image the malformed tests start from: two pairs and two tensors, f32 [4, 2]
// at 0 (32 bytes) and q8_0 [32] at 32 (34 bytes); the data ends exactly at the last tensor, so
// every shorter prefix is truncated.
inline std::vector<uint8_t> small_valid_image(uint32_t version = 3) {
  return image(version,
               {kv_str("general.architecture", "bitnet-b1.58"), kv_u32("general.alignment", 32)},
               {tensor_info("a", {4, 2}, 0, 0), tensor_info("b", {32}, 8, 32)}, 32 + 34);
}

}  // namespace tern::gguf::test
