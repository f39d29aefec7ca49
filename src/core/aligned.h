// 64-byte aligned heap buffers: SIMD loads never split cache lines and prompt speed does not
// swing with where the allocator happens to place a buffer (REFERENCE.md).
//
// Large buffers (weights, the output head) come straight from mmap, 2 MiB aligned, with
// transparent huge pages requested: decode streams the weights once per token, and with 4 KiB
// pages every 4 KiB of that stream costs a TLB miss and restarts the hardware prefetcher
// (measured on Zen 4: one thread reads 20.7 GB/s with 4 KiB pages, 26.4 GB/s with 2 MiB pages;
// docs/PERFORMANCE.md). Where huge pages are off or unsupported this silently falls back to
// normal pages.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace tern {

inline constexpr size_t kAlign = 64;
// Buffers of at least this many bytes are mapped (and offered huge pages).
inline constexpr size_t kLargeAllocBytes = size_t(2) << 20;

// Zero-filled, 2 MiB aligned memory of at least `bytes`; throws std::bad_alloc.
void* large_alloc(size_t bytes);
void large_free(void* p, size_t bytes);

template <class T>
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t n) { resize(n); }
  ~AlignedBuffer() { release(); }
  AlignedBuffer(AlignedBuffer&& o) noexcept : p_(o.p_), n_(o.n_), bytes_(o.bytes_) {
    o.p_ = nullptr;
    o.n_ = 0;
    o.bytes_ = 0;
  }
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  // Discards old contents; new memory is zero-filled.
  void resize(size_t n) {
    release();
    n_ = n;
    if (n == 0) return;
    bytes_ = (n * sizeof(T) + kAlign - 1) / kAlign * kAlign;
    if (bytes_ >= kLargeAllocBytes) {
      p_ = static_cast<T*>(large_alloc(bytes_));
      return;
    }
    p_ = static_cast<T*>(std::aligned_alloc(kAlign, bytes_));
    if (!p_) throw std::bad_alloc();
    std::memset(static_cast<void*>(p_), 0, bytes_);
  }
  T* data() { return p_; }
  const T* data() const { return p_; }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return p_[i]; }
  const T& operator[](size_t i) const { return p_[i]; }

 private:
  void release() {
    if (p_) {
      if (bytes_ >= kLargeAllocBytes) {
        large_free(p_, bytes_);
      } else {
        std::free(p_);
      }
    }
    p_ = nullptr;
    n_ = 0;
    bytes_ = 0;
  }
  T* p_ = nullptr;
  size_t n_ = 0;
  size_t bytes_ = 0;
};

}  // namespace tern
