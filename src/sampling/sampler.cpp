#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/error.h"

namespace tern {

void SamplingParams::validate() const {
  if (!(temperature >= 0.0f) || temperature > 100.0f) fail("--temp ", temperature, " is out of range (0 .. 100; 0 = greedy)");
  if (!(top_p > 0.0f) || top_p > 1.0f) fail("--top-p ", top_p, " is out of range (0 < p <= 1)");
  if (!(min_p >= 0.0f) || min_p > 1.0f) fail("--min-p ", min_p, " is out of range (0 .. 1)");
  if (!(repeat_penalty > 0.0f) || repeat_penalty > 10.0f) fail("--repeat-penalty ", repeat_penalty, " is out of range (0 < r <= 10; 1 = off)");
  if (repeat_last_n < -1) fail("--repeat-last-n ", repeat_last_n, " is out of range (-1 = whole context, 0 = off)");
  if (!std::isfinite(presence_penalty) || std::fabs(presence_penalty) > 10.0f) fail("--presence-penalty is out of range (-10 .. 10)");
  if (!std::isfinite(frequency_penalty) || std::fabs(frequency_penalty) > 10.0f) fail("--frequency-penalty is out of range (-10 .. 10)");
}

Sampler::Sampler(const SamplingParams& p) : p_(p) {
  p_.validate();
  const uint64_t seed = p.seed == 0xFFFFFFFFu ? std::random_device{}() : p.seed;
  rng_.seed(seed);
}

int32_t Sampler::sample(float* logits, int32_t n_vocab, const std::vector<int32_t>& history) {
  // Penalties over the recent window.
  const bool penalize = p_.repeat_penalty != 1.0f || p_.presence_penalty != 0.0f || p_.frequency_penalty != 0.0f;
  if (penalize && p_.repeat_last_n != 0 && !history.empty()) {
    const size_t window = p_.repeat_last_n < 0 ? history.size() : std::min(history.size(), static_cast<size_t>(p_.repeat_last_n));
    std::unordered_map<int32_t, int> counts;
    for (size_t i = history.size() - window; i < history.size(); ++i) ++counts[history[i]];
    for (const auto& [tok, cnt] : counts) {
      if (tok < 0 || tok >= n_vocab) continue;
      float& l = logits[tok];
      // CTRL-style repetition penalty: shrink positive logits, push negative ones further down.
      l = l > 0.0f ? l / p_.repeat_penalty : l * p_.repeat_penalty;
      l -= static_cast<float>(cnt) * p_.frequency_penalty + p_.presence_penalty;
    }
  }

  if (p_.temperature <= 0.0f) {
    return static_cast<int32_t>(std::max_element(logits, logits + n_vocab) - logits);
  }

  cand_.resize(static_cast<size_t>(n_vocab));
  for (int32_t i = 0; i < n_vocab; ++i) cand_[static_cast<size_t>(i)] = {logits[i], i};
  size_t n = cand_.size();
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < n) {
    std::partial_sort(cand_.begin(), cand_.begin() + p_.top_k, cand_.end(), by_logit);
    n = static_cast<size_t>(p_.top_k);
  } else {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
  // Softmax at temperature over the kept candidates (sorted, largest first).
  const float mx = cand_[0].first;
  std::vector<float> prob(n);
  float sum = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    prob[i] = std::exp((cand_[i].first - mx) / p_.temperature);
    sum += prob[i];
  }
  for (auto& v : prob) v /= sum;
  if (p_.top_p < 1.0f) {
    float cum = 0.0f;
    size_t keep = n;
    for (size_t i = 0; i < n; ++i) {
      cum += prob[i];
      if (cum >= p_.top_p) {
        keep = i + 1;
        break;
      }
    }
    n = keep;
  }
  if (p_.min_p > 0.0f) {
    const float floor = prob[0] * p_.min_p;
    size_t keep = 1;
    while (keep < n && prob[keep] >= floor) ++keep;
    n = keep;
  }
  float total = 0.0f;
  for (size_t i = 0; i < n; ++i) total += prob[i];
  std::uniform_real_distribution<float> u(0.0f, total);
  float r = u(rng_);
  for (size_t i = 0; i < n; ++i) {
    r -= prob[i];
    if (r <= 0.0f) return cand_[i].second;
  }
  return cand_[n - 1].second;
}

}  // namespace tern
