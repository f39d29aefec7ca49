// Every GGUF key and tensor name the model code reads or writes, in one table.
#pragma once

#include <string>
#include <string_view>

namespace tern::keys {
inline constexpr const char* kArch = "general.architecture";
inline constexpr const char* kName = "general.name";
inline constexpr const char* kAlignment = "general.alignment";
inline constexpr const char* kFileType = "general.file_type";
inline constexpr const char* kTokens = "tokenizer.ggml.tokens";
// tern's own: the FFN activation ("relu2" | "silu") so nothing is guessed at load.
inline constexpr const char* kFfnActivation = "tern.ffn_activation";
}  // namespace tern::keys

namespace tern::tensors {
inline constexpr const char* kTokenEmbd = "token_embd.weight";
inline constexpr const char* kOutputNorm = "output_norm.weight";
inline constexpr const char* kOutput = "output.weight";

// blk.<layer>.<what>.weight, e.g. layer_tensor(3, "ffn_up") -> "blk.3.ffn_up.weight".
inline std::string layer_tensor(int64_t layer, const char* what, const char* suffix = "weight") {
  return "blk." + std::to_string(layer) + "." + what + "." + suffix;
}
// The layer a tensor name belongs to: N for "<prefix>N.<anything>" ("blk." in GGUF files,
// "model.layers." in Hugging Face checkpoints), else -1.
inline int64_t layer_of(std::string_view name, std::string_view prefix = "blk.") {
  if (name.substr(0, prefix.size()) != prefix) return -1;
  int64_t n = 0;
  size_t i = prefix.size();
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9' && n < (int64_t{1} << 40); ++i) n = n * 10 + (name[i] - '0');
  return i > prefix.size() && i < name.size() && name[i] == '.' ? n : -1;
}
inline constexpr const char* kAttnNorm = "attn_norm";
inline constexpr const char* kAttnSubNorm = "attn_sub_norm";
inline constexpr const char* kFfnNorm = "ffn_norm";
inline constexpr const char* kFfnSubNorm = "ffn_sub_norm";
inline constexpr const char* kQ = "attn_q";
inline constexpr const char* kK = "attn_k";
inline constexpr const char* kV = "attn_v";
inline constexpr const char* kO = "attn_output";
inline constexpr const char* kGate = "ffn_gate";
inline constexpr const char* kUp = "ffn_up";
inline constexpr const char* kDown = "ffn_down";
}  // namespace tern::tensors
