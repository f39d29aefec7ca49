"""Packers and unpackers for ternary weights: I2_S (bitnet.cpp), TQ2_0 / TQ1_0 (llama.cpp) and the
Hugging Face packed uint8 layout (transformers integrations/bitnet.py, linear_class autobitlinear).

All take / return trits as int8 numpy arrays in {-1, 0, 1}. "Flat" means the tensor's elements in
ggml order: a weight [n_out, n_in] is row-major, one output row of n_in inputs after another.
Layouts (checked against the public sources named in docs/GOLDEN.md):

I2_S  (ggml type 36): n/4 code bytes + 32-byte tail. Each run of 128 elements is a 32-byte block;
      byte j of the block holds elements j, j+32, j+64, j+96 in bits 7:6, 5:4, 3:2, 1:0.
      Code = t + 1 (0 -> -1, 1 -> 0, 2 -> +1; 3 is never written). The tail's first 4 bytes are
      the per-tensor f32 scale; we write the other 28 as zeros.
TQ2_0 (ggml type 35): 256 elements -> 66 bytes: qs[64] then fp16 d. For each 128-element half
      (qs[0:32], qs[32:64]) byte m holds elements m, m+32, m+64, m+96 at bits 1:0, 3:2, 5:4, 7:6.
TQ1_0 (ggml type 34): 256 elements -> 54 bytes: qs[48], qh[4], fp16 d. qs[0:32]: byte m holds
      elements m + 32n (n = 0..4), qs[32:48]: byte m holds 160 + m + 16n (n = 0..4), qh[j] holds
      240 + j + 4n (n = 0..3). Trits form a base-3 number, first element most significant (qh
      gets one extra *3 so its first trit is the most significant of 5), stored as
      ceil(v * 256 / 243). Decode trit n: ((uint8)(byte * 3^n) * 3) >> 8.
HF    : uint8 [n_out/4, n_in]; bits 2i..2i+1 of byte (r, c) hold t + 1 of row i*n_out/4 + r,
      column c.
"""

import struct

import numpy as np


def _codes(trits):
    t = np.asarray(trits, dtype=np.int8).reshape(-1)
    assert t.min() >= -1 and t.max() <= 1
    return (t + 1).astype(np.uint8)


def _fp16_bytes(d):
    h = np.array([d], dtype=np.float32).astype(np.float16)
    assert float(h[0]) == float(d), "scale %r is not exactly representable in fp16" % d
    return h.tobytes()


# ----------------------------------------------------------------------------------------- I2_S

def pack_i2_s(trits, scale):
    c = _codes(trits)
    assert c.size % 128 == 0
    blk = c.reshape(-1, 4, 32).astype(np.uint16)  # [block, group, pos]
    b = (blk[:, 0] << 6) | (blk[:, 1] << 4) | (blk[:, 2] << 2) | blk[:, 3]
    tail = struct.pack("<f", scale) + b"\0" * 28
    assert struct.unpack("<f", tail[:4])[0] == scale, "scale must be exactly representable in f32"
    return b.astype(np.uint8).tobytes() + tail


def unpack_i2_s(data, n):
    raw = np.frombuffer(data, dtype=np.uint8, count=n // 4).reshape(-1, 32)
    out = np.empty((raw.shape[0], 4, 32), dtype=np.int8)
    lut = np.array([-1, 0, 1, 0], dtype=np.int8)  # code 3 reads as 0 (never written)
    for g in range(4):
        out[:, g] = lut[(raw >> (6 - 2 * g)) & 3]
    scale = struct.unpack("<f", data[n // 4:n // 4 + 4])[0]
    return out.reshape(-1), scale


# ---------------------------------------------------------------------------------------- TQ2_0

def pack_tq2_0(trits, d):
    c = _codes(trits)
    assert c.size % 256 == 0
    blk = c.reshape(-1, 2, 4, 32).astype(np.uint16)  # [block, half, n, m] -> element 128h+32n+m
    qs = blk[:, :, 0] | (blk[:, :, 1] << 2) | (blk[:, :, 2] << 4) | (blk[:, :, 3] << 6)
    qs = qs.astype(np.uint8).reshape(-1, 64)
    dh = np.frombuffer(_fp16_bytes(d), dtype=np.uint8)
    return np.concatenate([qs, np.tile(dh, (qs.shape[0], 1))], axis=1).tobytes()


def unpack_tq2_0(data, n):
    raw = np.frombuffer(data, dtype=np.uint8).reshape(n // 256, 66)
    qs = raw[:, :64].reshape(-1, 2, 32)
    d = raw[:, 64:66].copy().view(np.float16).astype(np.float32).reshape(-1)
    out = np.empty((qs.shape[0], 2, 4, 32), dtype=np.int8)
    for k in range(4):
        out[:, :, k] = ((qs >> (2 * k)) & 3).astype(np.int8) - 1
    return out.reshape(-1), d


# ---------------------------------------------------------------------------------------- TQ1_0

_POW3 = np.array([1, 3, 9, 27, 81, 243], dtype=np.uint16)


def _b3_encode(c, axis_len, extra_shift=False):
    """c: [..., axis_len, m] codes; first index most significant. Returns uint8 [..., m]."""
    v = np.zeros(c.shape[:-2] + c.shape[-1:], dtype=np.uint16)
    for k in range(axis_len):
        v = v * 3 + c[..., k, :]
    if extra_shift:
        v = v * 3
    assert v.max() < 243
    return ((v * 256 + 242) // 243).astype(np.uint8)


def pack_tq1_0(trits, d):
    c = _codes(trits).astype(np.uint16)
    assert c.size % 256 == 0
    blk = c.reshape(-1, 256)
    q0 = _b3_encode(blk[:, :160].reshape(-1, 5, 32), 5)           # [nb, 32]
    q1 = _b3_encode(blk[:, 160:240].reshape(-1, 5, 16), 5)        # [nb, 16]
    qh = _b3_encode(blk[:, 240:256].reshape(-1, 4, 4), 4, True)   # [nb, 4]
    dh = np.frombuffer(_fp16_bytes(d), dtype=np.uint8)
    return np.concatenate([q0, q1, qh, np.tile(dh, (blk.shape[0], 1))], axis=1).tobytes()


def _b3_trit(byte, k):
    q = (byte.astype(np.uint16) * _POW3[k]) & 0xFF  # uint8 wrap, as in llama.cpp
    return ((q * 3) >> 8).astype(np.int8) - 1


def unpack_tq1_0(data, n):
    raw = np.frombuffer(data, dtype=np.uint8).reshape(n // 256, 54)
    out = np.empty((raw.shape[0], 256), dtype=np.int8)
    for k in range(5):
        out[:, 32 * k:32 * k + 32] = _b3_trit(raw[:, 0:32], k)
        out[:, 160 + 16 * k:160 + 16 * k + 16] = _b3_trit(raw[:, 32:48], k)
    for k in range(4):
        out[:, 240 + 4 * k:240 + 4 * k + 4] = _b3_trit(raw[:, 48:52], k)
    d = raw[:, 52:54].copy().view(np.float16).astype(np.float32).reshape(-1)
    return out.reshape(-1), d


# ------------------------------------------------------------------------------- Hugging Face

def pack_hf(trits_2d):
    t = np.asarray(trits_2d, dtype=np.int8)
    n_out, n_in = t.shape
    assert n_out % 4 == 0
    rows = n_out // 4
    c = (t + 1).astype(np.uint8)
    packed = np.zeros((rows, n_in), dtype=np.uint8)
    for i in range(4):
        packed |= c[i * rows:(i + 1) * rows] << (2 * i)
    return packed


def unpack_hf(packed):
    p = np.asarray(packed, dtype=np.uint8)
    rows = p.shape[0]
    out = np.empty((rows * 4, p.shape[1]), dtype=np.int8)
    for i in range(4):
        out[i * rows:(i + 1) * rows] = ((p >> (2 * i)) & 3).astype(np.int8) - 1
    return out
