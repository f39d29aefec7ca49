// 1bitLLM/bitnet_b1_58-large / -3B (BitnetForCausalLM): LLaMA layout with fp16 (or f32)
// latent weights that BitLinear ternarizes per tensor with absmean (1bitLLM utils_quant.py
// weight_quant: s = 1 / mean|W|.clamp(1e-5), round(W * s).clamp(-1, 1) / s), SiLU gate,
// sub-norms self_attn.inner_attn_ln (before o_proj) and mlp.ffn_layernorm (before down_proj),
// untied lm_head, LLaMA-2 SentencePiece vocabulary. Written as llama.cpp / bitnet.cpp's
// "bitnet" architecture (NeoX RoPE, no q/k permutation), with tern.ffn_activation = silu.
#include "convert/arch.h"
#include "convert/arch_common.h"

namespace tern::convert {

namespace {

bool accepts(const nlohmann::json& cfg, const Checkpoint& ck, std::string& why_not) {
  if (!ck.find("model.layers.0.self_attn.inner_attn_ln.weight")) {
    why_not = "no model.layers.0.self_attn.inner_attn_ln.weight (not a 1bitLLM-style checkpoint)";
    return false;
  }
  if (is_packed_checkpoint(ck)) {
    why_not = "1bitLLM-style checkpoint with packed uint8 weights (expected latent float weights)";
    return false;
  }
  return true;
}

ModelPlan plan(const nlohmann::json& cfg, const std::string& path, const Checkpoint& ck) {
  ModelPlan p;
  p.hf_arch = cfg["architectures"][0].get<std::string>();
  p.gguf_arch = "bitnet";
  read_common_hparams(cfg, path, p);
  p.act = activation_from_config(cfg, path, FfnActivation::kSilu);
  p.detail = proj_source_name(ProjSource::kMaster);
  LayerNames names;
  names.attn_sub_norm = "self_attn.inner_attn_ln";
  names.ffn_sub_norm = "mlp.ffn_layernorm";
  plan_llama_layout(ck, names, ProjSource::kMaster, is_tied(cfg, ck.find("lm_head.weight") != nullptr), false, p);
  return p;
}

}  // namespace

HfArchitecture arch_bitnet_1bitllm() {
  return {{"BitnetForCausalLM"}, "BitnetForCausalLM (1bitLLM/bitnet_b1_58-*, latent fp16 weights)", accepts, plan};
}

}  // namespace tern::convert
