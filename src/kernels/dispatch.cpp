// Chooses the kernel table once, from the CPU's features or TERN_ISA.
#include <atomic>
#include <cstdlib>
#include <string>

#include "core/cpu.h"
#include "core/error.h"
#include "kernels/table.h"

namespace tern {

namespace {

#if defined(TERN_HAVE_X86_KERNELS)
const char* const kNames[] = {"ref", "avx2", "avxvnni", "avx512"};
#elif defined(TERN_HAVE_NEON_KERNELS)
const char* const kNames[] = {"ref", "neon"};
#else
const char* const kNames[] = {"ref"};
#endif

const KernelTable* best_table() {
  const char* const* names = kNames;
  int n = static_cast<int>(sizeof(kNames) / sizeof(kNames[0]));
  for (int i = n - 1; i >= 0; --i) {
    if (const KernelTable* t = kernel_table_for(names[i])) return t;
  }
  return &ref::table();
}

// "ref avx2 ..." : the names this CPU and build can run.
std::string runnable_names() {
  std::string s;
  for (const char* n : kNames) {
    if (!kernel_table_for(n)) continue;
    if (!s.empty()) s += ' ';
    s += n;
  }
  return s;
}

const KernelTable* initial_table() {
  if (const char* e = std::getenv("TERN_ISA"); e && *e) {
    const KernelTable* t = kernel_table_for(e);
    if (!t) fail("TERN_ISA=", e, " is not available on this CPU or build (available: ", runnable_names(), ")");
    return t;
  }
  return best_table();
}

std::atomic<const KernelTable*>& current() {
  static std::atomic<const KernelTable*> t{initial_table()};
  return t;
}

}  // namespace

const KernelTable* kernel_table_for(const std::string& isa) {
  const CpuFeatures& f = cpu_features();
  if (isa == "ref") return &ref::table();
#if defined(TERN_HAVE_X86_KERNELS)
  if (isa == "avx2") return (f.avx2 && f.fma && f.f16c) ? &avx2::table() : nullptr;
  // AVX-VNNI, or the EVEX form of the same 256-bit instructions (avx2_kernels.cpp).
  if (isa == "avxvnni") {
    return (f.avx2 && f.fma && f.f16c && (f.avxvnni || (f.avx512vl && f.avx512vnni))) ? &avxvnni::table()
                                                                                       : nullptr;
  }
  if (isa == "avx512") {
    return (f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq &&
            f.avx512vnni)
               ? &avx512::table()
               : nullptr;
  }
#endif
#if defined(TERN_HAVE_NEON_KERNELS)
  if (isa == "neon") return f.neon ? &neon::table() : nullptr;  // dot product used where present
#endif
  (void)f;
  return nullptr;
}

const KernelTable& kernels() { return *current().load(std::memory_order_acquire); }

void set_kernel_isa(const std::string& isa) {
  const KernelTable* t = kernel_table_for(isa);
  if (!t) fail("--isa ", isa, ": not available on this CPU or build (try one of: ", runnable_names(), ")");
  current().store(t, std::memory_order_release);
}

const char* const* kernel_isa_names(int* count) {
  *count = static_cast<int>(sizeof(kNames) / sizeof(kNames[0]));
  return kNames;
}

}  // namespace tern
