// What the running CPU can do (CPUID on x86, HWCAP on ARM). Read once; kernels/dispatch.cpp
// turns it into a function table.
#pragma once

#include <string>

namespace tern {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false, bmi2 = false, avxvnni = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512vbmi = false, avx512bf16 = false;
  bool neon = false, dotprod = false;
  std::string describe() const;  // "avx2 fma f16c avx512f ..."
};

const CpuFeatures& cpu_features();

}  // namespace tern
