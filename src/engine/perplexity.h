// Perplexity over a token stream, like llama-perplexity: the stream is cut into chunks of
// n_ctx tokens (BOS first when the model adds one), each chunk is evaluated from an empty
// cache, and the second half of each chunk is scored (every token then has at least n_ctx/2
// tokens of context). With a base model, also the KL divergence KL(base || model) and top-1
// agreement over the same positions (to measure what a quantized head or type costs).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/session.h"

namespace tern {

struct PerplexityResult {
  int64_t n_chunks = 0, n_scored = 0;
  double nll_sum = 0, nll_sq_sum = 0;  // natural log
  double ppl() const;
  double ppl_err() const;  // standard error, propagated from the NLL's
  // with a base model:
  bool has_kl = false;
  double kl_sum = 0, kl_sq_sum = 0;
  int64_t top1_agree = 0;
  double kl_mean() const;
};

// Scores `tokens` (without BOS; it is added per chunk when bos >= 0). on_chunk is called after
// each chunk with the running result. `base` may be null.
PerplexityResult perplexity(Session& s, Session* base, const std::vector<int32_t>& tokens, int32_t bos,
                            int64_t n_ctx, const std::function<void(const PerplexityResult&)>& on_chunk = {});

// log-softmax of one row, in double, returned as the log-probability of `target`.
double log_prob(const float* logits, int64_t n_vocab, int32_t target);

}  // namespace tern
