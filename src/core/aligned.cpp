#include "core/aligned.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace tern {
namespace {
constexpr size_t kHugePage = size_t(2) << 20;
// TERN_HUGE_PAGES=0 turns the request off (to measure what huge pages are worth).
bool huge_pages_wanted() {
  static const bool on = [] {
    const char* e = std::getenv("TERN_HUGE_PAGES");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}
size_t page_round(size_t n) {
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}
}  // namespace

void* large_alloc(size_t bytes) {
  // Over-map by one huge page so the buffer can start on a 2 MiB boundary; the slack is
  // address space only (never touched, so never resident).
  const size_t len = bytes + kHugePage;
  void* base = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t b = reinterpret_cast<uintptr_t>(base);
  const uintptr_t p = (b + kHugePage - 1) & ~static_cast<uintptr_t>(kHugePage - 1);
  // Give the unaligned head and the tail back so large_free can unmap exactly [p, p + bytes).
  if (p > b) ::munmap(base, p - b);
  const uintptr_t end = p + page_round(bytes);
  if (b + len > end) ::munmap(reinterpret_cast<void*>(end), b + len - end);
#ifdef MADV_HUGEPAGE
  if (huge_pages_wanted()) ::madvise(reinterpret_cast<void*>(p), bytes, MADV_HUGEPAGE);  // advisory: failure is fine
#endif
  return reinterpret_cast<void*>(p);
}

void large_free(void* p, size_t bytes) {
  if (p) ::munmap(p, page_round(bytes));
}

}  // namespace tern
