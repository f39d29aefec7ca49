// Chat prompt formatting for the template families tern's models use. No Jinja engine: the
// family is recognised by distinctive substrings of tokenizer.chat_template (or named by the
// user) and formatted by hand, byte-exact with the Hugging Face templates (docs/TOKENIZER.md).
// The formatted text never contains BOS: encode it with add_bos = tok.add_bos_default() and
// parse_special = true.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern {

class Tokenizer;

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant" (others are passed through)
  std::string content;
};

enum class ChatFormat {
  kBitnet,   // BitNet b1.58 2B-4T: "User: {c}<|eot_id|>Assistant: "
  kLlama3,   // <|start_header_id|>{role}<|end_header_id|>\n\n{c}<|eot_id|>
  kChatml,   // <|im_start|>{role}\n{c}<|im_end|>\n
  kFalcon3,  // <|{role}|>\n{c}\n, assistant turns end with EOS
};

// tokenizer_config.json "chat_template" of microsoft/bitnet-b1.58-2B-4T (what the model was
// trained with); also written into `tern dummy` files.
inline constexpr std::string_view kBitnetChatTemplate =
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = message['role'] | capitalize + ': '+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}";

std::string_view chat_format_name(ChatFormat f);  // "bitnet", "llama3", "chatml", "falcon3"
// By name; throws tern::Error listing the known names.
ChatFormat chat_format_from_name(std::string_view name);
// From a Jinja template text; nullopt when no known family matches.
std::optional<ChatFormat> detect_chat_format(std::string_view jinja);
// `override_name` when not empty, else detected from tok.chat_template(), else guessed from
// the vocabulary (<|eot_id|> -> bitnet, <|im_start|> -> chatml). Throws tern::Error when
// nothing fits, naming the option to pass.
ChatFormat resolve_chat_format(const Tokenizer& tok, std::string_view override_name);

// Formats `messages`; with add_generation_prompt the text ends where the assistant's reply
// starts. `eos_text` is only used by Falcon3 (its assistant turns end with the EOS token text).
std::string format_chat(ChatFormat f, const std::vector<ChatMessage>& messages,
                        bool add_generation_prompt, std::string_view eos_text = "<|endoftext|>");

}  // namespace tern
