"""References for tests/unit/test_shim_ops.c: every op forward and backward.

For a case NAME the inputs are NAME.in0, NAME.in1, ..., the output NAME.out,
the output gradient NAME.gout, and the input gradients NAME.grad0, ... (the
gradient of sum(out * gout)). Run: /usr/bin/python3 shim_ops.py OUTDIR
"""
import math

import torch
import torch.nn.functional as F

from shim_ref import out_dir, save, save_text

torch.set_num_threads(1)
D = out_dir()
g = torch.Generator().manual_seed(1234)


def rnd(*shape):
    return torch.randn(tuple(shape), generator=g)


def case(name, fn, *inputs, grad=True):
    ins = [t.clone().requires_grad_(grad and t.is_floating_point()) for t in inputs]
    for i, t in enumerate(inputs):
        save(D, "%s.in%d" % (name, i), t)
    out = fn(*ins)
    save(D, name + ".out", out)
    if grad and out.requires_grad:
        gout = rnd(*out.shape)
        save(D, name + ".gout", gout)
        out.backward(gout)
        for i, t in enumerate(ins):
            if t.requires_grad and t.grad is not None:
                save(D, "%s.grad%d" % (name, i), t.grad)


# convolutions
case("conv", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), rnd(2, 3, 9, 9), rnd(4, 3, 3, 3), rnd(4))
case("conv_grouped", lambda x, w: F.conv2d(x, w, None, stride=1, padding=2, dilation=2, groups=2),
     rnd(1, 4, 10, 10), rnd(4, 2, 3, 3))
case("convT", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
     rnd(1, 4, 5, 5), rnd(4, 3, 3, 3), rnd(3))
case("linear", F.linear, rnd(5, 7), rnd(3, 7), rnd(3))

# batch norm: training updates the running stats, eval uses them
x, w, b = rnd(4, 3, 5, 5), rnd(3), rnd(3)
rm, rv = rnd(3) * 0.1, torch.rand(3, generator=g) + 0.5
save(D, "bn.rm0", rm)
save(D, "bn.rv0", rv)
rm_t, rv_t = rm.clone(), rv.clone()
case("bn_train", lambda x, w, b: F.batch_norm(x, rm_t, rv_t, w, b, True, 0.1, 1e-5), x, w, b)
save(D, "bn.rm1", rm_t)
save(D, "bn.rv1", rv_t)
case("bn_eval", lambda x, w, b: F.batch_norm(x, rm_t, rv_t, w, b, False, 0.1, 1e-5), x, w, b)
case("layer_norm", lambda x, w, b: F.layer_norm(x, (8,), w, b, 1e-5), rnd(2, 5, 8), rnd(8), rnd(8))

# activations
a = rnd(4, 6)
case("relu", F.relu, a)
case("gelu", F.gelu, a)
case("gelu_tanh", lambda t: F.gelu(t, approximate="tanh"), a)
case("silu", F.silu, a)
case("sigmoid", torch.sigmoid, a)
case("tanh", torch.tanh, a)
case("softmax", lambda t: F.softmax(t, 1), a)
case("log_softmax", lambda t: F.log_softmax(t, 1), a)

# pooling and resizing
p = rnd(2, 3, 7, 7)
case("maxpool", lambda t: F.max_pool2d(t, 3, 2, 1), p)
case("avgpool", lambda t: F.avg_pool2d(t, 2), p)
case("adaptive", lambda t: F.adaptive_avg_pool2d(t, (3, 3)), p)
case("bilinear", lambda t: F.interpolate(t, size=(11, 9), mode="bilinear", align_corners=False), p)
case("bilinear_ac", lambda t: F.interpolate(t, size=(11, 9), mode="bilinear", align_corners=True), p)
case("nearest", lambda t: F.interpolate(t, size=(11, 9), mode="nearest"), p)
case("bicubic", lambda t: F.interpolate(t, size=(11, 9), mode="bicubic", align_corners=False), p)
case("pad", lambda t: F.pad(t, (1, 2, 3, 0), value=0.5), p)

# losses
logits = rnd(6, 5)
target = torch.randint(0, 5, (6,), generator=g)
target[2] = -100
case("ce", lambda l, t: F.cross_entropy(l, t, label_smoothing=0.1), logits, target)
case("ce_sum_ignore", lambda l, t: F.cross_entropy(l, t, reduction="sum", ignore_index=3), logits,
     torch.randint(0, 5, (6,), generator=g))
case("bce", lambda l, t: F.binary_cross_entropy_with_logits(l, t, pos_weight=torch.full((5,), 2.0)),
     logits, torch.rand(6, 5, generator=g))
case("mse", F.mse_loss, rnd(3, 4), rnd(3, 4))
case("l1", lambda u, v: F.l1_loss(u, v, reduction="sum"), rnd(3, 4), rnd(3, 4))
case("smooth_l1", lambda u, v: F.smooth_l1_loss(u, v, beta=0.5), rnd(3, 4) * 2, rnd(3, 4))

# math
case("add_bcast", lambda u, v: u + v, rnd(3, 4), rnd(4))
case("mul", lambda u, v: u * v, rnd(3, 4), rnd(3, 4))
case("div", lambda u, v: u / v, rnd(3, 4), torch.rand(3, 4, generator=g) + 1)
case("matmul", torch.matmul, rnd(2, 3, 4), rnd(4, 5))
case("bmm", torch.bmm, rnd(2, 3, 4), rnd(2, 4, 5))
case("sum1", lambda t: t.sum(1), rnd(3, 4))
case("mean_all", lambda t: t.mean(), rnd(3, 4))
case("max0", lambda t: t.max(0).values, rnd(3, 4))
case("cumsum", lambda t: t.cumsum(1), rnd(3, 4))
case("clamp", lambda t: t.clamp(-0.5, 0.7), rnd(3, 4))
case("exp_log", lambda t: torch.log(torch.exp(t) + 1).sqrt(), rnd(3, 4))
case("sin_cos", lambda t: torch.sin(t * 7) - torch.cos(t * 5), rnd(3, 4))

# shapes and indexing
case("cat", lambda u, v: torch.cat([u, v], 1), rnd(2, 3), rnd(2, 2))
case("stack", lambda u, v: torch.stack([u, v], 0), rnd(2, 3), rnd(2, 3))
case("permute", lambda t: t.permute(2, 0, 1).contiguous(), rnd(2, 3, 4))
case("flatten", lambda t: torch.flatten(t, 1), rnd(2, 3, 4))
case("index_select", lambda t, i: torch.index_select(t, 0, i), rnd(5, 3), torch.tensor([4, 0, 2, 2]))
case("gather", lambda t, i: torch.gather(t, 1, i), rnd(3, 4), torch.randint(0, 4, (3, 2), generator=g))
case("where", lambda c, u, v: torch.where(c, u, v), torch.rand(3, 4, generator=g) > 0.5, rnd(3, 4), rnd(3, 4))
case("masked_fill", lambda t, m: t.masked_fill(m, -1.5), rnd(3, 4), torch.rand(3, 4, generator=g) > 0.5)
q, k, v = rnd(2, 4, 5, 8), rnd(2, 4, 6, 8), rnd(2, 4, 6, 8)
case("attention", lambda q, k, v: torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(8), -1) @ v, q, k, v)
mask = torch.rand(5, 6, generator=g) > 0.3
mask[:, 0] = True
case("attention_mask",
     lambda q, k, v, m: torch.softmax((q @ k.transpose(-2, -1) / math.sqrt(8)).masked_fill(~m, float("-inf")), -1) @ v,
     q, k, v, mask)
# an additive float mask and an explicit scale: the other arguments a fused
# kernel (libtorch >= 2.1) must honour exactly as the explicit math does
fmask = rnd(5, 6)
case("attention_scale_addmask", lambda q, k, v, m: torch.softmax(q @ k.transpose(-2, -1) * 0.5 + m, -1) @ v,
     q, k, v, fmask)

case("narrow", lambda t: t.narrow(1, 1, 2), rnd(3, 4))
case("unsqueeze", lambda t: t.unsqueeze(1), rnd(3, 4))
case("squeeze", lambda t: t.squeeze(1), rnd(3, 1, 4))
case("view", lambda t: t.view(4, 6), rnd(2, 3, 4))
case("reshape_T", lambda t: t.transpose(0, 1).reshape(12), rnd(3, 4))
case("sub_neg_abs", lambda u, v: torch.abs(-(u - v)), rnd(3, 4), rnd(3, 4))
case("pow", lambda t: t.pow(3.0), rnd(3, 4))
case("mean_keep", lambda t: t.mean(0, keepdim=True), rnd(3, 4))
case("min1", lambda t: t.min(1).values, rnd(3, 4))

# pieces, comparisons, ranges (no gradient)
t = rnd(3, 7)
save(D, "pieces.in0", t)
for i, c in enumerate(t.split(3, 1)):
    save(D, "pieces.split%d" % i, c)
for i, c in enumerate(t.chunk(2, 0)):
    save(D, "pieces.chunk%d" % i, c)
save(D, "pieces.gt", t > 0.2)
save(D, "pieces.eq", t == t.flip(1))
save(D, "pieces.arange", torch.arange(0.0, 5.0, 0.5))

# selections (no gradient)
s = rnd(4, 7)
save(D, "sel.in0", s)
save(D, "sel.argmax", s.argmax(1))
save(D, "sel.argmax_all", s.argmax())
tv, ti = s.topk(3, 1)
save(D, "sel.topk_v", tv)
save(D, "sel.topk_i", ti)
sv, si = s.sort(1, descending=True)
save(D, "sel.sort_v", sv)
save(D, "sel.sort_i", si)

# seeded randomness: same generator, same numbers
torch.manual_seed(7)
save(D, "rng.randn", torch.randn(3, 5))
save(D, "rng.dropout", F.dropout(torch.ones(4, 6), 0.5, True))
t = torch.empty(200)
torch.nn.init.trunc_normal_(t, 0.0, 0.02, -0.04, 0.04)
save(D, "rng.trunc_normal", t)

# the error path: PyTorch's own explanation of a channel mismatch
try:
    F.conv2d(torch.zeros(1, 3, 8, 8), torch.zeros(4, 2, 3, 3))
except RuntimeError as e:
    save_text(D, "err.conv2d", str(e).splitlines()[0])

# bf16 autocast on the CPU: values and the dtype autocast picks
x, w, b = rnd(2, 3, 8, 8), rnd(4, 3, 3, 3) * 0.3, rnd(4)
lw, lb = rnd(10, 4 * 36) * 0.1, rnd(10)
tgt = torch.randint(0, 10, (2,), generator=g)
for n, t in (("x", x), ("w", w), ("b", b), ("lw", lw), ("lb", lb), ("tgt", tgt)):
    save(D, "ac." + n, t)
ws = [t.clone().requires_grad_(True) for t in (w, b, lw, lb)]
with torch.autocast("cpu", dtype=torch.bfloat16):
    y1 = F.conv2d(x, ws[0], ws[1], padding=0)
    y2 = F.relu(y1)
    y3 = F.max_pool2d(y2, 1)
    y4 = F.linear(torch.flatten(y3, 1), ws[2], ws[3])
    y5 = F.log_softmax(y4, 1)
    y6 = torch.matmul(y4, y4.t())
    loss = F.cross_entropy(y4, tgt)
loss.backward()
for n, t in (("conv", y1), ("relu", y2), ("linear", y4), ("log_softmax", y5), ("matmul", y6), ("loss", loss)):
    save(D, "ac.out_" + n, t)
save(D, "ac.grad_w", ws[0].grad)
save(D, "ac.grad_lw", ws[2].grad)
