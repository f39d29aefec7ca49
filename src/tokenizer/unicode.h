// UTF-8 helpers and GPT-2's byte <-> unicode mapping, shared by the tokenizers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tern::unicode {

// Length of a well-formed UTF-8 sequence at s[pos] (1..4), or 0 when the bytes there are not a
// well-formed sequence (bad lead byte, truncated, overlong, surrogate, > U+10FFFF).
size_t utf8_seq_len(std::string_view s, size_t pos);
// Decodes the well-formed sequence at s[pos] (caller checked utf8_seq_len > 0).
uint32_t utf8_decode(std::string_view s, size_t pos, size_t len);
void utf8_append(std::string& out, uint32_t cp);

// GPT-2 byte-level mapping: every byte is a printable code point (printable Latin-1 bytes map
// to themselves, the other 68 to U+0100..U+0143 in byte order), from openai/gpt-2 encoder.py
// bytes_to_unicode(). byte_to_utf8 returns the UTF-8 of that code point.
const std::string& byte_to_utf8(uint8_t b);
// Inverse: the byte a code point stands for, or -1 when it is not one of the 256.
int byte_from_codepoint(uint32_t cp);

}  // namespace tern::unicode
