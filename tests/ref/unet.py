"""A re-statement of lab 2.2.4's U-Net, written from the course's description
(shared/reference/README.md, "2.2.4 Segmentation": UNet(3, 21, bilinear=True),
DoubleConv, Down, Up with padding to the skip, OutConv), and the parity data
tests/unit/test_unet.c checks labs/models/unet.c against:

  unet.py OUTDIR            per case (course 3->21 at 64x64 and at the odd 37x53;
                            narrow: width 8, 3->11 at 33x47; transposed: bilinear=False, width 8):
      CASE.keys.txt         "key<TAB>shape" rows of the state dict, in order
      CASE.safetensors      random weights, BN statistics included
      CASE.x                the input batch; CASE.eval (eval logits); CASE.train (training-mode
                            logits, batch statistics); CASE.mean_after (inc's first BN running
                            mean after that forward); course, transposed: CASE.eval_bf16 (eval under
                            torch.autocast("cpu", bfloat16))
  unet.py check CASE WEIGHTS X OUT   loads lab's WEIGHTS strictly, writes eval logits on X
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


class DoubleConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.double_conv = nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(cin, cout))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    def __init__(self, cin, cout, bilinear=True):
        super().__init__()
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
        else:
            self.up = nn.ConvTranspose2d(cin, cin // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(cin, cout)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        dy, dx = x2.size(2) - x1.size(2), x2.size(3) - x1.size(3)
        x1 = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class UNet(nn.Module):
    def __init__(self, n_channels, n_classes, width=64, bilinear=True):
        super().__init__()
        w, f = width, 2 if bilinear else 1
        self.inc = DoubleConv(n_channels, w)
        self.down1, self.down2 = Down(w, 2 * w), Down(2 * w, 4 * w)
        self.down3, self.down4 = Down(4 * w, 8 * w), Down(8 * w, 16 * w // f)
        self.up1, self.up2 = Up(16 * w, 8 * w // f, bilinear), Up(8 * w, 4 * w // f, bilinear)
        self.up3, self.up4 = Up(4 * w, 2 * w // f, bilinear), Up(2 * w, w, bilinear)
        self.outc = nn.Conv2d(w, n_classes, 1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.up1(x5, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        return self.outc(self.up4(x, x1))


# name: (in, classes, width, input shape, course TSV, parameter count); "transposed" is
# UNet(bilinear=False), the solution's LargerUNet at width 8 instead of 128 (its 124M
# parameters are checked against 2.2.4-larger-unet.tsv by test_unet.c directly)
CASES = {
    "transposed": (3, 21, 8, (2, 3, 35, 42), None, None),
    "course": (3, 21, 64, (2, 3, 64, 64), "2.2.4-unet.tsv", 13392661),
    "odd": (3, 21, 64, (1, 3, 37, 53), None, 13392661),
    "narrow": (3, 11, 8, (2, 3, 33, 47), None, None),
}


def build(name):
    cin, classes, width, _, _, _ = CASES[name]
    return UNet(cin, classes, width, bilinear=name != "transposed")


def check_contract(name, model):
    _, _, _, _, tsv, count = CASES[name]
    check_contract_rows(name, model, tsv, count)


def check_contract_rows(name, model, tsv, count):
    """The parameter count, and the state dict's keys and shapes row for row against
    ../shared/reference/TSV where the checkout has it."""
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
    ours = [[k, "x".join(str(s) for s in v.shape) or "scalar"] for k, v in model.state_dict().items()]
    assert ours == rows, "%s differs from %s" % (name, path)


DT = {torch.float32: "F32", torch.int64: "I64"}


def write_safetensors(path, sd):
    blob = serialize({k: (DT[v.dtype], tuple(v.shape), v.detach().contiguous().numpy().tobytes())
                      for k, v in sd.items()}, {"format": "pt"})
    with open(path, "wb") as f:
        f.write(blob)


def randomize(model, g):
    """Random everywhere, BN statistics included, so a swapped tensor shows."""
    with torch.no_grad():
        for k, t in model.state_dict().items():
            if k.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            elif t.is_floating_point():
                t.add_(torch.randn(t.shape, generator=g) * 0.05)


def write_case(d, name, model):
    """NAME.keys.txt ("key<TAB>shape" rows in order) and NAME.safetensors."""
    sd = model.state_dict()
    with open(os.path.join(d, name + ".keys.txt"), "w") as f:
        for k, v in sd.items():
            f.write("%s\t%s\n" % (k, "x".join(str(s) for s in v.shape)))
    write_safetensors(os.path.join(d, name + ".safetensors"), sd)


def load_weights(path):
    tensors, _ = deserialize(open(path, "rb").read())
    tdt = {"F32": torch.float32, "I64": torch.int64}
    return {k: torch.frombuffer(bytearray(raw), dtype=tdt[dt]).reshape(shape) for k, (dt, shape, raw) in
            tensors.items()}


def load_x(path):
    """A tensor lab wrote in shim_ref's format (the test's CASE.x.t)."""
    with open(path, "rb") as f:
        header = f.readline().split()
        shape = [int(s) for s in header[3:]]
        return torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(shape)


def generate(d):
    os.makedirs(d, exist_ok=True)
    g = torch.Generator().manual_seed(224)
    for name in CASES:
        torch.manual_seed(len(name))
        model = build(name)
        check_contract(name, model)
        randomize(model, g)
        write_case(d, name, model)
        x = torch.randn(*CASES[name][3], generator=g)
        save(d, name + ".x", x)
        model.eval()
        with torch.no_grad():
            save(d, name + ".eval", model(x))
            if name in ("course", "transposed"):
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    save(d, name + ".eval_bf16", model(x))
            model.train()
            save(d, name + ".train", model(x))
            save(d, name + ".mean_after", model.inc.double_conv[1].running_mean)


def check(name, weights, x_path, out):
    model = build(name)
    model.load_state_dict(load_weights(weights), strict=True)
    model.eval()
    with torch.no_grad():
        save(os.path.dirname(out) or ".", os.path.basename(out), model(load_x(x_path)))


if __name__ == "__main__":
    if len(sys.argv) == 2:
        generate(sys.argv[1])
    elif len(sys.argv) == 6 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        sys.exit("usage: unet.py OUTDIR | unet.py check CASE WEIGHTS X OUT")
