#!/usr/bin/python3
"""Independent reference numbers for an exported checkpoint (export_hf.py), for tern's tests.

Reads only the checkpoint directory: config.json, model.safetensors (unpacked with
tools/golden/ternary_pack.py unpack_hf: uint8 [out/4, in], bits 2i..2i+1 of byte (r, c) = t+1 of
row i*out/4 + r; output multiplied by the bf16 weight_scale), tokenizer.model. The forward pass is
tools/golden/gen_bitnet_fixture.py's `forward` (float32, int8 activations, exact integer
int8 x ternary sums, rotate-half RoPE, GQA, sub-norms, relu^2, tied head), which shares no code
with train.py's model.

Computes
  (a) perplexity of a text file with `tern ppl`'s chunking: the whole file is encoded without
      BOS; chunk c = BOS + tokens[c*(ctx-1) : (c+1)*(ctx-1)]; positions ctx/2 .. ctx-2 predict the
      next token; ppl = exp(mean NLL) (and the NLL sum of every chunk, for `--chunks N`); and
  (b) greedy continuations (argmax over the whole vocabulary, no stop tokens, full re-forward each
      step, no KV cache) of fixed prompts encoded with BOS, as `tern run -temp 0` would see them,
and writes them as JSON (default tests/fixtures/train/reference.json).

Usage: /usr/bin/python3 tools/train/reference.py --model RUN/hf --text WORK/data/heldout.txt \
           [--ctx 256] [--chunks 0] [--n-greedy 32] [--out tests/fixtures/train/reference.json]
"""

import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
import gen_bitnet_fixture as GF  # noqa: E402  (independent forward pass)
import gguf_min as G  # noqa: E402
import ternary_pack as P  # noqa: E402

PROMPTS = [
    "In the beginning",
    "And the LORD said unto Moses,",
    "Blessed are the",
    "A computer is",
    "The secret of happiness is",
]
FIXTURE_VERSION = 1


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def to_json(v, ind=""):
    """JSON with one line per list of numbers (token ids, margins)."""
    if isinstance(v, dict):
        inner = ind + " "
        return "{\n" + ",\n".join(inner + json.dumps(k) + ": " + to_json(x, inner) for k, x in v.items()) + "\n" + ind + "}"
    if isinstance(v, list) and any(isinstance(x, (dict, list)) for x in v):
        inner = ind + " "
        return "[\n" + ",\n".join(inner + to_json(x, inner) for x in v) + "\n" + ind + "]"
    return json.dumps(v)


def load_checkpoint(d):
    """(cfg, W) with W in the layout tools/golden's forward() takes."""
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    q = cfg.get("quantization_config", {})
    if cfg.get("model_type") != "bitnet" or q.get("linear_class") != "autobitlinear" or cfg.get("hidden_act") != "relu2":
        sys.exit("reference: %s is not a packed BitNet b1.58 (autobitlinear, relu2) checkpoint" % d)
    cfg.setdefault("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    st = G.read_safetensors(os.path.join(d, "model.safetensors"))

    def f32(name):
        dtype, shape, raw = st[name]
        if dtype == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            return torch.from_numpy(u.view(np.float32).reshape(shape).copy())
        if dtype == "F32":
            return torch.from_numpy(np.frombuffer(raw, dtype="<f4").reshape(shape).copy())
        sys.exit("reference: %s has dtype %s, expected BF16 or F32" % (name, dtype))

    H, Fd, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    kv = cfg["num_key_value_heads"] * cfg["head_dim"]
    dims = {"H": H, "F": Fd, "KV": kv}
    W = {"token_embd": f32("model.embed_tokens.weight"), "output_norm": f32("model.norm.weight"), "layers": []}
    assert list(W["token_embd"].shape) == [V, H]
    for L in range(cfg["num_hidden_layers"]):
        pre = "model.layers.%d." % L
        lw = {}
        for name, hf, size in GF.NORMS:
            lw[name] = f32(pre + hf + ".weight")
            assert lw[name].numel() == dims[size], pre + hf
        for name, hf, o, i in GF.PROJ:
            dtype, shape, raw = st[pre + hf + ".weight"]
            assert dtype == "U8" and shape == [dims[o] // 4, dims[i]], (pre + hf, dtype, shape)
            packed = np.frombuffer(raw, dtype=np.uint8).reshape(shape)
            t = P.unpack_hf(packed)
            assert t.min() >= -1 and t.max() <= 1
            lw[name] = torch.from_numpy(t)
            lw[name + ".scale"] = float(f32(pre + hf + ".weight_scale").reshape(-1)[0])
        W["layers"].append(lw)
    return cfg, W


def perplexity(cfg, W, ids, bos, ctx, max_chunks=0):
    body = ctx - 1
    n_chunks = len(ids) // body
    if max_chunks:
        n_chunks = min(n_chunks, max_chunks)
    first = ctx // 2
    nll, nll_sq, n, per_chunk = 0.0, 0.0, 0, []
    for c in range(n_chunks):
        chunk = [bos] + ids[c * body:(c + 1) * body]
        logits = GF.forward(cfg, W, chunk).double()
        lp = torch.log_softmax(logits[first:-1], dim=-1)
        tgt = torch.tensor(chunk[first + 1:])
        v = -lp.gather(-1, tgt[:, None]).reshape(-1)
        nll += float(v.sum())
        nll_sq += float((v * v).sum())
        n += v.numel()
        per_chunk.append(round(float(v.sum()), 6))
    mean = nll / n
    ppl = math.exp(mean)
    err = ppl * math.sqrt(max(0.0, nll_sq / n - mean * mean) / (n - 1))  # as tern ppl's +/-
    return {"ctx": ctx, "n_tokens": len(ids), "n_chunks": n_chunks, "n_scored": n,
            "nll_mean": mean, "ppl": ppl, "ppl_err": err, "scored_per_chunk": ctx - 1 - first,
            "chunk_nll_sum": per_chunk}  # lets a test compare `tern ppl --chunks N` for any N


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="HF checkpoint directory (export_hf.py)")
    ap.add_argument("--text", required=True, help="text file for perplexity (held-out split)")
    ap.add_argument("--ctx", type=int, default=0, help="ppl chunk size (default: max_position_embeddings)")
    ap.add_argument("--chunks", type=int, default=0, help="score at most this many chunks (0: all, as tern ppl --chunks)")
    ap.add_argument("--n-greedy", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "tests", "fixtures", "train", "reference.json"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=os.path.join(a.model, "tokenizer.model"))
    cfg, W = load_checkpoint(a.model)
    bos = cfg["bos_token_id"]
    assert sp.bos_id() == bos and sp.get_piece_size() == cfg["vocab_size"]
    ctx = a.ctx or cfg["max_position_embeddings"]

    t0 = time.time()
    with open(a.text, encoding="utf-8") as f:
        text = f.read()
    ids = sp.encode(text)
    ppl = perplexity(cfg, W, ids, bos, ctx, a.chunks)
    ppl["file"] = os.path.basename(a.text)
    ppl["file_sha256"] = sha256_file(a.text)
    print("reference: ppl %.4f +/- %.4f over %d tokens (%d chunks of %d) in %.1f s"
          % (ppl["ppl"], ppl["ppl_err"], ppl["n_scored"], ppl["n_chunks"], ctx, time.time() - t0), flush=True)

    t0 = time.time()
    prompts = []
    for p in PROMPTS:
        pid = [bos] + sp.encode(p)
        toks, _, margins = GF.greedy(cfg, W, pid, a.n_greedy)
        # the continuation as it follows the prompt (sentencepiece drops a leading space when
        # decoding a sequence on its own; `tern run` prints it)
        head, full = sp.decode(pid), sp.decode(pid + toks)
        assert full.startswith(head)
        cont = full[len(head):]
        prompts.append({"text": p, "ids": pid, "greedy": toks, "greedy_text": cont,
                        "min_top2_margin": round(min(margins), 6),
                        "top2_margins": [round(m, 6) for m in margins]})
        print("reference: %r -> %r (min top-2 margin %.3f)" % (p, cont, min(margins)), flush=True)
    print("reference: greedy in %.1f s" % (time.time() - t0))

    out = {
        "magic": "tern-train-reference", "version": FIXTURE_VERSION,
        "generator": "tools/train/reference.py (forward: tools/golden/gen_bitnet_fixture.py)",
        "model": {"dir": os.path.basename(os.path.normpath(a.model)),
                  "model_safetensors_sha256": sha256_file(os.path.join(a.model, "model.safetensors")),
                  "tokenizer_model_sha256": sha256_file(os.path.join(a.model, "tokenizer.model")),
                  "config": {k: cfg[k] for k in ("vocab_size", "hidden_size", "intermediate_size",
                                                 "num_hidden_layers", "num_attention_heads",
                                                 "num_key_value_heads", "max_position_embeddings",
                                                 "rope_theta", "bos_token_id", "eos_token_id")}},
        "ppl": ppl,
        "greedy": {"n": a.n_greedy, "stop_tokens": "none (argmax over the full vocabulary every step)",
                   "add_bos": True, "prompts": prompts},
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    text = to_json(out)
    assert json.loads(text) == out
    with open(a.out, "w") as f:
        f.write(text + "\n")
    print("reference: wrote %s" % a.out)


if __name__ == "__main__":
    main()
