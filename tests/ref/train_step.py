"""Reference for tests/unit/test_train.c: two optimizer steps of the course's
LeNet-5 under a recipe that uses every training mechanism at once.

AdamW (lr 1e-3, weight decay 0.1) with a second parameter group (fc3.*:
lr 3e-3, no weight decay); conv1.* frozen (requires_grad False); label
smoothing 0.1; gradient accumulation over 2 batches of 4 (each loss / 2);
clip_grad_norm_(1.0); the LR of each step from LinearLR(0.01, 1, 4) then
CosineAnnealingLR(4) (SequentialLR at 4), stepped per batch, each group's
lr scaled from its own base lr as torch's schedulers do. An average of the
weights: AveragedModel(avg_fn 0.9 * avg + 0.1 * p, use_buffers=True),
updated after each optimizer step.
Run: /usr/bin/python3 train_step.py OUTDIR
"""
import warnings

import torch
import torch.nn.functional as F
from torch.optim import lr_scheduler as L

import cnn221
from shim_ref import out_dir, save

torch.set_num_threads(1)
warnings.simplefilter("ignore")
D = out_dir()
torch.manual_seed(7)
model = cnn221.LeNet5()
for name, t in model.state_dict().items():
    save(D, "init." + name, t)
x = torch.randn(8, 3, 32, 32)
y = torch.randint(0, 10, (8,))
save(D, "x", x)
save(D, "y", y)

for name, p in model.named_parameters():
    p.requires_grad_(not name.startswith("conv1."))
head = [p for n, p in model.named_parameters() if n.startswith("fc3.")]
rest = [p for n, p in model.named_parameters() if not n.startswith("fc3.")]
opt = torch.optim.AdamW([{"params": rest}, {"params": head, "lr": 3e-3, "weight_decay": 0.0}],
                        lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)


def factor(batch):
    """The schedule's lr / base lr after `batch` scheduler steps."""
    o = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    s = L.SequentialLR(o, [L.LinearLR(o, 0.01, 1.0, 4), L.CosineAnnealingLR(o, 4)], [4])
    for _ in range(batch):
        o.step()
        s.step()
    return o.param_groups[0]["lr"]


ema = torch.optim.swa_utils.AveragedModel(model, avg_fn=lambda avg, p, n: 0.9 * avg + 0.1 * p, use_buffers=True)
base = [g["lr"] for g in opt.param_groups]
for k in range(4):
    xb, yb = x[4 * k % 8:4 * k % 8 + 4], y[4 * k % 8:4 * k % 8 + 4]
    if k % 2 == 0:
        opt.zero_grad()
    for g, b in zip(opt.param_groups, base):
        g["lr"] = b * factor(k)
    loss = F.cross_entropy(model(xb), yb, label_smoothing=0.1)
    save(D, "loss.%d" % k, loss)
    (loss / 2).backward()
    if k % 2 == 1:
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        opt.step()
        ema.update_parameters(model)
for name, t in model.state_dict().items():
    save(D, "after." + name, t)
for name, t in ema.module.state_dict().items():
    save(D, "ema." + name, t)
