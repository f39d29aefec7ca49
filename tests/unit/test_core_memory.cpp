// Large buffers (mmap + huge pages) and releasing a mapped file's pages.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/aligned.h"
#include "core/mmap.h"

namespace tern {
namespace {

TEST(AlignedBuffer, LargeBuffersAreZeroedAlignedAndWritable) {
  for (size_t n : {size_t(100), kLargeAllocBytes / 4 - 1, kLargeAllocBytes / 4, size_t(3) << 20}) {
    AlignedBuffer<uint32_t> b(n);
    ASSERT_EQ(b.size(), n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % kAlign, 0u);
    if (n * 4 >= kLargeAllocBytes) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % kLargeAllocBytes, 0u);
    }
    for (size_t i = 0; i < n; i += 997) ASSERT_EQ(b[i], 0u) << "n=" << n << " i=" << i;
    ASSERT_EQ(b[n - 1], 0u);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint32_t>(i * 2654435761u);
    // Moving keeps the memory; resizing discards it and zero-fills again.
    AlignedBuffer<uint32_t> m(std::move(b));
    EXPECT_EQ(b.size(), 0u);
    EXPECT_EQ(m[n - 1], static_cast<uint32_t>((n - 1) * 2654435761u));
    m.resize(n);
    EXPECT_EQ(m[n - 1], 0u);
    // Large <-> small swaps free through the right path.
    AlignedBuffer<uint32_t> s(8);
    s = std::move(m);
    EXPECT_EQ(s.size(), n);
  }
}

TEST(MappedFile, ReleasedPagesStayReadable) {
  const std::string path = ::testing::TempDir() + "tern_release_test.bin";
  std::vector<uint8_t> bytes(size_t(3) << 20);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + (i >> 12));
  {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  MappedFile m(path);
  ASSERT_EQ(m.size(), bytes.size());
  uint64_t sum = 0;
  for (size_t i = 0; i < m.size(); ++i) sum += m.data()[i];  // fault everything in
  EXPECT_GT(sum, 0u);
  m.release(m.data() + 12345, 2 << 20);  // unaligned start: only whole pages inside drop
  m.release(m.data(), m.size());
  m.release(m.data() + m.size() - 10, 100);  // past the end: ignored
  m.release(bytes.data(), 10);               // not in the mapping: ignored
  for (size_t i = 0; i < bytes.size(); i += 4093) ASSERT_EQ(m.data()[i], bytes[i]) << i;
  ASSERT_EQ(m.data()[bytes.size() - 1], bytes.back());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tern
