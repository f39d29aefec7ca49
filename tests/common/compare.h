// Comparing float tensors in tests: the largest absolute difference relative to the reference
// tensor's largest magnitude (the tolerance convention of docs/GOLDEN.md).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace tern::testing {

inline double rel_err(const std::vector<float>& got, const std::vector<float>& ref) {
  EXPECT_EQ(got.size(), ref.size());
  double num = 0, den = 1e-12;
  for (size_t i = 0; i < std::min(got.size(), ref.size()); ++i) {
    num = std::max(num, static_cast<double>(std::fabs(got[i] - ref[i])));
    den = std::max(den, static_cast<double>(std::fabs(ref[i])));
  }
  return num / den;
}

}  // namespace tern::testing
