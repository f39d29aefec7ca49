// Hugging Face tokenizer files -> tern VocabData (then tokenizer.ggml.* GGUF keys).
//  - tokenizer.json with a byte-level BPE model (LLaMA-3, BitNet 2B-4T, Falcon3): vocab,
//    merges ("a b" strings or [a, b] pairs), added_tokens (special -> CONTROL, else
//    USER_DEFINED); the pre-tokenizer regex is mapped to tokenizer.ggml.pre.
//  - tokenizer.model (SentencePiece BPE, LLaMA-2 / 1bitLLM): pieces, scores, types.
//  - tokenizer_config.json: bos_token, eos_token, add_bos_token, chat_template,
//    added_tokens_decoder; generation_config.json: eos_token_id (int or list).
// Ids above the tokenizer's own up to config.json vocab_size are filled with "[PAD<id>]"
// tokens of type UNUSED (as llama.cpp's converter does).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "convert/spm_model.h"
#include "tokenizer/tokenizer.h"

namespace tern::gguf {
class Writer;
}

namespace tern::convert {

struct HfVocabOptions {
  int64_t n_vocab = 0;       // config.json vocab_size (0: the tokenizer's own size)
  std::string pre_override;  // --vocab-pre: tokenizer.ggml.pre to write instead of detecting
};

// Reads the tokenizer files of `dir`: tokenizer.json when it holds a byte-level BPE model,
// else tokenizer.model. Throws tern::Error naming the file and problem.
VocabData read_hf_vocab(const std::string& dir, const nlohmann::json& config, const HfVocabOptions& opt);

// The pieces, exposed for tests.
VocabData vocab_from_tokenizer_json(const nlohmann::json& tj, const std::string& path,
                                    const std::string& pre_override);
VocabData vocab_from_spm(const SpmModel& m, const std::string& path);

// Writes v as tokenizer.ggml.* keys (+ tokenizer.chat_template when set).
void write_vocab(gguf::Writer& w, const VocabData& v);

// Reads a JSON file; throws naming the file when it is missing (if required) or invalid.
// Returns a null json when optional and absent.
nlohmann::json read_json_file(const std::string& path, bool required);

}  // namespace tern::convert
