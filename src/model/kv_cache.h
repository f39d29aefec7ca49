// Key/value cache: per layer, per sequence slot, per KV head, n_ctx positions of head_dim floats.
// Full precision (fp32) so attention adds no error beyond the model's own quantization. A head's
// keys (and values) are contiguous, so attention over a long context reads one sequential
// stream per head rather than head_dim floats out of every kv_dim-wide row.
#pragma once

#include <cstdint>

#include "core/aligned.h"
#include "core/error.h"
#include "model/config.h"

namespace tern {

class KvCache {
 public:
  KvCache() = default;
  KvCache(int64_t n_layer, int64_t n_seq, int64_t n_ctx, int64_t n_head_kv, int64_t head_dim)
      : n_layer_(n_layer), n_seq_(n_seq), n_ctx_(n_ctx), n_head_kv_(n_head_kv), head_dim_(head_dim),
        k_(static_cast<size_t>(n_layer * n_seq * n_ctx * n_head_kv * head_dim)),
        v_(static_cast<size_t>(n_layer * n_seq * n_ctx * n_head_kv * head_dim)) {}
  KvCache(const ModelConfig& c, int64_t n_seq, int64_t n_ctx)
      : KvCache(c.n_layer, n_seq, n_ctx, c.n_head_kv, c.head_dim) {}

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_seq() const { return n_seq_; }
  int64_t kv_dim() const { return n_head_kv_ * head_dim_; }
  size_t bytes() const { return (k_.size() + v_.size()) * sizeof(float); }

  // Position pos of KV head `head`; the next position follows head_dim floats later.
  float* k(int64_t layer, int64_t seq, int64_t head, int64_t pos) { return k_.data() + offset(layer, seq, head, pos); }
  float* v(int64_t layer, int64_t seq, int64_t head, int64_t pos) { return v_.data() + offset(layer, seq, head, pos); }

 private:
  size_t offset(int64_t layer, int64_t seq, int64_t head, int64_t pos) const {
    TERN_ASSERT(layer >= 0 && layer < n_layer_ && seq >= 0 && seq < n_seq_ && head >= 0 && head < n_head_kv_ &&
                pos >= 0 && pos < n_ctx_);
    return static_cast<size_t>((((layer * n_seq_ + seq) * n_head_kv_ + head) * n_ctx_ + pos) * head_dim_);
  }
  int64_t n_layer_ = 0, n_seq_ = 0, n_ctx_ = 0, n_head_kv_ = 0, head_dim_ = 0;
  AlignedBuffer<float> k_, v_;
};

}  // namespace tern
