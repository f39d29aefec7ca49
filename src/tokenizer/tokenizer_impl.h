// Internal: constructors of the concrete tokenizers, used by Tokenizer::from_vocab.
#pragma once

#include <memory>

#include "tokenizer/tokenizer.h"

namespace tern {

// `v` is validated (sizes, ids) and has its ids defaulted; pre is normalised by the callee.
std::unique_ptr<Tokenizer> make_bpe_tokenizer(const VocabData& v);  // "gpt2"
std::unique_ptr<Tokenizer> make_spm_tokenizer(const VocabData& v);  // "llama"

// Maps tokenizer.ggml.pre (possibly "") to the pre-tokenizer tern uses: "llama3" or "gpt2".
// Throws tern::Error for values tern does not implement.
std::string resolve_bpe_pre(const VocabData& v);

}  // namespace tern
