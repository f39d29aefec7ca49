"""Minimal GGUF v3 writer and reader, and a minimal safetensors writer/reader.

Written from the GGUF specification (ggml docs/gguf.md): little-endian; header = magic "GGUF",
u32 version, u64 tensor_count, u64 kv_count; each KV = string key, u32 value type, value;
each tensor info = string name, u32 n_dims, u64 ne[n_dims] (ne0 = fastest-varying, i.e. the
input dimension of a weight), u32 ggml type, u64 offset relative to the data section; the data
section starts at the next multiple of general.alignment after the tensor infos, and every
tensor's offset is a multiple of the alignment. Strings are u64 length + bytes (no NUL).

Only what the golden fixtures need; no dependency on the `gguf` pip package.
"""

import json
import struct

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3

# GGUF metadata value types (gguf.md, enum gguf_metadata_value_type).
T_U8, T_I8, T_U16, T_I16, T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR, T_U64, T_I64, T_F64 = range(13)
_SCALAR_FMT = {T_U8: "<B", T_I8: "<b", T_U16: "<H", T_I16: "<h", T_U32: "<I", T_I32: "<i",
               T_F32: "<f", T_BOOL: "<?", T_U64: "<Q", T_I64: "<q", T_F64: "<d"}

# ggml tensor types used here (ggml.h; I2_S = 36 is bitnet.cpp's addition).
GGML_F32, GGML_F16, GGML_I32 = 0, 1, 26
GGML_TQ1_0, GGML_TQ2_0, GGML_I2_S = 34, 35, 36
GGML_TYPE_NAMES = {GGML_F32: "F32", GGML_F16: "F16", GGML_I32: "I32",
                   GGML_TQ1_0: "TQ1_0", GGML_TQ2_0: "TQ2_0", GGML_I2_S: "I2_S"}


def ggml_nbytes(gtype, n):
    """Bytes a tensor of n elements occupies in the file (before alignment padding)."""
    if gtype == GGML_F32 or gtype == GGML_I32:
        return 4 * n
    if gtype == GGML_F16:
        return 2 * n
    if gtype == GGML_TQ2_0:
        assert n % 256 == 0
        return n // 256 * 66
    if gtype == GGML_TQ1_0:
        assert n % 256 == 0
        return n // 256 * 54
    if gtype == GGML_I2_S:
        # bitnet.cpp ggml_nbytes: n/4 code bytes + one 32-byte tail holding the f32 scale.
        return n // 4 + 32
    raise ValueError("unknown ggml type %d" % gtype)


def _pad(n, align):
    return (align - n % align) % align


def _str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def _value(vtype, v):
    if vtype == T_STR:
        return _str(v)
    if vtype == T_ARR:
        etype, items = v
        out = [struct.pack("<IQ", etype, len(items))]
        for it in items:
            out.append(_value(etype, it))
        return b"".join(out)
    return struct.pack(_SCALAR_FMT[vtype], v)


class GGUFWriter:
    def __init__(self, alignment=32):
        self.alignment = alignment
        self.kvs = []      # (key, type, value), written in insertion order
        self.tensors = []  # (name, ne list, ggml type, raw bytes)

    def kv(self, key, vtype, value):
        assert all(k != key for k, _, _ in self.kvs), key
        self.kvs.append((key, vtype, value))

    def tensor(self, name, ne, gtype, data):
        n = 1
        for d in ne:
            n *= d
        assert len(data) == ggml_nbytes(gtype, n), (name, len(data), ggml_nbytes(gtype, n))
        self.tensors.append((name, list(ne), gtype, bytes(data)))

    def to_bytes(self):
        out = [GGUF_MAGIC, struct.pack("<IQQ", GGUF_VERSION, len(self.tensors), len(self.kvs))]
        for key, vtype, value in self.kvs:
            out.append(_str(key) + struct.pack("<I", vtype) + _value(vtype, value))
        offset = 0
        offsets = []
        for name, ne, gtype, data in self.tensors:
            offsets.append(offset)
            out.append(_str(name) + struct.pack("<I", len(ne)) +
                       b"".join(struct.pack("<Q", d) for d in ne) + struct.pack("<IQ", gtype, offset))
            offset += len(data) + _pad(len(data), self.alignment)
        head = b"".join(out)
        blob = [head, b"\0" * _pad(len(head), self.alignment)]
        for (name, ne, gtype, data), off in zip(self.tensors, offsets):
            blob.append(data)
            blob.append(b"\0" * _pad(len(data), self.alignment))
        return b"".join(blob)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(self.to_bytes())


class GGUFReader:
    """Reads back what GGUFWriter writes (used by --check, not by the generator)."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.buf = f.read()
        self.pos = 0
        assert self._take(4) == GGUF_MAGIC
        version, n_tensors, n_kv = struct.unpack("<IQQ", self._take(20))
        assert version == GGUF_VERSION
        self.kv = {}
        self.kv_types = {}
        for _ in range(n_kv):
            key = self._str()
            vtype = self._u32()
            self.kv_types[key] = vtype
            self.kv[key] = self._val(vtype)
        infos = []
        for _ in range(n_tensors):
            name = self._str()
            nd = self._u32()
            ne = list(struct.unpack("<%dQ" % nd, self._take(8 * nd)))
            gtype = self._u32()
            off = struct.unpack("<Q", self._take(8))[0]
            infos.append((name, ne, gtype, off))
        align = self.kv.get("general.alignment", 32)
        data_start = self.pos + _pad(self.pos, align)
        self.tensors = {}
        for name, ne, gtype, off in infos:
            assert off % align == 0
            n = 1
            for d in ne:
                n *= d
            start = data_start + off
            self.tensors[name] = (ne, gtype, self.buf[start:start + ggml_nbytes(gtype, n)])

    def _take(self, n):
        b = self.buf[self.pos:self.pos + n]
        assert len(b) == n, "truncated"
        self.pos += n
        return b

    def _u32(self):
        return struct.unpack("<I", self._take(4))[0]

    def _str(self):
        n = struct.unpack("<Q", self._take(8))[0]
        return self._take(n).decode("utf-8")

    def _val(self, vtype):
        if vtype == T_STR:
            return self._str()
        if vtype == T_ARR:
            etype = self._u32()
            n = struct.unpack("<Q", self._take(8))[0]
            return [self._val(etype) for _ in range(n)]
        fmt = _SCALAR_FMT[vtype]
        return struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]


# ---------------------------------------------------------------------------------------------
# safetensors: u64 little-endian header length N, N bytes of JSON header
# {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then raw data
# (offsets relative to the end of the header). Header padded with spaces to a multiple of 8.

_ST_SIZE = {"U8": 1, "BF16": 2, "F16": 2, "F32": 4, "I32": 4}


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, dtype string, shape list, raw bytes)."""
    # Largest element size first, then by name, so every tensor is naturally aligned.
    order = sorted(tensors, key=lambda t: (-_ST_SIZE[t[1]], t[0]))
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    off = 0
    for name, dtype, shape, data in order:
        n = 1
        for d in shape:
            n *= d
        assert len(data) == n * _ST_SIZE[dtype], name
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(data)]}
        off += len(data)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * _pad(len(hb), 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for _, _, _, data in order:
            f.write(data)


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    n = struct.unpack("<Q", buf[:8])[0]
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = (info["dtype"], info["shape"], buf[base + b:base + e])
    return out
