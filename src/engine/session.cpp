#include "engine/session.h"

#include <algorithm>

#include "core/error.h"
#include "core/timer.h"

namespace tern {

Session::Session(const Model& model, int64_t n_ctx, int n_threads, KvType kv_type)
    : model_(model),
      pool_(n_threads),
      kv_(model.config(), 1, n_ctx > 0 ? n_ctx : std::min<int64_t>(model.config().n_ctx_train, 4096), kv_type) {}

void Session::truncate(int64_t n) {
  if (n < 0 || n > n_past()) fail("cannot truncate session to ", n, " tokens (has ", n_past(), ")");
  history_.resize(static_cast<size_t>(n));
}

const std::vector<float>& Session::eval(const std::vector<int32_t>& tokens, int64_t n_batch) {
  if (tokens.empty()) fail("nothing to evaluate: the prompt is empty");
  if (n_past() + static_cast<int64_t>(tokens.size()) > n_ctx()) {
    fail("context full: ", n_past(), " + ", tokens.size(), " tokens exceed the context size of ",
         n_ctx(), "; raise --ctx-size (-c) or shorten the prompt");
  }
  for (size_t i = 0; i < tokens.size(); i += static_cast<size_t>(n_batch)) {
    const size_t end = std::min(tokens.size(), i + static_cast<size_t>(n_batch));
    batch_.clear();
    for (size_t j = i; j < end; ++j) {
      batch_.add(tokens[j], static_cast<int32_t>(n_past()), 0, j + 1 == tokens.size());
      history_.push_back(tokens[j]);
    }
    model_.forward(pool_, kv_, batch_, scratch_, logits_);
  }
  return logits_;
}

std::vector<float> Session::eval_all(const std::vector<int32_t>& tokens, int64_t n_batch,
                                     const DumpFn* dump) {
  if (tokens.empty()) fail("nothing to evaluate: no tokens given");
  if (n_past() + static_cast<int64_t>(tokens.size()) > n_ctx()) {
    fail("context full: ", n_past(), " + ", tokens.size(), " tokens exceed the context size of ",
         n_ctx(), "; raise --ctx-size (-c)");
  }
  std::vector<float> all;
  for (size_t i = 0; i < tokens.size(); i += static_cast<size_t>(n_batch)) {
    const size_t end = std::min(tokens.size(), i + static_cast<size_t>(n_batch));
    batch_.clear();
    for (size_t j = i; j < end; ++j) {
      batch_.add(tokens[j], static_cast<int32_t>(n_past()), 0, true);
      history_.push_back(tokens[j]);
    }
    model_.forward(pool_, kv_, batch_, scratch_, logits_, dump);
    all.insert(all.end(), logits_.begin(), logits_.end());
  }
  return all;
}

std::string StopMatcher::push(const std::string& text, bool& hit) {
  hit = false;
  pending_ += text;
  size_t first = std::string::npos;
  for (const auto& s : stops_) {
    if (s.empty()) continue;
    const size_t at = pending_.find(s);
    if (at != std::string::npos && at < first) first = at;
  }
  if (first != std::string::npos) {
    hit = true;
    std::string out = pending_.substr(0, first);
    pending_.clear();
    return out;
  }
  // Keep the longest suffix that is a proper prefix of some stop string.
  size_t keep = 0;
  for (const auto& s : stops_) {
    for (size_t len = std::min(s.size() - (s.empty() ? 0 : 1), pending_.size()); len > keep; --len) {
      if (pending_.compare(pending_.size() - len, len, s, 0, len) == 0) {
        keep = len;
        break;
      }
    }
  }
  std::string out = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::string StopMatcher::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

GenerateResult generate(Session& s, const Tokenizer& tok, const std::vector<int32_t>& prompt,
                        const GenerateParams& p,
                        const std::function<bool(const std::string&)>& on_text) {
  GenerateResult r;
  Sampler sampler(p.sampling);
  TextStream text_out(tok, p.stop);
  r.n_prompt = static_cast<int64_t>(prompt.size());
  const int32_t n_vocab = static_cast<int32_t>(s.model().config().n_vocab);

  auto emit = [&](const std::string& text) -> bool {
    if (text.empty()) return true;
    r.text += text;
    return on_text ? on_text(text) : true;
  };

  double t0 = now_seconds();
  std::vector<float> logits = s.eval(prompt, p.n_batch);
  r.prompt_s = now_seconds() - t0;
  t0 = now_seconds();
  r.stop_reason = "length";
  for (int32_t i = 0; p.n_predict < 0 || i < p.n_predict; ++i) {
    const int32_t next = sampler.sample(logits.data(), n_vocab, s.history());
    if (!p.ignore_eos && tok.is_eog(next)) {
      r.stop_reason = "eos";
      break;
    }
    ++r.n_gen;
    bool hit = false;
    const std::string text = text_out.push(next, hit);
    if (!emit(text)) {
      r.stop_reason = "cancelled";
      break;
    }
    if (hit) {
      r.stop_reason = "stop";
      break;
    }
    if (p.n_predict >= 0 && i + 1 >= p.n_predict) break;
    if (s.n_past() >= s.n_ctx()) {
      r.stop_reason = "context";
      break;
    }
    logits = s.eval({next});
  }
  if (r.stop_reason != "stop" && r.stop_reason != "cancelled") emit(text_out.finish());
  r.gen_s = now_seconds() - t0;
  return r;
}

}  // namespace tern
