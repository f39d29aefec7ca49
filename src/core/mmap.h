// Read-only memory map of a whole file. Throws tern::Error naming the file on failure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tern {

class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Drops the pages wholly inside [p, p + n) from this process (the kernel keeps them cached):
  // for ranges that were copied or repacked at load, so they do not count twice in the
  // resident set. Reading them again later is still valid (they fault back in).
  void release(const void* p, size_t n) const;

 private:
  void reset();
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace tern
