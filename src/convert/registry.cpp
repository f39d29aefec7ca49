#include "core/error.h"
#include "convert/arch.h"

namespace tern::convert {

const std::vector<HfArchitecture>& hf_architectures() {
  static const std::vector<HfArchitecture> all = {arch_bitnet_b158(), arch_bitnet_1bitllm(), arch_llama_bitnet()};
  return all;
}

std::string supported_hf_architectures() {
  std::string s;
  for (const auto& a : hf_architectures()) s += std::string(s.empty() ? "" : "; ") + a.description;
  return s;
}

const HfArchitecture& select_architecture(const nlohmann::json& cfg, const std::string& cfg_path,
                                          const Checkpoint& ck) {
  auto it = cfg.find("architectures");
  if (it == cfg.end() || !it->is_array() || it->empty() || !(*it)[0].is_string()) {
    fail(cfg_path, ": \"architectures\" is missing: not a Hugging Face model config (supported: ",
         supported_hf_architectures(), ")");
  }
  const std::string name = (*it)[0].get<std::string>();
  std::string reasons;
  bool known = false;
  for (const auto& a : hf_architectures()) {
    bool match = false;
    for (const auto& n : a.config_names) match = match || n == name;
    if (!match) continue;
    known = true;
    std::string why;
    if (a.accepts(cfg, ck, why)) return a;
    reasons += (reasons.empty() ? "" : "; ") + why;
  }
  if (!known) fail(cfg_path, ": architecture ", name, " is not supported (supported: ", supported_hf_architectures(), ")");
  fail(cfg_path, ": ", name, " checkpoint not supported: ", reasons, " (supported: ", supported_hf_architectures(), ")");
}

}  // namespace tern::convert
