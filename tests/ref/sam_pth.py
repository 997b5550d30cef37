#!/usr/bin/python3
"""Writes SAM checkpoints in the official format (torch.save of a module's
state_dict(): an OrderedDict with _metadata, zip serialization) from the
tiny parity model's weights, for lab's .pth loader.

  sam_pth.py OUT REFDIR
    OUT/sam_tiny.pth   the sd.* tensors of REFDIR/2.2.6-sam_tiny.parity*.safetensors,
                       registered on a module tree under their state-dict names
                       (the Gaussian matrix as a buffer, as segment_anything has it)
  sam_pth.py --random OUT.pth REFDIR
    a vit_b-size checkpoint: REFDIR/2.2.6-sam_vit_b.tsv's keys and shapes, seeded
    random weights (0.02 N(0,1); LayerNorm weights 1), without segment_anything
"""
import json
import struct
import sys

import torch
import torch.nn as nn

DT = {"F32": torch.float32, "I64": torch.int64, "U8": torch.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(blob[base + b:base + e]), dtype=DT[info["dtype"]])
        out[name] = t.reshape(info["shape"]).clone()
    return out


def random_sd(tsv):
    g = torch.Generator().manual_seed(0)
    sd = {}
    with open(tsv) as f:
        for line in f:
            if line.startswith("#") or line.startswith("key\t"):
                continue
            key, shape, _ = line.rstrip("\n").split("\t")
            dims = [int(d) for d in shape.split("x")] if shape else []
            t = torch.randn(dims, generator=g) * 0.02
            if key.endswith(("norm1.weight", "norm2.weight", "norm.weight", "neck.1.weight", "neck.3.weight")):
                t = torch.ones(dims)
            sd[key] = t
    return sd


def tree(sd):
    root = nn.Module()
    for key, value in sd.items():
        *path, leaf = key.split(".")
        mod = root
        for part in path:
            if part not in mod._modules:
                mod.add_module(part, nn.Module())
            mod = mod._modules[part]
        if leaf == "positional_encoding_gaussian_matrix":
            mod.register_buffer(leaf, value)
        else:
            mod.register_parameter(leaf, nn.Parameter(value))
    return root


def main():
    if sys.argv[1] == "--random":
        torch.save(tree(random_sd(f"{sys.argv[3]}/2.2.6-sam_vit_b.tsv")).state_dict(), sys.argv[2])
        return
    out, ref = sys.argv[1], sys.argv[2]
    sd = {}
    for f in ("2.2.6-sam_tiny.parity.safetensors", "2.2.6-sam_tiny.parity.decoder.safetensors"):
        sd.update({k[3:]: v for k, v in read_safetensors(f"{ref}/{f}").items() if k.startswith("sd.")})
    torch.save(tree(sd).state_dict(), f"{out}/sam_tiny.pth")


main()
