"""References for tests/unit/test_shim_optim.c: SGD and AdamW, 10 steps,
two parameter groups, an LR schedule; plus the schedules' LR sequences.

The loss is sum(c * p * p + d * p) over three parameters (p0, p1 in group 0,
p2 in group 1), so the C side can build the same graph with the shim.
Run: /usr/bin/python3 shim_optim.py OUTDIR
"""
import warnings

import torch
from torch.optim import lr_scheduler as L

from shim_ref import out_dir, save

torch.set_num_threads(1)
warnings.simplefilter("ignore")  # SequentialLR calls step(0), which warns
D = out_dir()
g = torch.Generator().manual_seed(99)
shapes = [(4, 3), (3,), (5,)]
init = [torch.randn(s, generator=g) for s in shapes]
cs = [torch.rand(s, generator=g) + 0.5 for s in shapes]
ds = [torch.randn(s, generator=g) for s in shapes]
for i in range(3):
    save(D, "p%d.init" % i, init[i])
    save(D, "p%d.c" % i, cs[i])
    save(D, "p%d.d" % i, ds[i])
STEPS = 10


def run(name, make_opt, make_sched):
    ps = [t.clone().requires_grad_(True) for t in init]
    opt = make_opt([{"params": ps[:2]}, {"params": ps[2:]}])
    sched = make_sched(opt)
    for _ in range(STEPS):
        opt.zero_grad()
        loss = sum((c * p * p + d * p).sum() for p, c, d in zip(ps, cs, ds))
        loss.backward()
        opt.step()
        sched.step()
    for i, p in enumerate(ps):
        save(D, "%s.p%d" % (name, i), p)


def sgd(groups):
    groups[0].update(lr=0.1, weight_decay=0.01)
    groups[1].update(lr=0.05, weight_decay=0.0)
    return torch.optim.SGD(groups, lr=0.1, momentum=0.9, nesterov=True)


def sgd_plain(groups):
    groups[0].update(lr=0.1, weight_decay=0.05)
    groups[1].update(lr=0.02)
    return torch.optim.SGD(groups, lr=0.1, momentum=0.8, dampening=0.1)


def adamw(groups):
    groups[0].update(lr=0.01, weight_decay=0.1)
    groups[1].update(lr=0.003, weight_decay=0.0)
    return torch.optim.AdamW(groups, lr=0.01, betas=(0.9, 0.99), eps=1e-8)


run("sgd_warmcos", sgd, lambda o: L.SequentialLR(
    o, [L.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=3),
        L.CosineAnnealingLR(o, T_max=STEPS - 3, eta_min=0.001)], milestones=[3]))
run("sgd_step", sgd_plain, lambda o: L.StepLR(o, step_size=3, gamma=0.5))
run("adamw_cos", adamw, lambda o: L.CosineAnnealingLR(o, T_max=STEPS, eta_min=0.0))
run("adamw_onecycle", adamw, lambda o: L.OneCycleLR(o, max_lr=[0.02, 0.005], total_steps=STEPS))


def lrs(make_sched, n=25, momentum=False):
    p = torch.zeros(1, requires_grad=True)
    o = torch.optim.SGD([p], lr=0.5, momentum=0.9)
    s = make_sched(o)
    out = []
    for _ in range(n):
        out.append(o.param_groups[0]["momentum" if momentum else "lr"])
        o.step()
        s.step()
    return torch.tensor(out, dtype=torch.float64)


save(D, "lr.cosine", lrs(lambda o: L.CosineAnnealingLR(o, T_max=20, eta_min=0.01), n=21))
save(D, "lr.linear", lrs(lambda o: L.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=8)))
save(D, "lr.step", lrs(lambda o: L.StepLR(o, step_size=4, gamma=0.3)))
save(D, "lr.warmcos", lrs(lambda o: L.SequentialLR(
    o, [L.LinearLR(o, start_factor=0.1, total_iters=5), L.CosineAnnealingLR(o, T_max=20, eta_min=0.0)],
    milestones=[5])))
save(D, "lr.onecycle", lrs(lambda o: L.OneCycleLR(o, max_lr=1.0, total_steps=25), n=25))
save(D, "lr.onecycle_mom", lrs(lambda o: L.OneCycleLR(o, max_lr=1.0, total_steps=25), n=25, momentum=True))
