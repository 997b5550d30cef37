"""Reference for tests/unit/test_mixup.c: the course solution's mixup on the
course's LeNet-5, and the Beta(0.2, 0.2) it draws lambda from.

mixup_data: lambda from NumPy's Beta(alpha, alpha), a permutation from
torch.randperm, mixed = lambda * x + (1 - lambda) * x[perm]; mixup_criterion:
lambda * crit(out, y) + (1 - lambda) * crit(out, y[perm]) with
CrossEntropyLoss(label_smoothing=0.1). Saved: the initial weights, the
batch, lambda and perm, the mixed images, the loss and every parameter's
gradient; and the moments of 200,000 NumPy Beta(0.2, 0.2) draws.
Run: /usr/bin/python3 mixup.py OUTDIR
"""
import numpy as np
import torch
import torch.nn as nn

import cnn221
from shim_ref import out_dir, save

torch.set_num_threads(1)
D = out_dir()
torch.manual_seed(11)
np.random.seed(11)
model = cnn221.LeNet5()
for name, t in model.state_dict().items():
    save(D, "init." + name, t)
x = torch.randn(6, 3, 32, 32)
y = torch.randint(0, 10, (6,))
lam = float(np.random.beta(0.2, 0.2))
perm = torch.randperm(6)
save(D, "x", x)
save(D, "y", y)
save(D, "perm", perm)
save(D, "lambda", torch.tensor([lam], dtype=torch.float64))
mixed = lam * x + (1 - lam) * x[perm]
save(D, "mixed", mixed)
crit = nn.CrossEntropyLoss(label_smoothing=0.1)
model.train()
out = model(mixed)
loss = lam * crit(out, y) + (1 - lam) * crit(out, y[perm])
loss.backward()
save(D, "loss", loss)
for name, p in model.named_parameters():
    save(D, "grad." + name, p.grad)

draws = np.random.default_rng(5).beta(0.2, 0.2, 200000)
save(D, "beta.moments", torch.tensor([draws.mean(), draws.var(), (draws < 0.1).mean()], dtype=torch.float64))
