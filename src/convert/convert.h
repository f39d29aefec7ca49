// `tern convert`: a Hugging Face checkpoint directory (config.json, safetensors, tokenizer
// files) -> one GGUF model tern (and, where the format allows, bitnet.cpp / llama.cpp) loads.
// Rules per architecture and the padding of odd row lengths: docs/CONVERT.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gguf/types.h"

namespace tern::convert {

struct ConvertOptions {
  GgmlType outtype = GgmlType::I2_S;   // projections: i2_s, tq2_0, tq1_0, f16, bf16, f32
  std::optional<GgmlType> embd_type;   // embedding / head; default f16 (f32 for --outtype f32)
  std::string vocab_pre;               // override tokenizer.ggml.pre detection
  std::string name;                    // general.name; default: the directory's name
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct ConvertResult {
  std::string hf_arch, gguf_arch, detail;
  int64_t n_tensors = 0;
  int64_t n_padded = 0;  // projections whose rows were zero-padded to the block size
  std::string tokenizer;  // "gpt2 (llama-bpe), 512 tokens"
};

// Converts `dir` to `out`. Throws tern::Error with one line naming the file and the problem
// (missing config.json, unsupported architecture, truncated safetensors, shape mismatch, ...).
ConvertResult convert_hf_model(const std::string& dir, const std::string& out, const ConvertOptions& opt);

// Projection types --outtype accepts, and the GGUF general.file_type written for each.
bool is_valid_outtype(GgmlType t);
uint32_t file_type_for(GgmlType outtype);

// Row length `cols` rounded up to the block `t` packs (I2_S 128, TQ1_0 / TQ2_0 256, else cols).
int64_t padded_cols(GgmlType t, int64_t cols);

// Decodes one projection of a checkpoint into trits [rows x cols] (row-major, checkpoint row
// order) and its per-tensor scale, following the plan's source rule. Exposed for tests.
struct TensorPlan;
class Checkpoint;
void decode_projection(const Checkpoint& ck, const TensorPlan& tp, std::vector<int8_t>& trits, float& scale);

}  // namespace tern::convert
