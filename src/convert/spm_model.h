// SentencePiece tokenizer.model reader: a minimal protobuf (proto2) wire-format parser for the
// fields tern needs, no protobuf dependency. Field numbers from sentencepiece_model.proto
// (google/sentencepiece src/sentencepiece_model.proto; checked against the descriptor in
// Debian's python3-sentencepiece):
//   ModelProto      { repeated SentencePiece pieces = 1; TrainerSpec trainer_spec = 2;
//                     NormalizerSpec normalizer_spec = 3; }
//   SentencePiece   { string piece = 1; float score = 2; Type type = 3 [default NORMAL]; }
//   TrainerSpec     { ModelType model_type = 3 (UNIGRAM 1, BPE 2, WORD 3, CHAR 4);
//                     bool byte_fallback = 35; int32 unk_id = 40, bos_id = 41, eos_id = 42,
//                     pad_id = 43; }
//   NormalizerSpec  { string name = 1; bool add_dummy_prefix = 3 [default true];
//                     bool remove_extra_whitespaces = 4; }
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tern::convert {

struct SpmModel {
  struct Piece {
    std::string text;
    float score = 0.0f;
    int32_t type = 1;  // sentencepiece Type = tern TokenType (NORMAL 1 .. BYTE 6)
  };
  std::vector<Piece> pieces;
  int32_t model_type = 1;  // UNIGRAM when absent (proto default)
  bool byte_fallback = false;
  int32_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;  // proto defaults
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  std::string normalizer_name;
};

// Parses a serialized ModelProto. Throws tern::Error naming `path` on malformed input
// (truncated varints or fields, lengths past the end, bad piece types, no pieces).
SpmModel parse_spm_model(const uint8_t* data, size_t size, const std::string& path);

}  // namespace tern::convert
