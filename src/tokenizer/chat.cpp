// Chat formats, checked against the published templates (see docs/TOKENIZER.md for sources):
//  - BitNet 2B-4T, tokenizer_config.json: role | capitalize + ': ' + content | trim +
//    '<|eot_id|>', BOS before the first turn, generation prompt 'Assistant: '. bitnet.cpp's
//    GGUF embeds a different "Human: ... BITNETAssistant:" template that the model was not
//    trained with; it is recognised and formatted the trained way.
//  - LLaMA-3 Instruct: '<|start_header_id|>' + role + '<|end_header_id|>\n\n' + content | trim +
//    '<|eot_id|>', BOS first, generation prompt
//    '<|start_header_id|>assistant<|end_header_id|>\n\n'.
//  - ChatML: '<|im_start|>' + role + '\n' + content + '<|im_end|>\n', prompt
//  '<|im_start|>assistant\n'.
//  - Falcon3 (tiiuae/Falcon3-*-Instruct, non-tool branch): '<|system|>\n' / '<|user|>\n' + content
//    + '\n'; assistant '<|assistant|>\n' + content + eos_token, plus '\n' unless it is the last
//    message; generation prompt '<|assistant|>\n'.
#include "tokenizer/chat.h"

#include <array>

#include "core/error.h"
#include "core/strings.h"
#include "tokenizer/tokenizer.h"

namespace tern {

namespace {

constexpr std::array<std::pair<std::string_view, ChatFormat>, 4> kNames = {{
    {"bitnet", ChatFormat::kBitnet},
    {"llama3", ChatFormat::kLlama3},
    {"chatml", ChatFormat::kChatml},
    {"falcon3", ChatFormat::kFalcon3},
}};

bool contains(std::string_view s, std::string_view what) {
  return s.find(what) != std::string_view::npos;
}

// Jinja's `capitalize`: first character upper case, the rest lower case (ASCII).
std::string capitalize(std::string_view s) {
  std::string out(s);
  for (size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    if (i == 0 && c >= 'a' && c <= 'z') out[i] = static_cast<char>(c - 'a' + 'A');
    if (i > 0 && c >= 'A' && c <= 'Z') out[i] = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string_view chat_format_name(ChatFormat f) {
  for (const auto& [name, fmt] : kNames)
    if (fmt == f) return name;
  return "?";
}

ChatFormat chat_format_from_name(std::string_view name) {
  for (const auto& [n, fmt] : kNames)
    if (n == name) return fmt;
  std::string known;
  for (const auto& [n, fmt] : kNames) known += str_cat(known.empty() ? "" : ", ", n);
  fail("unknown chat template '", name, "': known templates are ", known);
}

std::optional<ChatFormat> detect_chat_format(std::string_view t) {
  if (t.empty()) return std::nullopt;
  if (contains(t, "BITNETAssistant")) return ChatFormat::kBitnet;  // bitnet.cpp's GGUF
  if (contains(t, "<|start_header_id|>") && contains(t, "<|end_header_id|>"))
    return ChatFormat::kLlama3;
  if (contains(t, "<|im_start|>")) return ChatFormat::kChatml;
  if (contains(t, "<|assistant|>") && contains(t, "<|user|>")) return ChatFormat::kFalcon3;
  if (contains(t, "<|eot_id|>") && (contains(t, "capitalize") || contains(t, "'Assistant: '")))
    return ChatFormat::kBitnet;  // the Hugging Face 2B-4T template
  return std::nullopt;
}

ChatFormat resolve_chat_format(const Tokenizer& tok, std::string_view override_name) {
  if (!override_name.empty()) return chat_format_from_name(override_name);
  if (auto f = detect_chat_format(tok.chat_template())) return *f;
  // No (known) template: guess from the vocabulary. tern's models with a LLaMA-3 vocabulary and
  // no usable template are BitNet 2B-4T style.
  if (tok.find_token("<|eot_id|>") >= 0) return ChatFormat::kBitnet;
  if (tok.find_token("<|im_start|>") >= 0) return ChatFormat::kChatml;
  fail("cannot tell the chat template of this model (tokenizer.chat_template is ",
       tok.chat_template().empty() ? "absent" : "not one tern knows",
       "): name one with --chat-template (bitnet, llama3, chatml, falcon3)");
}

std::string format_chat(ChatFormat f, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt, std::string_view eos_text) {
  std::string out;
  switch (f) {
    case ChatFormat::kBitnet:
      for (const auto& m : messages)
        out += str_cat(capitalize(m.role), ": ", trim_ascii(m.content), "<|eot_id|>");
      if (add_generation_prompt) out += "Assistant: ";
      break;
    case ChatFormat::kLlama3:
      for (const auto& m : messages)
        out += str_cat("<|start_header_id|>", m.role, "<|end_header_id|>\n\n", trim_ascii(m.content),
                       "<|eot_id|>");
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    case ChatFormat::kChatml:
      for (const auto& m : messages)
        out += str_cat("<|im_start|>", m.role, "\n", m.content, "<|im_end|>\n");
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      break;
    case ChatFormat::kFalcon3:
      for (size_t i = 0; i < messages.size(); ++i) {
        const auto& m = messages[i];
        if (m.role == "assistant") {
          out += str_cat("<|assistant|>\n", m.content, eos_text);
          if (i + 1 < messages.size()) out += "\n";
        } else if (m.role == "system" || m.role == "user") {
          out += str_cat("<|", m.role, "|>\n", m.content, "\n");
        }  // the template's non-tool branch drops other roles
      }
      if (add_generation_prompt) out += "<|assistant|>\n";
      break;
  }
  return out;
}

}  // namespace tern
