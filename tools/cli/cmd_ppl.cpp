// tern ppl: perplexity over a text file, like llama-perplexity; --kl-base adds the KL
// divergence against another model of the same vocabulary.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/common.h"
#include "core/error.h"
#include "core/timer.h"
#include "engine/perplexity.h"
#include "tokenizer/tokenizer.h"

namespace tern::cli {

RunFn add_ppl(CLI::App& app) {
  auto* cmd = app.add_subcommand("ppl", "Perplexity of a model over a text file");
  struct Args {
    ModelFlags mf;
    std::string file, kl_base;
    int64_t ctx = 0, max_chunks = 0;
  };
  auto a = std::make_shared<Args>();
  a->mf.add(*cmd);
  cmd->add_option("-f,--file", a->file, "Text file")->required();
  cmd->add_option("-c,--ctx-size", a->ctx, "Tokens per chunk (default: 512, or the model's context if smaller)")->check(CLI::Range(0, 1 << 20));
  cmd->add_option("--chunks", a->max_chunks, "Score at most this many chunks (0: all)")->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--kl-base", a->kl_base, "Base model: also report KL divergence and top-1 agreement against it");
  return [a]() {
    std::ifstream in(a->file, std::ios::binary);
    if (!in) fail(a->file, ": cannot read the text file");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    const double t0 = now_seconds();
    auto model = a->mf.load();
    auto tok = Tokenizer::from_gguf(model->file());
    std::unique_ptr<Model> base_model;
    if (!a->kl_base.empty()) {
      ModelFlags bf = a->mf;
      bf.model = a->kl_base;
      base_model = bf.load();
    }
    if (a->ctx == 0) a->ctx = std::min<int64_t>(512, model->config().n_ctx_train);
    std::vector<int32_t> ids = tok->encode(text, false, false);
    const int32_t bos = tok->add_bos_default() ? tok->bos() : -1;
    const int64_t body = bos >= 0 ? a->ctx - 1 : a->ctx;
    if (a->max_chunks > 0 && static_cast<int64_t>(ids.size()) > a->max_chunks * body) {
      ids.resize(static_cast<size_t>(a->max_chunks * body));
    }
    Session s(*model, a->ctx, a->mf.resolved_threads(), a->mf.kv_type());
    std::unique_ptr<Session> bs;
    if (base_model) bs = std::make_unique<Session>(*base_model, a->ctx, a->mf.resolved_threads());
    std::fprintf(stderr, "tern: %zu tokens, %lld chunks of %lld, loaded in %.2f s\n", ids.size(),
                 static_cast<long long>(static_cast<int64_t>(ids.size()) / body), static_cast<long long>(a->ctx),
                 now_seconds() - t0);
    const double t1 = now_seconds();
    PerplexityResult r = perplexity(s, bs.get(), ids, bos, a->ctx, [](const PerplexityResult& p) {
      std::fprintf(stderr, "[%lld]%.4g ", static_cast<long long>(p.n_chunks), p.ppl());
      std::fflush(stderr);
    });
    std::fprintf(stderr, "\n");
    std::printf("PPL = %.4f +/- %.4f over %lld tokens (%lld chunks of %lld, %.1f s)\n", r.ppl(), r.ppl_err(),
                static_cast<long long>(r.n_scored), static_cast<long long>(r.n_chunks), static_cast<long long>(a->ctx),
                now_seconds() - t1);
    if (r.has_kl) {
      std::printf("KL(base || model) = %.6f mean over %lld tokens; top-1 agreement %.2f%%\n", r.kl_mean(),
                  static_cast<long long>(r.n_scored), 100.0 * static_cast<double>(r.top1_agree) / static_cast<double>(r.n_scored));
    }
    return 0;
  };
}

}  // namespace tern::cli
