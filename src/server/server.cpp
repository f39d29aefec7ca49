#include "server/server.h"

#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <mutex>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"
#include "core/timer.h"
#include "server/api.h"
#include "server/scheduler.h"
#include "server/web_ui.h"
#include "tokenizer/chat.h"
#include "tokenizer/tokenizer.h"

namespace tern {

using nlohmann::json;

struct Server::Impl {
  ServerOptions opt;
  httplib::Server http;
  std::thread http_thread;
  std::atomic<bool> ready{false}, draining{false}, stopped{false};
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tok;
  std::unique_ptr<Scheduler> sched;
  ChatFormat chat_format = ChatFormat::kBitnet;
  std::string model_id;
  std::atomic<int64_t> requests_total{0}, requests_rejected{0}, http_in_flight{0};
  std::mutex shutdown_mu;

  explicit Impl(ServerOptions o) : opt(std::move(o)) {}
  void routes();
  bool authorized(const httplib::Request& req, httplib::Response& res);
  void send_error(httplib::Response& res, const api::ApiError& e);
  void handle_completion(const httplib::Request& req, httplib::Response& res, bool chat);
};

namespace {

// Model output can hold invalid UTF-8 (a reply cut inside a multi-byte character, or a model
// that emits stray bytes): JSON gets U+FFFD in its place instead of an exception.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_json(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  res.set_content(dump(j), "application/json");
}

json timings_json(const GenRequest& r) {
  const double prompt_ms = (r.t_first_token - r.t_started) * 1000.0;
  const double gen_ms = (r.t_done - r.t_first_token) * 1000.0;
  const int64_t prompt_n = r.n_prompt - r.n_cached;
  return {{"prompt_n", prompt_n},
          {"prompt_ms", prompt_ms},
          {"prompt_per_second", prompt_ms > 0 ? static_cast<double>(prompt_n) * 1000.0 / prompt_ms : 0.0},
          {"predicted_n", r.n_gen},
          {"predicted_ms", gen_ms},
          {"predicted_per_second", gen_ms > 0 && r.n_gen > 1 ? static_cast<double>(r.n_gen - 1) * 1000.0 / gen_ms : 0.0},
          {"cached_n", r.n_cached}};
}

json usage_json(const GenRequest& r) {
  return {{"prompt_tokens", r.n_prompt}, {"completion_tokens", r.n_gen}, {"total_tokens", r.n_prompt + r.n_gen}};
}

std::string finish_reason_api(const std::string& f) { return f == "length" ? "length" : "stop"; }

}  // namespace

void Server::Impl::send_error(httplib::Response& res, const api::ApiError& e) { send_json(res, e.body(), e.status); }

bool Server::Impl::authorized(const httplib::Request& req, httplib::Response& res) {
  if (opt.api_key.empty()) return true;
  const std::string h = req.get_header_value("Authorization");
  if (h == "Bearer " + opt.api_key) return true;
  api::ApiError e;
  e.status = 401;
  e.type = "authentication_error";
  e.code = "invalid_api_key";
  e.message = h.empty() ? "missing API key: send 'Authorization: Bearer <key>'" : "invalid API key";
  send_error(res, e);
  return false;
}

void Server::Impl::handle_completion(const httplib::Request& req, httplib::Response& res, bool chat) {
  ++requests_total;
  if (!authorized(req, res)) return;
  if (!ready.load()) {
    api::ApiError e{503, "the model is still loading; retry shortly", "server_error"};
    res.set_header("Retry-After", "2");
    return send_error(res, e);
  }
  if (draining.load()) {
    api::ApiError e{503, "the server is shutting down", "server_error"};
    return send_error(res, e);
  }
  api::CompletionRequest cr;
  try {
    cr = api::parse_completion(req.body, chat);
    if (!cr.model.empty() && cr.model != model_id) {
      throw api::ApiError{404, "The model '" + cr.model + "' does not exist (this server serves '" + model_id + "')",
                          "invalid_request_error", "model", "model_not_found"};
    }
    cr.gen.sampling.validate();
  } catch (const api::ApiError& e) {
    return send_error(res, e);
  } catch (const Error& e) {
    return send_error(res, api::ApiError{400, e.what()});
  }
  auto r = std::make_shared<GenRequest>();
  if (chat) {
    const std::string eos_text = tok->eos() >= 0 ? tok->token_text(tok->eos()) : std::string();
    r->prompt = tok->encode(format_chat(chat_format, cr.messages, true, eos_text), tok->add_bos_default(), true);
  } else if (!cr.prompt_tokens.empty()) {
    for (int32_t t : cr.prompt_tokens) {
      if (t < 0 || t >= tok->n_vocab()) {
        return send_error(res, api::ApiError{400, str_cat("token id ", t, " is outside the vocabulary"), "invalid_request_error", "prompt"});
      }
    }
    r->prompt = cr.prompt_tokens;
  } else {
    r->prompt = tok->encode(cr.prompt, tok->add_bos_default(), true);
  }
  if (r->prompt.empty()) return send_error(res, api::ApiError{400, "the prompt is empty", "invalid_request_error", "prompt"});
  const int64_t limit = sched->slot_ctx();
  if (static_cast<int64_t>(r->prompt.size()) + 1 > limit) {
    return send_error(res, api::ApiError{400,
                                         str_cat("This model's maximum context length is ", limit, " tokens per slot. However, your ",
                                                 chat ? "messages" : "prompt", " resulted in ", r->prompt.size(),
                                                 " tokens. Shorten the input or start the server with a larger -c / fewer -np."),
                                         "invalid_request_error", chat ? "messages" : "prompt", "context_length_exceeded"});
  }
  r->params = cr.gen;
  if (!sched->submit(r)) {
    ++requests_rejected;
    res.set_header("Retry-After", "1");
    return send_error(res, api::ApiError{503, "the server is busy (queue full); retry shortly", "server_error", "", "server_busy"});
  }
  const std::string id = api::make_id(chat ? "chatcmpl-" : "cmpl-");
  const int64_t created = static_cast<int64_t>(std::time(nullptr));
  const std::string model = model_id;

  if (!cr.stream) {
    std::string text;
    while (!r->wait_take(text, 200)) {
    }
    if (r->finish_reason == "error") return send_error(res, api::ApiError{500, "generation failed: " + r->error, "server_error"});
    json choice = {{"index", 0}, {"finish_reason", finish_reason_api(r->finish_reason)}};
    if (chat) {
      choice["message"] = {{"role", "assistant"}, {"content", text}};
    } else {
      choice["text"] = text;
      choice["logprobs"] = nullptr;
    }
    return send_json(res, {{"id", id},
                           {"object", chat ? "chat.completion" : "text_completion"},
                           {"created", created},
                           {"model", model},
                           {"choices", json::array({choice})},
                           {"usage", usage_json(*r)},
                           {"timings", timings_json(*r)}});
  }

  ++http_in_flight;
  const bool include_usage = cr.include_usage;
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [r, id, created, model, chat, include_usage, first = true](size_t, httplib::DataSink& sink) mutable {
        auto send = [&](const json& j) {
          const std::string s = "data: " + dump(j) + "\n\n";
          return sink.write(s.data(), s.size());
        };
        auto chunk = [&](const json& delta_or_text, const json& finish) {
          json c = {{"index", 0}, {"finish_reason", finish}};
          if (chat) {
            c["delta"] = delta_or_text;
          } else {
            c["text"] = delta_or_text;
            c["logprobs"] = nullptr;
          }
          return json{{"id", id},
                      {"object", chat ? "chat.completion.chunk" : "text_completion"},
                      {"created", created},
                      {"model", model},
                      {"choices", json::array({c})}};
        };
        if (first && chat) {
          first = false;
          if (!send(chunk(json{{"role", "assistant"}, {"content", ""}}, nullptr))) {
            r->cancelled = true;
            return false;
          }
        }
        std::string text;
        const bool done = r->wait_take(text, 100);
        if (!text.empty()) {
          if (!send(chunk(chat ? json{{"content", text}} : json(text), nullptr))) {
            r->cancelled = true;  // the client went away: free the slot
            return false;
          }
        } else if (!done && !sink.is_writable()) {
          r->cancelled = true;
          return false;
        }
        if (!done) return true;
        if (r->finish_reason == "error") {
          send(json{{"error", {{"message", "generation failed: " + r->error}, {"type", "server_error"}}}});
        } else {
          json last = chunk(chat ? json::object() : json(""), finish_reason_api(r->finish_reason));
          last["timings"] = timings_json(*r);
          send(last);
          if (include_usage) {
            json u = {{"id", id}, {"object", chat ? "chat.completion.chunk" : "text_completion"}, {"created", created},
                      {"model", model}, {"choices", json::array()}, {"usage", usage_json(*r)}};
            send(u);
          }
        }
        const std::string end = "data: [DONE]\n\n";
        sink.write(end.data(), end.size());
        sink.done();
        return true;
      },
      [this, r](bool) {
        if (!r->done) r->cancelled = true;
        --http_in_flight;
      });
}

void Server::Impl::routes() {
  http.set_payload_max_length(opt.max_body);
  const int n_http = opt.http_threads > 0 ? opt.http_threads : 4 * opt.n_slots + 8;
  http.new_task_queue = [n_http] { return new httplib::ThreadPool(static_cast<size_t>(n_http)); };
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    // Errors httplib raises itself (unknown route, body too large, ...) in OpenAI's shape.
    if (!res.body.empty()) return;
    api::ApiError e;
    e.status = res.status;
    e.message = res.status == 404 ? "no such endpoint" : res.status == 413 ? "request body too large" : str_cat("HTTP ", res.status);
    res.set_content(dump(e.body()), "application/json");
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_json(res, api::ApiError{500, what, "server_error"}.body(), 500);
  });

  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (!ready.load()) return send_json(res, {{"status", "loading model"}}, 503);
    send_json(res, {{"status", draining.load() ? "shutting down" : "ok"}}, draining.load() ? 503 : 200);
  });
  http.Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    json data = json::array();
    if (ready.load()) {
      data.push_back({{"id", model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "tern"},
                      {"meta", {{"n_ctx_per_slot", sched->slot_ctx()}, {"n_vocab", model->config().n_vocab},
                                {"types", model->describe_types()}}}});
    }
    send_json(res, {{"object", "list"}, {"data", data}});
  });
  http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) { handle_completion(req, res, true); });
  http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) { handle_completion(req, res, false); });
  http.Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    if (!ready.load()) return send_error(res, api::ApiError{503, "the model is still loading", "server_error"});
    try {
      const json j = api::parse_json_body(req.body);
      if (!j.is_object() || !j.contains("content") || !j["content"].is_string()) {
        throw api::ApiError{400, "'content' (a string) is required", "invalid_request_error", "content"};
      }
      const bool add_special = j.value("add_special", false);
      const auto ids = tok->encode(j["content"].get<std::string>(), add_special && tok->add_bos_default(), true);
      json tokens = json::array();
      if (j.value("with_pieces", false)) {
        for (int32_t id : ids) tokens.push_back({{"id", id}, {"piece", tok->token_to_piece(id, true)}});
      } else {
        tokens = ids;
      }
      send_json(res, {{"tokens", tokens}});
    } catch (const api::ApiError& e) {
      send_error(res, e);
    } catch (const json::exception& e) {
      send_error(res, api::ApiError{400, e.what()});
    }
  });
  http.Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    if (!ready.load()) return send_error(res, api::ApiError{503, "the model is still loading", "server_error"});
    try {
      const json j = api::parse_json_body(req.body);
      if (!j.is_object() || !j.contains("tokens") || !j["tokens"].is_array()) {
        throw api::ApiError{400, "'tokens' (an array of token ids) is required", "invalid_request_error", "tokens"};
      }
      std::vector<int32_t> ids;
      for (const auto& t : j["tokens"]) {
        if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= tok->n_vocab()) {
          throw api::ApiError{400, str_cat("token ids must be integers in 0..", tok->n_vocab() - 1), "invalid_request_error", "tokens"};
        }
        ids.push_back(static_cast<int32_t>(t.get<int64_t>()));
      }
      send_json(res, {{"content", tok->decode(ids)}});
    } catch (const api::ApiError& e) {
      send_error(res, e);
    }
  });
  http.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    if (!authorized(req, res)) return;
    SchedulerStats s;
    if (ready.load()) s = sched->stats();
    std::string out;
    auto metric = [&](const char* name, const char* type, const char* help, double v) {
      out += str_cat("# HELP tern_", name, " ", help, "\n# TYPE tern_", name, " ", type, "\ntern_", name, " ", v, "\n");
    };
    metric("prompt_tokens_total", "counter", "Prompt tokens evaluated.", static_cast<double>(s.prompt_tokens));
    metric("prompt_seconds_total", "counter", "Seconds spent on prompt tokens.", s.prompt_seconds);
    metric("tokens_predicted_total", "counter", "Tokens generated.", static_cast<double>(s.generated_tokens));
    metric("tokens_predicted_seconds_total", "counter", "Seconds spent generating.", s.generation_seconds);
    metric("prompt_tokens_cached_total", "counter", "Prompt tokens reused from a slot's cache.", static_cast<double>(s.cached_tokens));
    metric("requests_total", "counter", "Completion requests received.", static_cast<double>(requests_total.load()));
    metric("requests_rejected_total", "counter", "Requests answered 503 because the queue was full.", static_cast<double>(requests_rejected.load()));
    metric("requests_cancelled_total", "counter", "Requests whose client went away before the end.", static_cast<double>(s.requests_cancelled));
    metric("requests_processing", "gauge", "Requests holding a slot.", static_cast<double>(s.active));
    metric("requests_deferred", "gauge", "Requests waiting for a slot.", static_cast<double>(s.queued));
    metric("decode_steps_total", "counter", "Batched forward passes.", static_cast<double>(s.steps));
    res.set_content(out, "text/plain; version=0.0.4");
  });
  http.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(kWebUiHtml, "text/html; charset=utf-8"); });
}

Server::Server(ServerOptions opt) : impl_(std::make_unique<Impl>(std::move(opt))) { impl_->routes(); }

Server::~Server() { shutdown(); }

int Server::start() {
  Impl& s = *impl_;
  int port = s.opt.port;
  if (port == 0) {
    port = s.http.bind_to_any_port(s.opt.host);
    if (port <= 0) fail("cannot bind ", s.opt.host, " (is the address valid?)");
  } else if (!s.http.bind_to_port(s.opt.host, port)) {
    fail("cannot listen on ", s.opt.host, ":", port, " (is the port in use? pick another with --port)");
  }
  s.http_thread = std::thread([&s] { s.http.listen_after_bind(); });
  while (!s.http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return port;
}

void Server::load_model() {
  Impl& s = *impl_;
  s.model = Model::load(s.opt.model_path, s.opt.load);
  s.tok = Tokenizer::from_gguf(s.model->file());
  s.chat_format = resolve_chat_format(*s.tok, s.opt.chat_template);
  s.model_id = s.opt.alias.empty() ? std::filesystem::path(s.opt.model_path).stem().string() : s.opt.alias;
  SchedulerOptions so;
  so.n_slots = s.opt.n_slots;
  so.n_ctx = s.opt.n_ctx;
  so.n_threads = s.opt.n_threads;
  so.kv_type = s.opt.kv_type;
  so.max_queue = s.opt.max_queue;
  s.sched = std::make_unique<Scheduler>(*s.model, *s.tok, so);
  s.ready = true;
}

bool Server::running() const { return impl_->http.is_running(); }

void Server::shutdown() {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> lock(s.shutdown_mu);
  if (s.stopped.load()) return;
  s.draining = true;
  const double t0 = now_seconds();
  while (s.sched && (s.sched->in_flight() > 0 || s.http_in_flight.load() > 0) && now_seconds() - t0 < s.opt.drain_seconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (s.sched) s.sched->stop();
  s.http.stop();
  if (s.http_thread.joinable()) s.http_thread.join();
  s.stopped = true;
}

int run_server(const ServerOptions& opt) {
  // SIGTERM / SIGINT are taken by sigwait in this thread only; broken connections must not
  // kill the process (SIGPIPE).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  Server srv(opt);
  const int port = srv.start();
  std::fprintf(stderr, "tern: listening on http://%s:%d (loading %s)\n", opt.host.c_str(), port, opt.model_path.c_str());
  srv.load_model();
  std::fprintf(stderr, "tern: ready: %d slots, %lld tokens of context each\n", opt.n_slots,
               static_cast<long long>(opt.n_ctx / std::max(opt.n_slots, 1)));
  int sig = 0;
  sigwait(&set, &sig);
  std::fprintf(stderr, "tern: %s: finishing in-flight requests, then exiting\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  srv.shutdown();
  return 0;
}

}  // namespace tern
