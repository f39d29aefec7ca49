// The OpenAI-compatible request/response shapes: parsing and validating request bodies (every
// field from outside is checked; a bad one raises ApiError with the status and the OpenAI error
// object) and building response objects.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/session.h"
#include "tokenizer/chat.h"

namespace tern::api {

using nlohmann::json;

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // "" -> null
  std::string code;   // "" -> null

  ApiError() = default;
  ApiError(int status_, std::string message_, std::string type_ = "invalid_request_error",
           std::string param_ = "", std::string code_ = "")
      : status(status_), message(std::move(message_)), type(std::move(type_)),
        param(std::move(param_)), code(std::move(code_)) {}
  json body() const;
};

struct CompletionRequest {
  bool chat = true;
  std::vector<ChatMessage> messages;    // chat
  std::string prompt;                   // completions (text)
  std::vector<int32_t> prompt_tokens;   // completions given as token ids
  bool stream = false;
  bool include_usage = false;
  std::string model;                    // as asked ("" if absent)
  GenerateParams gen;
};

// Parses a /v1/chat/completions (chat = true) or /v1/completions body. Throws ApiError.
CompletionRequest parse_completion(const std::string& body, bool chat);

// Parses the JSON body or throws ApiError 400 "invalid JSON ...".
json parse_json_body(const std::string& body);

std::string make_id(const char* prefix);  // "chatcmpl-<random hex>"

}  // namespace tern::api
