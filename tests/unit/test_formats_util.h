// Shared helpers for the formats tests: deterministic random data and byte-vector printing.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace tern::formats::test {

inline std::vector<float> random_floats(size_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline std::vector<int8_t> random_trits(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-1, 1);
  std::vector<int8_t> v(n);
  for (auto& t : v) t = int8_t(dist(rng));
  return v;
}

}  // namespace tern::formats::test
