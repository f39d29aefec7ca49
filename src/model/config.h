// Hyper-parameters of a BitNet-family model, read from GGUF metadata and validated.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tern::gguf {
class File;
}

namespace tern {

enum class FfnActivation { kReluSqr, kSilu };
const char* ffn_activation_name(FfnActivation a);
// "relu2" | "relu_sqr" | "silu"; nullopt otherwise.
std::optional<FfnActivation> parse_ffn_activation(const std::string& s);

struct ModelConfig {
  std::string arch;  // as in the file: bitnet-b1.58 | bitnet-25 | bitnet
  std::string name;  // general.name, or the file name
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  int64_t n_ff = 0;
  int64_t rope_dim = 0;
  float rope_theta = 10000.0f;
  float rms_eps = 1e-5f;
  FfnActivation act = FfnActivation::kReluSqr;
  std::string act_source;  // where act came from: "metadata", "arch default", "2B-4T shape", "override"

  int64_t q_dim() const { return n_head * head_dim; }
  int64_t kv_dim() const { return n_head_kv * head_dim; }
};

// Architectures this build runs (for error messages).
const char* supported_architectures();
bool is_supported_architecture(const std::string& arch);

// Reads and checks the hyper-parameters. act_override (from --ffn-act) wins over metadata.
ModelConfig read_model_config(const gguf::File& f, std::optional<FfnActivation> act_override);

}  // namespace tern
