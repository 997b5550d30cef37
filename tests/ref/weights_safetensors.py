#!/usr/bin/python3
"""The Python side of lab's safetensors tests: an independent implementation
of the published safetensors layout (https://github.com/huggingface/safetensors)
with struct + json, since Debian ships no `safetensors` package. When the real
package is importable it is used as a second judge.

  weights_safetensors.py write DIR       tensors from torch -> DIR/py.safetensors,
                                         plus DIR/manifest.json and DIR/t*.bin (raw bytes)
  weights_safetensors.py check FILE DIR  FILE (written by lab) must hold exactly the
                                         tensors of DIR/manifest.json, laid out byte for
                                         byte as the reference writer lays them out
"""
import json
import struct
import sys

import numpy as np
import torch

# The reference implementation's dtype order (ascending alignment); its
# writer lays tensors out by descending dtype, then by name.
ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
         "I32", "U32", "F32", "F64", "I64", "U64"]
SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2,
        "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}
TORCH = {"BOOL": torch.bool, "U8": torch.uint8, "I8": torch.int8, "I16": torch.int16,
         "F16": torch.float16, "BF16": torch.bfloat16, "I32": torch.int32,
         "F32": torch.float32, "F64": torch.float64, "I64": torch.int64}


def serialize(tensors, metadata):
    """tensors: {name: (dtype, shape, bytes)} -> the file's bytes."""
    items = sorted(tensors.items(), key=lambda kv: (-ORDER.index(kv[1][0]), kv[0]))
    header = {}
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    at = 0
    for name, (dtype, shape, raw) in items:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [at, at + len(raw)]}
        at += len(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(raw for _, (_, _, raw) in items)


def deserialize(blob):
    """The reference reader's checks: -> ({name: (dtype, shape, bytes)}, metadata)."""
    if len(blob) < 8:
        raise ValueError("shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > 100_000_000 or 8 + n > len(blob):
        raise ValueError("bad header length %d" % n)
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None) or {}
    data = blob[8 + n:]
    at = 0
    out = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        b, e = info["data_offsets"]
        count = 1
        for d in info["shape"]:
            count *= d
        if b != at or e < b or e - b != count * SIZE[info["dtype"]]:
            raise ValueError("tensor %s: bad offsets %r" % (name, info["data_offsets"]))
        out[name] = (info["dtype"], tuple(info["shape"]), data[b:e])
        at = e
    if at != len(data):
        raise ValueError("data buffer not covered")
    return out, metadata


def reference_tensors():
    """Deterministic tensors of every dtype, as (dtype, shape, bytes)."""
    g = torch.Generator().manual_seed(1234)
    t = {
        "conv1.weight": torch.randn(8, 3, 3, 3, generator=g),
        "conv1.bias": torch.randn(8, generator=g),
        "bn1.num_batches_tracked": torch.tensor(7, dtype=torch.int64),
        "fc.weight.bf16": torch.randn(4, 5, generator=g).to(torch.bfloat16),
        "fc.bias.f16": torch.randn(3, generator=g).to(torch.float16),
        "mask": torch.rand(5, generator=g) > 0.5,
        "pixels": torch.randint(0, 256, (2, 3), generator=g, dtype=torch.uint8),
        "offsets.i8": torch.randint(-128, 128, (7,), generator=g, dtype=torch.int8),
        "counts.i16": torch.randint(-30000, 30000, (3,), generator=g, dtype=torch.int16),
        "labels.i32": torch.randint(-10**9, 10**9, (2, 2), generator=g, dtype=torch.int32),
        "double": torch.randn(2, 2, generator=g, dtype=torch.float64),
        "empty": torch.zeros(0, 3),
        "bloc.\u00e9t\u00e9": torch.randn(2, generator=g),
    }
    out = {}
    rev = {v: k for k, v in TORCH.items()}
    for name, x in t.items():
        if x.dtype == torch.bfloat16:  # numpy has no bf16: take the raw 16 bits
            raw = x.view(torch.int16).numpy().tobytes()
        else:
            raw = x.numpy().tobytes()
        out[name] = (rev[x.dtype], tuple(x.shape), raw)
    rng = np.random.default_rng(5)  # dtypes torch 1.13 lacks
    for name, dt, code in (("u16", np.uint16, "U16"), ("u32", np.uint32, "U32"), ("u64", np.uint64, "U64")):
        a = rng.integers(0, np.iinfo(dt).max, size=(3,), dtype=dt, endpoint=True)
        out[name] = (code, a.shape, a.astype("<" + a.dtype.str[1:]).tobytes())
    return out


METADATA = {"format": "pt", "lab": "2.2.1", "note": "caf\u00e9 / \"quoted\""}


def cmd_write(d):
    tensors = reference_tensors()
    manifest = {"metadata": METADATA, "tensors": []}
    for i, (name, (dtype, shape, raw)) in enumerate(sorted(tensors.items())):
        path = "%s/t%d.bin" % (d, i)
        with open(path, "wb") as f:
            f.write(raw)
        manifest["tensors"].append({"name": name, "dtype": dtype, "shape": list(shape), "bin": path})
    with open(d + "/manifest.json", "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False)
    with open(d + "/py.safetensors", "wb") as f:
        f.write(serialize(tensors, METADATA))


def as_torch(dtype, shape, raw):
    if len(raw) == 0:
        return torch.zeros(shape, dtype=TORCH[dtype])
    return torch.frombuffer(bytearray(raw), dtype=TORCH[dtype]).reshape(shape)


def cmd_check(path, d):
    with open(d + "/manifest.json", encoding="utf-8") as f:
        manifest = json.load(f)
    with open(path, "rb") as f:
        blob = f.read()
    got, meta = deserialize(blob)
    want = {}
    for t in manifest["tensors"]:
        with open(t["bin"], "rb") as f:
            want[t["name"]] = (t["dtype"], tuple(t["shape"]), f.read())
    problems = []
    if meta != manifest["metadata"]:
        problems.append("metadata %r != %r" % (meta, manifest["metadata"]))
    if set(got) != set(want):
        problems.append("names differ: %r" % sorted(set(got) ^ set(want)))
    for name in sorted(set(got) & set(want)):
        if got[name] != want[name]:
            problems.append("tensor %s differs" % name)
        elif got[name][0] in TORCH and not torch.equal(as_torch(*got[name]), as_torch(*want[name])):
            problems.append("tensor %s differs as a torch tensor" % name)
    (n,) = struct.unpack("<Q", blob[:8])
    if n % 8:
        problems.append("header length %d is not a multiple of 8" % n)
    if blob != serialize(want, manifest["metadata"]):
        problems.append("bytes differ from the reference layout")
    try:
        from safetensors.torch import load_file  # a second judge when installed
        loaded = load_file(path)
        for name, x in loaded.items():
            if want[name][0] in TORCH and not torch.equal(x, as_torch(*want[name])):
                problems.append("safetensors.torch: tensor %s differs" % name)
    except ImportError:
        pass
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print("OK %d tensors" % len(got))


if __name__ == "__main__":
    if sys.argv[1] == "write":
        cmd_write(sys.argv[2])
    elif sys.argv[1] == "check":
        cmd_check(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: weights_safetensors.py write DIR | check FILE DIR")
