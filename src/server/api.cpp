#include "server/api.h"

#include <random>

#include "core/error.h"

namespace tern::api {

json ApiError::body() const {
  json e = {{"message", message}, {"type", type}};
  e["param"] = param.empty() ? json(nullptr) : json(param);
  e["code"] = code.empty() ? json(nullptr) : json(code);
  return json{{"error", e}};
}

namespace {

[[noreturn]] void bad(const std::string& param, const std::string& msg) {
  ApiError e;
  e.status = 400;
  e.param = param;
  e.message = msg;
  throw e;
}

double number(const json& j, const char* key, double lo, double hi) {
  const json& v = j.at(key);
  if (!v.is_number()) bad(key, std::string("'") + key + "' must be a number");
  const double d = v.get<double>();
  if (!(d >= lo && d <= hi)) bad(key, str_cat("'", key, "' must be between ", lo, " and ", hi, ", got ", d));
  return d;
}

int64_t integer(const json& j, const char* key, int64_t lo, int64_t hi) {
  const json& v = j.at(key);
  if (!v.is_number_integer()) bad(key, std::string("'") + key + "' must be an integer");
  const int64_t d = v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : v.get<int64_t>();
  if (d < lo || d > hi) bad(key, str_cat("'", key, "' must be between ", lo, " and ", hi, ", got ", d));
  return d;
}

std::string content_text(const json& c, size_t i) {
  const std::string param = str_cat("messages[", i, "].content");
  if (c.is_null()) return "";
  if (c.is_string()) return c.get<std::string>();
  if (c.is_array()) {  // content parts: only text is supported
    std::string out;
    for (const auto& part : c) {
      if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string()) {
        bad(param, "only text content parts ({\"type\": \"text\", \"text\": ...}) are supported");
      }
      out += part["text"].get<std::string>();
    }
    return out;
  }
  bad(param, "'content' must be a string or an array of text parts");
}

}  // namespace

json parse_json_body(const std::string& body) {
  try {
    return json::parse(body);
  } catch (const json::exception& e) {  // parse errors, and numbers too large for a double
    ApiError err;
    err.message = str_cat("invalid JSON in the request body: ", e.what());
    throw err;
  }
}

CompletionRequest parse_completion(const std::string& body, bool chat) {
  const json j = parse_json_body(body);
  if (!j.is_object()) bad("", "the request body must be a JSON object");
  CompletionRequest r;
  r.chat = chat;
  try {
    if (j.contains("model")) {
      if (!j["model"].is_string()) bad("model", "'model' must be a string");
      r.model = j["model"].get<std::string>();
    }
    if (chat) {
      if (!j.contains("messages")) bad("messages", "'messages' is required");
      const json& m = j["messages"];
      if (!m.is_array() || m.empty()) bad("messages", "'messages' must be a non-empty array");
      for (size_t i = 0; i < m.size(); ++i) {
        const json& msg = m[i];
        if (!msg.is_object() || !msg.contains("role") || !msg["role"].is_string()) {
          bad(str_cat("messages[", i, "]"), "each message must be an object with a string 'role'");
        }
        const std::string role = msg["role"].get<std::string>();
        if (role != "system" && role != "user" && role != "assistant" && role != "developer" && role != "tool") {
          bad(str_cat("messages[", i, "].role"), "unknown role '" + role + "' (system, user, assistant)");
        }
        r.messages.push_back({role == "developer" ? "system" : role, content_text(msg.value("content", json(nullptr)), i)});
      }
    } else {
      if (!j.contains("prompt")) bad("prompt", "'prompt' is required");
      const json& p = j["prompt"];
      if (p.is_string()) {
        r.prompt = p.get<std::string>();
      } else if (p.is_array() && p.size() == 1 && p[0].is_string()) {
        r.prompt = p[0].get<std::string>();
      } else if (p.is_array() && !p.empty() && p[0].is_number_integer()) {
        for (const auto& t : p) {
          if (!t.is_number_integer()) bad("prompt", "a token-id prompt must contain only integers");
          r.prompt_tokens.push_back(static_cast<int32_t>(t.get<int64_t>()));
        }
      } else {
        bad("prompt", "'prompt' must be a string, an array of one string, or an array of token ids");
      }
    }
    if (j.contains("stream")) {
      if (!j["stream"].is_boolean()) bad("stream", "'stream' must be a boolean");
      r.stream = j["stream"].get<bool>();
    }
    if (j.contains("stream_options") && j["stream_options"].is_object()) {
      r.include_usage = j["stream_options"].value("include_usage", false);
    }
    if (j.contains("n") && !(j["n"].is_number_integer() && j["n"].get<int64_t>() == 1)) bad("n", "only n = 1 is supported");
    GenerateParams& g = r.gen;
    g.n_predict = -1;
    for (const char* k : {"max_tokens", "max_completion_tokens", "n_predict"}) {
      if (j.contains(k) && !j[k].is_null()) g.n_predict = static_cast<int32_t>(integer(j, k, -1, 1 << 30));
    }
    SamplingParams& s = g.sampling;
    if (j.contains("temperature") && !j["temperature"].is_null()) s.temperature = static_cast<float>(number(j, "temperature", 0, 100));
    if (j.contains("top_p") && !j["top_p"].is_null()) s.top_p = static_cast<float>(number(j, "top_p", 1e-9, 1));
    if (j.contains("top_k") && !j["top_k"].is_null()) s.top_k = static_cast<int32_t>(integer(j, "top_k", 0, 1 << 30));
    if (j.contains("min_p") && !j["min_p"].is_null()) s.min_p = static_cast<float>(number(j, "min_p", 0, 1));
    if (j.contains("presence_penalty") && !j["presence_penalty"].is_null()) s.presence_penalty = static_cast<float>(number(j, "presence_penalty", -2, 2));
    if (j.contains("frequency_penalty") && !j["frequency_penalty"].is_null()) s.frequency_penalty = static_cast<float>(number(j, "frequency_penalty", -2, 2));
    for (const char* k : {"repetition_penalty", "repeat_penalty"}) {
      if (j.contains(k) && !j[k].is_null()) s.repeat_penalty = static_cast<float>(number(j, k, 1e-3, 10));
    }
    if (j.contains("seed") && !j["seed"].is_null()) s.seed = static_cast<uint64_t>(integer(j, "seed", INT64_MIN, INT64_MAX));
    if (j.contains("stop") && !j["stop"].is_null()) {
      const json& st = j["stop"];
      if (st.is_string()) {
        g.stop.push_back(st.get<std::string>());
      } else if (st.is_array() && st.size() <= 16) {
        for (const auto& x : st) {
          if (!x.is_string()) bad("stop", "'stop' must be a string or an array of strings");
          g.stop.push_back(x.get<std::string>());
        }
      } else {
        bad("stop", "'stop' must be a string or an array of up to 16 strings");
      }
    }
    if (j.contains("ignore_eos") && j["ignore_eos"].is_boolean()) g.ignore_eos = j["ignore_eos"].get<bool>();
  } catch (const json::exception& e) {
    bad("", str_cat("malformed request: ", e.what()));
  }
  return r;
}

std::string make_id(const char* prefix) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return std::string(prefix) + buf;
}

}  // namespace tern::api
