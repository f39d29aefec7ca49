// Every GGUF key and tensor name the model code reads or writes, in one table.
#pragma once

#include <string>

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
