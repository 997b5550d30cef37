#!/usr/bin/python3
"""Writes the .pth checkpoints lab's loader is tested on, with torch.save
itself, and what each must load as.

  weights_pth.py DIR
    sd.pth       state_dict() of a small conv net (an OrderedDict with _metadata)
    mixed.pth    f16, bf16, int64, bool, a transposed and a sliced (offset) view
    nested.pth   {"model": state_dict, "epoch": 3, "best": 0.5, "tag": "x", "lr": [0.1]}
    params.pth   state_dict(keep_vars=True): nn.Parameters
    model.pth    torch.save(model): a pickled nn.Module          (must be refused)
    script.pt    torch.jit.save of the scripted net              (must be refused)
    legacy.pth   _use_new_zipfile_serialization=False            (must be refused)
    truncated.pth  the first half of sd.pth                      (must be refused)
  and for each loadable NAME.pth a NAME.json manifest: [{name, dtype, shape, bin}]
  in state-dict order, bin holding the tensor's contiguous bytes.
"""
import collections
import json
import sys

import torch
import torch.nn as nn

DT = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
      torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
      torch.uint8: "U8", torch.bool: "BOOL"}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).mean((2, 3)))


def manifest(d, stem, flat):
    out = []
    for i, (name, t) in enumerate(flat.items()):
        t = t.detach().contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        path = "%s/%s.%d.bin" % (d, stem, i)
        with open(path, "wb") as f:
            f.write(raw)
        out.append({"name": name, "dtype": DT[t.dtype], "shape": list(t.shape), "bin": path})
    with open("%s/%s.json" % (d, stem), "w") as f:
        json.dump(out, f)


def main(d):
    torch.manual_seed(0)
    net = Net()
    net.train()
    net(torch.randn(4, 3, 8, 8))  # running stats and num_batches_tracked move off their defaults
    sd = net.state_dict()
    torch.save(sd, d + "/sd.pth")
    manifest(d, "sd", sd)

    base = torch.randn(6, 5)
    mixed = collections.OrderedDict([
        ("half", torch.randn(3, 4).half()),
        ("bf16", torch.randn(2, 3).bfloat16()),
        ("steps", torch.tensor(12345678901, dtype=torch.int64)),
        ("mask", torch.tensor([True, False, True])),
        ("transposed", base.t()),
        ("sliced", base[2:4, 1:3]),
        ("bytes", torch.arange(7, dtype=torch.uint8)),
        ("empty", torch.zeros(0, 4)),
    ])
    torch.save(mixed, d + "/mixed.pth")
    manifest(d, "mixed", mixed)

    torch.save({"model": sd, "epoch": 3, "best": 0.5, "tag": "x", "lr": [0.1]}, d + "/nested.pth")
    manifest(d, "nested", collections.OrderedDict(("model." + k, v) for k, v in sd.items()))

    params = net.state_dict(keep_vars=True)
    torch.save(params, d + "/params.pth")
    manifest(d, "params", params)

    torch.save(net, d + "/model.pth")
    torch.jit.save(torch.jit.script(net), d + "/script.pt")
    torch.save(sd, d + "/legacy.pth", _use_new_zipfile_serialization=False)
    with open(d + "/sd.pth", "rb") as f:
        blob = f.read()
    with open(d + "/truncated.pth", "wb") as f:
        f.write(blob[: len(blob) // 2])


if __name__ == "__main__":
    main(sys.argv[1])
