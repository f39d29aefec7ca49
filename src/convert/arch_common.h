// Small helpers shared by the arch_*.cpp modules.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "model/config.h"

namespace tern::convert {

// config.json hidden_act -> FfnActivation ("relu2" / "silu"); `def` when absent.
inline FfnActivation activation_from_config(const nlohmann::json& cfg, const std::string& path, FfnActivation def) {
  auto it = cfg.find("hidden_act");
  if (it == cfg.end() || !it->is_string()) return def;
  const std::string s = it->get<std::string>();
  auto a = parse_ffn_activation(s);
  if (!a) fail(path, ": hidden_act '", s, "' is not supported (tern runs relu2 and silu)");
  return *a;
}

inline std::string config_string(const nlohmann::json& cfg, const char* key) {
  auto it = cfg.find(key);
  return it != cfg.end() && it->is_string() ? it->get<std::string>() : std::string();
}

inline std::string quant_method(const nlohmann::json& cfg) {
  auto q = cfg.find("quantization_config");
  if (q == cfg.end() || !q->is_object()) return "";
  return config_string(*q, "quant_method");
}

// Tied unless the checkpoint has its own head and the config does not tie it.
inline bool is_tied(const nlohmann::json& cfg, bool has_lm_head) {
  auto it = cfg.find("tie_word_embeddings");
  const bool cfg_tied = it != cfg.end() && it->is_boolean() && it->get<bool>();
  return cfg_tied || !has_lm_head;
}

}  // namespace tern::convert
