"""References for tests/unit/test_layers.c: each layer of labs/models/layers.h
as torch.nn (or timm / SAM / the course) computes it, forward and backward.

For a case NAME: NAME.in0.. (inputs), NAME.sd.<key> (the module's state dict),
NAME.out (and NAME.attn for attention weights), NAME.gout (output gradient),
NAME.grad0.. (input gradients) and NAME.gsd.<key> (parameter gradients) of
sum(out * gout). Seeded cases (dropout, drop_path, init) name their seed in
the test. Run: /usr/bin/python3 layers.py OUTDIR
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from shim_ref import out_dir, save

torch.set_num_threads(1)
D = out_dir()
g = torch.Generator().manual_seed(4321)


def rnd(*shape):
    return torch.randn(tuple(shape), generator=g)


def randomise(module):
    """Random values everywhere, so a swapped or untouched tensor shows."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(rnd(*p.shape) * 0.5)


def case(name, module, *inputs, extra=None, seed=None):
    for k, v in module.state_dict().items():
        save(D, "%s.sd.%s" % (name, k), v)
    ins = [t.clone().requires_grad_(t.is_floating_point()) for t in inputs]
    for i, t in enumerate(inputs):
        save(D, "%s.in%d" % (name, i), t)
    if seed is not None:
        torch.manual_seed(seed)
    out = module(*ins)
    if isinstance(out, tuple):
        out, attn = out
        save(D, name + ".attn", attn)
    save(D, name + ".out", out)
    gout = rnd(*out.shape)
    save(D, name + ".gout", gout)
    out.backward(gout)
    for i, t in enumerate(ins):
        if t.grad is not None:
            save(D, "%s.grad%d" % (name, i), t.grad)
    for k, p in module.named_parameters():
        if p.grad is not None:
            save(D, "%s.gsd.%s" % (name, k), p.grad)


class Fn(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *x):
        return self.fn(*x)


class CourseMHSA(nn.Module):
    """The course's MultiHeadSelfAttention (lab 2.2.5), returning (out, attention)."""

    def __init__(self, dim, heads, dropout):
        super().__init__()
        self.heads, self.hd = heads, dim // heads
        self.scale = self.hd ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        a = self.dropout(a)
        return self.proj((a @ v).transpose(1, 2).reshape(B, N, C)), a


class CourseMLP(nn.Module):
    def __init__(self, dim, hidden, dropout, act):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), act, nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.fc2(self.dropout(self.act(self.fc1(x)))))


class TorchMHA(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=True, average_attn_weights=False)


class LayerNorm2d(nn.Module):
    """segment_anything.modeling.common.LayerNorm2d."""

    def __init__(self, c, eps=1e-6):
        super().__init__()
        self.weight, self.bias, self.eps = nn.Parameter(torch.ones(c)), nn.Parameter(torch.zeros(c)), eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


def drop_path(x, p, training):
    """timm.layers.drop_path, scale_by_keep=True."""
    if p == 0.0 or not training:
        return x
    keep = 1 - p
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    r = x.new_empty(shape).bernoulli_(keep)
    return x * r.div_(keep)


def concat_skip(skip, up):
    """The U-Net `Up` block's pad-then-concatenate (2.2.4)."""
    dy, dx = skip.size(2) - up.size(2), skip.size(3) - up.size(3)
    up = F.pad(up, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
    return torch.cat([skip, up], dim=1)


def seeded(name, module, *inputs, seed):
    randomise(module)
    case(name, module, *inputs, seed=seed)


m = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
randomise(m)
case("conv_grouped", m, rnd(2, 4, 9, 9))
m = nn.Conv2d(6, 6, 3, padding=2, dilation=2, groups=6, bias=False)
randomise(m)
case("conv_depthwise", m, rnd(2, 6, 7, 7))
m = nn.LayerNorm(8, eps=1e-6)
randomise(m)
case("layer_norm", m, rnd(2, 5, 8))
m = LayerNorm2d(6)
randomise(m)
case("layer_norm2d", m, rnd(2, 6, 4, 5))
m = CourseMHSA(16, 4, 0.0).eval()
randomise(m)
case("mha_qkv", m, rnd(2, 5, 16))
m = TorchMHA(16, 4).eval()
randomise(m)
case("mha_torch", m, rnd(2, 5, 16))
m = CourseMHSA(16, 4, 0.5).train()
seeded("mha_dropout", m, rnd(2, 5, 16), seed=11)
m = CourseMLP(16, 32, 0.0, nn.GELU()).eval()
randomise(m)
case("mlp", m, rnd(3, 4, 16))
a = rnd(4, 6) * 2
case("gelu", nn.GELU(), a)
case("gelu_tanh", nn.GELU(approximate="tanh"), a)
case("silu", nn.SiLU(), a)
case("dropout", nn.Dropout(0.3).train(), rnd(5, 7), seed=7)
case("drop_path", Fn(lambda x: drop_path(x, 0.4, True)), rnd(16, 3, 4), seed=9)
m = nn.ConvTranspose2d(4, 6, 2, stride=2, groups=2)
randomise(m)
case("conv_transpose", m, rnd(2, 4, 5, 5))
m = nn.ConvTranspose2d(3, 5, 3, stride=2, padding=1, output_padding=1, bias=False)
randomise(m)
case("conv_transpose_pad", m, rnd(1, 3, 4, 6))
p = rnd(2, 3, 5, 4)
case("up_bilinear", nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), p)
case("up_bilinear_ac", nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), p)
case("up_nearest", nn.Upsample(scale_factor=3, mode="nearest"), p)
case("concat_skip", Fn(concat_skip), rnd(2, 3, 9, 7), rnd(2, 2, 8, 6))
m = nn.Embedding(10, 4)
case("embedding", m, torch.tensor([[1, 9, 3], [3, 0, 7]]))

# Initialisation with the same seed: the same numbers.
torch.manual_seed(21)
t = torch.zeros(1, 65, 256)
nn.init.trunc_normal_(t, std=0.02)
save(D, "init.trunc_normal", t)
torch.manual_seed(22)
save(D, "init.conv_grouped.weight", nn.Conv2d(4, 6, 3, groups=2).weight)
torch.manual_seed(23)
t = torch.zeros(48, 16)
nn.init.xavier_uniform_(t)
save(D, "init.xavier", t)
torch.manual_seed(24)
save(D, "init.conv_transpose.weight", nn.ConvTranspose2d(4, 6, 2, groups=2).weight)
torch.manual_seed(25)
save(D, "init.embedding.weight", nn.Embedding(10, 4).weight)
