// Continuous batching: one scheduler thread owns the model's KV cache, split into n_slots
// sequences. Each step it gathers, from every active slot, either a chunk of prompt tokens or
// the one token it generated last, runs them through ONE forward pass (the weights are read
// once for all slots), samples for each slot, and streams text to the request's owner. New
// requests join between steps; a cancelled request frees its slot at the next step.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/session.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace tern {

// One generation request and its output channel (filled by the scheduler thread, read by
// the HTTP thread that owns the request).
struct GenRequest {
  std::vector<int32_t> prompt;
  GenerateParams params;

  std::atomic<bool> cancelled{false};

  // Output, guarded by mu.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> pieces;  // text not yet taken by the reader
  bool done = false;
  std::string finish_reason;  // "stop" | "length" | "cancelled" | "error"
  std::string error;
  int64_t n_prompt = 0, n_gen = 0, n_cached = 0;
  double t_queued = 0, t_started = 0, t_first_token = 0, t_done = 0;

  // Waits up to timeout_ms for text or completion; moves available text into `out`.
  // Returns true when the request is done and everything has been taken.
  bool wait_take(std::string& out, int timeout_ms);
};

struct SchedulerOptions {
  int n_slots = 4;
  int64_t n_ctx = 4096;      // total; each slot gets n_ctx / n_slots
  int n_threads = 1;
  int64_t n_batch = 512;     // tokens per forward pass across slots
  size_t max_queue = 64;     // waiting requests beyond the slots; more get "busy"
  KvType kv_type = KvType::kF32;  // --cache-type
};

struct SchedulerStats {
  int64_t prompt_tokens = 0, generated_tokens = 0, cached_tokens = 0;
  double prompt_seconds = 0, generation_seconds = 0;
  int64_t requests_done = 0, requests_cancelled = 0, steps = 0;
  int active = 0;
  size_t queued = 0;
};

class Scheduler {
 public:
  Scheduler(const Model& model, const Tokenizer& tok, SchedulerOptions opt);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  int64_t slot_ctx() const { return slot_ctx_; }
  // Queues a request. Returns false (and leaves it untouched) when the queue is full.
  bool submit(const std::shared_ptr<GenRequest>& r);
  SchedulerStats stats() const;
  // In-flight = queued + active.
  int64_t in_flight() const;
  void stop();

 private:
  struct Slot {
    std::shared_ptr<GenRequest> req;
    std::vector<int32_t> history;  // tokens whose K/V are in this slot's cache
    int64_t n_prompt_done = 0;     // prompt tokens already evaluated
    int32_t pending = -1;          // sampled token waiting to be evaluated
    std::unique_ptr<Sampler> sampler;
    std::unique_ptr<TextStream> text;
  };
  void loop();
  void admit_locked();
  // Ends the slot's request. The text held back is sent unless a stop string ended it or the
  // request was cancelled or failed.
  void finish(Slot& s, const std::string& reason, const std::string& error = "", bool stop_hit = false);
  void emit(Slot& s, const std::string& text);

  const Model& model_;
  const Tokenizer& tok_;
  SchedulerOptions opt_;
  int64_t slot_ctx_;
  ThreadPool pool_;
  KvCache kv_;
  ForwardScratch scratch_;
  std::vector<Slot> slots_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<GenRequest>> queue_;
  bool stop_ = false;
  SchedulerStats stats_;
  std::thread thread_;
};

}  // namespace tern
