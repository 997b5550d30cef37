"""Reference PyTorch definitions of lab 2.2.5's transformers, written from the
course's description (shared/reference/README.md: "2.2.5 Vision Transformer"
and the solution notes), and the parity data tests/unit/test_vit.c checks
labs/models/vit.c against:

  vit225.py OUTDIR                 writes, per case (vit, vit_p8d4, solution, deit):
      CASE.keys.txt       "key<TAB>shape" rows of the state dict, in order
      CASE.safetensors    random weights (the contract format), CASE.pth the same via torch.save
      CASE.x              input images [2, 3, 32, 32]; CASE.logits (eval); CASE.attn (last block,
                          eval, [2, heads, T, T]); vit: CASE.logits_bf16 (eval under
                          torch.autocast("cpu", bfloat16))
      CASE.pos_sim        cosine similarity of the patch positions' embeddings (F.normalize, mm)
      CASE.cls_map        the CLS row of CASE.attn over the patches, [2, heads, side, side]
      CASE.step.*         one training step of the course's recipe with dropout on and
                          torch.manual_seed(SEEDS[CASE]) just before the forward: labels,
                          logits, loss, grad.<key> (vit: every parameter, the others SAMPLED),
                          and for vit after clip_grad_norm_(1.0) and AdamW(lr 1e-3, wd 0.1)
                          .step(): after.<key>. vit alone also gets vit.pth, nested.pth
                          ({"model": {"cls_token": ...}, "epoch": 3}) and truncated.pth (its
                          first half).
      distill.*           DistillationLoss(T=3, alpha=0.5) on random logits: inputs, loss, grads
  vit225.py check CASE WEIGHTS X OUT   loads lab's WEIGHTS (safetensors) strictly into CASE's
                                       model and writes its eval logits on X to OUT (.t)
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shim_ref import save  # noqa: E402
from weights_safetensors import deserialize, serialize  # noqa: E402

torch.set_num_threads(1)


class PatchEmbedding(nn.Module):
    def __init__(self, img, patch, cin, dim):
        super().__init__()
        self.projection = nn.Conv2d(cin, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.projection(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim, heads, dropout):
        super().__init__()
        self.heads, self.hd = heads, dim // heads
        self.scale = self.hd ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        B, N, D = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, self.hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = self.dropout(((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1))
        return self.proj((a @ v).transpose(1, 2).reshape(B, N, D)), a


class MLP(nn.Module):
    def __init__(self, dim, hidden, dropout):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.fc2(self.dropout(self.act(self.fc1(x)))))


class Block(nn.Module):
    def __init__(self, dim, heads, ratio, dropout):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLP(dim, int(dim * ratio), dropout)

    def forward(self, x):
        a, w = self.attn(self.norm1(x))
        self.last_attn = w
        x = x + a
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """The lab's ViT (pre-norm blocks, one qkv linear, CLS head)."""

    def __init__(self, img=32, patch=4, cin=3, classes=10, dim=256, depth=6, heads=8, ratio=4.0, dropout=0.1):
        super().__init__()
        n = (img // patch) ** 2
        self.patch_embed = PatchEmbedding(img, patch, cin, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
        self.pos_drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(dim, heads, ratio, dropout) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def features(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = self.pos_drop(x + self.pos_embed)
        for b in self.blocks:
            x = b(x)
        self.last_attn = self.blocks[-1].last_attn
        return self.norm(x)

    def forward(self, x):
        return self.head(self.features(x)[:, 0])


def encoder(dim, heads, ratio, dropout, depth, norm_first):
    layer = nn.TransformerEncoderLayer(d_model=dim, nhead=heads, dim_feedforward=int(dim * ratio),
                                       dropout=dropout, activation="gelu", batch_first=True,
                                       norm_first=norm_first)
    return nn.TransformerEncoder(layer, num_layers=depth)


def last_layer_attention(enc, x):
    """The attention weights of enc's last layer on its input (eval)."""
    for layer in enc.layers[:-1]:
        x = layer(x)
    last = enc.layers[-1]
    h = last.norm1(x) if last.norm_first else x
    return last.self_attn(h, h, h, need_weights=True, average_attn_weights=False)[1]


class SolutionViT(nn.Module):
    """The solution notebook's ViT on nn.TransformerEncoder (norm_first=True)."""

    def __init__(self, img=32, patch=4, cin=3, classes=10, dim=256, depth=6, heads=8, ratio=4.0, dropout=0.1):
        super().__init__()
        n = (img // patch) ** 2
        self.patch_embed = PatchEmbedding(img, patch, cin, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
        self.pos_drop = nn.Dropout(dropout)
        self.encoder = encoder(dim, heads, ratio, dropout, depth, True)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)
        for t in (self.cls_token, self.pos_embed, self.head.weight):
            nn.init.trunc_normal_(t, std=0.02)
        nn.init.zeros_(self.head.bias)

    def tokens(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return self.pos_drop(x + self.pos_embed)

    def forward(self, x):
        t = self.tokens(x)
        if not self.training:
            self.last_attn = last_layer_attention(self.encoder, t)
        return self.head(self.norm(self.encoder(t))[:, 0])


class DeiT(nn.Module):
    """The solution's DeiT: CLS + distillation tokens, post-norm encoder, two heads."""

    def __init__(self, img=32, patch=4, cin=3, classes=10, dim=256, depth=6, heads=8, ratio=4.0, dropout=0.1):
        super().__init__()
        n = (img // patch) ** 2
        self.patch_embed = nn.Conv2d(cin, dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.dist_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 2, dim))
        self.pos_drop = nn.Dropout(dropout)
        self.encoder = encoder(dim, heads, ratio, dropout, depth, False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)
        self.dist_head = nn.Linear(dim, classes)
        for t in (self.cls_token, self.dist_token, self.pos_embed, self.head.weight, self.dist_head.weight):
            nn.init.trunc_normal_(t, std=0.02)

    def forward(self, x):
        B = x.shape[0]
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(B, -1, -1), self.dist_token.expand(B, -1, -1), x], dim=1)
        t = self.pos_drop(x + self.pos_embed)
        if not self.training:
            self.last_attn = last_layer_attention(self.encoder, t)
        x = self.norm(self.encoder(t))
        c, d = self.head(x[:, 0]), self.dist_head(x[:, 1])
        if not self.training:
            return (c + d) / 2
        return c, d


class DistillationLoss(nn.Module):
    """The solution's loss, with the teacher's logits given directly."""

    def __init__(self, temperature=3.0, alpha=0.5):
        super().__init__()
        self.t, self.alpha = temperature, alpha
        self.ce, self.kl = nn.CrossEntropyLoss(), nn.KLDivLoss(reduction="batchmean")

    def forward(self, cls, dist, teacher, labels):
        hard = self.ce(cls, labels)
        soft = self.kl(F.log_softmax(dist / self.t, dim=-1), F.softmax(teacher / self.t, dim=-1)) * self.t ** 2
        return self.alpha * hard + (1 - self.alpha) * soft


CASES = {
    "vit": (VisionTransformer, {}, "2.2.5-vit.tsv", 4771082),
    "vit_p8d4": (VisionTransformer, {"patch": 8, "depth": 4}, None, None),
    "solution": (SolutionViT, {}, "2.2.5-vit-solution.tsv", 4771082),
    "deit": (DeiT, {}, "2.2.5-deit.tsv", 4774164),
}
# Parameters whose gradients the cases other than vit compare (vit: all).
SAMPLED = {"cls_token", "dist_token", "pos_embed", "patch_embed.weight", "patch_embed.projection.weight",
           "blocks.0.attn.qkv.weight", "blocks.3.mlp.fc2.weight", "norm.weight", "head.weight", "dist_head.bias"}
SEEDS = {"vit": 101, "vit_p8d4": 102, "solution": 103, "deit": 104}


def build(name):
    cls, kw, _, _ = CASES[name]
    return cls(**kw)


def check_contract(name, model):
    """The state dict against the shared TSV, when the checkout has it."""
    _, _, tsv, count = CASES[name]
    if count is not None:
        n = sum(p.numel() for p in model.parameters())
        assert n == count, "%s: %d parameters, the course's has %d" % (name, n, count)
    if not tsv:
        return
    path = os.path.join(os.environ.get("LAB_SRC", os.path.join(os.path.dirname(__file__), "..", "..")),
                        "..", "shared", "reference", tsv)
    if not os.path.exists(path):
        return
    rows = [l.split("\t")[:2] for l in open(path).read().splitlines() if l and not l.startswith(("#", "key\t"))]
    ours = [[k, "x".join(str(s) for s in v.shape)] for k, v in model.state_dict().items()]
    assert ours == rows, "%s differs from %s" % (name, path)


def write_safetensors(path, sd):
    blob = serialize({k: ("F32", tuple(v.shape), v.detach().contiguous().numpy().tobytes()) for k, v in sd.items()},
                     {"format": "pt"})
    with open(path, "wb") as f:
        f.write(blob)


def generate(d):
    os.makedirs(d, exist_ok=True)
    g = torch.Generator().manual_seed(2025)
    for name in CASES:
        torch.manual_seed(SEEDS[name])
        model = build(name)
        check_contract(name, model)
        with torch.no_grad():  # random everywhere, so a swapped tensor shows
            for p in model.parameters():
                p.add_(torch.randn(p.shape, generator=g) * 0.02)
        sd = model.state_dict()
        with open(os.path.join(d, name + ".keys.txt"), "w") as f:
            for k, v in sd.items():
                f.write("%s\t%s\n" % (k, "x".join(str(s) for s in v.shape)))
        write_safetensors(os.path.join(d, name + ".safetensors"), sd)
        if name == "vit":
            torch.save(sd, os.path.join(d, name + ".pth"))
            # what a notebook saves by mistake: the state dict inside a checkpoint dict
            torch.save({"model": {"cls_token": sd["cls_token"]}, "epoch": 3}, os.path.join(d, "nested.pth"))
            blob = open(os.path.join(d, "nested.pth"), "rb").read()
            open(os.path.join(d, "truncated.pth"), "wb").write(blob[:len(blob) // 2])
        n0 = 2 if name == "deit" else 1
        save(d, name + ".pos_sim", (lambda e: e @ e.T)(F.normalize(model.pos_embed[0, n0:].detach(), dim=-1)))
        x = torch.randn(2, 3, 32, 32, generator=g)
        save(d, name + ".x", x)
        model.eval()
        with torch.no_grad():
            save(d, name + ".logits", model(x))
            save(d, name + ".attn", model.last_attn)
            side = int(round((model.last_attn.shape[-1] - n0) ** 0.5))
            save(d, name + ".cls_map", model.last_attn[:, :, 0, n0:].reshape(2, -1, side, side))
            # PyTorch 1.13's fused encoder-layer kernel (DeiT's eval path) fails under
            # CPU autocast ("expected scalar type BFloat16"), so vit only.
            if name == "vit":
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    save(d, name + ".logits_bf16", model(x))
                # the usual other readout, the patch tokens' mean (the grader's vit.cls)
                save(d, name + ".logits_mean", model.head(model.features(x)[:, 1:].mean(1)))
        model.train()
        labels = torch.randint(0, 10, (2,), generator=g)
        save(d, name + ".step.labels", labels)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
        torch.manual_seed(SEEDS[name])
        out = model(x)
        if isinstance(out, tuple):
            save(d, name + ".step.logits", out[0])
            save(d, name + ".step.dist_logits", out[1])
            out = (out[0] + out[1]) / 2
        else:
            save(d, name + ".step.logits", out)
        loss = F.cross_entropy(out, labels, label_smoothing=0.1)
        save(d, name + ".step.loss", loss)
        loss.backward()
        for k, p in model.named_parameters():
            if name == "vit" or k in SAMPLED or k.startswith("encoder.layers.0."):
                save(d, "%s.step.grad.%s" % (name, k), p.grad)
        if name != "vit":
            continue
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        opt.step()
        for k, p in model.named_parameters():
            save(d, "%s.step.after.%s" % (name, k), p)
    cls, dist, teacher = (torch.randn(4, 10, generator=g) * 3 for _ in range(3))
    labels = torch.randint(0, 10, (4,), generator=g)
    for n, t in (("cls", cls), ("dist", dist), ("teacher", teacher), ("labels", labels)):
        save(d, "distill." + n, t)
    cls.requires_grad_(True)
    dist.requires_grad_(True)
    loss = DistillationLoss(3.0, 0.5)(cls, dist, teacher, labels)
    save(d, "distill.loss", loss)
    loss.backward()
    save(d, "distill.grad_cls", cls.grad)
    save(d, "distill.grad_dist", dist.grad)


def check(name, weights, x_path, out):
    tensors, _ = deserialize(open(weights, "rb").read())
    sd = {k: torch.frombuffer(bytearray(raw), dtype=torch.float32).reshape(shape) for k, (dt, shape, raw) in
          tensors.items()}
    model = build(name)
    model.load_state_dict(sd, strict=True)
    with open(x_path, "rb") as f:
        header = f.readline().split()
        shape = [int(s) for s in header[3:]]
        x = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(shape)
    model.eval()
    with torch.no_grad():
        save(os.path.dirname(out) or ".", os.path.basename(out), model(x))


if __name__ == "__main__":
    if len(sys.argv) == 2:
        generate(sys.argv[1])
    elif len(sys.argv) == 6 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        sys.exit("usage: vit225.py OUTDIR | vit225.py check CASE WEIGHTS X OUT")
