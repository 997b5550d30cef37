"""The Python side of the U-Net training benchmark (scripts/bench/unet.sh):
the loop `lab run 2.2.4 --quick` runs, written the plain PyTorch way, on the
course's bilinear U-Net as tests/ref/unet.py restates it, with the lab's
loss as tests/ref/segment224.py restates it (0.5 CE ignoring 255 + 0.5
Dice, smooth 1).

  unet_bench.py IMAGES BATCH WIDTH THREADS  -> "images_per_s"

Inputs: Fashion-MNIST from Debian (the first IMAGES training images), each
placed on a 48x48 canvas (lab's quick size) with its mask (label + 1 where
the item is, a one-pixel 255 ring around it), normalized with lab's quick
constants; made before timing (lab renders its mosaics inside its timed
loop, so this side is favoured slightly). UNet(1, 11, bilinear) at WIDTH,
AdamW lr 3e-3, weight decay 1e-4 (the quick mode's; cosine per epoch is
constant within the one epoch), fp32; one epoch timed after three warm-up
steps.
"""
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

import fashion  # tests/bench/fashion.py

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ref"))
import segment224  # noqa: E402
import unet  # noqa: E402  (it sets one thread on import: set ours after)

n, batch, width, threads = (int(a) for a in sys.argv[1:5])
torch.set_num_threads(threads)
torch.manual_seed(42)
items, labels = fashion.train_split(n)
S = 48
x = torch.zeros(n, 1, S, S)
y = torch.zeros(n, S, S, dtype=torch.long)
x[:, :, 10:38, 10:38] = items.float() / 255.0
obj = torch.zeros(n, S, S, dtype=torch.bool)
obj[:, 10:38, 10:38] = items[:, 0] > 40
y[obj] = (labels + 1).view(n, 1, 1).expand(n, S, S)[obj]
ring = F.max_pool2d(obj.float().unsqueeze(1), 3, 1, 1).squeeze(1).bool() & ~obj
y[ring] = 255
x = (x - 0.2860) / 0.3530

model = unet.UNet(1, 11, width=width, bilinear=True)
model.train()
crit = segment224.CombinedLoss(0.5, 0.5)
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4)
steps = math.ceil(n / batch)


def step(idx):
    loss = crit(model(x[idx]), y[idx])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


perm = torch.randperm(n)
for s in range(3):
    step(perm[s * batch:(s + 1) * batch])
t0 = time.perf_counter()
for s in range(steps):
    step(perm[s * batch:(s + 1) * batch])
print("%.1f" % (n / (time.perf_counter() - t0)))
