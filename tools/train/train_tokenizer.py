#!/usr/bin/python3
"""Train the SentencePiece BPE tokenizer of tern's small BitNet b1.58 model (Debian's
sentencepiece), deterministically, on the training split only.

LLaMA-style settings so that tern's "llama" (SentencePiece BPE) tokenizer reads the result from
tokenizer.model: model_type bpe, byte_fallback (256 <0xXX> pieces, so no text is ever <unk>),
ids <unk> 0, <s> 1 (BOS), </s> 2 (EOS), one control piece <|eot_id|> 3 (ends a chat turn, as in
2B-4T's chat template; never produced from text), no padding piece; split_digits; identity
normalisation and no whitespace collapsing (tern does neither), a dummy space prefix (tern's
add_space_prefix). Newlines are not seen in training (sentencepiece trains on lines) and
encode as the byte piece <0x0A>, as in LLaMA.

Determinism: all sentences used (input_sentence_size 0, no shuffling), one thread.

Usage: /usr/bin/python3 tools/train/train_tokenizer.py --data WORK/data --out WORK/tokenizer --vocab 4096
Writes OUT/tokenizer.model.
"""

import argparse
import io
import os

import sentencepiece as spm

CONTROL = ["<|eot_id|>"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="directory with train.txt (prepare_data.py)")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--vocab", type=int, default=4096, help="vocabulary size (default 4096)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    prefix = os.path.join(args.out, "tokenizer")
    with open(os.path.join(args.data, "train.txt"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    # Sentences from an iterator and the model into memory: the trainer spec stored in the model
    # then names no input file or output prefix, so the file is byte-identical wherever it is made.
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        model_type="bpe",
        vocab_size=args.vocab,
        byte_fallback=True,
        character_coverage=0.9999,  # the rarest characters go to byte pieces
        split_digits=True,
        allow_whitespace_only_pieces=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        control_symbols=CONTROL,
        max_sentence_length=16384,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        num_threads=1,
        minloglevel=2,
    )
    with open(prefix + ".model", "wb") as f:
        f.write(model.getvalue())
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    assert sp.piece_to_id("<s>") == 1 and sp.piece_to_id("</s>") == 2 and sp.piece_to_id("<|eot_id|>") == 3
    assert sp.piece_to_id("<0x00>") == 4 and sp.piece_to_id("<0xFF>") == 259, "byte pieces expected right after the control piece"
    with open(os.path.join(args.data, "heldout.txt"), encoding="utf-8") as f:
        text = f.read()
    ids = sp.encode(text)
    assert sp.decode(ids) == text, "tokenizer does not round-trip the held-out text"
    print("train_tokenizer: vocab %d, held-out %d bytes -> %d tokens (%.2f bytes/token) -> %s.model"
          % (sp.get_piece_size(), len(text.encode("utf-8")), len(ids), len(text.encode("utf-8")) / len(ids), prefix))


if __name__ == "__main__":
    main()
