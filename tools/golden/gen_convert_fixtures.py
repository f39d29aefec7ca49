#!/usr/bin/python3
"""Fixtures for `tern convert`: tiny synthetic Hugging Face checkpoints in every input format the
converter reads, each with the outputs of an independent PyTorch forward pass.

Usage (Debian's Python, which has torch, numpy and sentencepiece):
    /usr/bin/python3 tools/golden/gen_convert_fixtures.py --out tests/fixtures/convert

Writes one directory per format (see docs/CONVERT.md "Tests"):
    hf_bitnet_bf16/   BitNetForCausalLM, bf16 master weights (the -bf16 repo of 2B-4T):
                      absmean-ternarized per tensor, relu^2, attn/ffn sub-norms, tied embedding,
                      byte-level BPE tokenizer.json
    hf_1bitllm/       BitnetForCausalLM (1bitLLM/bitnet_b1_58-*): fp16 latent weights, SiLU,
                      sub-norms inner_attn_ln / ffn_layernorm, untied lm_head, SentencePiece
                      tokenizer.model (trained here), hidden 160 / FFN 288 (not multiples of 128
                      or 256: exercises the converter's zero padding), one added token and one
                      [PAD] id up to vocab_size
    hf_llama_bitnet/  LlamaForCausalLM + quant_method "bitnet" (HF1BitLLM / Falcon3-1.58bit):
                      packed uint8 weights, INVERTED weight_scale (output divided by it), no
                      sub-norms, SiLU, GQA, untied bf16 lm_head, tokenizer.json
each with config.json, model.safetensors (hf_llama_bitnet: two shards + index) and ref.gguf:
    ref.tokens [T] i32, ref.logits [V, T] f32, ref.greedy [16] i32 (greedy continuation),
    tern.fixture.greedy_min_margin (smallest top-1 / top-2 logit gap over the greedy steps).
hf_1bitllm/ also has tokenizer_ref.json: texts and the ids Python sentencepiece gives for them;
the BPE directories have tokenizer_ref.json with ids from an independent ASCII BPE encoder.

The forward pass follows the Hugging Face modules (modeling_bitnet.py / modeling_llama.py with
the BitLinear of integrations/bitnet.py or 1bitLLM's utils_quant.py), as gen_bitnet_fixture.py:
RMSNorm in fp32, per-token int8 absmax activation quantization (round half to even), exact
integer ternary sums, rotate-half RoPE, GQA, causal softmax.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_bitnet_fixture as GB  # noqa: E402
import gguf_min as G  # noqa: E402
import hf_tokenizer_files as HT  # noqa: E402
import ternary_pack as P  # noqa: E402

SCRIPT = "tools/golden/gen_convert_fixtures.py"
N_GREEDY = 16
PROMPT_LEN = 12

FIXTURES = {
    "hf_bitnet_bf16": dict(arch="BitNetForCausalLM", model_type="bitnet", storage="master_bf16",
                           hidden=128, ffn=256, layers=2, heads=4, kv_heads=2, theta=500000.0, eps=1e-5,
                           act="relu2", sub_norms=("self_attn.attn_sub_norm", "mlp.ffn_sub_norm"),
                           tied=True, tokenizer="bpe", seed=15),
    "hf_1bitllm": dict(arch="BitnetForCausalLM", model_type="llama", storage="master_fp16",
                       hidden=160, ffn=288, layers=2, heads=5, kv_heads=5, theta=10000.0, eps=1e-5,
                       act="silu", sub_norms=("self_attn.inner_attn_ln", "mlp.ffn_layernorm"),
                       tied=False, tokenizer="spm", seed=13),
    "hf_llama_bitnet": dict(arch="LlamaForCausalLM", model_type="llama", storage="packed_div",
                            hidden=128, ffn=256, layers=2, heads=4, kv_heads=2, theta=500000.0, eps=1e-5,
                            act="silu", sub_norms=None, tied=False, tokenizer="bpe", seed=17),
}

PROJ = [  # hf suffix, rows, cols (symbolic)
    ("self_attn.q_proj", "Q", "H"), ("self_attn.k_proj", "KV", "H"), ("self_attn.v_proj", "KV", "H"),
    ("self_attn.o_proj", "H", "Q"), ("mlp.gate_proj", "F", "H"), ("mlp.up_proj", "F", "H"),
    ("mlp.down_proj", "H", "F"),
]

SPM_CORPUS = GB.CORPUS + (
    " Sentence piece models split text into pieces; the tokenizer adds a dummy prefix space and falls "
    "back to bytes for characters it has never seen. Reading, writing, counting 123 and 4567 apples. "
    "Tokens, pieces and merges: the same text must give the same ids in Python and in C++.")

TOKENIZER_TEXTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    " leading space and  two  spaces",
    "numbers 12 345 6789 and 3.14",
    "Ternary weights are minus one, zero or plus one.",
    "line one\nline two\n\nend",
    "tabs\tand\ttabs",
    "don't, it's, they're; we'll",
    "UPPER lower MiXeD",
    "",
    "a",
    "   ",
]
SPM_EXTRA_TEXTS = ["caf\u00e9 na\u00efve \u65e5\u672c", "emoji \U0001f600!"]  # byte fallback


def dims(c):
    hd = c["hidden"] // c["heads"]
    return {"H": c["hidden"], "F": c["ffn"], "Q": c["heads"] * hd, "KV": c["kv_heads"] * hd}, hd


def fp16_exact(x):
    """bf16 values that are also exact in fp16 (|x| >= 2^-14 or 0), like the golden embedding."""
    x = GB.bf16_round(x)
    return torch.where(x.abs() < 2.0 ** -14, torch.zeros_like(x), x)


def absmean_ternarize(w):
    """Converter rule (and 1bitLLM / transformers WeightQuant): m = mean|W| (float64 sum, f32),
    floored 1e-5; t = round_half_even(f32(W * f32(1/m))) clamped to [-1, 1]. Returns t, m."""
    w32 = w.numpy().astype(np.float32)
    m = np.float32(max(np.float32(np.abs(w32.astype(np.float64)).sum() / w32.size), np.float32(1e-5)))
    inv = np.float32(1.0) / m
    t = np.clip(np.rint(w32 * inv), -1, 1).astype(np.int8)
    return torch.from_numpy(t), float(m)


def make_model(c, vocab_size):
    g = torch.Generator().manual_seed(c["seed"])
    D, hd = dims(c)
    H = c["hidden"]
    m = {"embed": fp16_exact(torch.randn(vocab_size, H, generator=g) * 0.5), "layers": []}
    if not c["tied"]:
        m["head"] = fp16_exact(torch.randn(vocab_size, H, generator=g) * 0.5)
    for _ in range(c["layers"]):
        lw = {"input_layernorm": fp16_exact(1.0 + 0.1 * torch.randn(H, generator=g)),
              "post_attention_layernorm": fp16_exact(1.0 + 0.1 * torch.randn(H, generator=g))}
        if c["sub_norms"]:
            lw[c["sub_norms"][0]] = fp16_exact(1.0 + 0.1 * torch.randn(D["Q"], generator=g))
            lw[c["sub_norms"][1]] = fp16_exact(1.0 + 0.1 * torch.randn(D["F"], generator=g))
        for name, o, i in PROJ:
            std = 0.2 if name in ("self_attn.q_proj", "self_attn.k_proj") else 1.0
            w = torch.randn(D[o], D[i], generator=g) * std
            if c["storage"] == "master_bf16":
                w = GB.bf16_round(w)
                t, s = absmean_ternarize(w)
                lw[name] = {"master": w, "t": t, "mul": s}
            elif c["storage"] == "master_fp16":
                w = w.to(torch.float16).to(torch.float32)
                t, s = absmean_ternarize(w)
                lw[name] = {"master": w, "t": t, "mul": s}
            else:  # packed, inverted scale: weight_scale = bf16(1 / mean|W|), output / weight_scale
                t, mean = absmean_ternarize(GB.bf16_round(w))
                ws = float(GB.bf16_round(torch.tensor([1.0 / mean]))[0])
                lw[name] = {"t": t, "div": ws}
        m["layers"].append(lw)
    m["norm"] = fp16_exact(1.0 + 0.1 * torch.randn(H, generator=g))
    return m


def bitlinear(x, p):
    q, s = GB.act_quant(x)
    acc = (q.to(torch.float64) @ p["t"].to(torch.float64).T).to(torch.float32)
    if "div" in p:  # transformers BitLinear.post_quant_process: y / (input_scale * weight_scale)
        return acc / (s * p["div"])
    return acc / s * p["mul"]


def forward(c, m, tokens):
    D, hd = dims(c)
    nh, nkv, eps = c["heads"], c["kv_heads"], c["eps"]
    T = len(tokens)
    h = m["embed"][torch.tensor(tokens, dtype=torch.long)]
    cos, sin = GB.rope_cos_sin(T, hd, c["theta"], torch.float32)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    for lw in m["layers"]:
        x = GB.rms_norm(h, lw["input_layernorm"], eps)
        q = bitlinear(x, lw["self_attn.q_proj"])
        k = bitlinear(x, lw["self_attn.k_proj"])
        v = bitlinear(x, lw["self_attn.v_proj"])
        qh = q.view(T, nh, hd).transpose(0, 1)
        kh = k.view(T, nkv, hd).transpose(0, 1)
        vh = v.view(T, nkv, hd).transpose(0, 1)
        qh = qh * cos + GB.rotate_half(qh) * sin
        kh = kh * cos + GB.rotate_half(kh) * sin
        group = nh // nkv
        outs = []
        for head in range(nh):
            sc = (qh[head] @ kh[head // group].T) * (1.0 / math.sqrt(hd))
            p = torch.softmax(sc.masked_fill(mask, float("-inf")), dim=-1)
            outs.append(p @ vh[head // group])
        a = torch.stack(outs, dim=1).reshape(T, nh * hd)
        if c["sub_norms"]:
            a = GB.rms_norm(a, lw[c["sub_norms"][0]], eps)
        h = h + bitlinear(a, lw["self_attn.o_proj"])
        x = GB.rms_norm(h, lw["post_attention_layernorm"], eps)
        gate = bitlinear(x, lw["mlp.gate_proj"])
        up = bitlinear(x, lw["mlp.up_proj"])
        act = torch.relu(gate).pow(2) if c["act"] == "relu2" else torch.nn.functional.silu(gate)
        mm = act * up
        if c["sub_norms"]:
            mm = GB.rms_norm(mm, lw[c["sub_norms"][1]], eps)
        h = h + bitlinear(mm, lw["mlp.down_proj"])
    x = GB.rms_norm(h, m["norm"], c["eps"])
    return x @ (m["embed"] if c["tied"] else m["head"]).T


def greedy(c, m, prompt, n):
    seq, margins = list(prompt), []
    for _ in range(n):
        lg = forward(c, m, seq)[-1].double()
        top = torch.topk(lg, 2).values
        margins.append(float(top[0] - top[1]))
        seq.append(int(torch.argmax(lg)))
    return seq[len(prompt):], margins


# ------------------------------------------------------------------------------------ writers

def st_bytes(t, dtype):
    if dtype == "BF16":
        return t.to(torch.bfloat16).contiguous().view(torch.int16).numpy().astype("<i2").tobytes()
    if dtype == "F16":
        return t.to(torch.float16).numpy().astype("<f2").tobytes()
    return t.to(torch.float32).numpy().astype("<f4").tobytes()


def write_checkpoint(d, c, m):
    fdt = "F16" if c["storage"] == "master_fp16" else "BF16"
    ts = [("model.embed_tokens.weight", fdt, list(m["embed"].shape), st_bytes(m["embed"], fdt)),
          ("model.norm.weight", fdt, [c["hidden"]], st_bytes(m["norm"], fdt))]
    if not c["tied"]:
        ts.append(("lm_head.weight", fdt, list(m["head"].shape), st_bytes(m["head"], fdt)))
    for L, lw in enumerate(m["layers"]):
        pre = "model.layers.%d." % L
        for name, val in lw.items():
            if isinstance(val, dict):
                if "master" in val:
                    ts.append((pre + name + ".weight", fdt, list(val["master"].shape), st_bytes(val["master"], fdt)))
                else:
                    packed = P.pack_hf(val["t"].numpy())
                    ts.append((pre + name + ".weight", "U8", list(packed.shape), packed.tobytes()))
                    ts.append((pre + name + ".weight_scale", "BF16", [1], st_bytes(torch.tensor([val["div"]]), "BF16")))
            else:
                ts.append((pre + name + ".weight", fdt, [val.numel()], st_bytes(val, fdt)))
    if c["storage"] == "packed_div":  # sharded like big checkpoints: two files + index
        shards = {"model-00001-of-00002.safetensors": [t for t in ts if ".layers.1." not in t[0]],
                  "model-00002-of-00002.safetensors": [t for t in ts if ".layers.1." in t[0]]}
        weight_map = {}
        for fn, part in shards.items():
            G.write_safetensors(os.path.join(d, fn), part, {"format": "pt"})
            for t in part:
                weight_map[t[0]] = fn
        total = sum(len(t[3]) for t in ts)
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
            f.write("\n")
    else:
        G.write_safetensors(os.path.join(d, "model.safetensors"), ts, {"format": "pt"})


def write_config(d, c, vocab_size, bos, eos):
    cfg = {
        "architectures": [c["arch"]],
        "attention_bias": False,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "hidden_act": c["act"],
        "hidden_size": c["hidden"],
        "intermediate_size": c["ffn"],
        "max_position_embeddings": 64,
        "model_type": c["model_type"],
        "num_attention_heads": c["heads"],
        "num_hidden_layers": c["layers"],
        "num_key_value_heads": c["kv_heads"],
        "rms_norm_eps": c["eps"],
        "rope_scaling": None,
        "rope_theta": c["theta"],
        "tie_word_embeddings": c["tied"],
        "torch_dtype": "float16" if c["storage"] == "master_fp16" else "bfloat16",
        "vocab_size": vocab_size,
    }
    if c["storage"] == "master_bf16":  # microsoft/bitnet-b1.58-2B-4T-bf16
        cfg["quantization_config"] = {"quant_method": "bitnet", "linear_class": "autobitlinear",
                                      "quantization_mode": "online"}
    elif c["storage"] == "packed_div":  # HF1BitLLM / Falcon3-1.58bit (default linear_class bitlinear)
        cfg["quantization_config"] = {"quant_method": "bitnet", "modules_to_not_convert": None}
    else:  # 1bitLLM
        cfg["input_bits"] = 8
        cfg["weight_bits"] = 1
        cfg["pad_token_id"] = vocab_size - 2
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def write_ref(d, name, c, prompt, logits, greedy_toks, margins):
    w = G.GGUFWriter(alignment=32)
    w.kv("general.architecture", G.T_STR, "tern-fixture")
    w.kv("general.alignment", G.T_U32, 32)
    w.kv("tern.fixture.version", G.T_U32, 1)
    w.kv("tern.fixture.generator", G.T_STR, "%s %s seed=%d" % (SCRIPT, name, c["seed"]))
    w.kv("tern.fixture.greedy_min_margin", G.T_F32, min(margins))
    w.tensor("ref.tokens", [len(prompt)], G.GGML_I32, np.array(prompt, dtype="<i4").tobytes())
    T, V = logits.shape
    w.tensor("ref.logits", [V, T], G.GGML_F32, GB.f32_bytes(logits))
    w.tensor("ref.greedy", [len(greedy_toks)], G.GGML_I32, np.array(greedy_toks, dtype="<i4").tobytes())
    w.write(os.path.join(d, "ref.gguf"))


def train_spm(d, vocab_size):
    import sentencepiece as spm
    corpus = os.path.join(d, "_corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        for sent in SPM_CORPUS.replace("; ", ".\n").split(". "):
            f.write(sent.strip() + "\n")
    # LLaMA-2's trainer settings where they matter for encoding: BPE, byte fallback, digits
    # split, identity normalization, no whitespace collapsing, dummy prefix.
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=os.path.join(d, "tokenizer"), model_type="bpe", vocab_size=vocab_size,
        byte_fallback=True, split_digits=True, normalization_rule_name="identity",
        remove_extra_whitespaces=False, add_dummy_prefix=True, allow_whitespace_only_pieces=True,
        character_coverage=1.0, num_threads=1, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        minloglevel=2)
    os.remove(corpus)
    os.remove(os.path.join(d, "tokenizer.vocab"))
    return spm.SentencePieceProcessor(model_file=os.path.join(d, "tokenizer.model"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/fixtures/convert")
    args = ap.parse_args()
    torch.set_num_threads(1)
    tokens, types, merges = GB.build_vocab(GB.CONFIG["vocab_size"] - 256 - len(GB.SPECIALS))
    b2u = dict(GB.bytes_to_unicode())
    for name, c in FIXTURES.items():
        d = os.path.join(args.out, name)
        os.makedirs(d, exist_ok=True)
        if c["tokenizer"] == "bpe":
            vocab_size, bos, eos = len(tokens), GB.BOS_ID, GB.EOS_ID
            HT.write_bpe_tokenizer(d, tokens, types, merges, GB.BOS_ID, GB.EOS_ID, GB.EOT_ID)
            ref_ids = [HT.bpe_encode_ascii(t, tokens, merges, b2u) for t in TOKENIZER_TEXTS]
            texts = TOKENIZER_TEXTS
        else:
            sp = train_spm(d, 384)
            # One added token (like 1bitLLM's <pad>) and one unnamed id up to vocab_size.
            vocab_size, bos, eos = sp.get_piece_size() + 2, sp.bos_id(), sp.eos_id()
            with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
                json.dump({"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
                           "unk_token": "<unk>", "pad_token": "<pad>", "legacy": True,
                           "added_tokens_decoder": {str(sp.get_piece_size()): {
                               "content": "<pad>", "lstrip": False, "normalized": False, "rstrip": False,
                               "single_word": False, "special": True}},
                           "tokenizer_class": "LlamaTokenizer"}, f, indent=2)
                f.write("\n")
            texts = TOKENIZER_TEXTS + SPM_EXTRA_TEXTS
            ref_ids = [sp.encode(t) for t in texts]
        with open(os.path.join(d, "tokenizer_ref.json"), "w", encoding="utf-8") as f:
            json.dump({"reference": "sentencepiece %s" % __import__("sentencepiece").__version__
                       if c["tokenizer"] == "spm" else "hf_tokenizer_files.bpe_encode_ascii",
                       "texts": texts, "ids": ref_ids}, f, ensure_ascii=False, indent=1)
            f.write("\n")
        m = make_model(c, vocab_size)
        write_config(d, c, vocab_size, bos, eos)
        write_checkpoint(d, c, m)
        rs = np.random.RandomState(c["seed"])
        prompt = [bos] + [int(x) for x in rs.randint(3, vocab_size - 2, size=PROMPT_LEN - 1)]
        with torch.no_grad():
            logits = forward(c, m, prompt)
            g, margins = greedy(c, m, prompt, N_GREEDY)
        write_ref(d, name, c, prompt, logits, g, margins)
        size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
        print("%-16s vocab %d, greedy %s, min margin %.3f, %d bytes" % (name, vocab_size, g, min(margins), size))


if __name__ == "__main__":
    main()
