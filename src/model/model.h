// A loaded BitNet b1.58 model: config, repacked weights, and the forward pass.
// The per-architecture interface stays narrow: read hparams (config.h), bind tensors
// (weights.cpp), forward (bitnet_b158.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/aligned.h"
#include "formats/tl.h"
#include "gguf/gguf.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "ops/ops.h"
#include "ops/ternary_matrix.h"

namespace tern {

struct LoadOptions {
  std::optional<FfnActivation> ffn_act;  // --ffn-act override
  int n_threads = 1;                     // threads for repacking at load
  // In-memory ternary layout (--layout): true TN16, false TR16; unset: TERN_LAYOUT, else what
  // the kernel path prefers (ops/ternary_matrix.h).
  std::optional<bool> tn16;
  bool progress = false;                 // print a progress line to stderr
  // Tilings for bitnet.cpp TL1/TL2 tensors (from the kernel_config.ini the file was converted
  // with, --tl-config); matched by (rows, cols) before tern's built-in table.
  std::vector<formats::TlConfig> tl_configs;
  std::string tl_config_source;  // where tl_configs came from, for messages
};

struct LayerWeights {
  AlignedBuffer<float> attn_norm;      // [n_embd]
  AlignedBuffer<float> attn_sub_norm;  // [q_dim]; empty when the model has none
  AlignedBuffer<float> ffn_norm;       // [n_embd]
  AlignedBuffer<float> ffn_sub_norm;   // [n_ff]; empty when the model has none
  TernaryMatrix wqkv;     // [q_dim + 2 kv_dim rows, n_embd]: q, k, v fused (one quantized input)
  TernaryMatrix wo;       // [n_embd, q_dim]
  TernaryMatrix wgate_up; // [ops::glu_rows(n_ff), n_embd]: gate and up rows interleaved (ops::glu_row)
  TernaryMatrix wdown;    // [n_embd, n_ff]
};

// Intermediate-tensor hook for golden tests and `tern logits --dump`: called with a name
// ("attn_norm", "q_proj", ...), the layer (-1 for model-level tensors), the data laid out
// [n_tok, dim] token-major, and dim.
using DumpFn = std::function<void(const std::string& name, int layer, const float* data,
                                  int64_t dim, int64_t n_tok)>;

// One forward batch: token i sits at position pos[i] of sequence seq[i]. Logits are produced
// for the entries with want_logits[i], in order.
struct Batch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> pos;
  std::vector<int32_t> seq;
  std::vector<uint8_t> want_logits;

  void clear() { tokens.clear(); pos.clear(); seq.clear(); want_logits.clear(); }
  void add(int32_t token, int32_t p, int32_t s, bool logits) {
    tokens.push_back(token);
    pos.push_back(p);
    seq.push_back(s);
    want_logits.push_back(logits ? 1 : 0);
  }
  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
};

// Scratch memory for forward passes, reused between calls.
struct ForwardScratch {
  AlignedBuffer<float> h, x, qkv, attn, ffn, logits_in;
  AlignedBuffer<float> rope;  // [n_tok, rope_dim]: cos then sin of each token's angles
  ops::QuantActs qa;
  std::vector<AlignedBuffer<float>> att_scores;  // per worker: one attention tile (queries, outputs, scores)
  AlignedBuffer<float> att_parts;                // key-chunk partial results of split attention tiles
  std::vector<AlignedBuffer<float>> att_kv;      // per worker: a task's keys and values widened from an F16 cache
};

class Model {
 public:
  // Loads and checks a GGUF model. Throws tern::Error naming the file and what is wrong.
  static std::unique_ptr<Model> load(const std::string& path, const LoadOptions& opt);

  const ModelConfig& config() const { return cfg_; }
  const gguf::File& file() const { return *file_; }
  uint64_t weight_bytes() const;  // repacked weights + head as held in memory
  std::string describe_types() const;  // "i2_s projections, f16 head"

  // Runs the batch, writing K/V into `kv` and logits [n_wanted, n_vocab] into `logits`.
  // Throws tern::Error when a position does not fit the cache.
  void forward(ThreadPool& pool, KvCache& kv, const Batch& batch, ForwardScratch& scratch,
               std::vector<float>& logits, const DumpFn* dump = nullptr) const;
  // The input embedding of `token` (n_embd floats), exactly as stored (0 <= token < n_vocab).
  void embed(int32_t token, float* out) const;

 private:
  friend class ModelLoader;
  Model() = default;

  ModelConfig cfg_;
  std::unique_ptr<gguf::File> file_;
  std::vector<LayerWeights> layers_;
  AlignedBuffer<float> output_norm_;  // [n_embd]
  // Every projection's codes, layer by layer in the order decode reads them (TernaryMatrix::codes
  // point into it): one mapping, so all of it can sit on 2 MiB pages (ModelLoader::run).
  AlignedBuffer<uint8_t> ternary_block_;
  const gguf::TensorInfo* tok_embd_ = nullptr;
  ops::FloatMatrix head_;             // [n_vocab, n_embd]
  AlignedBuffer<float> head_owned_;   // when the head had to be dequantized
  AlignedBuffer<uint16_t> head_owned_f16_;
  AlignedBuffer<uint8_t> head_owned_q_;  // q8_0 / q6_k head, copied into huge-page memory
  // Tied embedding (no separate output tensor) whose head tern copied: embed() reads rows from
  // that copy, so the file's pages stay released.
  bool embd_from_head_ = false;
  std::string proj_type_;
};

}  // namespace tern
