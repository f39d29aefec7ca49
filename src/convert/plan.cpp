#include "convert/plan.h"

#include <cmath>

#include "core/error.h"
#include "model/names.h"

namespace tern::convert {

using json = nlohmann::json;

const char* proj_source_name(ProjSource s) {
  switch (s) {
    case ProjSource::kPackedMul: return "packed ternary, output multiplied by weight_scale";
    case ProjSource::kPackedDiv: return "packed ternary, output divided by weight_scale";
    case ProjSource::kMaster: return "float weights, absmean-ternarized per tensor";
  }
  return "?";
}

namespace {

int64_t get_int(const json& cfg, const std::string& path, const char* key, int64_t def, bool required) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) {
    if (required) fail(path, ": ", key, " is missing");
    return def;
  }
  if (!it->is_number_integer()) fail(path, ": ", key, " is not an integer");
  const int64_t v = it->get<int64_t>();
  if (v <= 0 || v > (int64_t(1) << 31)) fail(path, ": ", key, " = ", v, " is out of range");
  return v;
}

double get_num(const json& cfg, const std::string& path, const char* key, double def) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return def;
  if (!it->is_number()) fail(path, ": ", key, " is not a number");
  return it->get<double>();
}

}  // namespace

void read_common_hparams(const json& cfg, const std::string& path, ModelPlan& p) {
  p.n_vocab = get_int(cfg, path, "vocab_size", 0, true);
  p.n_embd = get_int(cfg, path, "hidden_size", 0, true);
  p.n_layer = get_int(cfg, path, "num_hidden_layers", 0, true);
  p.n_head = get_int(cfg, path, "num_attention_heads", 0, true);
  p.n_head_kv = get_int(cfg, path, "num_key_value_heads", p.n_head, false);
  p.n_ff = get_int(cfg, path, "intermediate_size", 0, true);
  p.n_ctx = get_int(cfg, path, "max_position_embeddings", 2048, false);
  p.head_dim = get_int(cfg, path, "head_dim", 0, false);
  if (p.head_dim == 0) {
    if (p.n_embd % p.n_head != 0) fail(path, ": hidden_size ", p.n_embd, " is not a multiple of num_attention_heads ", p.n_head);
    p.head_dim = p.n_embd / p.n_head;
  }
  if (p.n_head % p.n_head_kv != 0) {
    fail(path, ": num_attention_heads ", p.n_head, " is not a multiple of num_key_value_heads ", p.n_head_kv);
  }
  if (p.head_dim % 2 != 0) fail(path, ": head size ", p.head_dim, " is odd: RoPE needs pairs");
  p.rope_theta = static_cast<float>(get_num(cfg, path, "rope_theta", 10000.0));
  p.rms_eps = static_cast<float>(get_num(cfg, path, "rms_norm_eps", 1e-6));
  // The ranges the loader accepts (model/config.cpp), so a converted file always loads.
  if (!(p.rope_theta > 0.0f) || !std::isfinite(p.rope_theta)) {
    fail(path, ": rope_theta = ", p.rope_theta, " is out of range (a positive, finite number)");
  }
  if (!(p.rms_eps > 0.0f) || p.rms_eps > 1.0f) fail(path, ": rms_norm_eps = ", p.rms_eps, " is out of range (0, 1]");
  if (auto it = cfg.find("rope_scaling"); it != cfg.end() && !it->is_null()) {
    // A linear factor of 1 (what bitnet.cpp writes for 1bitLLM) changes nothing.
    const std::string type = it->is_object() ? it->value("rope_type", it->value("type", "")) : "";
    const double factor = it->is_object() && it->contains("factor") && (*it)["factor"].is_number()
                              ? (*it)["factor"].get<double>() : 0.0;
    if (!(type == "default" || (type == "linear" && factor == 1.0))) {
      fail(path, ": rope_scaling (type '", type, "') is not supported by tern yet; only unscaled RoPE");
    }
  }
  for (const char* key : {"attention_bias", "mlp_bias"}) {
    if (auto it = cfg.find(key); it != cfg.end() && it->is_boolean() && it->get<bool>()) {
      fail(path, ": ", key, " is true: tern's BitNet models have no biases");
    }
  }
}

ProjSource packed_source_from_config(const json& cfg) {
  std::string lc = "bitlinear";  // transformers BitNetQuantConfig default
  if (auto q = cfg.find("quantization_config"); q != cfg.end() && q->is_object()) {
    lc = q->value("linear_class", lc);
  }
  return lc == "autobitlinear" ? ProjSource::kPackedMul : ProjSource::kPackedDiv;
}

bool is_packed_checkpoint(const Checkpoint& ck) {
  const StTensor* t = ck.find("model.layers.0.self_attn.q_proj.weight");
  return t && t->dtype == StDtype::kU8;
}

namespace {

void check_float(const Checkpoint& ck, const std::string& name, std::vector<int64_t> shape, const char* what) {
  const StTensor& t = ck.get(name, what);
  if (t.dtype != StDtype::kF32 && t.dtype != StDtype::kF16 && t.dtype != StDtype::kBF16) {
    fail(*t.file, ": tensor ", name, " has dtype ", st_dtype_name(t.dtype), ", expected F32, F16 or BF16");
  }
  if (t.shape != shape) {
    StTensor want;
    want.shape = shape;
    fail(*t.file, ": tensor ", name, " has shape ", t.shape_str(), ", expected ", want.shape_str(),
         " from config.json: checkpoint and config do not match");
  }
}

void check_proj(const Checkpoint& ck, const TensorPlan& tp) {
  const StTensor& t = ck.get(tp.hf, "a projection of every layer");
  if (tp.source == ProjSource::kMaster) {
    check_float(ck, tp.hf, {tp.rows, tp.cols}, "a projection of every layer");
    return;
  }
  if (t.dtype != StDtype::kU8) {
    fail(*t.file, ": tensor ", tp.hf, " has dtype ", st_dtype_name(t.dtype), ", expected U8 (packed ternary) like layer 0");
  }
  if (tp.rows % 4 != 0 || t.shape != std::vector<int64_t>{tp.rows / 4, tp.cols}) {
    fail(*t.file, ": tensor ", tp.hf, " has shape ", t.shape_str(), ", expected [", tp.rows / 4, ", ", tp.cols,
         "] (packed [out/4, in] for ", tp.rows, " x ", tp.cols, "): checkpoint and config do not match");
  }
  const StTensor& s = ck.get(tp.hf_scale, "packed weights need their scale");
  if (s.n_elements() != 1) fail(*s.file, ": tensor ", tp.hf_scale, " has shape ", s.shape_str(), ", expected one value");
}

}  // namespace

void plan_llama_layout(const Checkpoint& ck, const LayerNames& names, ProjSource source, bool tied,
                       bool permute_qk, ModelPlan& p) {
  using namespace tensors;
  const int64_t H = p.n_embd, F = p.n_ff, qd = p.n_head * p.head_dim, kvd = p.n_head_kv * p.head_dim;
  auto add = [&](TensorPlan tp) { p.tensors.push_back(std::move(tp)); };
  auto norm = [&](const std::string& gguf, const std::string& hf, int64_t n) {
    check_float(ck, hf, {n}, "a norm of the model");
    TensorPlan tp;
    tp.role = TensorRole::kNorm;
    tp.gguf = gguf;
    tp.hf = hf;
    tp.cols = n;
    add(tp);
  };
  check_float(ck, "model.embed_tokens.weight", {p.n_vocab, H}, "the token embedding");
  add({TensorRole::kEmbedding, kTokenEmbd, "model.embed_tokens.weight", "", p.n_vocab, H});
  norm(kOutputNorm, "model.norm.weight", H);
  if (!tied) {
    check_float(ck, "lm_head.weight", {p.n_vocab, H}, "the untied output head");
    add({TensorRole::kHead, kOutput, "lm_head.weight", "", p.n_vocab, H});
  }
  struct Proj { const char* gguf; const char* hf; int64_t rows, cols; bool qk; };
  const Proj projs[] = {
      {kQ, "self_attn.q_proj", qd, H, true},   {kK, "self_attn.k_proj", kvd, H, true},
      {kV, "self_attn.v_proj", kvd, H, false}, {kO, "self_attn.o_proj", H, qd, false},
      {kGate, "mlp.gate_proj", F, H, false},   {kUp, "mlp.up_proj", F, H, false},
      {kDown, "mlp.down_proj", H, F, false},
  };
  // A layer past num_hidden_layers: converting would silently drop it.
  for (const std::string& name : ck.names()) {
    if (const int64_t l = layer_of(name, "model.layers."); l >= p.n_layer) {
      fail(ck.dir(), ": the checkpoint holds ", name, " (layer ", l, ") but config.json says num_hidden_layers = ",
           p.n_layer, ": checkpoint and config do not match");
    }
  }
  for (int64_t l = 0; l < p.n_layer; ++l) {
    const std::string pre = "model.layers." + std::to_string(l) + ".";
    norm(layer_tensor(l, kAttnNorm), pre + "input_layernorm.weight", H);
    if (names.attn_sub_norm) norm(layer_tensor(l, kAttnSubNorm), pre + names.attn_sub_norm + ".weight", qd);
    norm(layer_tensor(l, kFfnNorm), pre + "post_attention_layernorm.weight", H);
    if (names.ffn_sub_norm) norm(layer_tensor(l, kFfnSubNorm), pre + names.ffn_sub_norm + ".weight", F);
    for (const Proj& pr : projs) {
      TensorPlan tp;
      tp.role = TensorRole::kProjection;
      tp.gguf = layer_tensor(l, pr.gguf);
      tp.hf = pre + pr.hf + ".weight";
      if (source != ProjSource::kMaster) tp.hf_scale = pre + pr.hf + ".weight_scale";
      tp.rows = pr.rows;
      tp.cols = pr.cols;
      tp.source = source;
      if (permute_qk && pr.qk) tp.permute_head_dim = p.head_dim;
      check_proj(ck, tp);
      add(tp);
    }
  }
}

}  // namespace tern::convert
