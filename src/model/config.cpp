#include "model/config.h"

#include <cmath>

#include "core/error.h"
#include "gguf/gguf.h"
#include "model/names.h"

namespace tern {

const char* ffn_activation_name(FfnActivation a) {
  return a == FfnActivation::kReluSqr ? "relu2" : "silu";
}

std::optional<FfnActivation> parse_ffn_activation(const std::string& s) {
  if (s == "relu2" || s == "relu_sqr" || s == "relu_squared" || s == "relu^2") return FfnActivation::kReluSqr;
  if (s == "silu" || s == "swiglu") return FfnActivation::kSilu;
  return std::nullopt;
}

// "llama": ternary LLaMA-layout models (HF1BitLLM Llama3-8B-1.58, Falcon3-*-1.58bit) as
// bitnet.cpp's converter and `tern convert` write them (q/k rows permuted for interleaved RoPE,
// undone at load; projections must be ternary: see weights.cpp).
const char* supported_architectures() { return "bitnet-b1.58, bitnet-25, bitnet, llama (ternary)"; }

bool is_supported_architecture(const std::string& arch) {
  return arch == "bitnet-b1.58" || arch == "bitnet-25" || arch == "bitnet" || arch == "llama";
}

ModelConfig read_model_config(const gguf::File& f, std::optional<FfnActivation> act_override) {
  ModelConfig c;
  const std::string& path = f.path();
  if (!f.has(keys::kArch)) {
    fail(path, ": no general.architecture key: not a model file (a vocabulary-only GGUF works with `tern tokenize` only)");
  }
  c.arch = f.get_string(keys::kArch);
  if (!is_supported_architecture(c.arch)) {
    fail(path, ": architecture '", c.arch, "' is not supported (supported: ", supported_architectures(), ")");
  }
  c.name = f.get_string_or(keys::kName, "");
  const std::string p = c.arch + ".";
  auto need = [&](const char* key) -> int64_t {
    const std::string k = p + key;
    if (!f.has(k)) fail(path, ": required key ", k, " is missing: the file is incomplete or from an unsupported converter");
    const int64_t v = f.get_i64(k);
    if (v <= 0 || v > (int64_t(1) << 31)) fail(path, ": ", k, " = ", v, " is out of range");
    return v;
  };
  c.n_embd = need("embedding_length");
  c.n_layer = need("block_count");
  c.n_ff = need("feed_forward_length");
  c.n_head = need("attention.head_count");
  c.n_head_kv = f.has(p + "attention.head_count_kv") ? need("attention.head_count_kv") : c.n_head;
  c.n_ctx_train = f.has(p + "context_length") ? need("context_length") : 2048;
  if (c.n_embd % c.n_head != 0) {
    fail(path, ": embedding_length ", c.n_embd, " is not a multiple of head_count ", c.n_head);
  }
  if (c.n_head % c.n_head_kv != 0) {
    fail(path, ": head_count ", c.n_head, " is not a multiple of head_count_kv ", c.n_head_kv);
  }
  c.head_dim = c.n_embd / c.n_head;
  if (f.has(p + "attention.key_length")) c.head_dim = need("attention.key_length");
  c.rope_dim = f.has(p + "rope.dimension_count") ? need("rope.dimension_count") : c.head_dim;
  if (c.rope_dim > c.head_dim || c.rope_dim % 2 != 0) {
    fail(path, ": rope.dimension_count ", c.rope_dim, " must be even and at most the head size ", c.head_dim);
  }
  c.rope_theta = static_cast<float>(f.get_f64_or(p + "rope.freq_base", 10000.0));
  c.rms_eps = static_cast<float>(f.get_f64_or(p + "attention.layer_norm_rms_epsilon", 1e-5));
  if (!(c.rope_theta > 0.0f) || !std::isfinite(c.rope_theta)) {
    fail(path, ": rope.freq_base = ", c.rope_theta, " is out of range (a positive, finite number)");
  }
  if (!(c.rms_eps > 0.0f) || c.rms_eps > 1.0f) {
    fail(path, ": attention.layer_norm_rms_epsilon = ", c.rms_eps, " is out of range (0, 1]");
  }
  if (f.has(p + "vocab_size")) {
    c.n_vocab = need("vocab_size");
  } else if (f.has(keys::kTokens)) {
    c.n_vocab = static_cast<int64_t>(f.get_str_array(keys::kTokens).size());
  }

  // FFN activation: an override, then our own metadata key, then the architecture's rule.
  // bitnet.cpp's arch is the 2B-4T (relu^2). llama.cpp's `bitnet` graph carries no activation;
  // its files are the 1bitLLM models (SiLU) except the 2B-4T shape.
  if (act_override) {
    c.act = *act_override;
    c.act_source = "override";
  } else if (f.has(keys::kFfnActivation)) {
    const std::string s = f.get_string(keys::kFfnActivation);
    auto a = parse_ffn_activation(s);
    if (!a) fail(path, ": ", keys::kFfnActivation, " = '", s, "' is unknown (known: relu2, silu)");
    c.act = *a;
    c.act_source = "metadata";
  } else if (c.arch == "llama") {
    c.act = FfnActivation::kSilu;
    c.act_source = "arch default";
  } else if (c.arch == "bitnet") {
    const bool is_2b4t = c.n_embd == 2560 && c.n_ff == 6912 && c.n_layer == 30;
    c.act = is_2b4t ? FfnActivation::kReluSqr : FfnActivation::kSilu;
    c.act_source = is_2b4t ? "2B-4T shape" : "arch default";
  } else {
    c.act = FfnActivation::kReluSqr;
    c.act_source = "arch default";
  }
  return c;
}

}  // namespace tern
