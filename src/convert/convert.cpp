#include "convert/convert.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "convert/arch.h"
#include "convert/hf_tokenizer.h"
#include "convert/json_errors.h"
#include "convert/plan.h"
#include "convert/safetensors.h"
#include "core/error.h"
#include "formats/formats.h"
#include "gguf/gguf.h"
#include "model/names.h"

namespace tern::convert {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool is_valid_outtype(GgmlType t) {
  return t == GgmlType::I2_S || t == GgmlType::TQ1_0 || t == GgmlType::TQ2_0 || t == GgmlType::F16 ||
         t == GgmlType::BF16 || t == GgmlType::F32;
}

uint32_t file_type_for(GgmlType t) { return gguf_file_type_for(t); }

int64_t padded_cols(GgmlType t, int64_t cols) { return formats::padded_row_length(t, cols); }

void decode_projection(const Checkpoint& ck, const TensorPlan& tp, std::vector<int8_t>& trits, float& scale) {
  const StTensor& t = ck.get(tp.hf);
  const int64_t rows = tp.rows, cols = tp.cols;
  trits.assign(static_cast<size_t>(rows * cols), 0);
  if (tp.source == ProjSource::kMaster) {
    // Absmean ternarization (transformers integrations/bitnet.py WeightQuant, 1bitLLM
    // weight_quant): m = max(mean|W|, 1e-5) over the whole tensor; t = clamp(round(W * (1/m)),
    // -1, 1) with round-half-even like torch.round; the output is multiplied by m.
    const std::vector<float> w = st_to_f32(t);
    double sum = 0.0;
    for (float v : w) {
      if (!std::isfinite(v)) fail(*t.file, ": tensor ", tp.hf, " holds a non-finite value");
      sum += std::fabs(static_cast<double>(v));
    }
    const float m = std::fmax(static_cast<float>(sum / static_cast<double>(w.size())), 1e-5f);
    const float inv = 1.0f / m;
    for (size_t i = 0; i < w.size(); ++i) {
      const float q = std::nearbyint(w[i] * inv);
      trits[i] = static_cast<int8_t>(q > 1.0f ? 1 : q < -1.0f ? -1 : q);
    }
    scale = m;
    return;
  }
  // Packed (transformers integrations/bitnet.py pack_weights): uint8 [rows/4, cols]; bits
  // 2i..2i+1 of byte (r, c) hold code t+1 of row i*rows/4 + r, column c.
  const int64_t q = rows / 4;
  const uint8_t* src = t.data;
  for (int64_t r = 0; r < q; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const uint8_t b = src[r * cols + c];
      for (int i = 0; i < 4; ++i) {
        const int code = (b >> (2 * i)) & 3;
        if (code == 3) {
          fail(*t.file, ": tensor ", tp.hf, " byte (", r, ", ", c, ") holds code 3, which is not a ternary value: "
               "the checkpoint is damaged or not BitNet-packed");
        }
        trits[static_cast<size_t>((i * q + r) * cols + c)] = static_cast<int8_t>(code - 1);
      }
    }
  }
  const float ws = st_scalar(ck.get(tp.hf_scale));
  if (!std::isfinite(ws) || !(ws > 0.0f)) fail(*t.file, ": tensor ", tp.hf_scale, " = ", ws, " is not a positive scale");
  scale = tp.source == ProjSource::kPackedMul ? ws : 1.0f / ws;
}

namespace {

// llama.cpp's LlamaModel.permute for q/k: GGUF row h*hd + 2j + s = checkpoint row
// h*hd + s*hd/2 + j.
void permute_rows(std::vector<int8_t>& trits, int64_t rows, int64_t cols, int64_t hd) {
  std::vector<int8_t> out(trits.size());
  for (int64_t g = 0; g < rows; ++g) {
    const int64_t h = g / hd, i = g % hd;
    const int64_t src = h * hd + (i % 2) * (hd / 2) + i / 2;
    std::memcpy(&out[static_cast<size_t>(g * cols)], &trits[static_cast<size_t>(src * cols)], static_cast<size_t>(cols));
  }
  trits.swap(out);
}

void write_projection(const Checkpoint& ck, const TensorPlan& tp, GgmlType type, int64_t pc, uint8_t* dst) {
  std::vector<int8_t> trits;
  float scale = 0.0f;
  decode_projection(ck, tp, trits, scale);
  if (tp.permute_head_dim > 0) permute_rows(trits, tp.rows, tp.cols, tp.permute_head_dim);
  std::vector<uint8_t> bytes;
  if (formats::is_ternary(type)) {
    if (pc != tp.cols) {  // zero-pad every row to the block (docs/CONVERT.md "Padding")
      std::vector<int8_t> padded(static_cast<size_t>(tp.rows * pc), 0);
      for (int64_t r = 0; r < tp.rows; ++r) {
        std::memcpy(&padded[static_cast<size_t>(r * pc)], &trits[static_cast<size_t>(r * tp.cols)],
                    static_cast<size_t>(tp.cols));
      }
      trits.swap(padded);
    }
    bytes = formats::pack_ternary(type, trits.data(), tp.rows, pc, scale);
  } else {
    // Float outtypes hold trit * scale (as bitnet.cpp's and llama.cpp's converters write):
    // exact in f32; f16 / bf16 round the scale.
    std::vector<float> f(trits.size());
    for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(trits[i]) * scale;
    bytes = formats::quantize_tensor(type, f.data(), tp.rows, tp.cols);
  }
  std::memcpy(dst, bytes.data(), bytes.size());
}

void write_matrix(const Checkpoint& ck, const TensorPlan& tp, GgmlType type, uint8_t* dst) {
  const StTensor& t = ck.get(tp.hf);
  const int64_t chunk = 1024;
  const uint64_t row_bytes = formats::tensor_bytes(type, 1, tp.cols);
  // Row chunks, so a 128k x 2560 embedding never needs a full f32 copy.
  std::vector<float> f(static_cast<size_t>(std::min(chunk, tp.rows) * tp.cols));
  for (int64_t r0 = 0; r0 < tp.rows; r0 += chunk) {
    const int64_t nr = std::min(chunk, tp.rows - r0);
    st_to_f32(t, r0 * tp.cols, nr * tp.cols, f.data());
    const float* src = f.data();
    for (int64_t i = 0; i < nr * tp.cols; ++i) {
      if (!std::isfinite(src[i])) fail(*t.file, ": tensor ", tp.hf, " holds a non-finite value");
    }
    const std::vector<uint8_t> b = formats::quantize_tensor(type, src, nr, tp.cols);
    std::memcpy(dst + static_cast<uint64_t>(r0) * row_bytes, b.data(), b.size());
  }
}

std::string dir_name(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

ConvertResult convert_hf_model_impl(const std::string& dir, const std::string& out, const ConvertOptions& opt) {
  if (!fs::is_directory(dir)) fail(dir, ": not a directory (give the Hugging Face model directory)");
  const std::string cfg_path = (fs::path(dir) / "config.json").string();
  if (!fs::exists(cfg_path)) fail(dir, ": no config.json: not a Hugging Face model directory");
  const json cfg = read_json_file(cfg_path, true);
  if (!cfg.is_object()) fail(cfg_path, ": not a JSON object");
  if (!is_valid_outtype(opt.outtype)) {
    fail("--outtype ", ggml_type_name(opt.outtype), ": not a projection type (use i2_s, tq2_0, tq1_0, f16, bf16 or f32)");
  }
  const GgmlType et = opt.embd_type ? *opt.embd_type : (opt.outtype == GgmlType::F32 ? GgmlType::F32 : GgmlType::F16);
  if (!formats::can_quantize(et) || formats::is_ternary(et)) {
    fail("--quant-embd ", ggml_type_name(et), ": not a type for the embedding (use f16, f32, bf16, q8_0, q6_k, q4_k, q4_0)");
  }

  auto ck = Checkpoint::open(dir);
  const HfArchitecture& arch = select_architecture(cfg, cfg_path, *ck);
  ModelPlan plan = arch.plan(cfg, cfg_path, *ck);
  if (!ggml_tensor_nbytes(et, static_cast<uint64_t>(plan.n_embd), static_cast<uint64_t>(plan.n_embd))) {
    fail("--quant-embd ", ggml_type_name(et), ": rows of ", plan.n_embd, " values do not fit its blocks; use f16");
  }

  HfVocabOptions vo;
  vo.n_vocab = plan.n_vocab;
  vo.pre_override = opt.vocab_pre;
  const VocabData vocab = read_hf_vocab(dir, cfg, vo);
  if (static_cast<int64_t>(vocab.tokens.size()) != plan.n_vocab) {
    fail(dir, ": tokenizer has ", vocab.tokens.size(), " tokens, config.json vocab_size is ", plan.n_vocab);
  }

  gguf::Writer w;
  const std::string p = plan.gguf_arch + ".";
  w.set_string(keys::kArch, plan.gguf_arch);
  w.set_string(keys::kName, opt.name.empty() ? dir_name(dir) : opt.name);
  w.set_u32(keys::kFileType, file_type_for(opt.outtype));
  w.set_u32("general.quantization_version", 2);
  w.set_alignment(32);
  w.set_u32(p + "vocab_size", static_cast<uint32_t>(plan.n_vocab));
  w.set_u32(p + "context_length", static_cast<uint32_t>(plan.n_ctx));
  w.set_u32(p + "embedding_length", static_cast<uint32_t>(plan.n_embd));
  w.set_u32(p + "block_count", static_cast<uint32_t>(plan.n_layer));
  w.set_u32(p + "feed_forward_length", static_cast<uint32_t>(plan.n_ff));
  w.set_u32(p + "rope.dimension_count", static_cast<uint32_t>(plan.head_dim));
  w.set_u32(p + "attention.head_count", static_cast<uint32_t>(plan.n_head));
  w.set_u32(p + "attention.head_count_kv", static_cast<uint32_t>(plan.n_head_kv));
  if (plan.head_dim * plan.n_head != plan.n_embd) {
    w.set_u32(p + "attention.key_length", static_cast<uint32_t>(plan.head_dim));
    w.set_u32(p + "attention.value_length", static_cast<uint32_t>(plan.head_dim));
  }
  w.set_f32(p + "attention.layer_norm_rms_epsilon", plan.rms_eps);
  w.set_f32(p + "rope.freq_base", plan.rope_theta);
  w.set_string(keys::kFfnActivation, ffn_activation_name(plan.act));
  write_vocab(w, vocab);

  ConvertResult res;
  res.hf_arch = plan.hf_arch;
  res.gguf_arch = plan.gguf_arch;
  res.detail = plan.detail;
  res.tokenizer = str_cat(vocab.kind, vocab.pre.empty() ? "" : " (" + vocab.pre + ")", ", ", vocab.tokens.size(), " tokens");
  const Checkpoint* ckp = ck.get();
  for (const TensorPlan& tp : plan.tensors) {
    switch (tp.role) {
      case TensorRole::kNorm:
        w.add_tensor(tp.gguf, GgmlType::F32, {tp.cols}, [ckp, tp](uint8_t* dst) {
          const std::vector<float> v = st_to_f32(ckp->get(tp.hf));
          std::memcpy(dst, v.data(), v.size() * 4);
        });
        break;
      case TensorRole::kEmbedding:
      case TensorRole::kHead:
        w.add_tensor(tp.gguf, et, {tp.cols, tp.rows}, [ckp, tp, et](uint8_t* dst) { write_matrix(*ckp, tp, et, dst); });
        break;
      case TensorRole::kProjection: {
        const GgmlType ot = opt.outtype;
        const int64_t pc = formats::is_ternary(ot) ? padded_cols(ot, tp.cols) : tp.cols;
        if (pc != tp.cols) ++res.n_padded;
        w.add_tensor(tp.gguf, ot, {pc, tp.rows}, [ckp, tp, ot, pc](uint8_t* dst) { write_projection(*ckp, tp, ot, pc, dst); });
        break;
      }
    }
    ++res.n_tensors;
  }
  w.write(out, opt.progress);
  return res;
}

}  // namespace

ConvertResult convert_hf_model(const std::string& dir, const std::string& out, const ConvertOptions& opt) {
  // config.json, the shard index and the tokenizer files: a field of an unexpected type anywhere
  // fails as one line naming the checkpoint (json_errors.h), not as nlohmann's exception.
  return json_errors_named(dir, [&] { return convert_hf_model_impl(dir, out, opt); });
}

}  // namespace tern::convert
