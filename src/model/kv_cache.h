// Key/value cache: per layer, per sequence slot, per KV head, n_ctx positions of head_dim values.
// A head's keys (and values) are contiguous, so attention over a long context reads one
// sequential stream per head rather than head_dim values out of every kv_dim-wide row.
//
// F32 (the default) adds no error beyond the model's own quantization. F16 (`--cache-type f16`,
// llama.cpp's default) halves the cache's memory and what decoding at depth reads, at the cost
// of rounding keys and values to half precision (docs/PERFORMANCE.md measures both).
#pragma once

#include <cstdint>
#include <string>

#include "core/aligned.h"
#include "core/error.h"
#include "model/config.h"

namespace tern {

enum class KvType { kF32, kF16 };
// "f32" / "f16"; throws tern::Error naming the flag otherwise.
inline KvType parse_kv_type(const std::string& s) {
  if (s == "f32") return KvType::kF32;
  if (s == "f16") return KvType::kF16;
  fail("--cache-type ", s, ": unknown KV cache type (use f32 or f16)");
}

class KvCache {
 public:
  KvCache() = default;
  KvCache(int64_t n_layer, int64_t n_seq, int64_t n_ctx, int64_t n_head_kv, int64_t head_dim,
          KvType type = KvType::kF32)
      : n_layer_(n_layer), n_seq_(n_seq), n_ctx_(n_ctx), n_head_kv_(n_head_kv), head_dim_(head_dim), type_(type) {
    const size_t n = static_cast<size_t>(n_layer * n_seq * n_ctx * n_head_kv * head_dim);
    if (type == KvType::kF32) {
      k_.resize(n);
      v_.resize(n);
    } else {
      k16_.resize(n);
      v16_.resize(n);
    }
  }
  KvCache(const ModelConfig& c, int64_t n_seq, int64_t n_ctx, KvType type = KvType::kF32)
      : KvCache(c.n_layer, n_seq, n_ctx, c.n_head_kv, c.head_dim, type) {}

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_seq() const { return n_seq_; }
  int64_t kv_dim() const { return n_head_kv_ * head_dim_; }
  KvType type() const { return type_; }
  size_t bytes() const { return (k_.size() + v_.size()) * sizeof(float) + (k16_.size() + v16_.size()) * sizeof(uint16_t); }

  // Position pos of KV head `head`; the next position follows head_dim values later. The
  // float accessors are for an F32 cache, the 16-bit ones for an F16 cache.
  float* k(int64_t layer, int64_t seq, int64_t head, int64_t pos) { return k_.data() + offset(layer, seq, head, pos, KvType::kF32); }
  float* v(int64_t layer, int64_t seq, int64_t head, int64_t pos) { return v_.data() + offset(layer, seq, head, pos, KvType::kF32); }
  uint16_t* k16(int64_t layer, int64_t seq, int64_t head, int64_t pos) { return k16_.data() + offset(layer, seq, head, pos, KvType::kF16); }
  uint16_t* v16(int64_t layer, int64_t seq, int64_t head, int64_t pos) { return v16_.data() + offset(layer, seq, head, pos, KvType::kF16); }

 private:
  size_t offset(int64_t layer, int64_t seq, int64_t head, int64_t pos, KvType want) const {
    TERN_ASSERT(type_ == want && layer >= 0 && layer < n_layer_ && seq >= 0 && seq < n_seq_ && head >= 0 &&
                head < n_head_kv_ && pos >= 0 && pos < n_ctx_);
    return static_cast<size_t>((((layer * n_seq_ + seq) * n_head_kv_ + head) * n_ctx_ + pos) * head_dim_);
  }
  int64_t n_layer_ = 0, n_seq_ = 0, n_ctx_ = 0, n_head_kv_ = 0, head_dim_ = 0;
  KvType type_ = KvType::kF32;
  AlignedBuffer<float> k_, v_;
  AlignedBuffer<uint16_t> k16_, v16_;
};

}  // namespace tern
