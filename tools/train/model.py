"""The training-time model of tern's small BitNet b1.58: microsoft/bitnet-b1.58-2B-4T's
architecture scaled down, with quantization-aware training (straight-through estimators).

Forward semantics are those of inference (REFERENCE.md, transformers modeling_bitnet.py +
integrations/bitnet.py AutoBitLinear offline):
  * RMSNorm in fp32: w * (x * rsqrt(mean(x^2) + eps)), eps 1e-5.
  * BitLinear: weights ternarized per tensor, scale = bf16(mean|W|) (clamped to 1e-5; bf16 because
    the checkpoint stores weight_scale in bf16, so training sees exactly the exported scale),
    t = clamp(round(W / scale), -1, 1), W_q = t * scale. Activations quantized per token:
    s = 127 / max(max|x|, 1e-5), q = clamp(round_half_even(x * s), -128, 127), x_q = q / s.
    y = x_q @ W_q^T, i.e. (q . t) / s * scale. Both roundings use a straight-through estimator
    (x + (x_q - x).detach()), so gradients flow to the latent fp32 weights and to x.
    One activation quantization feeds q, k and v; one feeds gate and up.
  * Attention: RoPE rotate-half (NeoX) on q and k, causal GQA (head h uses KV head h // group),
    scale 1/sqrt(head_dim), fp32 softmax; attn_sub_norm BEFORE o_proj.
  * FFN: relu(gate)^2 * up, ffn_sub_norm BEFORE down_proj.
  * Tied embedding (full precision) as the output head; no biases anywhere.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

ACT_QMAX = 127.0


def bf16_round(x):
    return x.to(torch.bfloat16).to(torch.float32)


def ternarize(w):
    """(t, scale): t in {-1, 0, 1} (same dtype as w), scale a 0-d tensor holding a bf16 value."""
    scale = bf16_round(w.detach().abs().mean().clamp(min=1e-5))
    t = torch.round(w.detach() / scale).clamp(-1, 1)
    return t, scale


def weight_quant_ste(w):
    t, scale = ternarize(w)
    return w + (t * scale - w).detach()


def act_quant(x):
    """(q, s): integer-valued q (float dtype) and the per-token scale s, as inference computes."""
    s = ACT_QMAX / x.detach().abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    q = torch.round(x.detach() * s).clamp(-128, 127)
    return q, s


def act_quant_ste(x):
    q, s = act_quant(x)
    return x + (q / s - x).detach()


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))  # [dim]

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class BitLinear(nn.Module):
    """Projection without bias; forward takes an already quantized (STE) activation."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_out, n_in))  # [n_out, n_in] latent fp32 master

    def forward(self, xq):
        return F.linear(xq, weight_quant_ste(self.weight))


def rope_cos_sin(n_pos, head_dim, theta):
    # inv_freq[i] = theta^(-2i/head_dim); angles in float64, then f32 (as tools/golden).
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    freqs = torch.arange(n_pos, dtype=torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().float(), emb.sin().float()  # [n_pos, head_dim] each


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        H, self.nh, self.nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.hd = H // self.nh
        self.q_proj = BitLinear(H, self.nh * self.hd)
        self.k_proj = BitLinear(H, self.nkv * self.hd)
        self.v_proj = BitLinear(H, self.nkv * self.hd)
        self.o_proj = BitLinear(self.nh * self.hd, H)
        self.attn_sub_norm = RMSNorm(self.nh * self.hd, cfg["rms_norm_eps"])

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        xq = act_quant_ste(x)  # one quantization feeds q, k and v
        q = self.q_proj(xq).view(B, T, self.nh, self.hd).transpose(1, 2)   # [B, nh, T, hd]
        k = self.k_proj(xq).view(B, T, self.nkv, self.hd).transpose(1, 2)  # [B, nkv, T, hd]
        v = self.v_proj(xq).view(B, T, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        group = self.nh // self.nkv
        if group > 1:
            k = k.repeat_interleave(group, dim=1)
            v = v.repeat_interleave(group, dim=1)
        sc = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(self.hd)) + mask
        a = torch.softmax(sc, dim=-1) @ v                                   # [B, nh, T, hd]
        a = a.transpose(1, 2).reshape(B, T, self.nh * self.hd)
        return self.o_proj(act_quant_ste(self.attn_sub_norm(a)))


class FFN(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        H, Fd = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = BitLinear(H, Fd)
        self.up_proj = BitLinear(H, Fd)
        self.down_proj = BitLinear(Fd, H)
        self.ffn_sub_norm = RMSNorm(Fd, cfg["rms_norm_eps"])

    def forward(self, x):
        xq = act_quant_ste(x)  # one quantization feeds gate and up
        m = torch.relu(self.gate_proj(xq)).pow(2) * self.up_proj(xq)
        return self.down_proj(act_quant_ste(self.ffn_sub_norm(m)))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        eps = cfg["rms_norm_eps"]
        self.input_layernorm = RMSNorm(cfg["hidden_size"], eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], eps)
        self.mlp = FFN(cfg)

    def forward(self, h, cos, sin, mask):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class BitNetLM(nn.Module):
    """Parameter names follow the Hugging Face checkpoint (model.layers.N.self_attn.q_proj ...)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])  # [V, H], tied head
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        hd = cfg["hidden_size"] // cfg["num_attention_heads"]
        cos, sin = rope_cos_sin(cfg["max_position_embeddings"], hd, cfg["rope_theta"])
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    def init_weights(self, std=0.02):
        for name, p in self.named_parameters():
            if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
                nn.init.ones_(p)
            else:
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, idx):
        """idx: [B, T] token ids -> logits [B, T, V]."""
        T = idx.shape[1]
        h = self.embed_tokens(idx)
        cos, sin = self.rope_cos[:T], self.rope_sin[:T]
        mask = torch.full((T, T), float("-inf")).triu(1)
        for layer in self.layers:
            h = layer(h, cos, sin, mask)
        return self.norm(h) @ self.embed_tokens.weight.T


def count_params(cfg):
    H, Fd, L, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], cfg["vocab_size"]
    kv = cfg["num_key_value_heads"] * (H // cfg["num_attention_heads"])
    ternary = L * (2 * H * H + 2 * H * kv + 3 * H * Fd)
    return ternary, V * H
