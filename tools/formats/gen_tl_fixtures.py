#!/usr/bin/python3
"""Fixtures for tern's TL1 / TL2 readers (bitnet.cpp's lookup-table weight layouts).

Usage (Debian's Python, which has numpy):
    /usr/bin/python3 tools/formats/gen_tl_fixtures.py --out tests/fixtures/formats/tl_cases.bin
    /usr/bin/python3 tools/formats/gen_tl_fixtures.py --out tests/fixtures/formats/tl_cases.bin --check

Written from the layout description in docs/FORMATS.md ("TL1", "TL2"), not from bitnet.cpp's
code: every element's byte, nibble and sign bit are computed in closed form from its (row,
column) with numpy, where tern's C++ codec walks the tiles in storage order. Agreeing bytes
therefore mean the description, this script and tern agree.

File format (little-endian):
    magic b"TERNTLFX", u32 version (1), u32 number of cases, then per case:
    u32 ggml type (38 = TL1, 39 = TL2), i64 rows M, cols K, BM, BK, bm, f32 scale,
    u64 n bytes, the tensor's bytes exactly as ggml_nbytes sizes them (codes, zero padding,
    the f32 scale slot of 32 bytes), then M*K int8 trits (row-major).
"""

import argparse
import struct
import sys

import numpy as np

MAGIC = b"TERNTLFX"
VERSION = 1
TL1, TL2 = 38, 39

# (type, M, K, BM, BK, bm): small tilings that exercise every loop of both layouts,
# including TL2 with and without the two-weight tail (K % BK columns) and TL1's three
# possible bm values.
CASES = [
    (TL1, 64, 256, 64, 128, 32),
    (TL1, 128, 192, 128, 64, 64),
    (TL1, 64, 96, 32, 32, 16),
    (TL2, 64, 288, 64, 96, 32),    # K % BK == 0: triples only
    (TL2, 64, 320, 32, 96, 32),    # 32 tail columns in pairs
    (TL2, 96, 256, 96, 192, 32),   # 64 tail columns, BK = 192
]


def ggml_nbytes(t, m, k):
    if t == TL1:
        return m * k // 4 + 32
    n = (k - 256) * m // 3 * 5 // 8 + 256 * m // 2 * 4 // 8
    n = (n + 31) // 32 * 32
    return n + 32


def put_nibbles(out, byte, hi, val):
    np.bitwise_or.at(out, byte, np.where(hi, val << 4, val).astype(np.uint8))


def encode_tl1(trits, bm_rows, bk, bm):
    m, k = trits.shape
    by = 256 // bm
    out = np.zeros(ggml_nbytes(TL1, m, k), dtype=np.uint8)
    row, kk = np.meshgrid(np.arange(m), np.arange(k // 2), indexing="ij")
    row, kk = row.ravel(), kk.ravel()
    idx = 3 * (trits[row, 2 * kk] + 1) + (trits[row, 2 * kk + 1] + 1)
    i0, r = np.divmod(row, bm_rows)
    i2, rb = np.divmod(r, bm)
    i4, r16 = np.divmod(rb, 16)
    i1, kb = np.divmod(kk, bk // 2)
    i3, kc = np.divmod(kb, by // 2)
    i5, j = np.divmod(kc, 2)
    byte = i0
    for idx_, n in ((i1, k // bk), (i2, bm_rows // bm), (i3, bk // by), (i4, bm // 16),
                    (i5, by // 4), (r16, 16)):
        byte = byte * n + idx_
    put_nibbles(out, byte, j == 0, idx.astype(np.int64))
    return out


SWAP = np.array([0, 2, 1, 3])  # 8-byte runs 1 and 2 of every 32-byte TL2 tile trade places


def tile_pos(rb):
    return 8 * SWAP[rb // 8] + rb % 8


def encode_tl2(trits, bm_rows, bk, bm):
    assert bm == 32
    m, k = trits.shape
    k3, k2 = k - k % bk, k % bk
    out = np.zeros(ggml_nbytes(TL2, m, k), dtype=np.uint8)
    if k3:
        row, t = np.meshgrid(np.arange(m), np.arange(k3 // 3), indexing="ij")
        row, t = row.ravel(), t.ravel()
        v = 9 * trits[row, 3 * t] + 3 * trits[row, 3 * t + 1] + trits[row, 3 * t + 2]
        i0, r = np.divmod(row, bm_rows)
        i2, rb = np.divmod(r, 32)
        i1, tb = np.divmod(t, bk // 3)
        # |v| nibbles: tile (i0, i1, i2, i3) of 32 bytes, two triples per byte
        i3, tc = np.divmod(tb, 2)
        tile = ((i0 * (k3 // bk) + i1) * (bm_rows // 32) + i2) * (bk // 6) + i3
        put_nibbles(out, tile * 32 + tile_pos(rb), tc == 0, np.abs(v).astype(np.int64))
        # sign bits: tiles of 8 triples x 32 rows = 16 little-endian u16 words
        i3s, tcs = np.divmod(tb, 8)
        tile_s = ((i0 * (k3 // bk) + i1) * (bm_rows // 32) + i2) * (bk // 24) + i3s
        f = tcs * 32 + rb
        word, bit = f % 16, 15 - f // 16
        byte = m * k3 // 6 + tile_s * 32 + 2 * word + bit // 8
        neg = v < 0
        np.bitwise_or.at(out, byte[neg], (1 << (bit[neg] % 8)).astype(np.uint8))
    if k2:
        row, kk = np.meshgrid(np.arange(m), np.arange(k2 // 2), indexing="ij")
        row, kk = row.ravel(), kk.ravel()
        c = k3 + 2 * kk
        idx = 3 * (trits[row, c] + 1) + (trits[row, c + 1] + 1)
        i0, r = np.divmod(row, bm_rows)
        i2, rb = np.divmod(r, 32)
        i1, kb = np.divmod(kk, 16)
        i3, kc = np.divmod(kb, 2)
        tile = ((i0 * (k2 // 32) + i1) * (bm_rows // 32) + i2) * 8 + i3
        byte = m * k3 // 6 + m * k3 // 24 + tile * 32 + tile_pos(rb)
        put_nibbles(out, byte, kc == 0, idx.astype(np.int64))
    return out


def encode(t, trits, bm_rows, bk, bm, scale):
    out = (encode_tl1 if t == TL1 else encode_tl2)(trits, bm_rows, bk, bm)
    off = len(out) - 32
    out[off:off + 4] = np.frombuffer(struct.pack("<f", scale), dtype=np.uint8)
    return out


def build():
    rng = np.random.default_rng(20250604)
    blob = bytearray(MAGIC + struct.pack("<II", VERSION, len(CASES)))
    for t, m, k, bm_rows, bk, bm in CASES:
        trits = rng.integers(-1, 2, size=(m, k), dtype=np.int8)
        scale = float(np.float32(rng.uniform(0.5, 2.0)))
        data = encode(t, trits, bm_rows, bk, bm, scale)
        blob += struct.pack("<Iqqqqqf Q".replace(" ", ""), t, m, k, bm_rows, bk, bm, scale, len(data))
        blob += data.tobytes() + trits.astype(np.int8).tobytes()
    return bytes(blob)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--check", action="store_true", help="fail if the file differs")
    a = ap.parse_args()
    blob = build()
    if a.check:
        with open(a.out, "rb") as f:
            if f.read() != blob:
                sys.exit(f"{a.out} differs from what this script writes")
        print(f"{a.out}: up to date")
        return
    with open(a.out, "wb") as f:
        f.write(blob)
    print(f"wrote {a.out} ({len(blob)} bytes, {len(CASES)} cases)")


if __name__ == "__main__":
    main()
