// tern tokenize: ids and pieces of a text, from any GGUF with a vocabulary (model or vocab-only).
#include <cstdio>

#include "cli/common.h"
#include "core/error.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace tern::cli {

RunFn add_tokenize(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Print the token ids and pieces of a text");
  struct Args {
    std::string model, prompt;
    bool ids_only = false, no_bos = false, no_special = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("-m,--model", a->model, "GGUF file with a vocabulary (a model or a vocab-only file)")->required();
  cmd->add_option("-p,--prompt", a->prompt, "Text to tokenize")->required();
  cmd->add_flag("--ids", a->ids_only, "Print only the ids, comma-separated");
  cmd->add_flag("--no-bos", a->no_bos, "Do not add the BOS token");
  cmd->add_flag("--no-special", a->no_special, "Treat special-token text as plain text");
  return [a]() {
    auto f = gguf::File::open(a->model);
    auto tok = Tokenizer::from_gguf(*f);
    const auto ids = tok->encode(a->prompt, !a->no_bos && tok->add_bos_default(), !a->no_special);
    if (a->ids_only) {
      for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? ",%d" : "%d", ids[i]);
      std::printf("\n");
      return 0;
    }
    for (int32_t id : ids) {
      std::string piece = tok->token_to_piece(id, true);
      std::string shown;
      for (unsigned char c : piece) {
        if (c == '\n') shown += "\\n";
        else if (c == '\t') shown += "\\t";
        else if (c == '\'') shown += "\\'";
        else if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          shown += buf;
        } else shown += static_cast<char>(c);
      }
      std::printf("%6d -> '%s'\n", id, shown.c_str());
    }
    std::printf("%zu tokens\n", ids.size());
    return 0;
  };
}

}  // namespace tern::cli
