// LlamaForCausalLM with quantization_config.quant_method "bitnet" (HF1BitLLM/Llama3-8B-1.58-*,
// tiiuae/Falcon3-*-1.58bit, Falcon-E): packed uint8 weights like 2B-4T, but the default
// linear_class "bitlinear" DIVIDES the output by weight_scale (transformers
// integrations/bitnet.py BitLinear: y / (input_scale * weight_scale); bitnet.cpp's converter
// also divides). No sub-norms, SiLU gate, untied head when lm_head.weight is present.
// Written as arch "llama" like bitnet.cpp's converter, including llama.cpp's q/k row
// permutation (interleaved RoPE pairs), so llama.cpp-family readers see the usual layout;
// tern's loader undoes the permutation. tern.ffn_activation = silu.
#include "convert/arch.h"
#include "convert/arch_common.h"

namespace tern::convert {

namespace {

bool accepts(const nlohmann::json& cfg, const Checkpoint& ck, std::string& why_not) {
  const std::string qm = quant_method(cfg);
  if (qm != "bitnet") {
    why_not = qm.empty() ? "no quantization_config.quant_method: a full-precision LLaMA (tern runs 1.58-bit models)"
                         : "quantization_config.quant_method '" + qm + "' is not 'bitnet'";
    return false;
  }
  if (!is_packed_checkpoint(ck)) {
    why_not = "quant_method 'bitnet' but model.layers.0.self_attn.q_proj.weight is not packed uint8";
    return false;
  }
  return true;
}

ModelPlan plan(const nlohmann::json& cfg, const std::string& path, const Checkpoint& ck) {
  ModelPlan p;
  p.hf_arch = cfg["architectures"][0].get<std::string>();
  p.gguf_arch = "llama";
  read_common_hparams(cfg, path, p);
  p.act = activation_from_config(cfg, path, FfnActivation::kSilu);
  const ProjSource src = packed_source_from_config(cfg);
  p.detail = proj_source_name(src);
  plan_llama_layout(ck, LayerNames{}, src, is_tied(cfg, ck.find("lm_head.weight") != nullptr), true, p);
  return p;
}

}  // namespace

HfArchitecture arch_llama_bitnet() {
  return {{"LlamaForCausalLM"},
          "LlamaForCausalLM with quant_method \"bitnet\" (HF1BitLLM Llama3-8B-1.58, Falcon3-*-1.58bit, Falcon-E)",
          accepts, plan};
}

}  // namespace tern::convert
