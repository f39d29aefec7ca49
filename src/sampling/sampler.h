// Token sampling: repetition / presence / frequency penalties, then temperature, top-k, top-p,
// min-p, and a seeded draw (greedy when temperature <= 0). Same order as llama.cpp's default
// chain, so settings carry over.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace tern {

struct SamplingParams {
  float temperature = 0.8f;
  int32_t top_k = 40;         // <= 0: off
  float top_p = 0.95f;        // >= 1: off
  float min_p = 0.05f;        // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off
  int32_t repeat_last_n = 64;   // how many recent tokens the penalties look at
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0xFFFFFFFFu;  // 0xFFFFFFFF: random

  // Throws tern::Error with a message naming the flag when a value is out of range.
  void validate() const;
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& p);
  // Picks the next token from logits [n_vocab], given the tokens so far (for penalties).
  // logits are modified in place.
  int32_t sample(float* logits, int32_t n_vocab, const std::vector<int32_t>& history);
  const SamplingParams& params() const { return p_; }

 private:
  SamplingParams p_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> cand_;
};

}  // namespace tern
