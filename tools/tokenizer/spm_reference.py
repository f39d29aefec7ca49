#!/usr/bin/python3
"""Reference data for tern's SentencePiece-BPE ("llama" model) tokenizer tests.

Trains a small BPE model (vocab 1000, byte fallback, LLaMA-2's normalisation settings:
identity rule, dummy prefix, no whitespace squeezing) with Google's sentencepiece (Debian
python3-sentencepiece) on the King James Bible text (Debian bible-kjv-text, read with the
`bible` program of bible-kjv), then writes its pieces/scores/types and the ids sentencepiece
gives for a test corpus to tests/fixtures/tokenizer/spm_bpe1000.json.

Usage: /usr/bin/python3 tools/tokenizer/spm_reference.py [OUT.json]
Needs: apt-get install -y python3-sentencepiece bible-kjv-text
"""
import io
import json
import os
import subprocess
import sys

import sentencepiece as spm

FORMAT_VERSION = 1
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "..", "tests", "fixtures", "tokenizer", "spm_bpe1000.json")

CORPUS = [
    "In the beginning God created the heaven and the earth.",
    "And God said, Let there be light: and there was light.",
    "Hello world",
    " leading space",
    "two  spaces   three    four",
    "trailing space ",
    "line one\nline two\n\nline four\r\n",
    "tabs\tare\t\tbytes",
    "Digits 1234567 and 3.14159 and 2024",
    "Café naïve résumé — “quoted” ‘text’",
    "日本語 中文 Привет мир",
    "Emoji 😀🎉👍🏽 and ❤️",
    "<s> and </s> are text here, so is <0x41>",
    "UPPER lower MiXeD",
    "the LORD spake unto Moses, saying,",
    "x",
    " ",
    "",
]


def kjv_lines():
    out = subprocess.run(["bible", "-f", "Gen1:1-Deu34:12"], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split(" ", 1)  # drop the "Ge1:1" reference
        if len(parts) == 2 and parts[1].strip():
            yield parts[1].strip()


def piece_type(sp, i):
    # GGUF tokenizer.ggml.token_type: 1 normal, 2 unknown, 3 control, 5 unused, 6 byte
    if sp.is_unknown(i):
        return 2
    if sp.is_control(i):
        return 3
    if sp.is_byte(i):
        return 6
    if sp.is_unused(i):
        return 5
    return 1


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=kjv_lines(), model_writer=model, vocab_size=1000, model_type="bpe",
        byte_fallback=True, normalization_rule_name="identity", add_dummy_prefix=True,
        remove_extra_whitespaces=False, split_digits=True, character_coverage=1.0,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=1, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    pieces = [[sp.id_to_piece(i), sp.get_score(i), piece_type(sp, i)]
              for i in range(sp.get_piece_size())]
    cases = [{"text": t, "ids": sp.encode(t, out_type=int)} for t in CORPUS]
    doc = {
        "format": "tern-spm-vocab",
        "version": FORMAT_VERSION,
        "generator": "tools/tokenizer/spm_reference.py",
        "reference": f"sentencepiece {spm.__version__} encode(text), trained on KJV Gen-Deu",
        "unk_id": 0, "bos_id": 1, "eos_id": 2,
        "pieces": pieces,
        "cases": cases,
    }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(pieces)} pieces and {len(cases)} cases to {out_path}")


if __name__ == "__main__":
    main()
