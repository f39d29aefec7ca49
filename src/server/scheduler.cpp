#include "server/scheduler.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/log.h"
#include "core/timer.h"

namespace tern {

bool GenRequest::wait_take(std::string& out, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu);
  cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return !pieces.empty() || done; });
  while (!pieces.empty()) {
    out += pieces.front();
    pieces.pop_front();
  }
  return done;
}

Scheduler::Scheduler(const Model& model, const Tokenizer& tok, SchedulerOptions opt)
    : model_(model),
      tok_(tok),
      opt_(opt),
      slot_ctx_(std::max<int64_t>(opt.n_ctx / std::max(opt.n_slots, 1), 8)),
      pool_(opt.n_threads),
      kv_(model.config(), std::max(opt.n_slots, 1), slot_ctx_, opt.kv_type),
      slots_(static_cast<size_t>(std::max(opt.n_slots, 1))) {
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Scheduler::submit(const std::shared_ptr<GenRequest>& r) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ || queue_.size() >= opt_.max_queue) return false;
    r->t_queued = now_seconds();
    queue_.push_back(r);
  }
  cv_.notify_all();
  return true;
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  SchedulerStats s = stats_;
  s.queued = queue_.size();
  return s;
}

int64_t Scheduler::in_flight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(queue_.size()) + stats_.active;
}

void Scheduler::emit(Slot& s, const std::string& text) {
  if (text.empty()) return;
  std::lock_guard<std::mutex> lock(s.req->mu);
  s.req->pieces.push_back(text);
  s.req->cv.notify_all();
}

void Scheduler::finish(Slot& s, const std::string& reason, const std::string& error, bool stop_hit) {
  GenRequest& r = *s.req;
  if (!stop_hit && reason != "cancelled" && reason != "error") emit(s, s.text->finish());
  {
    std::lock_guard<std::mutex> lock(r.mu);
    r.done = true;
    r.finish_reason = reason;
    r.error = error;
    r.t_done = now_seconds();
    r.cv.notify_all();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.requests_done += 1;
    stats_.requests_cancelled += reason == "cancelled" ? 1 : 0;
    stats_.active -= 1;
  }
  s.req.reset();
  s.sampler.reset();
  s.text.reset();
  s.pending = -1;
}

// Gives queued requests free slots, preferring the slot whose cached tokens share the longest
// prefix with the prompt (a chat turn reuses its conversation's cache).
void Scheduler::admit_locked() {
  while (!queue_.empty()) {
    int best = -1;
    size_t best_common = 0;
    const auto& prompt = queue_.front()->prompt;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].req) continue;
      size_t common = 0;
      const auto& h = slots_[i].history;
      while (common < h.size() && common < prompt.size() && h[common] == prompt[common]) ++common;
      if (best < 0 || common > best_common) {
        best = static_cast<int>(i);
        best_common = common;
      }
    }
    if (best < 0) return;
    Slot& s = slots_[static_cast<size_t>(best)];
    s.req = queue_.front();
    queue_.pop_front();
    // Keep the shared prefix, but always evaluate at least the last prompt token.
    const size_t keep = std::min(best_common, prompt.size() - 1);
    s.history.resize(keep);
    s.n_prompt_done = static_cast<int64_t>(keep);
    s.pending = -1;
    s.sampler = std::make_unique<Sampler>(s.req->params.sampling);
    s.text = std::make_unique<TextStream>(tok_, s.req->params.stop);
    s.req->n_prompt = static_cast<int64_t>(prompt.size());
    s.req->n_cached = static_cast<int64_t>(keep);
    s.req->t_started = now_seconds();
    stats_.active += 1;
    stats_.cached_tokens += static_cast<int64_t>(keep);
  }
}

void Scheduler::loop() {
  Batch batch;
  std::vector<float> logits;
  std::vector<std::pair<size_t, bool>> owners;  // per wanted-logits row: slot, is-prompt
  const int32_t n_vocab = static_cast<int32_t>(model_.config().n_vocab);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      admit_locked();
      cv_.wait(lock, [&] {
        if (stop_) return true;
        if (!queue_.empty()) {
          for (const auto& s : slots_) {
            if (!s.req) return true;
          }
        }
        for (const auto& s : slots_) {
          if (s.req) return true;
        }
        return false;
      });
      if (stop_) break;
      admit_locked();
    }
    // Cancelled requests give their slot back before any work is spent on them.
    for (auto& s : slots_) {
      if (s.req && s.req->cancelled.load()) finish(s, "cancelled");
    }
    batch.clear();
    owners.clear();
    int64_t budget = opt_.n_batch;
    // Decoding slots first (one token each, latency-critical), then prompt chunks.
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      if (!s.req || s.pending < 0) continue;
      batch.add(s.pending, static_cast<int32_t>(s.history.size()), static_cast<int32_t>(i), true);
      s.history.push_back(s.pending);
      s.pending = -1;
      owners.push_back({i, false});
      --budget;
    }
    double prompt_tokens_this_step = 0;
    for (size_t i = 0; i < slots_.size() && budget > 0; ++i) {
      Slot& s = slots_[i];
      if (!s.req) continue;
      const auto& prompt = s.req->prompt;
      const int64_t left = static_cast<int64_t>(prompt.size()) - s.n_prompt_done;
      if (left <= 0) continue;
      const int64_t take = std::min(left, budget);
      for (int64_t k = 0; k < take; ++k) {
        const int32_t tok = prompt[static_cast<size_t>(s.n_prompt_done + k)];
        const bool last = s.n_prompt_done + k + 1 == static_cast<int64_t>(prompt.size());
        batch.add(tok, static_cast<int32_t>(s.history.size()), static_cast<int32_t>(i), last);
        s.history.push_back(tok);
        if (last) owners.push_back({i, true});
      }
      s.n_prompt_done += take;
      budget -= take;
      prompt_tokens_this_step += static_cast<double>(take);
    }
    if (batch.size() == 0) continue;
    const double t0 = now_seconds();
    try {
      model_.forward(pool_, kv_, batch, scratch_, logits);
    } catch (const std::exception& e) {
      log_warn("forward pass failed: ", e.what());
      for (auto& s : slots_) {
        if (s.req) finish(s, "error", e.what());
      }
      continue;
    }
    const double dt = now_seconds() - t0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.steps += 1;
      const double frac = prompt_tokens_this_step / static_cast<double>(batch.size());
      stats_.prompt_seconds += dt * frac;
      stats_.generation_seconds += dt * (1.0 - frac);
      stats_.prompt_tokens += static_cast<int64_t>(prompt_tokens_this_step);
    }
    for (size_t row = 0; row < owners.size(); ++row) {
      Slot& s = slots_[owners[row].first];
      if (!s.req) continue;
      GenRequest& r = *s.req;
      float* l = logits.data() + row * static_cast<size_t>(n_vocab);
      if (r.t_first_token == 0) r.t_first_token = now_seconds();
      const int32_t next = s.sampler->sample(l, n_vocab, s.history);
      if (!r.params.ignore_eos && tok_.is_eog(next)) {
        finish(s, "stop");
        continue;
      }
      r.n_gen += 1;
      {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.generated_tokens += 1;
      }
      bool hit = false;
      emit(s, s.text->push(next, hit));
      if (hit) {
        finish(s, "stop", "", true);
        continue;
      }
      if (r.params.n_predict >= 0 && r.n_gen >= r.params.n_predict) {
        finish(s, "length");
        continue;
      }
      if (static_cast<int64_t>(s.history.size()) >= slot_ctx_) {
        finish(s, "length");
        continue;
      }
      s.pending = next;
    }
  }
  // Shutting down: whatever is still queued or running ends as cancelled.
  for (auto& s : slots_) {
    if (s.req) finish(s, "cancelled");
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& r : queue_) {
    std::lock_guard<std::mutex> rl(r->mu);
    r->done = true;
    r->finish_reason = "cancelled";
    r->cv.notify_all();
  }
  queue_.clear();
}

}  // namespace tern
