// Pre-tokenizer: splits text into words with a Unicode regex (PCRE2, UTF + UCP, JIT when the
// library has it) before byte-level BPE runs on each word.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tern {

// LLaMA-3's split regex (tokenizer.json of Meta-Llama-3, also used by BitNet 2B-4T, Falcon3).
inline constexpr std::string_view kRegexLlama3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// GPT-2's split regex (openai/gpt-2 encoder.py).
inline constexpr std::string_view kRegexGpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

class PreTokenizer {
 public:
  // Compiles once; throws tern::Error if PCRE2 rejects the pattern (a bug).
  explicit PreTokenizer(std::string_view pattern);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Words covering all of `text`, in order. Bytes the regex cannot match (only invalid UTF-8:
  // the patterns above match every valid code point) come out as words of their own, one per
  // maximal run, so byte-level BPE still encodes them byte by byte. Thread-safe.
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern
