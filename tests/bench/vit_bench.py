"""The Python side of the ViT training benchmark (scripts/bench/vit.sh): the
loop `lab run 2.2.5 --quick` runs, written the plain PyTorch way, on the
course's ViT as tests/ref/vit225.py restates it (4,771,082 parameters).

  vit_bench.py IMAGES BATCH PREC THREADS  -> "images_per_s"

Fashion-MNIST from Debian (first IMAGES training images), padded to 32x32,
repeated to 3 channels, normalized as lab's quick mode does; dropout 0 (the
quick block's); AdamW lr 1e-3, weight decay 0.1, the quick mode's linear
warm-up over the epoch set per batch; clip_grad_norm_(1.0); cross-entropy
without label smoothing; bf16 autocast on the forward pass when PREC is
bf16, the loss in fp32; one epoch timed after three warm-up steps.
"""
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

import fashion  # tests/bench/fashion.py

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ref"))
import vit225  # noqa: E402  (it sets one thread on import: set ours after)

n, batch, prec, threads = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
torch.set_num_threads(threads)
torch.manual_seed(42)
images, labels = fashion.train_split(n)

model = vit225.VisionTransformer(dropout=0.0)
model.train()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
steps = math.ceil(n / batch)


def step(idx, s):
    x = F.pad(images[idx].float() / 255.0, (2, 2, 2, 2)).repeat(1, 3, 1, 1)
    x = (x - 0.2860) / 0.3530
    y = labels[idx]
    for g in opt.param_groups:
        g["lr"] = 1e-3 * (0.01 + 0.99 * s / steps)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=(prec == "bf16")):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item()


perm = torch.randperm(n)
for s in range(3):
    step(perm[s * batch:(s + 1) * batch], s)
t0 = time.perf_counter()
for s in range(steps):
    step(perm[s * batch:(s + 1) * batch], s)
print("%.1f" % (n / (time.perf_counter() - t0)))
