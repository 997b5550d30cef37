#!/usr/bin/python3
"""Writes torchvision's ViT-B/16 (86.6 M parameters, random init: no download)
as DIR/vit_b_16.pth (torch.save) and DIR/vit_b_16.safetensors, and prints how
long torch.load takes on the .pth."""
import sys
import time

import torch
import torchvision

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import weights_safetensors as W  # noqa: E402

d = sys.argv[1]
sd = torchvision.models.vit_b_16().state_dict()
torch.save(sd, d + "/vit_b_16.pth")
t = {k: ("F32", tuple(v.shape), v.contiguous().numpy().tobytes()) for k, v in sd.items()}
with open(d + "/vit_b_16.safetensors", "wb") as f:
    f.write(W.serialize(t, {"format": "pt"}))
times = []
for _ in range(3):
    t0 = time.perf_counter()
    torch.load(d + "/vit_b_16.pth")
    times.append(time.perf_counter() - t0)
print("torch.load (Python) %.3f s (best of 3)" % min(times))
