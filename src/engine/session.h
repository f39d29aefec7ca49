// A single-sequence inference session: a model, a thread pool, a KV cache, the tokens so far.
// Used by `tern run`, `tern logits` and the library API.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/model.h"
#include "sampling/sampler.h"
#include "threading/pool.h"
#include "tokenizer/tokenizer.h"

namespace tern {

class Session {
 public:
  // n_ctx <= 0: the model's training context, capped at 4096.
  // kv_type: the KV cache's precision (model/kv_cache.h; F32 is exact).
  Session(const Model& model, int64_t n_ctx, int n_threads, KvType kv_type = KvType::kF32);

  // Appends tokens (prefill in chunks of up to n_batch) and returns the logits of the last one.
  const std::vector<float>& eval(const std::vector<int32_t>& tokens, int64_t n_batch = 512);
  // Logits of every appended position, [n, n_vocab] (for `tern logits`).
  std::vector<float> eval_all(const std::vector<int32_t>& tokens, int64_t n_batch = 512,
                              const DumpFn* dump = nullptr);

  int64_t n_past() const { return static_cast<int64_t>(history_.size()); }
  int64_t n_ctx() const { return kv_.n_ctx(); }
  void reset() { history_.clear(); }
  // Drops positions >= n (the cache keeps them but they are overwritten before being read).
  void truncate(int64_t n);
  const std::vector<int32_t>& history() const { return history_; }
  const Model& model() const { return model_; }
  ThreadPool& pool() { return pool_; }

 private:
  const Model& model_;
  ThreadPool pool_;
  KvCache kv_;
  ForwardScratch scratch_;
  Batch batch_;
  std::vector<float> logits_;
  std::vector<int32_t> history_;
};

struct GenerateParams {
  int32_t n_predict = 128;  // < 0: until end of generation or context
  int64_t n_batch = 512;    // prompt tokens per forward pass
  SamplingParams sampling;
  std::vector<std::string> stop;  // stop strings (not included in the output)
  bool ignore_eos = false;
};

struct GenerateResult {
  std::string text;
  int64_t n_prompt = 0, n_gen = 0;
  double prompt_s = 0, gen_s = 0;
  std::string stop_reason;  // "eos" | "stop" | "length" | "context" | "cancelled"
};

// Evaluates `prompt` after whatever the session holds, then samples up to n_predict tokens.
// on_text receives text as it becomes final (UTF-8 complete, not part of a stop string);
// returning false cancels.
GenerateResult generate(Session& s, const Tokenizer& tok, const std::vector<int32_t>& prompt,
                        const GenerateParams& p,
                        const std::function<bool(const std::string&)>& on_text = {});

// Holds back text that might be the start of a stop string.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}
  // Adds text; returns what can be emitted now. Sets `hit` when a stop string completed
  // (the returned text is then everything before it).
  std::string push(const std::string& text, bool& hit);
  std::string flush();  // at the end: whatever was held back

 private:
  std::vector<std::string> stops_;
  std::string pending_;
};

// Turns sampled tokens into final text for a reader: completes UTF-8 sequences and holds back
// text that may be the start of a stop string. Shared by generate() and the server.
class TextStream {
 public:
  TextStream(const Tokenizer& tok, std::vector<std::string> stops) : tok_(tok), stops_(std::move(stops)) {}
  // Adds a generated token; returns the text that became final. Sets `stop` when a stop string
  // completed (the text before it is returned; nothing after it ever is).
  std::string push(int32_t token, bool& stop) { return stops_.push(utf8_.push(tok_.token_to_piece(token)), stop); }
  // Generation ended for another reason (end of text, length, context): what was held back.
  std::string finish() {
    bool stop = false;
    std::string out = stops_.push(utf8_.flush(), stop);
    return stop ? out : out + stops_.flush();
  }

 private:
  const Tokenizer& tok_;
  Utf8Stream utf8_;
  StopMatcher stops_;
};

}  // namespace tern
