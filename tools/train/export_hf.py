#!/usr/bin/python3
"""Export a trained model (train.py) as a Hugging Face checkpoint directory in the layout of
microsoft/bitnet-b1.58-2B-4T (packed, quantization_config autobitlinear / offline):

  config.json              BitNetForCausalLM keys (as tools/golden's hf_bitnet_tiny)
  model.safetensors        projections: uint8 [out/4, in] packed trits (tools/golden/ternary_pack.py
                           pack_hf: bits 2i..2i+1 of byte (r, c) hold t+1 of row i*out/4 + r) and a
                           one-element bf16 weight_scale that MULTIPLIES the output; embedding
                           (tied head) and norms in bf16
  tokenizer.model          the SentencePiece BPE model (tern's "llama" tokenizer)
  tokenizer_config.json    add_bos_token true, 2B-4T's chat template with <|eot_id|>
  special_tokens_map.json, generation_config.json

Float tensors are rounded to bf16, and values with |x| < 2^-14 are flushed to 0, so each stored
value is also exact in fp16 (a GGUF F16 embedding then holds the same numbers). train.py
evaluates the model with exactly these values ("as exported").

Usage: /usr/bin/python3 tools/train/export_hf.py --ckpt RUN/ckpt.pt --tokenizer TOK/tokenizer.model --out RUN/hf
"""

import argparse
import json
import os
import shutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
import gguf_min as G  # noqa: E402  (safetensors writer)
import model as M  # noqa: E402
import ternary_pack as P  # noqa: E402  (HF packing)

# 2B-4T's chat template (tokenizer_config.json of microsoft/bitnet-b1.58-2B-4T; docs/TOKENIZER.md).
CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = message['role'] | capitalize + ': '+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}")
SPECIAL = [(0, "<unk>"), (1, "<s>"), (2, "</s>"), (3, "<|eot_id|>")]


def export_float(t):
    """bf16 value of a float tensor, |x| < 2^-14 flushed to 0 (exact in bf16, fp16 and f32)."""
    r = M.bf16_round(t.detach().float())
    return torch.where(r.abs() < 2.0 ** -14, torch.zeros_like(r), r)


def bf16_bytes(t):
    return t.to(torch.bfloat16).contiguous().view(torch.int16).numpy().astype("<i2").tobytes()


def hf_config(cfg):
    return {
        "architectures": ["BitNetForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": cfg["bos_token_id"],
        "eos_token_id": cfg["eos_token_id"],
        "head_dim": cfg["head_dim"],
        "hidden_act": "relu2",
        "hidden_size": cfg["hidden_size"],
        "initializer_range": 0.02,
        "intermediate_size": cfg["intermediate_size"],
        "max_position_embeddings": cfg["max_position_embeddings"],
        "model_type": "bitnet",
        "num_attention_heads": cfg["num_attention_heads"],
        "num_hidden_layers": cfg["num_hidden_layers"],
        "num_key_value_heads": cfg["num_key_value_heads"],
        "rms_norm_eps": cfg["rms_norm_eps"],
        "rope_scaling": None,
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


def tokenizer_files(cfg):
    added = {str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                      "single_word": False, "special": True} for i, s in SPECIAL}
    tok_cfg = {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": added,
        "bos_token": "<s>",
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "</s>",
        "legacy": False,
        "model_max_length": cfg["max_position_embeddings"],
        "pad_token": None,
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizer",
        "unk_token": "<unk>",
        "use_default_system_prompt": False,
    }
    special_map = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
                   "additional_special_tokens": ["<|eot_id|>"]}
    gen_cfg = {"_from_model_config": True, "bos_token_id": cfg["bos_token_id"],
               "eos_token_id": [cfg["eos_token_id"], 3], "do_sample": True, "temperature": 0.7,
               "top_p": 0.9, "max_length": cfg["max_position_embeddings"]}
    return tok_cfg, special_map, gen_cfg


def _json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def export(model, cfg, tokenizer_path, out_dir):
    """model: model.BitNetLM (latent fp32 weights). Writes the checkpoint directory."""
    os.makedirs(out_dir, exist_ok=True)
    sd = {k: v.detach().float() for k, v in model.state_dict().items()}
    ts = []
    for name in sorted(sd):
        t = sd[name]
        hf = "model." + name
        if name.endswith("proj.weight"):
            trits, scale = M.ternarize(t)
            packed = P.pack_hf(trits.to(torch.int8).numpy())
            ts.append((hf, "U8", list(packed.shape), packed.tobytes()))
            ts.append((hf + "_scale", "BF16", [1], bf16_bytes(scale.reshape(1))))
        else:
            ts.append((hf, "BF16", list(t.shape), bf16_bytes(export_float(t))))
    G.write_safetensors(os.path.join(out_dir, "model.safetensors"), ts, {"format": "pt"})
    _json(os.path.join(out_dir, "config.json"), hf_config(cfg))
    tok_cfg, special_map, gen_cfg = tokenizer_files(cfg)
    _json(os.path.join(out_dir, "tokenizer_config.json"), tok_cfg)
    _json(os.path.join(out_dir, "special_tokens_map.json"), special_map)
    _json(os.path.join(out_dir, "generation_config.json"), gen_cfg)
    shutil.copyfile(tokenizer_path, os.path.join(out_dir, "tokenizer.model"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True, help="train.py checkpoint (ckpt.pt)")
    ap.add_argument("--tokenizer", required=True, help="tokenizer.model")
    ap.add_argument("--out", required=True, help="output directory")
    a = ap.parse_args()
    ck = torch.load(a.ckpt)
    model = M.BitNetLM(ck["config"])
    model.load_state_dict(ck["model"])
    export(model, ck["config"], a.tokenizer, a.out)
    print("export_hf: %s (step %d) -> %s" % (a.ckpt, ck["step"], a.out))


if __name__ == "__main__":
    main()
