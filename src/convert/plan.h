// What a Hugging Face architecture module produces: a ModelPlan, i.e. the GGUF hyper-parameters
// and, for every GGUF tensor, where its values come from in the checkpoint and how they are
// decoded. convert.cpp executes plans; the architecture modules (arch_*.cpp) only map names and
// pick rules, so adding an architecture is one small file plus a registry line.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "convert/safetensors.h"
#include "model/config.h"

namespace tern::convert {

// How a projection's ternary weights and per-tensor scale are stored in the checkpoint.
enum class ProjSource {
  kPackedMul,  // uint8 [out/4, in] (transformers pack_weights) + weight_scale; y = (x.t) * scale
               //   (linear_class "autobitlinear": microsoft/bitnet-b1.58-2B-4T)
  kPackedDiv,  // same packing; y = (x.t) / weight_scale (linear_class "bitlinear":
               //   HF1BitLLM, Falcon3-1.58bit, Falcon-E)
  kMaster,     // float latent / master weights W (bf16, fp16, f32): absmean ternarization,
               //   s = max(mean|W|, 1e-5), t = clamp(round(W / s), -1, 1), y = (x.t) * s
};
const char* proj_source_name(ProjSource s);

enum class TensorRole { kEmbedding, kHead, kNorm, kProjection };

struct TensorPlan {
  TensorRole role = TensorRole::kNorm;
  std::string gguf;      // GGUF tensor name
  std::string hf;        // checkpoint tensor name
  std::string hf_scale;  // packed projections: the weight_scale tensor
  int64_t rows = 1;      // output features (vocab for embedding / head); 1 for norms
  int64_t cols = 0;      // input features (n_embd for embedding / head; the size for norms)
  ProjSource source = ProjSource::kMaster;
  // > 0: reorder rows head by head like llama.cpp's convert (LlamaModel.permute): GGUF row
  // h*hd + 2j + s = checkpoint row h*hd + s*hd/2 + j. For q/k of arch "llama", whose graph
  // uses interleaved (GPT-J) RoPE pairs; tern's loader undoes it.
  int64_t permute_head_dim = 0;
};

struct ModelPlan {
  std::string hf_arch;    // config.json architectures[0]
  std::string gguf_arch;  // general.architecture
  std::string detail;     // one line for the user: "packed weights, scale multiplies"
  FfnActivation act = FfnActivation::kSilu;
  int64_t n_vocab = 0, n_ctx = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0;
  int64_t head_dim = 0, n_ff = 0;
  float rope_theta = 10000.0f, rms_eps = 1e-5f;
  std::vector<TensorPlan> tensors;  // in file order
};

// Hyper-parameters every LLaMA-like config.json has. Throws naming config.json and the key.
void read_common_hparams(const nlohmann::json& cfg, const std::string& path, ModelPlan& p);

// Per-layer names of a LLaMA-style checkpoint ("model.layers.N.").
struct LayerNames {
  const char* attn_sub_norm = nullptr;  // e.g. "self_attn.attn_sub_norm"; nullptr: none
  const char* ffn_sub_norm = nullptr;   // e.g. "mlp.ffn_sub_norm"
};

// Fills p.tensors for a LLaMA-layout checkpoint: embedding, output norm, head (output.weight
// from lm_head.weight unless tied), and per layer the norms and the seven projections with
// `source` (weight_scale names for packed sources). `permute_qk` applies llama.cpp's q/k row
// permutation. Checks that every named tensor exists with the expected shape and dtype.
void plan_llama_layout(const Checkpoint& ck, const LayerNames& names, ProjSource source, bool tied,
                       bool permute_qk, ModelPlan& p);

// Packed projections: "autobitlinear" multiplies by weight_scale, "bitlinear" (transformers'
// default) divides; the config's quantization_config.linear_class decides.
ProjSource packed_source_from_config(const nlohmann::json& cfg);

// True when the checkpoint's q_proj of layer 0 is uint8 (packed ternary).
bool is_packed_checkpoint(const Checkpoint& ck);

}  // namespace tern::convert
