#include "engine/perplexity.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace tern {

double PerplexityResult::ppl() const { return n_scored ? std::exp(nll_sum / static_cast<double>(n_scored)) : 0.0; }

double PerplexityResult::ppl_err() const {
  if (n_scored < 2) return 0.0;
  const double n = static_cast<double>(n_scored);
  const double mean = nll_sum / n;
  const double var = std::max(0.0, nll_sq_sum / n - mean * mean);
  return ppl() * std::sqrt(var / (n - 1));
}

double PerplexityResult::kl_mean() const { return n_scored ? kl_sum / static_cast<double>(n_scored) : 0.0; }

namespace {

// log-sum-exp of a row in double.
double log_sum_exp(const float* l, int64_t n) {
  const float mx = *std::max_element(l, l + n);
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(l[i]) - mx);
  return mx + std::log(s);
}

}  // namespace

double log_prob(const float* logits, int64_t n_vocab, int32_t target) {
  return static_cast<double>(logits[target]) - log_sum_exp(logits, n_vocab);
}

PerplexityResult perplexity(Session& s, Session* base, const std::vector<int32_t>& tokens, int32_t bos,
                            int64_t n_ctx, const std::function<void(const PerplexityResult&)>& on_chunk) {
  if (n_ctx < 4) fail("--ctx-size ", n_ctx, " is too small for perplexity (at least 4)");
  if (n_ctx > s.n_ctx()) fail("--ctx-size ", n_ctx, " exceeds the session's context ", s.n_ctx());
  const int64_t body = bos >= 0 ? n_ctx - 1 : n_ctx;  // text tokens per chunk
  const int64_t n_chunks = static_cast<int64_t>(tokens.size()) / body;
  if (n_chunks == 0) {
    fail("the text has ", tokens.size(), " tokens, fewer than one chunk of ", body,
         "; use a longer text or a smaller --ctx-size");
  }
  const int64_t n_vocab = s.model().config().n_vocab;
  if (base && base->model().config().n_vocab != n_vocab) {
    fail("--kl-base: the base model's vocabulary (", base->model().config().n_vocab,
         ") differs from the model's (", n_vocab, ")");
  }
  PerplexityResult r;
  r.has_kl = base != nullptr;
  const int64_t first = n_ctx / 2;  // score positions [first, n_ctx - 1) predicting the next token
  for (int64_t c = 0; c < n_chunks; ++c) {
    std::vector<int32_t> chunk(tokens.begin() + c * body, tokens.begin() + (c + 1) * body);
    if (bos >= 0) chunk.insert(chunk.begin(), bos);
    s.reset();
    const std::vector<float> logits = s.eval_all(chunk);
    std::vector<float> base_logits;
    if (base) {
      base->reset();
      base_logits = base->eval_all(chunk);
    }
    for (int64_t i = first; i + 1 < static_cast<int64_t>(chunk.size()); ++i) {
      const float* row = logits.data() + i * n_vocab;
      const double nll = -log_prob(row, n_vocab, chunk[static_cast<size_t>(i + 1)]);
      r.nll_sum += nll;
      r.nll_sq_sum += nll * nll;
      ++r.n_scored;
      if (base) {
        const float* brow = base_logits.data() + i * n_vocab;
        const double lse_b = log_sum_exp(brow, n_vocab), lse_m = log_sum_exp(row, n_vocab);
        double kl = 0.0;
        for (int64_t v = 0; v < n_vocab; ++v) {
          const double lpb = brow[v] - lse_b, lpm = row[v] - lse_m;
          kl += std::exp(lpb) * (lpb - lpm);
        }
        r.kl_sum += kl;
        r.kl_sq_sum += kl * kl;
        const auto am = std::max_element(row, row + n_vocab) - row;
        const auto ab = std::max_element(brow, brow + n_vocab) - brow;
        r.top1_agree += am == ab ? 1 : 0;
      }
    }
    ++r.n_chunks;
    if (on_chunk) on_chunk(r);
  }
  return r;
}

}  // namespace tern
