"""Shared writer for the shim's parity references (tests/ref/shim_*.py).

Every tensor goes to DIR/<name>.t: one text line
    "<storage> <dtype> <ndim> <d0> <d1> ...\n"
followed by the values as raw little-endian <storage> (f32, f64 or i64).
<dtype> is the tensor's own dtype (f32, bf16, i64, ...), so a test can check
the dtype autocast chose; bf16/f16 values are stored widened to f32 exactly.
"""
import os
import sys

import torch

DTYPES = {torch.float32: "f32", torch.bfloat16: "bf16", torch.float16: "f16",
          torch.int64: "i64", torch.uint8: "u8", torch.bool: "bool", torch.float64: "f64"}


def out_dir():
    if len(sys.argv) != 2:
        sys.exit("usage: %s OUTDIR" % sys.argv[0])
    os.makedirs(sys.argv[1], exist_ok=True)
    return sys.argv[1]


def save(d, name, t):
    t = t.detach().cpu()
    dt = DTYPES[t.dtype]
    if t.dtype in (torch.float64,):
        storage, data = "f64", t.double()
    elif t.is_floating_point():
        storage, data = "f32", t.float()
    else:
        storage, data = "i64", t.long()
    header = "%s %s %d %s\n" % (storage, dt, t.dim(), " ".join(str(s) for s in t.shape))
    with open(os.path.join(d, name + ".t"), "wb") as f:
        f.write(header.encode())
        f.write(data.contiguous().numpy().astype(data.numpy().dtype.newbyteorder("<")).tobytes())


def save_text(d, name, text):
    with open(os.path.join(d, name + ".txt"), "w") as f:
        f.write(text)
