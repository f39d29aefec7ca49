// Key/value cache: per layer, per sequence slot, n_ctx positions of kv_dim floats. Full
// precision (fp32) so attention adds no error beyond the model's own quantization.
#pragma once

#include <cstdint>

#include "core/aligned.h"
#include "core/error.h"

namespace tern {

class KvCache {
 public:
  KvCache() = default;
  KvCache(int64_t n_layer, int64_t n_seq, int64_t n_ctx, int64_t kv_dim)
      : n_layer_(n_layer), n_seq_(n_seq), n_ctx_(n_ctx), kv_dim_(kv_dim),
        k_(static_cast<size_t>(n_layer * n_seq * n_ctx * kv_dim)),
        v_(static_cast<size_t>(n_layer * n_seq * n_ctx * kv_dim)) {}

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_seq() const { return n_seq_; }
  int64_t kv_dim() const { return kv_dim_; }
  size_t bytes() const { return (k_.size() + v_.size()) * sizeof(float); }

  float* k(int64_t layer, int64_t seq, int64_t pos) { return k_.data() + offset(layer, seq, pos); }
  float* v(int64_t layer, int64_t seq, int64_t pos) { return v_.data() + offset(layer, seq, pos); }

 private:
  size_t offset(int64_t layer, int64_t seq, int64_t pos) const {
    TERN_ASSERT(layer >= 0 && layer < n_layer_ && seq >= 0 && seq < n_seq_ && pos >= 0 && pos < n_ctx_);
    return static_cast<size_t>(((layer * n_seq_ + seq) * n_ctx_ + pos) * kv_dim_);
  }
  int64_t n_layer_ = 0, n_seq_ = 0, n_ctx_ = 0, kv_dim_ = 0;
  AlignedBuffer<float> k_, v_;
};

}  // namespace tern
