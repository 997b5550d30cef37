"""The Python side of the training benchmark (scripts/bench/train.sh): the
loop `lab run 2.2.1 --quick` runs, written the plain PyTorch way.

  train_bench.py MODEL IMAGES BATCH PREC THREADS  -> "images_per_s"

Fashion-MNIST from Debian (first IMAGES training images), padded to 32x32,
repeated to 3 channels, normalized per batch from uint8 as lab's pipeline
does; SGD momentum 0.9, weight decay 5e-4, cosine per batch; bf16 autocast on
the forward pass when PREC is bf16, loss in fp32; one epoch timed, after a
few warm-up steps that are not counted.
"""
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

import fashion  # tests/bench/fashion.py

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ref"))
import cnn221  # noqa: E402

name, n, batch, prec, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
torch.set_num_threads(threads)
torch.manual_seed(42)
images, labels = fashion.train_split(n)

model = cnn221.MODELS[name]()
model.train()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
steps = math.ceil(n / batch)


def step(idx, s):
    x = F.pad(images[idx].float() / 255.0, (2, 2, 2, 2)).repeat(1, 3, 1, 1)
    x = (x - cnn221.MEAN) / cnn221.STD
    y = labels[idx]
    for g in opt.param_groups:
        g["lr"] = 0.01 * 0.5 * (1 + math.cos(math.pi * s / steps))
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=(prec == "bf16")):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item(), (logits.argmax(1) == y).sum().item()


perm = torch.randperm(n)
for s in range(3):
    step(perm[s * batch:(s + 1) * batch], s)
t0 = time.perf_counter()
for s in range(steps):
    step(perm[s * batch:(s + 1) * batch], s)
print("%.1f" % (n / (time.perf_counter() - t0)))
