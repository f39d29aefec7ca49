"""Hugging Face tokenizer files for the tiny byte-level BPE vocabulary of the golden fixtures
(tokenizer.json, tokenizer_config.json, generation_config.json), written the way LLaMA-3 /
microsoft/bitnet-b1.58-2B-4T ship them: a Split pre-tokenizer with LLaMA-3's regex followed by
ByteLevel(use_regex=false), a BPE model with ignore_merges, the special tokens as added_tokens.

Also a small independent reference encoder (ASCII text only: the LLaMA-3 regex restricted to
ASCII, where \\p{L} = [A-Za-z] and \\p{N} = [0-9]; merges applied lowest rank first; a word that
is itself a token is emitted whole, as ignore_merges does).
"""

import json
import os
import re

# LLaMA-3's split regex, as in Meta-Llama-3's tokenizer.json.
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
# The same on ASCII text (Python's re has no \p{..}).
_ASCII_REGEX = re.compile(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\nA-Za-z0-9]?[A-Za-z]+|[0-9]{1,3}|"
                          r" ?[^\sA-Za-z0-9]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

BITNET_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = message['role'] | capitalize + ': '+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}")


def write_bpe_tokenizer(dirpath, tokens, types, merges, bos, eos, eot, chat_template=BITNET_CHAT_TEMPLATE):
    """tokens / types: the GGUF vocabulary (type 3 = control -> added_tokens special)."""
    vocab = {t: i for i, (t, ty) in enumerate(zip(tokens, types)) if ty != 3}
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True}
             for i, (t, ty) in enumerate(zip(tokens, types)) if ty == 3]
    tj = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": True, "vocab": vocab, "merges": merges},
    }
    with open(os.path.join(dirpath, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tj, f, ensure_ascii=False, separators=(",", ":"))
    tc = {
        "added_tokens_decoder": {str(a["id"]): {k: v for k, v in a.items() if k != "id"} for a in added},
        "bos_token": tokens[bos],
        "eos_token": tokens[eos],
        "chat_template": chat_template,
        "clean_up_tokenization_spaces": True,
        "model_max_length": 1000000000000000019884624838656,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }
    with open(os.path.join(dirpath, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(dirpath, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": bos, "eos_token_id": [eos, eot], "do_sample": False}, f, indent=2)
        f.write("\n")


def bpe_encode_ascii(text, tokens, merges, byte_to_unicode):
    """Reference byte-level BPE on ASCII text (see module doc). Returns ids (no BOS)."""
    index = {t: i for i, t in enumerate(tokens)}
    rank = {tuple(m.split(" ")): r for r, m in enumerate(merges)}
    ids = []
    for word in _ASCII_REGEX.findall(text):
        sym = [byte_to_unicode[b] for b in word.encode("utf-8")]
        if "".join(sym) in index:
            ids.append(index["".join(sym)])
            continue
        while len(sym) > 1:
            best = min(range(len(sym) - 1), key=lambda i: (rank.get((sym[i], sym[i + 1]), 1 << 30), i))
            if (sym[best], sym[best + 1]) not in rank:
                break
            sym = sym[:best] + [sym[best] + sym[best + 1]] + sym[best + 2:]
        ids.extend(index[s] for s in sym)
    return ids
