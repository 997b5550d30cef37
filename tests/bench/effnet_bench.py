"""The Python side of the EfficientNet-B0 training benchmark
(scripts/bench/effnet.sh): the loop `lab run 2.2.2 --quick --set
strategy=scratch` runs, written the plain PyTorch way.

  effnet_bench.py SIZE PER_CLASS BATCH EPOCHS LR THREADS  -> "images_per_s"

Data as the quick mode's: Fashion-MNIST classes 5-9 (labels 0-4), the first
PER_CLASS training images of each, padded to 32x32, flipped with p 0.5,
repeated to 3 channels, normalized with the quick mode's mean/std; at SIZE
above 32 resized (bilinear) to SIZExSIZE per batch. The network is
tests/ref/efficientnet.py (timm's efficientnet_b0 layout, the course head
Dropout(0.3) -> Linear(1280, 5)); AdamW (betas 0.9/0.999, eps 1e-8, weight
decay 0.01) with a per-epoch cosine, cross-entropy, fp32. The first epoch
is warm-up; the figure is images/s over the later epochs, as
scripts/bench/effnet.sh reads lab's.
"""
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

import fashion  # tests/bench/fashion.py

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ref"))
import efficientnet  # noqa: E402

size, per_class, batch, epochs = (int(a) for a in sys.argv[1:5])
lr, threads = float(sys.argv[5]), int(sys.argv[6])
if epochs < 2:
    sys.exit("effnet_bench.py: at least 2 epochs (the first is warm-up)")
torch.set_num_threads(threads)
torch.manual_seed(42)
all_images, all_labels = fashion.train_split()
# The quick mode's class view: classes 5-9 in file order, PER_CLASS of each.
keep, taken = [], [0] * 5
for i, y in enumerate(all_labels.tolist()):
    if 5 <= y < 10 and taken[y - 5] < per_class:
        taken[y - 5] += 1
        keep.append(i)
images, labels = all_images[keep], all_labels[keep] - 5
n = len(keep)
MEAN, STD = 0.286, 0.353

model = efficientnet.EfficientNetB0(num_classes=5)
model.train()
opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)


def step(idx):
    x = F.pad(images[idx].float() / 255.0, (2, 2, 2, 2))
    flip = torch.rand(len(idx)) < 0.5
    x[flip] = x[flip].flip(3)
    if size != 32:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = ((x - MEAN) / STD).repeat(1, 3, 1, 1)
    y = labels[idx]
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item(), (logits.argmax(1) == y).sum().item()


timed, seconds = 0, 0.0
for epoch in range(epochs):
    for g in opt.param_groups:
        g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs))
    perm = torch.randperm(n)
    t0 = time.perf_counter()
    for s in range(0, n, batch):
        step(perm[s:s + batch])
    if epoch > 0:
        seconds += time.perf_counter() - t0
        timed += n
print("%.2f" % (timed / seconds))
