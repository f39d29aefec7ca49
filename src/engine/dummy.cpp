#include "engine/dummy.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/fp16.h"
#include "formats/formats.h"
#include "gguf/gguf.h"
#include "model/names.h"
#include "tokenizer/tokenizer.h"

namespace tern {
namespace {

constexpr FfnActivation kRelu2 = FfnActivation::kReluSqr;
constexpr FfnActivation kSilu = FfnActivation::kSilu;

// Shapes: 2B-4T from its config.json; 125M..100B from bitnet.cpp's
// utils/generate-dummy-bitnet-model.py (LLaMA-2 vocab 32002 of bitnet_b1_58-large, as that
// script copies it); 700M and 3B are 1bitLLM/bitnet_b1_58-large and -3B; 8B is
// HF1BitLLM/Llama3-8B-1.58.
const std::vector<DummyLayout> kLayouts = {
    {"tiny", 256, 512, 2, 4, 2, 512, 512, 500000.0f, kRelu2, true, "tern test layout"},
    {"2B-4T", 2560, 6912, 30, 20, 5, 128256, 4096, 500000.0f, kRelu2, true, "microsoft/bitnet-b1.58-2B-4T"},
    {"125M", 768, 3072, 11, 12, 12, 32002, 2048, 10000.0f, kSilu, true, "bitnet.cpp dummy 125M"},
    {"350M", 1024, 3072, 24, 16, 16, 32002, 2048, 10000.0f, kSilu, true, "bitnet.cpp dummy 350M"},
    {"700M", 1536, 4096, 24, 16, 16, 32002, 2048, 10000.0f, kSilu, true, "1bitLLM/bitnet_b1_58-large"},
    {"1B", 2048, 3584, 24, 32, 32, 32002, 2048, 10000.0f, kSilu, true, "bitnet.cpp dummy 1B"},
    {"1.5B", 1536, 9216, 28, 32, 32, 32002, 2048, 10000.0f, kSilu, true, "bitnet.cpp dummy 1.5B"},
    {"2.7B", 3072, 7680, 24, 32, 32, 32002, 2048, 10000.0f, kSilu, true, "bitnet.cpp dummy 2.7B"},
    {"3B", 3200, 8640, 26, 32, 32, 32002, 2048, 10000.0f, kSilu, true, "1bitLLM/bitnet_b1_58-3B"},
    {"3.8B", 3840, 8192, 24, 32, 32, 32002, 2048, 10000.0f, kSilu, true, "bitnet.cpp dummy 3.8B"},
    {"7B", 4096, 12032, 32, 32, 32, 32002, 2048, 10000.0f, kSilu, true, "bitnet.cpp dummy 7B"},
    {"8B", 4096, 14336, 32, 32, 8, 128256, 8192, 500000.0f, kSilu, false, "HF1BitLLM/Llama3-8B-1.58"},
    {"13B", 5120, 13824, 40, 40, 40, 32002, 2048, 10000.0f, kSilu, true, "bitnet.cpp dummy 13B"},
    {"30B", 6656, 16384, 60, 52, 52, 32002, 2048, 10000.0f, kSilu, true, "bitnet.cpp dummy 30B"},
    {"70B", 8192, 24576, 80, 64, 64, 32002, 2048, 10000.0f, kSilu, true, "bitnet.cpp dummy 70B"},
    {"100B", 8192, 45568, 72, 64, 64, 32002, 2048, 10000.0f, kSilu, true, "bitnet.cpp dummy 100B"},
};

// splitmix64: fast, seedable, good enough for random weights.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Roughly normal (Irwin-Hall of 4 uniforms), mean 0, std 1.
  float normal() {
    const uint64_t r = next();
    float sum = 0.0f;
    for (int i = 0; i < 4; ++i) sum += static_cast<float>((r >> (16 * i)) & 0xffff) / 65535.0f;
    return (sum - 2.0f) * 1.7320508f;
  }
};

uint64_t mix(uint64_t seed, uint64_t salt) { return Rng{seed * 0x2545F4914F6CDD1Dull ^ salt}.next(); }

bool iequal(const std::string& a, const char* b) {
  if (a.size() != std::strlen(b)) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

const std::vector<DummyLayout>& dummy_layouts() { return kLayouts; }

const DummyLayout* find_dummy_layout(const std::string& name) {
  for (const auto& l : kLayouts) {
    if (iequal(name, l.name)) return &l;
  }
  return nullptr;
}

void write_dummy_model(const std::string& path, const DummyOptions& opt) {
  const DummyLayout* lp = find_dummy_layout(opt.layout);
  if (!lp) {
    std::string names;
    for (const auto& l : kLayouts) names += std::string(names.empty() ? "" : ", ") + l.name;
    fail("--layout ", opt.layout, ": unknown layout (known: ", names, ")");
  }
  DummyLayout L = *lp;
  if (opt.n_layer > 0) L.n_layer = opt.n_layer;
  if (opt.n_vocab > 0) L.n_vocab = opt.n_vocab;
  if (L.n_vocab < 300) fail("--vocab ", L.n_vocab, " is too small (at least 300)");
  const GgmlType t = opt.type;
  const bool ternary = formats::is_ternary(t);
  if (!ternary && t != GgmlType::F16 && t != GgmlType::F32 && t != GgmlType::BF16) {
    fail("--type ", ggml_type_name(t), ": dummy projections can be i2_s, tq1_0, tq2_0, f16, bf16 or f32");
  }
  if (!formats::can_quantize(opt.embd_type) || formats::is_ternary(opt.embd_type)) {
    fail("--embd-type ", ggml_type_name(opt.embd_type), ": not a type for the embedding (use f16, f32, bf16, q8_0, q6_k, q4_k, q4_0)");
  }
  const int64_t hd = L.n_embd / L.n_head;
  const int64_t qd = L.n_embd, kvd = L.n_head_kv * hd;

  gguf::Writer w;
  const std::string arch = "bitnet-b1.58";
  const std::string p = arch + ".";
  w.set_string(keys::kArch, arch);
  w.set_string(keys::kName, std::string("tern dummy ") + L.name);
  w.set_u32(keys::kFileType, gguf_file_type_for(t));
  w.set_u32(p + "vocab_size", static_cast<uint32_t>(L.n_vocab));
  w.set_u32(p + "context_length", static_cast<uint32_t>(L.n_ctx));
  w.set_u32(p + "embedding_length", static_cast<uint32_t>(L.n_embd));
  w.set_u32(p + "block_count", static_cast<uint32_t>(L.n_layer));
  w.set_u32(p + "feed_forward_length", static_cast<uint32_t>(L.n_ff));
  w.set_u32(p + "rope.dimension_count", static_cast<uint32_t>(hd));
  w.set_u32(p + "attention.head_count", static_cast<uint32_t>(L.n_head));
  w.set_u32(p + "attention.head_count_kv", static_cast<uint32_t>(L.n_head_kv));
  w.set_f32(p + "attention.layer_norm_rms_epsilon", 1e-5f);
  w.set_f32(p + "rope.freq_base", L.rope_theta);
  w.set_string(keys::kFfnActivation, ffn_activation_name(L.act));
  write_synthetic_vocab(w, static_cast<int32_t>(L.n_vocab));

  uint64_t salt = 0;
  auto add_norm = [&](const std::string& name, int64_t n) {
    const uint64_t s = mix(opt.seed, ++salt);
    w.add_tensor(name, GgmlType::F32, {n}, [n, s](uint8_t* dst) {
      Rng r{s};
      for (int64_t i = 0; i < n; ++i) {
        const float v = 1.0f + 0.1f * r.normal();
        std::memcpy(dst + 4 * i, &v, 4);
      }
    });
  };
  auto add_proj = [&](const std::string& name, int64_t cols, int64_t rows) {
    const uint64_t s = mix(opt.seed, ++salt);
    // Scale like trained BitNet layers: keeps activations O(1) through the stack.
    const float scale = std::round(1.0f / std::sqrt(static_cast<float>(cols)) * 4096.0f) / 4096.0f;
    // Rows that are not a multiple of the type's block (3B: 3200 / 8640) are stored zero-padded,
    // exactly as tern convert does; the loader takes the true width from the hyper-parameters.
    const int64_t pcols = formats::padded_row_length(t, cols);
    w.add_tensor(name, t, {pcols, rows}, [=](uint8_t* dst) {
      Rng r{s};
      const int64_t n = cols * rows;
      std::vector<int8_t> trits(static_cast<size_t>(pcols * rows), 0);
      for (int64_t i = 0; i < n; i += 32) {
        uint64_t bits = r.next();
        for (int64_t j = i; j < std::min(n, i + 32); ++j, bits >>= 2) {
          const int c = static_cast<int>(bits & 3);  // 0,1 -> -1,+1 ; 2,3 -> 0 (half zeros)
          trits[static_cast<size_t>(j / cols * pcols + j % cols)] = static_cast<int8_t>(c == 0 ? -1 : c == 1 ? 1 : 0);
        }
      }
      std::vector<uint8_t> bytes;
      if (ternary) {
        bytes = formats::pack_ternary(t, trits.data(), rows, pcols, scale);
      } else {
        std::vector<float> f(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) f[static_cast<size_t>(i)] = trits[static_cast<size_t>(i)] * scale;
        bytes = formats::quantize_tensor(t, f.data(), rows, cols);
      }
      std::memcpy(dst, bytes.data(), bytes.size());
    });
  };

  {
    const uint64_t s = mix(opt.seed, ++salt);
    const int64_t V = L.n_vocab, D = L.n_embd;
    const GgmlType et = opt.embd_type;
    w.add_tensor(tensors::kTokenEmbd, et, {D, V}, [=](uint8_t* dst) {
      // Generated in row chunks so a 128k x 2560 embedding never needs a full f32 copy.
      const int64_t chunk = 1024;
      const uint64_t row_bytes = *ggml_tensor_nbytes(et, static_cast<uint64_t>(D), static_cast<uint64_t>(D));
      Rng r{s};
      std::vector<float> f(static_cast<size_t>(chunk * D));
      for (int64_t r0 = 0; r0 < V; r0 += chunk) {
        const int64_t nr = std::min(chunk, V - r0);
        for (int64_t i = 0; i < nr * D; ++i) f[static_cast<size_t>(i)] = 0.5f * r.normal();
        const std::vector<uint8_t> b = formats::quantize_tensor(et, f.data(), nr, D);
        std::memcpy(dst + static_cast<uint64_t>(r0) * row_bytes, b.data(), b.size());
      }
    });
  }
  add_norm(tensors::kOutputNorm, L.n_embd);
  for (int64_t l = 0; l < L.n_layer; ++l) {
    using namespace tensors;
    add_norm(layer_tensor(l, kAttnNorm), L.n_embd);
    if (L.sub_norms) add_norm(layer_tensor(l, kAttnSubNorm), qd);
    add_norm(layer_tensor(l, kFfnNorm), L.n_embd);
    if (L.sub_norms) add_norm(layer_tensor(l, kFfnSubNorm), L.n_ff);
    add_proj(layer_tensor(l, kQ), L.n_embd, qd);
    add_proj(layer_tensor(l, kK), L.n_embd, kvd);
    add_proj(layer_tensor(l, kV), L.n_embd, kvd);
    add_proj(layer_tensor(l, kO), qd, L.n_embd);
    add_proj(layer_tensor(l, kGate), L.n_embd, L.n_ff);
    add_proj(layer_tensor(l, kUp), L.n_embd, L.n_ff);
    add_proj(layer_tensor(l, kDown), L.n_ff, L.n_embd);
  }
  w.write(path, opt.progress);
}

}  // namespace tern
