"""A stand-in for timm's Hub checkpoint timm/efficientnet_b0.ra_in1k, for
tests/e2e/lab222_full.sh to serve: model.safetensors with exactly the key
set, shapes and dtypes of ../shared/reference/2.2.2-efficientnet_b0-imagenet.tsv
(random weights, seeded), and a config.json whose pretrained_cfg carries the
facts ../shared/reference/README.md states for it (input 224, crop_pct,
interpolation, the ImageNet mean/std of its normalization table). Both are
read from the reference files, not typed here, so a changed reference
changes the checkpoint.

usage: timm_checkpoint.py REFERENCE_DIR OUT_DIR       writes OUT_DIR/{model.safetensors,config.json}
       timm_checkpoint.py --fingerprint FILE          the backbone fingerprint lab and the grader record
"""
import hashlib
import json
import math
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from submission_variant import st_save  # noqa: E402

HEAD = "classifier"


def key_set(tsv):
    rows = []
    for line in open(tsv):
        if line.startswith("#") or line.startswith("key\t"):
            continue
        key, shape, kind = line.rstrip("\n").split("\t")
        rows.append((key, [] if shape == "scalar" else [int(d) for d in shape.split("x")], kind))
    return rows


def pretrained_cfg(readme, num_classes, num_features):
    text = open(readme).read()
    sec = text[text.index("## 2.2.2 EfficientNet-B0 as timm builds it"):]
    m = re.search(r"Pretrained config: input (\d+), crop_pct ([0-9.]+), (\w+), ImageNet mean/std", sec)
    norm = re.search(r"\| ImageNet-pretrained models \| ([0-9., ]+) \| ([0-9., ]+) \|", text)
    if not m or not norm:
        sys.exit("the reference README no longer states the pretrained config or the ImageNet constants")
    size = int(m.group(1))
    triple = lambda s: [float(v) for v in s.split(",")]
    return {"architecture": "efficientnet_b0", "num_classes": num_classes, "num_features": num_features,
            "pretrained_cfg": {"tag": "ra_in1k", "input_size": [3, size, size], "interpolation": m.group(3),
                               "crop_pct": float(m.group(2)), "crop_mode": "center",
                               "mean": triple(norm.group(1)), "std": triple(norm.group(2)),
                               "num_classes": num_classes, "first_conv": "conv_stem", "classifier": HEAD}}


def random_weights(rows, seed=2222):
    """timm's init for the convs (normal, sqrt(2/fan_out), README), BatchNorm
    near identity but not exactly (so every tensor's bytes are its own)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    out = {}
    for key, shape, kind in rows:
        leaf = key.rsplit(".", 1)[1]
        if leaf == "num_batches_tracked":
            t = torch.tensor(int(torch.randint(1, 10**6, (1,), generator=g)), dtype=torch.int64)
        elif leaf == "running_var":
            t = 0.5 + torch.rand(shape, generator=g)
        elif len(shape) == 4:
            groups = shape[0] if shape[1] == 1 else 1  # depthwise: one input channel per group
            fan_out = shape[2] * shape[3] * shape[0] // groups
            t = torch.randn(shape, generator=g) * math.sqrt(2.0 / fan_out)
        elif len(shape) == 2:
            t = (torch.rand(shape, generator=g) * 2 - 1) / math.sqrt(shape[0])
        elif leaf == "weight" and "bn" in key:
            t = 1 + 0.1 * torch.randn(shape, generator=g)
        else:
            t = 0.1 * torch.randn(shape, generator=g)
        out[key] = t.contiguous()
    return out


def fingerprint(path):
    """lab's pretrained_fingerprint_file, restated: sha256 over "name:sha256(bytes);"
    of every non-head tensor, sorted by name."""
    raw = open(path, "rb").read()
    n, = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    parts = []
    for name in sorted(header):
        if name.startswith(HEAD):
            continue
        b, e = header[name]["data_offsets"]
        parts.append("%s:%s;" % (name, hashlib.sha256(data[b:e]).hexdigest()))
    return hashlib.sha256("".join(parts).encode()).hexdigest()


def main():
    if sys.argv[1] == "--fingerprint":
        print(fingerprint(sys.argv[2]))
        return
    ref, out = sys.argv[1:3]
    rows = key_set(os.path.join(ref, "2.2.2-efficientnet_b0-imagenet.tsv"))
    shapes = dict((k, s) for k, s, _ in rows)
    cfg = pretrained_cfg(os.path.join(ref, "README.md"), shapes[HEAD + ".weight"][0], shapes[HEAD + ".weight"][1])
    os.makedirs(out, exist_ok=True)
    st_save(os.path.join(out, "model.safetensors"), random_weights(rows), {"format": "pt"})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
