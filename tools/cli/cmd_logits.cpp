// tern logits: logits of every position as text, one line per position, for golden tests and
// for diffing engines.
#include <cstdio>
#include <fstream>

#include "cli/common.h"
#include "core/error.h"
#include "engine/session.h"
#include "tokenizer/tokenizer.h"

namespace tern::cli {

RunFn add_logits(CLI::App& app) {
  auto* cmd = app.add_subcommand("logits", "Print the logits of every position (one line each)");
  struct Args {
    ModelFlags mf;
    std::string tokens, prompt, out;
    bool batch = false;
    int64_t ctx = 0;
  };
  auto a = std::make_shared<Args>();
  a->mf.add(*cmd);
  cmd->add_option("--tokens", a->tokens, "Comma-separated token ids");
  cmd->add_option("-p,--prompt", a->prompt, "Text to tokenize instead of --tokens");
  cmd->add_flag("--batch", a->batch, "Evaluate all tokens in one batch (default: one token at a time)");
  cmd->add_option("-o,--out", a->out, "Write to this file instead of stdout");
  cmd->add_option("-c,--ctx-size", a->ctx, "Context size (default: number of tokens)");
  return [a]() {
    if (a->tokens.empty() == a->prompt.empty()) fail("tern logits: give exactly one of --tokens or -p");
    auto model = a->mf.load();
    std::vector<int32_t> ids;
    if (!a->tokens.empty()) {
      ids = parse_int_list(a->tokens, "--tokens");
    } else {
      auto tok = Tokenizer::from_gguf(model->file());
      ids = tok->encode(a->prompt, tok->add_bos_default(), true);
    }
    const int64_t n_vocab = model->config().n_vocab;
    for (int32_t id : ids) {
      if (id < 0 || id >= n_vocab) fail("--tokens: id ", id, " is outside the vocabulary (0..", n_vocab - 1, ")");
    }
    Session s(*model, a->ctx > 0 ? a->ctx : static_cast<int64_t>(ids.size()), a->mf.resolved_threads(), a->mf.kv_type());
    std::vector<float> logits;
    if (a->batch) {
      logits = s.eval_all(ids);
    } else {
      for (int32_t id : ids) {
        const auto& l = s.eval({id});
        logits.insert(logits.end(), l.begin(), l.end());
      }
    }
    FILE* f = a->out.empty() ? stdout : std::fopen(a->out.c_str(), "w");
    if (!f) fail(a->out, ": cannot open for writing");
    for (size_t t = 0; t < ids.size(); ++t) {
      const float* row = logits.data() + t * static_cast<size_t>(n_vocab);
      for (int64_t v = 0; v < n_vocab; ++v) std::fprintf(f, v ? " %.9g" : "%.9g", static_cast<double>(row[v]));
      std::fputc('\n', f);
    }
    if (f != stdout && std::fclose(f) != 0) fail(a->out, ": write failed");
    return 0;
  };
}

}  // namespace tern::cli
