// microsoft/bitnet-b1.58-2B-4T (BitNetForCausalLM, model_type "bitnet"): packed uint8 weights
// with a multiplying weight_scale (quantization_config.linear_class "autobitlinear"), and its
// -bf16 repo with bf16 master weights (absmean-ternarized here). Sub-norms
// self_attn.attn_sub_norm / mlp.ffn_sub_norm before o_proj / down_proj, relu^2 FFN, tied
// embedding. Names: transformers models/bitnet/modeling_bitnet.py, integrations/bitnet.py.
// Written as bitnet.cpp's current "bitnet-b1.58" architecture.
#include "convert/arch.h"
#include "convert/arch_common.h"

namespace tern::convert {

namespace {

bool accepts(const nlohmann::json& cfg, const Checkpoint& ck, std::string& why_not) {
  if (ck.find("model.layers.0.self_attn.attn_sub_norm.weight")) return true;
  why_not = "no model.layers.0.self_attn.attn_sub_norm.weight (not a 2B-4T-style checkpoint)";
  return false;
}

ModelPlan plan(const nlohmann::json& cfg, const std::string& path, const Checkpoint& ck) {
  ModelPlan p;
  p.hf_arch = cfg["architectures"][0].get<std::string>();
  p.gguf_arch = "bitnet-b1.58";
  read_common_hparams(cfg, path, p);
  p.act = activation_from_config(cfg, path, FfnActivation::kReluSqr);
  const bool packed = is_packed_checkpoint(ck);
  const ProjSource src = packed ? packed_source_from_config(cfg) : ProjSource::kMaster;
  p.detail = proj_source_name(src);
  LayerNames names;
  names.attn_sub_norm = "self_attn.attn_sub_norm";
  names.ffn_sub_norm = "mlp.ffn_sub_norm";
  plan_llama_layout(ck, names, src, is_tied(cfg, ck.find("lm_head.weight") != nullptr), false, p);
  return p;
}

}  // namespace

HfArchitecture arch_bitnet_b158() {
  return {{"BitNetForCausalLM", "BitnetForCausalLM"},
          "BitNetForCausalLM (microsoft/bitnet-b1.58-2B-4T packed, or -bf16 masters)", accepts, plan};
}

}  // namespace tern::convert
