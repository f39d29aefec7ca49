// Chat formats, byte-exact, and template detection from real template texts.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "tokenizer/chat.h"
#include "tokenizer/tokenizer.h"

namespace tern {
namespace {

const std::vector<ChatMessage> kChat = {
    {"system", "  You are helpful.\n"},
    {"user", "Hi there "},
    {"assistant", "Hello!"},
    {"user", "Bye"},
};

TEST(TokenizerChat, Bitnet) {
  // microsoft/bitnet-b1.58-2B-4T tokenizer_config.json: Role: trimmed content<|eot_id|>
  EXPECT_EQ(format_chat(ChatFormat::kBitnet, kChat, true),
            "System: You are helpful.<|eot_id|>User: Hi there<|eot_id|>"
            "Assistant: Hello!<|eot_id|>User: Bye<|eot_id|>Assistant: ");
  EXPECT_EQ(format_chat(ChatFormat::kBitnet, {{"user", "Hey"}}, false), "User: Hey<|eot_id|>");
}

TEST(TokenizerChat, Llama3) {
  EXPECT_EQ(format_chat(ChatFormat::kLlama3, kChat, true),
            "<|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(TokenizerChat, Chatml) {
  EXPECT_EQ(format_chat(ChatFormat::kChatml, kChat, true),
            "<|im_start|>system\n  You are helpful.\n<|im_end|>\n"
            "<|im_start|>user\nHi there <|im_end|>\n"
            "<|im_start|>assistant\nHello!<|im_end|>\n"
            "<|im_start|>user\nBye<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(TokenizerChat, Falcon3) {
  EXPECT_EQ(format_chat(ChatFormat::kFalcon3, kChat, true, "<|endoftext|>"),
            "<|system|>\n  You are helpful.\n\n<|user|>\nHi there \n"
            "<|assistant|>\nHello!<|endoftext|>\n<|user|>\nBye\n<|assistant|>\n");
  // the last assistant turn gets no newline after EOS
  EXPECT_EQ(format_chat(ChatFormat::kFalcon3, {{"user", "a"}, {"assistant", "b"}}, false),
            "<|user|>\na\n<|assistant|>\nb<|endoftext|>");
}

TEST(TokenizerChat, DetectsFamilies) {
  EXPECT_EQ(detect_chat_format(kBitnetChatTemplate), ChatFormat::kBitnet);
  // bitnet.cpp's converter writes this kind of template into the official GGUF.
  EXPECT_EQ(detect_chat_format(
                "{% for message in messages %}{% if loop.first %}{{ bos_token }}{% endif %}"
                "{% if message['role'] == 'user' %}{{ 'Human: ' + message['content'] + "
                "'\\n\\nBITNETAssistant: ' + eos_token }}{% elif message['role'] == "
                "'assistant' %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}"),
            ChatFormat::kBitnet);
  EXPECT_EQ(detect_chat_format(
                "{% set loop_messages = messages %}{% for message in loop_messages %}{% set "
                "content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ "
                "message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set "
                "content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"),
            ChatFormat::kLlama3);
  EXPECT_EQ(detect_chat_format("{% for message in messages %}{{'<|im_start|>' + message['role'] "
                               "+ '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"),
            ChatFormat::kChatml);
  EXPECT_EQ(detect_chat_format("{%- if message['role'] == 'system' %}{{- '<|system|>\\n' + "
                               "message['content'] + '\\n' }}{%- elif message['role'] == 'user' "
                               "%}{{- '<|user|>\\n' + message['content'] + '\\n' }}{%- elif "
                               "message['role'] == 'assistant' %}{{- '<|assistant|>\\n' + "
                               "message['content'] + eos_token }}"),
            ChatFormat::kFalcon3);
  EXPECT_FALSE(detect_chat_format("").has_value());
  EXPECT_FALSE(detect_chat_format("{{ messages }}").has_value());
}

TEST(TokenizerChat, NamesAndErrors) {
  for (auto f :
       {ChatFormat::kBitnet, ChatFormat::kLlama3, ChatFormat::kChatml, ChatFormat::kFalcon3})
    EXPECT_EQ(chat_format_from_name(chat_format_name(f)), f);
  try {
    chat_format_from_name("vicuna");
    FAIL() << "expected tern::Error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("vicuna"), std::string::npos);
    for (const char* n : {"bitnet", "llama3", "chatml", "falcon3"})
      EXPECT_NE(msg.find(n), std::string::npos) << msg;
  }
}

TEST(TokenizerChat, ResolvesFromTokenizer) {
  auto tok = Tokenizer::from_vocab(build_synthetic_vocab(1000));
  EXPECT_EQ(resolve_chat_format(*tok, ""), ChatFormat::kBitnet);
  EXPECT_EQ(resolve_chat_format(*tok, "chatml"), ChatFormat::kChatml);
  EXPECT_THROW(resolve_chat_format(*tok, "nope"), Error);
  // The formatted prompt tokenizes with the turn markers as single special tokens.
  const std::string prompt = format_chat(ChatFormat::kBitnet, {{"user", "the model"}}, true);
  const auto ids = tok->encode(prompt, tok->add_bos_default(), true);
  EXPECT_EQ(ids.front(), tok->bos());
  EXPECT_NE(std::find(ids.begin(), ids.end(), tok->eot()), ids.end());
  EXPECT_EQ(tok->decode(ids, true), "<|begin_of_text|>" + prompt);
}

}  // namespace
}  // namespace tern
