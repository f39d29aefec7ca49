#!/usr/bin/python3
"""Golden fixture generator for tern: a tiny BitNet b1.58 (2B-4T architecture) model and the
outputs of an independent PyTorch forward pass.

Usage (Debian's Python, which has torch):
    /usr/bin/python3 tools/golden/gen_bitnet_fixture.py --out tests/fixtures/golden
    /usr/bin/python3 tools/golden/gen_bitnet_fixture.py --out tests/fixtures/golden --check

Writes (see docs/GOLDEN.md for every key, tensor name and shape):
    bitnet_tiny_i2_s.gguf, bitnet_tiny_tq2_0.gguf, bitnet_tiny_tq1_0.gguf   the model, 3 weight types
    bitnet_tiny_ref.gguf                                                    reference activations
    hf_bitnet_tiny/{config.json, model.safetensors, tokenizer*.json,
                    generation_config.json}                                 HF packed checkpoint

The forward pass follows transformers' modeling_bitnet.py + integrations/bitnet.py
(AutoBitLinear, offline mode) step by step, written here from scratch; the activation int8
quantization is done explicitly so the int8 x ternary products are exact integers.
"""

import argparse
import hashlib
import json
import math
import os
import re
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_min as G  # noqa: E402
import hf_tokenizer_files as HT  # noqa: E402
import ternary_pack as P  # noqa: E402

# ------------------------------------------------------------------------------------ config

CONFIG = {
    "vocab_size": 512,
    "hidden_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 64,
    "intermediate_size": 512,
    "context_length": 64,
    "rope_theta": 500000.0,
    "rms_norm_eps": 1e-5,
    "hidden_act": "relu2",
    "tie_word_embeddings": True,
    # generation of the random model
    "seed": 69,                  # chosen: see docs/GOLDEN.md "Choice of seed"
    "weight_std": 1.0,           # bf16 masters of v, o, gate, up, down (2B-4T's masters are O(1))
    "qk_weight_std": 0.2,        # q and k masters: attention scores with std ~4, not a one-hot softmax
    "embed_std": 0.5,            # token embedding (bf16 values, exactly representable in fp16)
    "norm_std": 0.1,             # norm weights = 1 + norm_std * randn (bf16 values)
    "prompt_len": 12,
    "n_greedy": 16,
}
FIXTURE_VERSION = 1
SCRIPT_NAME = "tools/golden/gen_bitnet_fixture.py"
ARCH = "bitnet-b1.58"

# Special tokens at the top of the 512-entry vocabulary.
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
BOS_ID, EOS_ID, EOT_ID = 509, 510, 511

# Names used in the GGUF files (llama.cpp / bitnet.cpp) and in the HF checkpoint, per layer.
# gguf name, hf name, (n_out, n_in) for projections; None for 1-d norms (size given).
PROJ = [  # gguf suffix, hf suffix, n_out, n_in
    ("attn_q", "self_attn.q_proj", "H", "H"),
    ("attn_k", "self_attn.k_proj", "KV", "H"),
    ("attn_v", "self_attn.v_proj", "KV", "H"),
    ("attn_output", "self_attn.o_proj", "H", "H"),
    ("ffn_gate", "mlp.gate_proj", "F", "H"),
    ("ffn_up", "mlp.up_proj", "F", "H"),
    ("ffn_down", "mlp.down_proj", "H", "F"),
]
NORMS = [  # gguf suffix, hf suffix, size
    ("attn_norm", "input_layernorm", "H"),
    ("attn_sub_norm", "self_attn.attn_sub_norm", "H"),
    ("ffn_norm", "post_attention_layernorm", "H"),
    ("ffn_sub_norm", "mlp.ffn_sub_norm", "F"),
]


def _dim(cfg, key):
    return {"H": cfg["hidden_size"], "F": cfg["intermediate_size"],
            "KV": cfg["num_key_value_heads"] * cfg["head_dim"]}[key]


def bf16_round(x):
    return x.to(torch.bfloat16).to(torch.float32)


# ---------------------------------------------------------------------------------- tokenizer

def bytes_to_unicode():
    """GPT-2's byte -> printable unicode map, in GPT-2's vocabulary order (printable bytes first)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + \
        list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return list(zip(bs, [chr(c) for c in cs]))


CORPUS = (
    "The tiny model reads a short prompt and writes the next token. Ternary weights are minus one, "
    "zero or plus one; the activations are eight bit integers with one scale per token. "
    "In the beginning there was a small test, and the test had to be exact: the same inputs give "
    "the same outputs, and the greedy tokens must match. We write the reference in PyTorch, then "
    "the engine in C++ is compared with it, layer by layer, tensor by tensor. Numbers such as 12, "
    "64, 256 and 500000 appear in the configuration; the head dimension is 64 and there are 4 "
    "heads with 2 key value heads. It's what they're testing: don't let rounding break the "
    "tokens! Hello world, hello again; the quick brown fox jumps over the lazy dog. "
    "Residual streams, normalization, attention, rotation and the feed forward network with "
    "squared relu all work together so that the output logits are right."
)
PRETOK = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]{1,3}| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+")


def build_vocab(n_merges):
    """256 byte tokens, n_merges BPE merges learned on CORPUS (deterministic tie-break), specials."""
    b2u = dict(bytes_to_unicode())
    tokens = [u for _, u in bytes_to_unicode()]
    words = {}
    for w in PRETOK.findall(CORPUS):
        key = tuple(b2u[b] for b in w.encode("utf-8"))
        words[key] = words.get(key, 0) + 1
    words = [[list(k), c] for k, c in sorted(words.items())]
    vocab = set(tokens)
    banned = set()
    merges = []
    while len(merges) < n_merges:
        counts = {}
        for syms, c in words:
            for a, b in zip(syms, syms[1:]):
                counts[(a, b)] = counts.get((a, b), 0) + c
        cands = [(-c, p) for p, c in counts.items() if p not in banned]
        if not cands:
            raise RuntimeError("corpus too small for %d merges" % n_merges)
        _, (a, b) = min(cands)
        if a + b in vocab:  # keep tokens unique: a second path to an existing string is skipped
            banned.add((a, b))
            continue
        merges.append(a + " " + b)
        tokens.append(a + b)
        vocab.add(a + b)
        for w in words:
            syms, i, out = w[0], 0, []
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            w[0] = out
    tokens += SPECIALS
    types = [1] * (len(tokens) - len(SPECIALS)) + [3] * len(SPECIALS)
    return tokens, types, merges


# ------------------------------------------------------------------------------------ weights

def make_weights(cfg):
    """Deterministic random model. Returns dict with fp32 tensors (exact values every file holds)."""
    torch.manual_seed(cfg["seed"])
    np.random.seed(cfg["seed"])
    g = torch.Generator().manual_seed(cfg["seed"])
    H, V = cfg["hidden_size"], cfg["vocab_size"]

    emb = bf16_round(torch.randn(V, H, generator=g) * cfg["embed_std"])
    # bf16 values with |x| >= 2^-14 have 8 significant bits: exact in fp16 (normal range).
    emb = torch.where(emb.abs() < 2.0 ** -14, torch.zeros_like(emb), emb)
    assert torch.equal(emb.to(torch.float16).to(torch.float32), emb), "embedding not exact in fp16"

    W = {"token_embd": emb, "layers": []}
    for _ in range(cfg["num_hidden_layers"]):
        lw = {}
        for name, _, size in NORMS:
            n = _dim(cfg, size)
            lw[name] = bf16_round(1.0 + cfg["norm_std"] * torch.randn(n, generator=g))
        for name, _, o, i in PROJ:
            n_out, n_in = _dim(cfg, o), _dim(cfg, i)
            std = cfg["qk_weight_std"] if name in ("attn_q", "attn_k") else cfg["weight_std"]
            master = bf16_round(torch.randn(n_out, n_in, generator=g) * std)
            # transformers integrations/bitnet.py WeightQuant (how the -bf16 masters are ternarized):
            # s = 1 / mean|W|.clamp(min=1e-5); t = round(W * s).clamp(-1, 1); W_q = t / s.
            mean_abs = master.abs().mean().clamp(min=1e-5)
            t = torch.round(master * (1.0 / mean_abs)).clamp(-1, 1)
            scale = float(bf16_round(mean_abs.reshape(1))[0])  # stored as bf16 weight_scale
            assert float(np.float16(scale)) == scale, "weight scale not exact in fp16"
            assert float(np.float32(scale)) == scale
            lw[name] = t.to(torch.int8)
            lw[name + ".scale"] = scale
        W["layers"].append(lw)
    W["output_norm"] = bf16_round(1.0 + cfg["norm_std"] * torch.randn(H, generator=g))

    rs = np.random.RandomState(cfg["seed"])
    prompt = [BOS_ID] + [int(x) for x in rs.randint(0, BOS_ID, size=cfg["prompt_len"] - 1)]
    return W, prompt


# ------------------------------------------------------------------------------- forward pass

def rms_norm(x, w, eps):
    # BitNetRMSNorm: x * rsqrt(mean(x^2) + eps), then weight * that (fp32 throughout).
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def act_quant(x):
    # integrations/bitnet.py ActQuant: s = 127 / max|x| (per token, clamp min 1e-5);
    # q = round(x * s).clamp(-128, 127); torch.round is round-half-to-even.
    s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    q = torch.round(x * s).clamp(-128, 127)
    return q, s


def bitlinear(q, s, t, scale):
    """y = (q . t) / s * weight_scale. q: [T, K] integer-valued, t: [N, K] int8."""
    # The int8 x ternary sums are exact integers (|sum| <= 128 * K < 2^24): compute them in
    # float64 so no rounding at all happens before the epilogue.
    acc = (q.to(torch.float64) @ t.to(torch.float64).T).to(q.dtype)
    return acc / s * scale


def quant_for(x, stats):
    q, s = act_quant(x)
    if stats is not None:  # how close any x*s came to a .5 rounding boundary
        xs = (x * s).double()
        if stats.get("last_row_only"):  # greedy steps: only the new token is computed by a decoder
            xs = xs[-1:]
        frac = (xs - torch.floor(xs) - 0.5).abs()
        stats["min_boundary_dist"] = min(stats["min_boundary_dist"], float(frac.min()))
        # relative perturbation of x that would flip one int8 level
        rel = frac / xs.abs().clamp(min=1.0)
        stats["min_boundary_rel"] = min(stats.get("min_boundary_rel", 1.0), float(rel.min()))
        stats["n_quantized"] = stats.get("n_quantized", 0) + xs.numel()
    return q, s


def rope_cos_sin(T, head_dim, theta, dtype):
    # Rotate-half (NeoX) RoPE as in modeling_bitnet: inv_freq[i] = theta^(-2i/head_dim),
    # emb = cat(freqs, freqs); angles computed in float64, then cast.
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    pos = torch.arange(T, dtype=torch.float64)
    freqs = pos[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def forward(cfg, W, tokens, dtype=torch.float32, record=None, stats=None):
    """Full forward over tokens (no cache). Returns logits [T, V]; fills record[name] = [T, dim]."""
    eps = cfg["rms_norm_eps"]
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    T = len(tokens)
    rec = record if record is not None else {}
    emb = W["token_embd"].to(dtype)
    h = emb[torch.tensor(tokens, dtype=torch.long)]
    rec["inp_embd"] = h
    cos, sin = rope_cos_sin(T, hd, cfg["rope_theta"], dtype)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    for L, lw in enumerate(W["layers"]):
        def lin(q, s, name):
            return bitlinear(q, s, lw[name], lw[name + ".scale"])
        x = rms_norm(h, lw["attn_norm"].to(dtype), eps)
        rec["%d.attn_norm" % L] = x
        q8, s = quant_for(x, stats)  # one quantization feeds q, k and v
        q = lin(q8, s, "attn_q")
        k = lin(q8, s, "attn_k")
        v = lin(q8, s, "attn_v")
        rec["%d.q_proj" % L], rec["%d.k_proj" % L], rec["%d.v_proj" % L] = q, k, v
        qh = q.view(T, nh, hd).transpose(0, 1)    # [nh, T, hd]
        kh = k.view(T, nkv, hd).transpose(0, 1)   # [nkv, T, hd]
        vh = v.view(T, nkv, hd).transpose(0, 1)
        qh = qh * cos + rotate_half(qh) * sin
        kh = kh * cos + rotate_half(kh) * sin
        rec["%d.q_rope" % L] = qh.transpose(0, 1).reshape(T, nh * hd)
        rec["%d.k_rope" % L] = kh.transpose(0, 1).reshape(T, nkv * hd)
        group = nh // nkv
        outs = []
        for head in range(nh):
            kv = head // group  # GQA: repeat_kv expands each KV head to `group` adjacent heads
            sc = (qh[head] @ kh[kv].T) * (1.0 / math.sqrt(hd))
            sc = sc.masked_fill(mask, float("-inf"))
            p = torch.softmax(sc, dim=-1)
            outs.append(p @ vh[kv])
        attn = torch.stack(outs, dim=1).reshape(T, nh * hd)
        rec["%d.attn" % L] = attn
        a = rms_norm(attn, lw["attn_sub_norm"].to(dtype), eps)  # sub-norm BEFORE o_proj
        rec["%d.attn_sub_norm" % L] = a
        q8, s = quant_for(a, stats)
        o = lin(q8, s, "attn_output")
        rec["%d.attn_out" % L] = o
        h = h + o
        rec["%d.h_attn" % L] = h
        x = rms_norm(h, lw["ffn_norm"].to(dtype), eps)
        rec["%d.ffn_norm" % L] = x
        q8, s = quant_for(x, stats)  # one quantization feeds gate and up
        gate = lin(q8, s, "ffn_gate")
        up = lin(q8, s, "ffn_up")
        rec["%d.ffn_gate" % L], rec["%d.ffn_up" % L] = gate, up
        m = torch.relu(gate).pow(2) * up
        rec["%d.ffn_act" % L] = m
        m = rms_norm(m, lw["ffn_sub_norm"].to(dtype), eps)  # sub-norm BEFORE down_proj
        rec["%d.ffn_sub_norm" % L] = m
        q8, s = quant_for(m, stats)
        d = lin(q8, s, "ffn_down")
        rec["%d.ffn_out" % L] = d
        h = h + d
        rec["%d.h" % L] = h
    x = rms_norm(h, W["output_norm"].to(dtype), eps)
    rec["output_norm"] = x
    logits = x @ emb.T  # tied embeddings: the head is the (fp16-exact) embedding
    rec["logits"] = logits
    return logits


def greedy(cfg, W, prompt, n, dtype=torch.float32, stats=None):
    """Greedy continuation, re-running the full forward on the growing sequence (no KV cache)."""
    seq = list(prompt)
    step_logits, margins = [], []
    for step in range(n):
        lg = forward(cfg, W, seq, dtype, stats=stats if step > 0 else None)[-1]
        top2 = torch.topk(lg.to(torch.float64), 2)
        margins.append(float(top2.values[0] - top2.values[1]))
        step_logits.append(lg)
        seq.append(int(torch.argmax(lg)))
    return seq[len(prompt):], torch.stack(step_logits), margins


# ------------------------------------------------------------------------------------ writers

def f32_bytes(t):
    return np.ascontiguousarray(t.detach().to(torch.float32).numpy()).astype("<f4").tobytes()


def write_model_gguf(path, cfg, W, wtype, vocab):
    tokens, types, merges = vocab
    w = G.GGUFWriter(alignment=32)
    A = ARCH
    ftype = {G.GGML_I2_S: 40, G.GGML_TQ2_0: 37, G.GGML_TQ1_0: 36}[wtype]
    w.kv("general.architecture", G.T_STR, A)
    w.kv("general.name", G.T_STR, "bitnet-tiny-golden")
    w.kv("general.file_type", G.T_U32, ftype)
    w.kv("general.quantization_version", G.T_U32, 2)
    w.kv("general.alignment", G.T_U32, 32)
    w.kv(A + ".vocab_size", G.T_U32, cfg["vocab_size"])
    w.kv(A + ".context_length", G.T_U32, cfg["context_length"])
    w.kv(A + ".embedding_length", G.T_U32, cfg["hidden_size"])
    w.kv(A + ".block_count", G.T_U32, cfg["num_hidden_layers"])
    w.kv(A + ".feed_forward_length", G.T_U32, cfg["intermediate_size"])
    w.kv(A + ".rope.dimension_count", G.T_U32, cfg["head_dim"])
    w.kv(A + ".attention.head_count", G.T_U32, cfg["num_attention_heads"])
    w.kv(A + ".attention.head_count_kv", G.T_U32, cfg["num_key_value_heads"])
    w.kv(A + ".attention.layer_norm_rms_epsilon", G.T_F32, cfg["rms_norm_eps"])
    w.kv(A + ".rope.freq_base", G.T_F32, cfg["rope_theta"])
    w.kv("tern.ffn_activation", G.T_STR, "relu2")
    w.kv("tokenizer.ggml.model", G.T_STR, "gpt2")
    w.kv("tokenizer.ggml.pre", G.T_STR, "llama-bpe")
    w.kv("tokenizer.ggml.tokens", G.T_ARR, (G.T_STR, tokens))
    w.kv("tokenizer.ggml.token_type", G.T_ARR, (G.T_I32, types))
    w.kv("tokenizer.ggml.scores", G.T_ARR, (G.T_F32, [0.0] * len(tokens)))
    w.kv("tokenizer.ggml.merges", G.T_ARR, (G.T_STR, merges))
    w.kv("tokenizer.ggml.bos_token_id", G.T_U32, BOS_ID)
    w.kv("tokenizer.ggml.eos_token_id", G.T_U32, EOS_ID)
    w.kv("tokenizer.ggml.eot_token_id", G.T_U32, EOT_ID)
    w.kv("tokenizer.ggml.add_bos_token", G.T_BOOL, True)

    H, V = cfg["hidden_size"], cfg["vocab_size"]
    emb16 = W["token_embd"].numpy().astype(np.float16)
    w.tensor("token_embd.weight", [H, V], G.GGML_F16, emb16.astype("<f2").tobytes())
    w.tensor("output_norm.weight", [H], G.GGML_F32, f32_bytes(W["output_norm"]))
    for L, lw in enumerate(W["layers"]):
        for name, _, size in NORMS:
            w.tensor("blk.%d.%s.weight" % (L, name), [_dim(cfg, size)], G.GGML_F32, f32_bytes(lw[name]))
        for name, _, o, i in PROJ:
            t = lw[name].numpy()
            sc = lw[name + ".scale"]
            if wtype == G.GGML_I2_S:
                data = P.pack_i2_s(t, sc)
            elif wtype == G.GGML_TQ2_0:
                data = P.pack_tq2_0(t, sc)
            else:
                data = P.pack_tq1_0(t, sc)
            w.tensor("blk.%d.%s.weight" % (L, name), [_dim(cfg, i), _dim(cfg, o)], wtype, data)
    w.write(path)


REF_LAYER_NAMES = ["attn_norm", "q_proj", "k_proj", "v_proj", "q_rope", "k_rope", "attn",
                   "attn_sub_norm", "attn_out", "h_attn", "ffn_norm", "ffn_gate", "ffn_up",
                   "ffn_act", "ffn_sub_norm", "ffn_out", "h"]


def write_ref_gguf(path, cfg, prompt, rec, greedy_toks, greedy_logits, stats, margins):
    w = G.GGUFWriter(alignment=32)
    w.kv("general.architecture", G.T_STR, "tern-fixture")
    w.kv("general.alignment", G.T_U32, 32)
    w.kv("tern.fixture.version", G.T_U32, FIXTURE_VERSION)
    w.kv("tern.fixture.generator", G.T_STR, "%s seed=%d" % (SCRIPT_NAME, cfg["seed"]))
    w.kv("tern.fixture.model", G.T_STR, "bitnet_tiny_{i2_s,tq2_0,tq1_0}.gguf")
    w.kv("tern.fixture.n_tokens", G.T_U32, len(prompt))
    w.kv("tern.fixture.n_greedy", G.T_U32, len(greedy_toks))
    w.kv("tern.fixture.greedy_min_margin", G.T_F32, min(margins))
    w.kv("tern.fixture.quant_boundary_min_rel", G.T_F32, stats["min_boundary_rel"])
    w.kv("tern.fixture.greedy_quant_boundary_min_rel", G.T_F32, stats["greedy_min_boundary_rel"])

    def t2(name, x):
        T, d = x.shape
        w.tensor(name, [d, T], G.GGML_F32, f32_bytes(x))

    w.tensor("ref.tokens", [len(prompt)], G.GGML_I32, np.array(prompt, dtype="<i4").tobytes())
    t2("ref.inp_embd", rec["inp_embd"])
    for L in range(cfg["num_hidden_layers"]):
        for n in REF_LAYER_NAMES:
            t2("ref.%d.%s" % (L, n), rec["%d.%s" % (L, n)])
    t2("ref.output_norm", rec["output_norm"])
    t2("ref.logits", rec["logits"])
    w.tensor("ref.greedy", [len(greedy_toks)], G.GGML_I32, np.array(greedy_toks, dtype="<i4").tobytes())
    t2("ref.greedy_logits", greedy_logits)
    w.write(path)


def hf_config(cfg):
    # Keys as microsoft/bitnet-b1.58-2B-4T's config.json (auto_map dropped: transformers has the
    # model natively), quantization_mode "offline" as in the packed repo.
    return {
        "architectures": ["BitNetForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "hidden_act": "relu2",
        "hidden_size": cfg["hidden_size"],
        "initializer_range": 0.02,
        "intermediate_size": cfg["intermediate_size"],
        "max_position_embeddings": cfg["context_length"],
        "model_type": "bitnet",
        "rms_norm_eps": cfg["rms_norm_eps"],
        "num_attention_heads": cfg["num_attention_heads"],
        "num_hidden_layers": cfg["num_hidden_layers"],
        "num_key_value_heads": cfg["num_key_value_heads"],
        "rope_theta": cfg["rope_theta"],
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "vocab_size": cfg["vocab_size"],
        "quantization_config": {
            "quant_method": "bitnet",
            "linear_class": "autobitlinear",
            "quantization_mode": "offline",
        },
    }


def bf16_bytes(t):
    return t.to(torch.bfloat16).contiguous().view(torch.int16).numpy().astype("<i2").tobytes()


def write_hf(dirpath, cfg, W, vocab=None):
    os.makedirs(dirpath, exist_ok=True)
    if vocab is not None:  # tokenizer files for `tern convert` (tools/golden/hf_tokenizer_files.py)
        HT.write_bpe_tokenizer(dirpath, vocab[0], vocab[1], vocab[2], BOS_ID, EOS_ID, EOT_ID)
    with open(os.path.join(dirpath, "config.json"), "w") as f:
        json.dump(hf_config(cfg), f, indent=2)
        f.write("\n")
    H, V = cfg["hidden_size"], cfg["vocab_size"]
    ts = [("model.embed_tokens.weight", "BF16", [V, H], bf16_bytes(W["token_embd"])),
          ("model.norm.weight", "BF16", [H], bf16_bytes(W["output_norm"]))]
    for L, lw in enumerate(W["layers"]):
        pre = "model.layers.%d." % L
        for name, hf, _ in NORMS:
            ts.append((pre + hf + ".weight", "BF16", [lw[name].numel()], bf16_bytes(lw[name])))
        for name, hf, o, i in PROJ:
            packed = P.pack_hf(lw[name].numpy())
            ts.append((pre + hf + ".weight", "U8", list(packed.shape), packed.tobytes()))
            ts.append((pre + hf + ".weight_scale", "BF16", [1],
                       bf16_bytes(torch.tensor([lw[name + ".scale"]]))))
    G.write_safetensors(os.path.join(dirpath, "model.safetensors"), ts, {"format": "pt"})


# -------------------------------------------------------------------------------------- check

def scalar_pack_check():
    """Element-by-element transliterations of the public C quantizers (llama.cpp
    quantize_row_tq2_0_ref / quantize_row_tq1_0_ref, bitnet.cpp quantize_i2_s x86 ACT_PARALLEL
    branch) on random trits, compared byte for byte with the vectorized packers."""
    rs = np.random.RandomState(1)
    x = rs.randint(-1, 2, size=512).astype(np.int8)
    d = 0.25
    # TQ2_0
    ref = bytearray()
    for blk in range(2):
        xb = x[blk * 256:(blk + 1) * 256]
        qs = [0] * 64
        for j in range(0, 64, 32):
            for m in range(32):
                q = 0
                for n in range(4):
                    q += ((int(xb[(j // 32) * 128 + m + n * 32]) + 1) & 3) << (2 * n)
                qs[j + m] = q
        ref += bytes(qs) + np.float16(d).tobytes()
    assert bytes(ref) == P.pack_tq2_0(x, d)
    # TQ1_0
    ref = bytearray()
    for blk in range(2):
        xb = [int(v) for v in x[blk * 256:(blk + 1) * 256]]
        pos, qs, qh = 0, [], []
        for j in range(0, 32, 32):
            for m in range(32):
                q = 0
                for n in range(5):
                    q = q * 3 + xb[pos + m + n * 32] + 1
                qs.append((q * 256 + 242) // 243)
            pos += 160
        for j in range(32, 48, 16):
            for m in range(16):
                q = 0
                for n in range(5):
                    q = q * 3 + xb[pos + m + n * 16] + 1
                qs.append((q * 256 + 242) // 243)
            pos += 80
        for j in range(4):
            q = 0
            for m in range(4):
                q = q * 3 + xb[pos + j + m * 4] + 1
            q *= 3
            qh.append((q * 256 + 242) // 243)
        ref += bytes(qs) + bytes(qh) + np.float16(d).tobytes()
    assert bytes(ref) == P.pack_tq1_0(x, d)
    # I2_S (x86, QK_I2_S = 128, 32 bytes per block)
    out = bytearray(len(x) // 4)
    for i in range(len(x) // 128):
        for j in range(128):
            gi, gp = j // 32, j % 32
            out[i * 32 + gp] |= (int(x[i * 128 + j]) + 1) << (6 - 2 * gi)
    assert bytes(out) + struct.pack("<f", d) + b"\0" * 28 == P.pack_i2_s(x, d)
    print("check: vectorized packers == scalar transliterations of the C reference quantizers")


def self_check(out, cfg, W, prompt, rec, greedy_toks):
    """Read every written file back with independent decoders and compare to the in-memory model."""
    scalar_pack_check()
    H = cfg["hidden_size"]
    for suffix, wtype, unpack in [("i2_s", G.GGML_I2_S, P.unpack_i2_s),
                                  ("tq2_0", G.GGML_TQ2_0, P.unpack_tq2_0),
                                  ("tq1_0", G.GGML_TQ1_0, P.unpack_tq1_0)]:
        r = G.GGUFReader(os.path.join(out, "bitnet_tiny_%s.gguf" % suffix))
        assert r.kv["general.architecture"] == ARCH
        assert len(r.kv["tokenizer.ggml.tokens"]) == cfg["vocab_size"]
        assert r.kv["tokenizer.ggml.tokens"][BOS_ID] == "<|begin_of_text|>"
        ne, gt, data = r.tensors["token_embd.weight"]
        assert ne == [H, cfg["vocab_size"]] and gt == G.GGML_F16
        emb = torch.from_numpy(np.frombuffer(data, dtype="<f2").astype(np.float32).reshape(-1, H))
        assert torch.equal(emb, W["token_embd"])
        for L, lw in enumerate(W["layers"]):
            for name, _, _ in NORMS:
                ne, gt, data = r.tensors["blk.%d.%s.weight" % (L, name)]
                assert gt == G.GGML_F32
                assert np.array_equal(np.frombuffer(data, dtype="<f4"), lw[name].numpy())
            for name, _, o, i in PROJ:
                ne, gt, data = r.tensors["blk.%d.%s.weight" % (L, name)]
                assert gt == wtype and ne == [_dim(cfg, i), _dim(cfg, o)], (name, ne)
                trits, sc = unpack(data, ne[0] * ne[1])
                assert np.array_equal(trits.reshape(ne[1], ne[0]), lw[name].numpy()), (suffix, L, name)
                assert np.all(np.asarray(sc, dtype=np.float32) == np.float32(lw[name + ".scale"]))
        print("check: %s decodes to the exact trits, scales, norms and embedding" % suffix)

    st = G.read_safetensors(os.path.join(out, "hf_bitnet_tiny", "model.safetensors"))
    for L, lw in enumerate(W["layers"]):
        for name, hf, o, i in PROJ:
            dt, shape, data = st["model.layers.%d.%s.weight" % (L, hf)]
            assert dt == "U8" and shape == [_dim(cfg, o) // 4, _dim(cfg, i)]
            packed = np.frombuffer(data, dtype=np.uint8).reshape(shape)
            assert np.array_equal(P.unpack_hf(packed), lw[name].numpy())
            dt, shape, data = st["model.layers.%d.%s.weight_scale" % (L, hf)]
            sc = torch.from_numpy(np.frombuffer(data, dtype="<i2").copy()).view(torch.bfloat16).float()
            assert dt == "BF16" and shape == [1] and float(sc[0]) == lw[name + ".scale"]
    dt, shape, data = st["model.embed_tokens.weight"]
    emb = torch.from_numpy(np.frombuffer(data, dtype="<i2").copy()).view(torch.bfloat16).float()
    assert torch.equal(emb.reshape(shape), W["token_embd"])
    print("check: HF packing round-trips (uint8 [out/4, in], bf16 weight_scale, bf16 embedding)")

    # Independent HF-style BitLinear on the unpacked checkpoint == our integer path (rel 1e-6).
    lw = W["layers"][0]
    x = rec["0.attn_norm"]
    s = 127.0 / x.abs().amax(-1, keepdim=True).clamp(min=1e-5)
    xq = torch.round(x * s).clamp(-128, 127) / s  # ActQuant returns dequantized activations
    w_hf = torch.from_numpy(P.unpack_hf(P.pack_hf(lw["attn_q"].numpy()))).float()
    y_hf = (xq @ w_hf.T) * lw["attn_q.scale"]
    err = float((y_hf - rec["0.q_proj"]).abs().max() / rec["0.q_proj"].abs().max())
    assert err < 1e-5, err
    print("check: HF AutoBitLinear formulation matches the integer path (rel err %.2e)" % err)

    r = G.GGUFReader(os.path.join(out, "bitnet_tiny_ref.gguf"))
    assert r.kv["tern.fixture.version"] == FIXTURE_VERSION
    assert list(np.frombuffer(r.tensors["ref.tokens"][2], dtype="<i4")) == prompt
    assert list(np.frombuffer(r.tensors["ref.greedy"][2], dtype="<i4")) == greedy_toks
    ne, gt, data = r.tensors["ref.logits"]
    assert ne == [cfg["vocab_size"], len(prompt)]
    assert np.array_equal(np.frombuffer(data, dtype="<f4").reshape(len(prompt), -1), rec["logits"].numpy())
    print("check: ref file reads back")


# --------------------------------------------------------------------------------------- main

def rel_maxdiff(a, b):
    return float((a.double() - b.double()).abs().max() / b.double().abs().max().clamp(min=1e-30))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/fixtures/golden")
    ap.add_argument("--check", action="store_true", help="read every file back and verify")
    ap.add_argument("--report", action="store_true",
                    help="also run the forward in float64 and print per-tensor differences")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = CONFIG
    os.makedirs(args.out, exist_ok=True)

    W, prompt = make_weights(cfg)
    n_merges = cfg["vocab_size"] - 256 - len(SPECIALS)
    vocab = build_vocab(n_merges)
    assert len(vocab[0]) == cfg["vocab_size"]

    rec = {}
    stats = {"min_boundary_dist": 1.0}
    with torch.no_grad():
        forward(cfg, W, prompt, torch.float32, rec, stats)
        gstats = {"min_boundary_dist": 1.0, "last_row_only": True}
        g_toks, g_logits, margins = greedy(cfg, W, prompt, cfg["n_greedy"], stats=gstats)
    assert len(prompt) + cfg["n_greedy"] <= cfg["context_length"]

    for suffix, wt in [("i2_s", G.GGML_I2_S), ("tq2_0", G.GGML_TQ2_0), ("tq1_0", G.GGML_TQ1_0)]:
        write_model_gguf(os.path.join(args.out, "bitnet_tiny_%s.gguf" % suffix), cfg, W, wt, vocab)
    stats["greedy_min_boundary_rel"] = gstats["min_boundary_rel"]
    write_ref_gguf(os.path.join(args.out, "bitnet_tiny_ref.gguf"), cfg, prompt, rec, g_toks, g_logits,
                   stats, margins)
    write_hf(os.path.join(args.out, "hf_bitnet_tiny"), cfg, W, vocab)

    print("prompt:", prompt)
    print("greedy:", g_toks)
    print("min top1-top2 logit margin over greedy steps: %.4f" % min(margins))
    print("activation quantization, prompt pass: %d values; min |x*s - (k+0.5)| = %.3e; relative %.3e"
          % (stats["n_quantized"], stats["min_boundary_dist"], stats["min_boundary_rel"]))
    print("activation quantization, new token of greedy steps 2..%d: %d values; min %.3e; relative %.3e"
          % (cfg["n_greedy"], gstats["n_quantized"], gstats["min_boundary_dist"], gstats["min_boundary_rel"]))

    if args.report:
        rec64 = {}
        with torch.no_grad():
            forward(cfg, W, prompt, torch.float64, rec64)
            g64, _, _ = greedy(cfg, W, prompt, cfg["n_greedy"], torch.float64)
        print("float64 greedy identical: %s" % (g64 == g_toks))
        for k in rec:
            print("  %-18s max|f32-f64| / max|f64| = %.2e" % (k, rel_maxdiff(rec[k], rec64[k])))

    if args.check:
        self_check(args.out, cfg, W, prompt, rec, g_toks)

    total = 0
    for root, _, files in os.walk(args.out):
        for fn in sorted(files):
            p = os.path.join(root, fn)
            with open(p, "rb") as f:
                data = f.read()
            total += len(data)
            print("%-60s %8d  sha256 %s" % (os.path.relpath(p, args.out), len(data),
                                            hashlib.sha256(data).hexdigest()[:16]))
    print("total fixture bytes: %d" % total)


if __name__ == "__main__":
    main()
