// Registry of the Hugging Face architectures tern converts, keyed by config.json
// "architectures". Several modules may share a name (BitnetForCausalLM is both the early
// 2B-4T and 1bitLLM's models); each module's `accepts` looks at the config and tensor names.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "convert/plan.h"
#include "convert/safetensors.h"

namespace tern::convert {

struct HfArchitecture {
  std::vector<std::string> config_names;  // config.json architectures[0] values
  const char* description;                // for the list of supported inputs
  // Whether this module handles the checkpoint; when not, `why_not` says why (shown if no
  // module accepts).
  bool (*accepts)(const nlohmann::json& cfg, const Checkpoint& ck, std::string& why_not);
  ModelPlan (*plan)(const nlohmann::json& cfg, const std::string& cfg_path, const Checkpoint& ck);
};

// One per module (arch_*.cpp).
HfArchitecture arch_bitnet_b158();   // microsoft/bitnet-b1.58-2B-4T (packed) and -bf16
HfArchitecture arch_bitnet_1bitllm();  // 1bitLLM/bitnet_b1_58-* (latent fp16/fp32)
HfArchitecture arch_llama_bitnet();  // LlamaForCausalLM + quant_method "bitnet"

const std::vector<HfArchitecture>& hf_architectures();
// "BitNetForCausalLM (...), ..." for error messages and --help.
std::string supported_hf_architectures();

// Picks the module for config.json (architectures[0]) and the checkpoint; throws naming the
// unsupported architecture / quant method and listing the supported ones.
const HfArchitecture& select_architecture(const nlohmann::json& cfg, const std::string& cfg_path,
                                          const Checkpoint& ck);

}  // namespace tern::convert
