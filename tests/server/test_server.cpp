// tern serve in-process, driven by a real HTTP client: endpoints, streaming, validation,
// continuous batching, queue limits, disconnects, drain on shutdown.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "engine/dummy.h"
#include "engine/session.h"
#include "server/server.h"
#include "tokenizer/tokenizer.h"

namespace tern {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A tiny model; `layers` deep models decode slowly enough for requests to overlap.
std::string model_path(int64_t layers = 0) {
  static std::map<int64_t, std::string> made;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  auto& p = made[layers];
  if (p.empty()) {
    p = (fs::temp_directory_path() / ("tern_server_test_" + std::to_string(getpid()) + "_" + std::to_string(layers) + ".gguf")).string();
    DummyOptions o;
    o.layout = "tiny";
    o.seed = 3;
    o.n_layer = layers;
    write_dummy_model(p, o);
  }
  return p;
}

struct Running {
  std::unique_ptr<Server> srv;
  int port = 0;
  explicit Running(ServerOptions o, int64_t layers = 0) {
    o.model_path = model_path(layers);
    o.port = 0;
    srv = std::make_unique<Server>(o);
    port = srv->start();
    srv->load_model();
  }
  httplib::Client client(const std::string& key = "") const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    if (!key.empty()) c.set_bearer_token_auth(key.c_str());
    return c;
  }
};

ServerOptions opts(int slots = 2, int64_t ctx = 1024) {
  ServerOptions o;
  o.n_slots = slots;
  o.n_ctx = ctx;
  o.n_threads = 1;
  o.drain_seconds = 10;
  return o;
}

json post(httplib::Client& c, const std::string& path, const json& body, int* status = nullptr) {
  auto r = c.Post(path.c_str(), body.dump(), "application/json");
  EXPECT_TRUE(r) << path;
  if (!r) return {};
  if (status) *status = r->status;
  return json::parse(r->body);
}

// Reads an SSE body into its JSON events (without [DONE]); sets saw_done.
std::vector<json> sse_events(const std::string& body, bool& saw_done) {
  std::vector<json> out;
  saw_done = false;
  size_t pos = 0;
  while ((pos = body.find("data: ", pos)) != std::string::npos) {
    const size_t end = body.find("\n\n", pos);
    const std::string data = body.substr(pos + 6, end - pos - 6);
    if (data == "[DONE]") saw_done = true;
    else out.push_back(json::parse(data));
    pos = end;
  }
  return out;
}

TEST(Server, HealthModelsAndCompletions) {
  Running s(opts());
  auto c = s.client();
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto m = json::parse(c.Get("/v1/models")->body);
  ASSERT_EQ(m["data"].size(), 1u);
  const std::string id = m["data"][0]["id"];
  int st = 0;
  json r = post(c, "/v1/chat/completions", {{"model", id}, {"messages", {{{"role", "user"}, {"content", "hello"}}}}, {"max_tokens", 5}, {"temperature", 0}}, &st);
  EXPECT_EQ(st, 200) << r.dump();
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(r["usage"]["completion_tokens"], 5);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  r = post(c, "/v1/completions", {{"prompt", "once upon"}, {"max_tokens", 3}}, &st);
  EXPECT_EQ(st, 200) << r.dump();
  EXPECT_EQ(r["object"], "text_completion");
  r = post(c, "/v1/completions", {{"prompt", {1, 2, 3}}, {"max_tokens", 2}}, &st);
  EXPECT_EQ(st, 200) << r.dump();
  EXPECT_EQ(r["usage"]["prompt_tokens"], 3);
  auto t = post(c, "/tokenize", {{"content", "hello world"}});
  ASSERT_TRUE(t["tokens"].is_array());
  auto d = post(c, "/detokenize", {{"tokens", t["tokens"]}});
  EXPECT_EQ(d["content"], "hello world");
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_NE(page->body.find("<title>tern chat</title>"), std::string::npos);
}

TEST(Server, GreedyOutputEqualsTheLibraryAndStreamingEqualsNonStreaming) {
  Running s(opts());
  auto c = s.client();
  const json req = {{"prompt", "The meaning of life is"}, {"max_tokens", 12}, {"temperature", 0}, {"ignore_eos", true}};
  json plain = post(c, "/v1/completions", req);
  // The same through the library (no server, no batching).
  auto model = Model::load(model_path(), LoadOptions{});
  auto tok = Tokenizer::from_gguf(model->file());
  Session sess(*model, 256, 1);
  GenerateParams gp;
  gp.n_predict = 12;
  gp.sampling.temperature = 0;
  gp.ignore_eos = true;
  const auto lib = generate(sess, *tok, tok->encode("The meaning of life is", tok->add_bos_default(), true), gp);
  EXPECT_EQ(plain["choices"][0]["text"], lib.text);
  json sreq = req;
  sreq["stream"] = true;
  auto r = c.Post("/v1/completions", sreq.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  bool done = false;
  std::string text;
  std::string finish;
  for (const auto& e : sse_events(r->body, done)) {
    text += e["choices"][0]["text"].get<std::string>();
    if (!e["choices"][0]["finish_reason"].is_null()) finish = e["choices"][0]["finish_reason"];
  }
  EXPECT_TRUE(done);
  EXPECT_EQ(finish, "length");
  EXPECT_EQ(text, lib.text);
}

TEST(Server, ConcurrentRequestsShareForwardPassesAndMatchSingleRuns) {
  Running s(opts(4, 2048), 24);
  const json req = {{"prompt", "a b c"}, {"max_tokens", 64}, {"temperature", 0}, {"ignore_eos", true}};
  auto c0 = s.client();
  const std::string alone = post(c0, "/v1/completions", req)["choices"][0]["text"];
  const auto steps_before = c0.Get("/metrics")->body;
  std::vector<std::string> got(4);
  std::vector<std::thread> th;
  for (int i = 0; i < 4; ++i) {
    th.emplace_back([&, i] {
      auto c = s.client();
      got[static_cast<size_t>(i)] = post(c, "/v1/completions", req)["choices"][0]["text"];
    });
  }
  for (auto& t : th) t.join();
  for (const auto& g : got) EXPECT_EQ(g, alone);  // batching does not change results
  auto metric = [](const std::string& body, const std::string& name) {
    const size_t at = body.find("\n" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(body.substr(at + name.size() + 2));
  };
  const std::string after = c0.Get("/metrics")->body;
  const double steps = metric(after, "tern_decode_steps_total") - metric(steps_before, "tern_decode_steps_total");
  const double tokens = metric(after, "tern_tokens_predicted_total") - metric(steps_before, "tern_tokens_predicted_total");
  EXPECT_EQ(tokens, 256);
  EXPECT_LT(steps, 0.6 * tokens) << "requests were not decoded together";
}

TEST(Server, BadRequestsGetOpenAiShapedErrors) {
  ServerOptions o = opts(1, 128);
  o.max_body = 4096;
  Running s(o);
  auto c = s.client();
  struct Case {
    std::string path, body;
    int status;
    std::string needle;
  };
  const std::string long_prompt(5000, 'x');
  const Case cases[] = {
      {"/v1/chat/completions", "{not json", 400, "invalid JSON"},
      {"/v1/chat/completions", "[1,2]", 400, "JSON object"},
      {"/v1/completions", R"({"prompt": [77e7777, 2]})", 400, "invalid JSON"},  // found by fuzz/api_fuzz
      {"/v1/chat/completions", R"({"messages": "hi"})", 400, "messages"},
      {"/v1/chat/completions", R"({"messages": [{"role": "wizard", "content": "x"}]})", 400, "role"},
      {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"})", 400, "temperature"},
      {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5})", 400, "max_tokens"},
      {"/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "n": 3})", 400, "n = 1"},
      {"/v1/chat/completions", R"({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]})", 404, "does not exist"},
      {"/v1/completions", R"({"prompt": {"a": 1}})", 400, "prompt"},
      {"/v1/completions", R"({"prompt": [1, 99999]})", 400, "vocabulary"},
      {"/v1/completions", json({{"prompt", std::string(3000, 'y') + " z z z z z z z z z z z z z z z"}}).dump(), 400, "context_length_exceeded"},
      {"/v1/completions", json({{"prompt", long_prompt}}).dump(), 413, "too large"},
      {"/detokenize", R"({"tokens": [-1]})", 400, "token ids"},
      {"/nowhere", "{}", 404, "no such endpoint"},
  };
  for (const auto& k : cases) {
    auto r = c.Post(k.path.c_str(), k.body, "application/json");
    ASSERT_TRUE(r) << k.path << " " << k.body.substr(0, 80);
    EXPECT_EQ(r->status, k.status) << k.body.substr(0, 80) << " -> " << r->body;
    json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r->body;
    EXPECT_NE(r->body.find(k.needle), std::string::npos) << k.body.substr(0, 80) << " -> " << r->body;
  }
  // still healthy after all that
  EXPECT_EQ(c.Get("/health")->status, 200);
}

TEST(Server, ApiKeyIsRequiredWhenSet) {
  ServerOptions o = opts();
  o.api_key = "sekrit";
  Running s(o);
  auto anon = s.client();
  const json req = {{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"max_tokens", 1}};
  int st = 0;
  json e = post(anon, "/v1/chat/completions", req, &st);
  EXPECT_EQ(st, 401);
  EXPECT_EQ(e["error"]["code"], "invalid_api_key");
  auto wrong = s.client("nope");
  post(wrong, "/v1/chat/completions", req, &st);
  EXPECT_EQ(st, 401);
  auto right = s.client("sekrit");
  post(right, "/v1/chat/completions", req, &st);
  EXPECT_EQ(st, 200);
  EXPECT_EQ(anon.Get("/health")->status, 200);  // health stays open for load balancers
}

TEST(Server, FullQueueAnswers503WithRetryAfter) {
  ServerOptions o = opts(1, 4096);
  o.max_queue = 1;
  Running s(o);
  const json req = {{"prompt", "x"}, {"max_tokens", 400}, {"temperature", 0}, {"ignore_eos", true}};
  std::atomic<int> busy{0}, ok{0};
  std::vector<std::thread> th;
  for (int i = 0; i < 4; ++i) {
    th.emplace_back([&] {
      auto c = s.client();
      auto r = c.Post("/v1/completions", req.dump(), "application/json");
      if (r && r->status == 503) {
        EXPECT_EQ(r->get_header_value("Retry-After"), "1");
        ++busy;
      } else if (r && r->status == 200) {
        ++ok;
      }
    });
  }
  for (auto& t : th) t.join();
  EXPECT_GE(busy.load(), 1);
  EXPECT_GE(ok.load(), 1);
  EXPECT_EQ(busy.load() + ok.load(), 4);
}

TEST(Server, ADisconnectedStreamFreesItsSlot) {
  Running s(opts(1, 4096));
  {
    httplib::Client c("127.0.0.1", s.port);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.body = json({{"prompt", "x"}, {"max_tokens", 3000}, {"stream", true}, {"ignore_eos", true}}).dump();
    req.set_header("Content-Type", "application/json");
    int chunks = 0;
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 3; };  // hang up
    c.send(req);
  }
  // The request was cancelled (not run to its end) and the only slot serves the next request.
  auto c = s.client();
  int st = 0;
  json r = post(c, "/v1/completions", {{"prompt", "y"}, {"max_tokens", 2}}, &st);
  EXPECT_EQ(st, 200) << r.dump();
  const std::string m = c.Get("/metrics")->body;
  EXPECT_NE(m.find("\ntern_requests_cancelled_total 1\n"), std::string::npos) << m;
}

TEST(Server, ShutdownDrainsInFlightRequests) {
  Running s(opts(1, 2048));
  std::string body;
  std::thread t([&] {
    auto c = s.client();
    auto r = c.Post("/v1/completions", json({{"prompt", "x"}, {"max_tokens", 200}, {"ignore_eos", true}, {"temperature", 0}}).dump(),
                    "application/json");
    if (r) body = r->body;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  s.srv->shutdown();
  t.join();
  json j = json::parse(body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << body;
  EXPECT_EQ(j["usage"]["completion_tokens"], 200) << body;
  EXPECT_FALSE(s.srv->running());
}

}  // namespace
}  // namespace tern

namespace tern {
namespace {

// Request bodies are untrusted. Starting from a valid body for each endpoint, every field the
// API reads (and a few it does not) is set in turn to a value of each JSON type, edge numbers
// and oversized values; message fields too. Every request must be answered: 200 with a body of
// the endpoint's shape (an SSE stream ending in [DONE] when streaming), or a 4xx with an
// OpenAI-shaped error. The server stays healthy throughout.
TEST(Server, EveryEditedRequestFieldIsAnsweredAndTheServerStaysUp) {
  ServerOptions o = opts(2, 128);
  Running s(o);
  auto c = s.client();
  const json big_array = json(std::vector<int>(5000, 1));
  const std::vector<json> values = {nullptr, "x", "", 0, 1, -1, 2, 7, 2147483647LL, 9223372036854775807LL,
                                    -9223372036854775807LL, 1e308, -1e308, 0.5, -0.5, true, false, json::array(),
                                    json::object(), json::array({1, "a", nullptr}), json::object({{"a", 1}}),
                                    std::string(2000, 'z'), big_array};
  const std::vector<std::string> gen_fields = {
      "model", "temperature", "top_p", "top_k", "min_p", "max_tokens", "max_completion_tokens", "n_predict", "n",
      "seed", "stop", "stream", "stream_options", "presence_penalty", "frequency_penalty", "repeat_penalty",
      "repetition_penalty", "ignore_eos", "user", "logit_bias", "logprobs", "response_format"};
  struct Endpoint {
    std::string path;
    json base;
    std::vector<std::string> fields;
  };
  const json msgs = json::array({{{"role", "system"}, {"content", "be brief"}}, {{"role", "user"}, {"content", "hello"}}});
  std::vector<std::string> chat_fields = gen_fields, comp_fields = gen_fields;
  chat_fields.push_back("messages");
  comp_fields.push_back("prompt");
  const Endpoint eps[] = {
      {"/v1/chat/completions", {{"messages", msgs}, {"max_tokens", 3}}, chat_fields},
      {"/v1/completions", {{"prompt", "once upon"}, {"max_tokens", 3}}, comp_fields},
      {"/tokenize", {{"content", "hello world"}}, {"content", "add_special", "with_pieces"}},
      {"/detokenize", {{"tokens", {1, 2, 3}}}, {"tokens"}},
  };
  int ok = 0, refused = 0;
  std::vector<std::string> bad;
  auto send = [&](const std::string& path, const json& body, const std::string& what) {
    auto r = c.Post(path.c_str(), body.dump(), "application/json");
    if (!r) {
      bad.push_back(what + ": no response");
      return;
    }
    if (r->status == 200) {
      const bool streamed = r->body.rfind("data: ", 0) == 0;
      if (streamed) {
        if (r->body.find("data: [DONE]") == std::string::npos) bad.push_back(what + ": a stream without [DONE]");
      } else {
        const json j = json::parse(r->body, nullptr, false);
        if (!j.is_object() || j.contains("error")) bad.push_back(what + ": 200 with body " + r->body.substr(0, 120));
      }
      ++ok;
      if (std::getenv("TERN_SWEEP_VERBOSE")) std::printf("200: %s\n", what.c_str());
      return;
    }
    const json j = json::parse(r->body, nullptr, false);
    if (r->status < 400 || r->status >= 500 || !j.is_object() || !j.contains("error") || !j["error"].contains("message")) {
      bad.push_back(what + ": status " + std::to_string(r->status) + " body " + r->body.substr(0, 120));
      return;
    }
    ++refused;
  };
  for (const Endpoint& ep : eps) {
    for (const std::string& f : ep.fields) {
      for (const json& v : values) {
        json body = ep.base;
        body[f] = v;
        send(ep.path, body, ep.path + " " + f + " = " + v.dump().substr(0, 40));
      }
    }
  }
  for (const std::string& f : {"role", "content", "name"}) {
    for (const json& v : values) {
      json body = eps[0].base;
      body["messages"][1][f] = v;
      send(eps[0].path, body, "message " + f + " = " + v.dump().substr(0, 40));
    }
  }
  std::string report;
  for (const auto& b : bad) report += "  " + b + "\n";
  EXPECT_TRUE(bad.empty()) << bad.size() << " requests were mishandled:\n" << report;
  EXPECT_GT(ok, 50);
  EXPECT_GT(refused, 200);
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  std::printf("request sweep: %d answered 200, %d refused with 4xx\n", ok, refused);
}

}  // namespace
}  // namespace tern
