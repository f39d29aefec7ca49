#!/usr/bin/python3
"""Quantization-aware training of tern's small BitNet b1.58 model on CPU (Debian's torch 1.13).

The architecture is microsoft/bitnet-b1.58-2B-4T's, scaled down (model.py). Data: the token
stream of train.txt (prepare_data.py) encoded with the SentencePiece model (train_tokenizer.py).
A training sequence is BOS followed by a random window of the stream, the same shape as the
chunks `tern ppl` scores; the loss is next-token cross entropy over every position.

Optimiser (BitNet b1.58 recipe, scaled to a tiny model): AdamW (0.9, 0.95), linear warmup then
cosine decay to --min-lr-frac of the peak, weight decay on the ternary projections' latent
weights only, switched off for the last part of training (2B-4T's two-stage weight decay),
gradient clipping at 1.0.

Schedule length: with --steps N the schedule runs over N steps and the run is bit-reproducible
(same seed, same --threads, same torch build). With --minutes M (and no --steps) the schedule's
progress is elapsed time / budget, so the cosine ends exactly at the budget whatever the load of
the machine; the log records the steps reached (`--steps` that many gives a near-identical run).
Either way the run stops cleanly at --minutes, on SIGINT/SIGTERM too, then evaluates and exports.

Checkpoints (OUT/ckpt.pt: weights, optimiser, data RNG, step, elapsed time) are written every
--ckpt-minutes and at the end; --resume continues from one.

At the end: mean train loss of the last 50 steps, held-out perplexity with tern's chunking
(chunks of BOS + ctx-1 tokens, scoring the second half, as `tern ppl -c CTX`), for the fp32
master model and for the exported model (bf16 embedding and norms), then the Hugging Face
export (export_hf.py) into OUT/hf unless --no-export.

Usage (one core):
    /usr/bin/python3 tools/train/train.py --data WORK/data --tokenizer WORK/tokenizer/tokenizer.model \
        --out WORK/run --minutes 55
"""

import argparse
import hashlib
import json
import math
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402

# Default size: chosen from measured throughput on this machine kind, see docs/MODEL.md.
DEFAULTS = dict(hidden=256, layers=4, heads=4, kv_heads=2, ffn=768, ctx=256, batch=16)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="directory with train.txt and heldout.txt")
    ap.add_argument("--tokenizer", required=True, help="SentencePiece tokenizer.model")
    ap.add_argument("--out", required=True, help="run directory (checkpoint, log, hf/ export)")
    g = ap.add_argument_group("model")
    g.add_argument("--hidden", type=int, default=DEFAULTS["hidden"])
    g.add_argument("--layers", type=int, default=DEFAULTS["layers"])
    g.add_argument("--heads", type=int, default=DEFAULTS["heads"])
    g.add_argument("--kv-heads", type=int, default=DEFAULTS["kv_heads"])
    g.add_argument("--ffn", type=int, default=DEFAULTS["ffn"])
    g.add_argument("--ctx", type=int, default=DEFAULTS["ctx"], help="context length (training and ppl chunks)")
    g.add_argument("--rope-theta", type=float, default=500000.0)
    g.add_argument("--init-std", type=float, default=0.02)
    g = ap.add_argument_group("optimisation")
    g.add_argument("--batch", type=int, default=DEFAULTS["batch"], help="sequences per step")
    g.add_argument("--steps", type=int, default=0, help="schedule length in steps (0: use --minutes)")
    g.add_argument("--minutes", type=float, default=0.0, help="time budget; stops cleanly and exports")
    g.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    g.add_argument("--min-lr-frac", type=float, default=0.1, help="final lr as a fraction of the peak")
    g.add_argument("--warmup", type=int, default=100, help="linear warmup steps")
    g.add_argument("--wd", type=float, default=0.1, help="weight decay of the projections")
    g.add_argument("--wd-off-at", type=float, default=0.67, help="progress at which weight decay stops")
    g.add_argument("--clip", type=float, default=1.0, help="gradient norm clip (0: off)")
    g.add_argument("--seed", type=int, default=1234)
    g.add_argument("--threads", type=int, default=1)
    g = ap.add_argument_group("run")
    g.add_argument("--resume", action="store_true", help="continue from OUT/ckpt.pt")
    g.add_argument("--ckpt-minutes", type=float, default=5.0)
    g.add_argument("--stop-after", type=int, default=0,
                   help="leave after this many steps of this invocation (checkpoint, no eval/export); resume later")
    g.add_argument("--log-every", type=int, default=10)
    g.add_argument("--eval-every", type=int, default=0, help="steps between held-out checks (0: none)")
    g.add_argument("--eval-chunks", type=int, default=16, help="chunks in a periodic held-out check")
    g.add_argument("--final-eval-chunks", type=int, default=0, help="chunks in the final evaluation (0: all)")
    g.add_argument("--no-export", action="store_true")
    g.add_argument("--bench", type=int, default=0, help="only time this many steps (after 3 warm-up steps) and exit")
    a = ap.parse_args(argv)
    if a.steps <= 0 and a.minutes <= 0 and a.bench <= 0:
        ap.error("give --steps or --minutes (or --bench)")
    return a


def make_config(a, vocab_size, bos, eos):
    if a.hidden % a.heads or a.heads % a.kv_heads:
        sys.exit("train: --hidden must be a multiple of --heads, --heads of --kv-heads")
    hd = a.hidden // a.heads
    if hd % 2:
        sys.exit("train: head_dim must be even for RoPE")
    for name, n in (("hidden", a.hidden), ("ffn", a.ffn)):
        if n % 128:
            sys.exit("train: --%s %d: tern's I2_S needs multiples of 128 (TQ types 256)" % (name, n))
    return {
        "vocab_size": vocab_size, "hidden_size": a.hidden, "intermediate_size": a.ffn,
        "num_hidden_layers": a.layers, "num_attention_heads": a.heads, "num_key_value_heads": a.kv_heads,
        "head_dim": hd, "max_position_embeddings": a.ctx, "rope_theta": a.rope_theta, "rms_norm_eps": 1e-5,
        "hidden_act": "relu2", "tie_word_embeddings": True, "bos_token_id": bos, "eos_token_id": eos,
    }


def load_tokens(path, sp, cache):
    """Token ids of a text file (no BOS), cached as .npy next to the run."""
    if os.path.exists(cache):
        return np.load(cache)
    with open(path, encoding="utf-8") as f:
        ids = np.asarray(sp.encode(f.read()), dtype=np.int32)
    np.save(cache, ids)
    return ids


def sample_batch(stream, batch, ctx, bos, gen):
    """[B, ctx] inputs (BOS + window[:-1]) and [B, ctx] targets (window)."""
    starts = torch.randint(0, len(stream) - ctx, (batch,), generator=gen)
    win = torch.stack([stream[s:s + ctx] for s in starts.tolist()])
    inp = torch.cat([torch.full((batch, 1), bos, dtype=torch.long), win[:, :-1]], dim=1)
    return inp, win


def ppl_chunks(ids, ctx, bos):
    """tern ppl's chunking: [n_chunks, ctx] = BOS + ctx-1 text tokens each; first scored position."""
    body = ctx - 1
    n = len(ids) // body
    chunks = torch.as_tensor(np.asarray(ids[:n * body], dtype=np.int64)).view(n, body)
    return torch.cat([torch.full((n, 1), bos, dtype=torch.long), chunks], dim=1), ctx // 2


@torch.no_grad()
def heldout_ppl(model, chunks, first, max_chunks=0, batch=8):
    """exp(mean NLL) of positions first .. ctx-2 predicting the next token, as tern ppl."""
    model.eval()
    if max_chunks:
        chunks = chunks[:max_chunks]
    nll, n = 0.0, 0
    for i in range(0, len(chunks), batch):
        c = chunks[i:i + batch]
        logits = model(c)[:, first:-1].double()
        lp = torch.log_softmax(logits, dim=-1).gather(-1, c[:, first + 1:, None])
        nll -= float(lp.sum())
        n += lp.numel()
    model.train()
    return math.exp(nll / n), n


def lr_at(a, step, progress):
    warm = min(1.0, (step + 1) / max(1, a.warmup))
    cos = a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return a.lr * warm * cos


def param_groups(model, wd):
    decay = [p for n, p in model.named_parameters() if n.endswith("proj.weight")]
    other = [p for n, p in model.named_parameters() if not n.endswith("proj.weight")]
    return [{"params": decay, "weight_decay": wd}, {"params": other, "weight_decay": 0.0}]


def save_ckpt(path, model, opt, gen, step, elapsed, cfg, a, losses):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(),
                "step": step, "elapsed": elapsed, "config": cfg, "args": vars(a),
                "recent_losses": losses[-200:]}, tmp)
    os.replace(tmp, path)


def round_like_export(model):
    """In place: embedding and norm weights to the bf16 values the checkpoint stores (export_hf)."""
    import export_hf
    with torch.no_grad():
        for n, p in model.named_parameters():
            if not n.endswith("proj.weight"):
                p.copy_(export_hf.export_float(p))


def main(argv=None):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=a.tokenizer)
    bos, eos = sp.bos_id(), sp.eos_id()
    os.makedirs(a.out, exist_ok=True)
    ckpt_path = os.path.join(a.out, "ckpt.pt")
    log_path = os.path.join(a.out, "train_log.jsonl")

    resumed = None
    if a.resume:
        if not os.path.exists(ckpt_path):
            sys.exit("train: --resume but %s does not exist" % ckpt_path)
        resumed = torch.load(ckpt_path)
        cfg = resumed["config"]
        for k in ("hidden", "layers", "heads", "kv_heads", "ffn", "ctx"):  # the model comes from the checkpoint
            setattr(a, k, resumed["args"][k])
    else:
        cfg = make_config(a, sp.get_piece_size(), bos, eos)

    with open(a.tokenizer, "rb") as f:
        tok_tag = hashlib.sha256(f.read()).hexdigest()[:12]  # the token caches belong to one tokenizer
    train_ids = load_tokens(os.path.join(a.data, "train.txt"), sp, os.path.join(a.out, "train_ids.%s.npy" % tok_tag))
    held_ids = load_tokens(os.path.join(a.data, "heldout.txt"), sp, os.path.join(a.out, "heldout_ids.%s.npy" % tok_tag))
    stream = torch.as_tensor(train_ids.astype(np.int64))
    chunks, first = ppl_chunks(held_ids, a.ctx, bos)

    torch.manual_seed(a.seed)
    model = M.BitNetLM(cfg)
    model.init_weights(a.init_std)
    opt = torch.optim.AdamW(param_groups(model, a.wd), lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    gen = torch.Generator().manual_seed(a.seed + 1)
    step, elapsed, losses = 0, 0.0, []
    if resumed:
        model.load_state_dict(resumed["model"])
        opt.load_state_dict(resumed["opt"])
        gen.set_state(resumed["gen"])
        step, elapsed, losses = resumed["step"], resumed["elapsed"], list(resumed["recent_losses"])
        print("train: resumed at step %d (%.1f min)" % (step, elapsed / 60), flush=True)

    n_tern, n_emb = M.count_params(cfg)
    tok_per_step = a.batch * a.ctx
    print("train: hidden %d, layers %d, heads %d/%d, ffn %d, vocab %d, ctx %d: %.2fM ternary + %.2fM embedding "
          "params; %d train / %d held-out tokens (%d chunks); %d tokens/step"
          % (a.hidden, a.layers, a.heads, a.kv_heads, a.ffn, cfg["vocab_size"], a.ctx, n_tern / 1e6, n_emb / 1e6,
             len(train_ids), len(held_ids), len(chunks), tok_per_step), flush=True)

    if a.bench:
        for i in range(3 + a.bench):
            if i == 3:
                t0, c0 = time.time(), time.process_time()
            inp, tgt = sample_batch(stream, a.batch, a.ctx, bos, gen)
            loss = F.cross_entropy(model(inp).view(-1, cfg["vocab_size"]), tgt.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        dt = (time.time() - t0) / a.bench
        cpu = (time.process_time() - c0) / a.bench  # CPU seconds: what one idle core would take
        print(json.dumps({"bench": True, "hidden": a.hidden, "layers": a.layers, "ffn": a.ffn, "heads": a.heads,
                          "kv_heads": a.kv_heads, "ctx": a.ctx, "batch": a.batch, "ternary_params": n_tern,
                          "embedding_params": n_emb, "wall_sec_per_step": round(dt, 3),
                          "cpu_sec_per_step": round(cpu, 3), "steps_per_cpu_sec": round(1 / cpu, 4),
                          "tokens_per_cpu_sec": round(tok_per_step / cpu, 1), "threads": a.threads, "loss": float(loss)}), flush=True)
        return

    stop = {"sig": None}

    def on_signal(signum, _frame):
        stop["sig"] = signum
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    budget = a.minutes * 60.0
    t_start = time.time() - elapsed
    t_ckpt = time.time()
    logf = open(log_path, "a")
    model.train()
    reason = "steps"
    step0 = step
    while True:
        elapsed = time.time() - t_start
        if a.steps > 0:
            if step >= a.steps:
                break
            progress = step / a.steps
        else:
            progress = elapsed / budget
        if budget > 0 and elapsed >= budget:
            reason = "time budget"
            break
        if stop["sig"] is not None:
            reason = "signal %d" % stop["sig"]
            break
        if a.stop_after and step - step0 >= a.stop_after:
            save_ckpt(ckpt_path, model, opt, gen, step, time.time() - t_start, cfg, a, losses)
            print("train: --stop-after: checkpoint at step %d; continue with --resume" % step, flush=True)
            return
        lr = lr_at(a, step, progress)
        opt.param_groups[0]["lr"] = opt.param_groups[1]["lr"] = lr
        opt.param_groups[0]["weight_decay"] = a.wd if progress < a.wd_off_at else 0.0
        inp, tgt = sample_batch(stream, a.batch, a.ctx, bos, gen)
        loss = F.cross_entropy(model(inp).view(-1, cfg["vocab_size"]), tgt.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gnorm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip if a.clip > 0 else float("inf")))
        opt.step()
        step += 1
        losses.append(float(loss))
        if step % a.log_every == 0 or step == 1:
            el = time.time() - t_start
            rec = {"step": step, "loss": round(float(loss), 4), "lr": lr, "gnorm": round(gnorm, 3),
                   "progress": round(progress, 4), "min": round(el / 60, 2), "tok_s": round(step * tok_per_step / el, 1)}
            if a.eval_every and step % a.eval_every == 0:
                rec["heldout_ppl_partial"] = round(heldout_ppl(model, chunks, first, a.eval_chunks)[0], 3)
            logf.write(json.dumps(rec) + "\n")
            logf.flush()
            print("step %6d  loss %.4f  lr %.2e  gnorm %.2f  %.1f min  %.0f tok/s%s" % (
                step, rec["loss"], lr, gnorm, el / 60, rec["tok_s"],
                "  held-out ppl (%d chunks) %.2f" % (a.eval_chunks, rec["heldout_ppl_partial"])
                if "heldout_ppl_partial" in rec else ""), flush=True)
        if time.time() - t_ckpt > a.ckpt_minutes * 60:
            save_ckpt(ckpt_path, model, opt, gen, step, time.time() - t_start, cfg, a, losses)
            t_ckpt = time.time()
    elapsed = time.time() - t_start
    save_ckpt(ckpt_path, model, opt, gen, step, elapsed, cfg, a, losses)
    print("train: stopped (%s) at step %d after %.1f min; checkpoint %s" % (reason, step, elapsed / 60, ckpt_path),
          flush=True)

    tail = losses[-50:]
    res = {"steps": step, "minutes": round(elapsed / 60, 2), "stop_reason": reason,
           "tokens_seen": step * tok_per_step, "epochs": round(step * tok_per_step / len(train_ids), 3),
           "train_loss_last50": round(sum(tail) / max(1, len(tail)), 4), "ctx": a.ctx,
           "config": cfg, "args": vars(a)}
    t0 = time.time()
    ppl, n = heldout_ppl(model, chunks, first, a.final_eval_chunks)
    res["heldout_ppl_master"] = round(ppl, 4)
    round_like_export(model)
    ppl, n = heldout_ppl(model, chunks, first, a.final_eval_chunks)
    res["heldout_ppl_export"] = round(ppl, 4)
    res["heldout_scored_tokens"] = n
    print("train: train loss (last 50 steps) %.4f; held-out ppl %.4f (fp32 master) / %.4f (as exported) over %d "
          "tokens, ctx %d (%.1f s)" % (res["train_loss_last50"], res["heldout_ppl_master"], res["heldout_ppl_export"],
                                       n, a.ctx, time.time() - t0), flush=True)
    with open(os.path.join(a.out, "result.json"), "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    if not a.no_export:
        import export_hf
        hf_dir = os.path.join(a.out, "hf")
        export_hf.export(model, cfg, a.tokenizer, hf_dir)
        print("train: exported %s" % hf_dir, flush=True)


if __name__ == "__main__":
    main()
