// tern run: generate text, with run_inference.py's flags (-m -p -n -t -c -temp -cnv).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/common.h"
#include "core/error.h"
#include "core/timer.h"
#include "engine/session.h"
#include "kernels/table.h"
#include "tokenizer/chat.h"
#include "tokenizer/tokenizer.h"

namespace tern::cli {
namespace {

std::atomic<bool> g_interrupted{false};

void on_sigint(int) { g_interrupted.store(true); }

struct RunArgs {
  ModelFlags mf;
  std::string prompt, prompt_file, system, chat_template;
  int32_t n_predict = 128;
  int64_t ctx = 0, batch = 512;
  SamplingParams sp;
  std::vector<std::string> stop;
  bool cnv = false, ignore_eos = false, no_display_prompt = false, verbose = false;
};

void print_timings(double load_s, const GenerateResult& r) {
  std::fprintf(stderr, "\n\ntern: load %.2f s | prompt %lld tokens, %.1f tok/s | generation %lld tokens, %.1f tok/s\n",
               load_s, static_cast<long long>(r.n_prompt),
               r.prompt_s > 0 ? static_cast<double>(r.n_prompt) / r.prompt_s : 0.0,
               static_cast<long long>(r.n_gen), r.gen_s > 0 ? static_cast<double>(r.n_gen) / r.gen_s : 0.0);
}

// Tokens of `text` that extend what the session already holds: the session keeps the longest
// common prefix, so each chat turn only evaluates its new tokens.
std::vector<int32_t> sync_session(Session& s, const std::vector<int32_t>& full) {
  const auto& h = s.history();
  size_t common = 0;
  while (common < h.size() && common < full.size() && h[common] == full[common]) ++common;
  if (common == full.size() && common > 0) --common;  // always evaluate at least one token
  s.truncate(static_cast<int64_t>(common));
  return std::vector<int32_t>(full.begin() + static_cast<long>(common), full.end());
}

int run_chat(const RunArgs& a, Session& s, const Tokenizer& tok, double load_s) {
  const ChatFormat fmt = resolve_chat_format(tok, a.chat_template);
  const std::string eos_text = tok.eos() >= 0 ? tok.token_text(tok.eos()) : std::string();
  std::vector<ChatMessage> msgs;
  if (!a.system.empty()) msgs.push_back({"system", a.system});
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: Ctrl-C at the prompt ends the read
  sigaction(SIGINT, &sa, nullptr);
  const bool tty = isatty(STDIN_FILENO);
  std::string first = a.prompt;
  std::fprintf(stderr, "tern: chat with %s (template %s). Ctrl-C stops an answer; Ctrl-D or Ctrl-C at the prompt exits.\n",
               s.model().config().name.c_str(), std::string(chat_format_name(fmt)).c_str());
  for (;;) {
    std::string user;
    if (!first.empty()) {
      user.swap(first);
      if (tty) std::printf("> %s\n", user.c_str());
    } else {
      if (tty) {
        std::printf("> ");
        std::fflush(stdout);
      }
      g_interrupted.store(false);
      if (!std::getline(std::cin, user)) break;  // end of input or Ctrl-C
    }
    if (user.empty()) continue;
    msgs.push_back({"user", user});
    const std::string text = format_chat(fmt, msgs, true, eos_text);
    const std::vector<int32_t> full = tok.encode(text, tok.add_bos_default(), true);
    if (static_cast<int64_t>(full.size()) >= s.n_ctx()) {
      std::fprintf(stderr, "tern: the conversation (%zu tokens) no longer fits the context of %lld; start again with a larger -c\n",
                   full.size(), static_cast<long long>(s.n_ctx()));
      return 1;
    }
    const std::vector<int32_t> fresh = sync_session(s, full);
    GenerateParams gp;
    gp.n_predict = a.n_predict;
    gp.n_batch = a.batch;
    gp.sampling = a.sp;
    gp.stop = a.stop;
    g_interrupted.store(false);
    GenerateResult r = generate(s, tok, fresh, gp, [](const std::string& t) {
      std::fwrite(t.data(), 1, t.size(), stdout);
      std::fflush(stdout);
      return !g_interrupted.load();
    });
    std::printf("\n");
    if (r.stop_reason == "cancelled") std::fprintf(stderr, "tern: [answer stopped]\n");
    if (a.verbose) print_timings(load_s, r);
    msgs.push_back({"assistant", r.text});
  }
  std::printf("\n");
  return 0;
}

}  // namespace

RunFn add_run(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Generate text from a prompt, or chat with -cnv");
  auto a = std::make_shared<RunArgs>();
  a->mf.add(*cmd);
  cmd->add_option("-p,--prompt", a->prompt, "Prompt text");
  cmd->add_option("-f,--file", a->prompt_file, "Read the prompt from a file");
  cmd->add_option("-n,--n-predict", a->n_predict, "Tokens to generate (-1: until end of text)")->check(CLI::Range(-1, 1 << 30));
  cmd->add_option("-c,--ctx-size", a->ctx, "Context size in tokens (default: the model's, at most 4096)")->check(CLI::Range(0, 1 << 24));
  cmd->add_option("-b,--batch-size", a->batch, "Prompt tokens per forward pass")->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--temp,--temperature", a->sp.temperature, "Sampling temperature (0: greedy)");
  cmd->add_option("--top-k", a->sp.top_k, "Top-k (0: off)");
  cmd->add_option("--top-p", a->sp.top_p, "Top-p (1: off)");
  cmd->add_option("--min-p", a->sp.min_p, "Min-p (0: off)");
  cmd->add_option("--repeat-penalty", a->sp.repeat_penalty, "Repetition penalty (1: off)");
  cmd->add_option("--repeat-last-n", a->sp.repeat_last_n, "Tokens the penalties look back over");
  cmd->add_option("--presence-penalty", a->sp.presence_penalty, "Presence penalty");
  cmd->add_option("--frequency-penalty", a->sp.frequency_penalty, "Frequency penalty");
  cmd->add_option("-s,--seed", a->sp.seed, "Random seed (default: random)");
  cmd->add_option("--stop", a->stop, "Stop when this text is generated (repeatable)");
  cmd->add_flag("--cnv,--conversation", a->cnv, "Interactive chat using the model's chat template");
  cmd->add_option("--sys,--system", a->system, "System prompt for chat");
  cmd->add_option("--chat-template", a->chat_template, "Chat template by name: bitnet, llama3, chatml, falcon3");
  cmd->add_flag("--ignore-eos", a->ignore_eos, "Keep generating past end-of-text");
  cmd->add_flag("--no-display-prompt", a->no_display_prompt, "Do not echo the prompt");
  cmd->add_flag("-v,--verbose", a->verbose, "Print model and kernel details");
  return [a]() {
    a->sp.validate();
    if (!a->prompt_file.empty()) {
      std::ifstream in(a->prompt_file, std::ios::binary);
      if (!in) fail(a->prompt_file, ": cannot read the prompt file");
      std::stringstream ss;
      ss << in.rdbuf();
      a->prompt = ss.str();
    }
    if (a->prompt.empty() && !a->cnv) fail("tern run: give a prompt with -p TEXT (or -f FILE), or chat with -cnv");
    const double t0 = now_seconds();
    auto model = a->mf.load();
    auto tok = Tokenizer::from_gguf(model->file());
    Session s(*model, a->ctx, a->mf.resolved_threads(), a->mf.kv_type());
    const double load_s = now_seconds() - t0;
    if (a->verbose) {
      std::fprintf(stderr, "tern: %s | %s | %lld layers | %.0f MiB of weights | kernels %s | %d threads | ctx %lld\n",
                   model->config().name.c_str(), model->describe_types().c_str(), static_cast<long long>(model->config().n_layer),
                   static_cast<double>(model->weight_bytes()) / (1 << 20), kernels().isa, s.pool().n_threads(),
                   static_cast<long long>(s.n_ctx()));
    }
    if (a->cnv) return run_chat(*a, s, *tok, load_s);

    const std::vector<int32_t> ids = tok->encode(a->prompt, tok->add_bos_default(), true);
    if (static_cast<int64_t>(ids.size()) >= s.n_ctx()) {
      fail("the prompt has ", ids.size(), " tokens but the context holds ", s.n_ctx(), "; raise -c or shorten the prompt");
    }
    if (!a->no_display_prompt) {
      std::fwrite(a->prompt.data(), 1, a->prompt.size(), stdout);
      std::fflush(stdout);
    }
    GenerateParams gp;
    gp.n_predict = a->n_predict;
    gp.n_batch = a->batch;
    gp.sampling = a->sp;
    gp.stop = a->stop;
    gp.ignore_eos = a->ignore_eos;
    GenerateResult r = generate(s, *tok, ids, gp, [](const std::string& t) {
      std::fwrite(t.data(), 1, t.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::fflush(stdout);
    print_timings(load_s, r);
    return 0;
  };
}

}  // namespace tern::cli
