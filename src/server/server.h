// `tern serve`: an OpenAI-compatible HTTP server (cpp-httplib) over the continuous-batching
// scheduler. The socket opens first (GET /health answers 503 while the model loads), every
// request body is validated, errors use OpenAI's JSON shape, and SIGTERM drains in-flight
// requests before exiting.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "model/model.h"

namespace tern {

struct ServerOptions {
  std::string model_path;
  std::string alias;          // model id shown in /v1/models (default: file name without .gguf)
  std::string host = "127.0.0.1";
  int port = 8080;            // 0: any free port (tests)
  int n_slots = 4;
  int64_t n_ctx = 4096;       // total context, split among slots
  int n_threads = 1;
  KvType kv_type = KvType::kF32;  // --cache-type
  int http_threads = 0;       // 0: 4 per slot + 8
  std::string api_key;        // empty: no key needed
  std::string chat_template;  // name override
  size_t max_body = 8u << 20;
  size_t max_queue = 64;
  double drain_seconds = 60;
  LoadOptions load;
};

class Server {
 public:
  explicit Server(ServerOptions opt);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens the socket and starts serving (GET /health = 503 until load_model finishes). Returns
  // the bound port. Throws tern::Error when the address cannot be bound.
  int start();
  // Loads the model (blocking) and starts the scheduler. Throws tern::Error.
  void load_model();
  // Stops accepting generation requests, waits (up to drain_seconds) for in-flight ones to end,
  // then closes the socket. Safe to call more than once.
  void shutdown();
  bool running() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Blocks: start, load, serve until SIGTERM/SIGINT, drain, return the exit code.
int run_server(const ServerOptions& opt);

}  // namespace tern
