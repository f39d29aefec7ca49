// tern serve: the OpenAI-compatible HTTP server.
#include <fstream>
#include <sstream>

#include "cli/common.h"
#include "core/error.h"
#include "kernels/table.h"
#include "server/server.h"

namespace tern::cli {

RunFn add_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server with continuous batching");
  struct Args {
    ModelFlags mf;
    ServerOptions so;
    std::string api_key_file;
  };
  auto a = std::make_shared<Args>();
  a->mf.add(*cmd);
  cmd->add_option("--host", a->so.host, "Address to listen on");
  cmd->add_option("--port", a->so.port, "Port")->check(CLI::Range(0, 65535));
  cmd->add_option("--np,--parallel", a->so.n_slots, "Slots: requests decoded together")->check(CLI::Range(1, 256));
  cmd->add_option("-c,--ctx-size", a->so.n_ctx, "Total context, split among slots")->check(CLI::Range(16, 1 << 24));
  cmd->add_option("--api-key", a->so.api_key, "Require 'Authorization: Bearer KEY'");
  cmd->add_option("--api-key-file", a->api_key_file, "Read the API key from a file");
  cmd->add_option("--alias", a->so.alias, "Model id in /v1/models (default: the file name)");
  cmd->add_option("--chat-template", a->so.chat_template, "Chat template by name: bitnet, llama3, chatml, falcon3");
  cmd->add_option("--queue", a->so.max_queue, "Requests that may wait for a slot before 503")->check(CLI::Range(0, 100000));
  cmd->add_option("--max-body", a->so.max_body, "Largest request body in bytes")->check(CLI::Range(1024, 1 << 30));
  return [a]() {
    if (!a->api_key_file.empty()) {
      std::ifstream in(a->api_key_file);
      if (!in) fail(a->api_key_file, ": cannot read the API key file");
      std::getline(in, a->so.api_key);
      while (!a->so.api_key.empty() && (a->so.api_key.back() == '\r' || a->so.api_key.back() == ' ')) a->so.api_key.pop_back();
      if (a->so.api_key.empty()) fail(a->api_key_file, ": the API key file is empty");
    }
    ServerOptions so = a->so;
    so.model_path = a->mf.model.empty() ? default_model_path() : a->mf.model;
    if (so.model_path.empty()) fail("no model given: pass -m FILE.gguf");
    so.n_threads = a->mf.resolved_threads();
    so.kv_type = a->mf.kv_type();
    if (!a->mf.isa.empty()) set_kernel_isa(a->mf.isa);
    so.load = a->mf.load_options();
    so.load.n_threads = so.n_threads;
    return run_server(so);
  };
}

}  // namespace tern::cli
