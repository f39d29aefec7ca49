// tern info FILE: metadata and tensor table of any GGUF file.
#include <cstdio>
#include <map>

#include "cli/common.h"
#include "core/error.h"
#include "gguf/gguf.h"
#include "model/config.h"

namespace tern::cli {

RunFn add_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "Print a GGUF file's metadata and tensor table");
  auto path = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  cmd->add_option("file", *path, "GGUF file")->required();
  cmd->add_flag("--all", *all, "Show every array item and every tensor");
  return [path, all]() {
    auto f = gguf::File::open(*path);
    std::printf("file: %s\n", f->path().c_str());
    std::printf("gguf version: %u, alignment: %llu, %zu metadata keys, %zu tensors, %.1f MiB\n",
                f->version(), static_cast<unsigned long long>(f->alignment()), f->metadata().size(),
                f->tensors().size(), static_cast<double>(f->file_size()) / (1 << 20));
    std::printf("\nmetadata:\n");
    for (const auto& [key, value] : f->metadata()) {
      std::printf("  %-48s %-8s %s\n", key.c_str(),
                  std::string(gguf::value_type_name(value.is_array() ? value.elem_type : value.type)).c_str(),
                  value.to_display(*all ? SIZE_MAX : 8).c_str());
    }
    if (f->tensors().empty()) {
      std::printf("\n(no tensors: a vocabulary-only file)\n");
      return 0;
    }
    std::map<std::string, std::pair<int, uint64_t>> by_type;
    uint64_t n_params = 0;
    for (const auto& t : f->tensors()) {
      auto& e = by_type[std::string(ggml_type_name(t.type))];
      e.first += 1;
      e.second += t.nbytes;
      n_params += static_cast<uint64_t>(t.n_elements());
    }
    std::printf("\ntensors: %.3f B parameters\n", static_cast<double>(n_params) / 1e9);
    for (const auto& [type, e] : by_type) {
      std::printf("  %-8s %5d tensors %10.1f MiB\n", type.c_str(), e.first, static_cast<double>(e.second) / (1 << 20));
    }
    std::printf("\n  %-40s %-7s %-22s %12s %12s\n", "name", "type", "shape (ne0 x ne1 ...)", "bytes", "offset");
    size_t shown = 0;
    for (const auto& t : f->tensors()) {
      if (!*all && shown >= 40 && f->tensors().size() > 48) {
        std::printf("  ... %zu more (use --all)\n", f->tensors().size() - shown);
        break;
      }
      std::printf("  %-40s %-7s %-22s %12llu %12llu\n", t.name.c_str(), std::string(ggml_type_name(t.type)).c_str(),
                  t.shape_str().c_str(), static_cast<unsigned long long>(t.nbytes),
                  static_cast<unsigned long long>(t.offset));
      ++shown;
    }
    if (f->has("general.architecture")) {
      const std::string arch = f->get_string("general.architecture");
      if (is_supported_architecture(arch)) {
        const ModelConfig c = read_model_config(*f, std::nullopt);
        std::printf("\nmodel: %s, %lld layers, n_embd %lld, n_ff %lld, heads %lld/%lld (head_dim %lld), vocab %lld, "
                    "context %lld, rope theta %g, ffn %s (%s)\n",
                    c.arch.c_str(), static_cast<long long>(c.n_layer), static_cast<long long>(c.n_embd),
                    static_cast<long long>(c.n_ff), static_cast<long long>(c.n_head),
                    static_cast<long long>(c.n_head_kv), static_cast<long long>(c.head_dim),
                    static_cast<long long>(c.n_vocab), static_cast<long long>(c.n_ctx_train),
                    static_cast<double>(c.rope_theta), ffn_activation_name(c.act), c.act_source.c_str());
      } else {
        std::printf("\narchitecture '%s': tern cannot run it (supported: %s)\n", arch.c_str(), supported_architectures());
      }
    }
    return 0;
  };
}

}  // namespace tern::cli
