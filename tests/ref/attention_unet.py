"""A re-statement of the solution's AttentionUNet (lab 2.2.4, sol [7]-[8]), written from
shared/reference/README.md ("AttentionUNet"; the fix of its forward in "Bugs and
contradictions": each level is gated by the decoder tensor before its transposed conv),
and the parity data tests/unit/test_attention_unet.c checks labs/models/attention_unet.c
against. The course's model has no width argument; `width` scales every level (64 is
the course's) for the narrow case.

  attention_unet.py OUTDIR    per case (course: 3->21, width 64, 1x3x32x48; narrow: 3->11,
                              width 8, 2x3x48x64):
      CASE.keys.txt, CASE.safetensors, CASE.x, CASE.eval, CASE.train, CASE.mean_after,
      course: CASE.eval_bf16 (as tests/ref/unet.py)
  attention_unet.py check CASE WEIGHTS X OUT   loads lab's WEIGHTS strictly, writes eval logits
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shim_ref import save  # noqa: E402
from unet import DoubleConv, Down, check_contract_rows, load_weights, load_x, randomize, write_case  # noqa: E402

torch.set_num_threads(1)


class AttentionGate(nn.Module):
    def __init__(self, f_g, f_l, f_int):
        super().__init__()
        self.W_g = nn.Sequential(nn.Conv2d(f_g, f_int, 1, bias=False), nn.BatchNorm2d(f_int))
        self.W_x = nn.Sequential(nn.Conv2d(f_l, f_int, 1, bias=False), nn.BatchNorm2d(f_int))
        self.psi = nn.Sequential(nn.Conv2d(f_int, 1, 1, bias=False), nn.BatchNorm2d(1), nn.Sigmoid())
        self.relu = nn.ReLU(inplace=True)

    def forward(self, g, x):
        g = F.interpolate(g, size=x.shape[2:], mode="bilinear", align_corners=True)
        psi = self.psi(self.relu(self.W_g(g) + self.W_x(x)))
        return x * psi


class AttentionUNet(nn.Module):
    def __init__(self, n_channels, n_classes, width=64):
        super().__init__()
        w = width
        self.inc = DoubleConv(n_channels, w)
        self.down1, self.down2 = Down(w, 2 * w), Down(2 * w, 4 * w)
        self.down3, self.down4 = Down(4 * w, 8 * w), Down(8 * w, 16 * w)
        self.att4 = AttentionGate(16 * w, 8 * w, 4 * w)
        self.att3 = AttentionGate(8 * w, 4 * w, 2 * w)
        self.att2 = AttentionGate(4 * w, 2 * w, w)
        self.att1 = AttentionGate(2 * w, w, w // 2)
        self.up4, self.conv_up4 = nn.ConvTranspose2d(16 * w, 8 * w, 2, stride=2), DoubleConv(16 * w, 8 * w)
        self.up3, self.conv_up3 = nn.ConvTranspose2d(8 * w, 4 * w, 2, stride=2), DoubleConv(8 * w, 4 * w)
        self.up2, self.conv_up2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2), DoubleConv(4 * w, 2 * w)
        self.up1, self.conv_up1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2), DoubleConv(2 * w, w)
        self.outc = nn.Conv2d(w, n_classes, 1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        d = x5
        for att, up, conv, skip in ((self.att4, self.up4, self.conv_up4, x4), (self.att3, self.up3, self.conv_up3, x3),
                                    (self.att2, self.up2, self.conv_up2, x2), (self.att1, self.up1, self.conv_up1, x1)):
            d = conv(torch.cat([att(d, skip), up(d)], dim=1))
        return self.outc(d)


# name: (in, classes, width, input shape, course TSV, parameter count)
CASES = {
    "course": (3, 21, 64, (1, 3, 32, 48), "2.2.4-attention-unet.tsv", 31563581),
    "narrow": (3, 11, 8, (2, 3, 48, 64), None, None),
}


def build(name):
    cin, classes, width, _, _, _ = CASES[name]
    return AttentionUNet(cin, classes, width)


def generate(d):
    os.makedirs(d, exist_ok=True)
    g = torch.Generator().manual_seed(2024)
    for name, (_, _, _, shape, tsv, count) in CASES.items():
        torch.manual_seed(len(name))
        model = build(name)
        check_contract_rows(name, model, tsv, count)
        randomize(model, g)
        write_case(d, name, model)
        x = torch.randn(*shape, generator=g)
        save(d, name + ".x", x)
        model.eval()
        with torch.no_grad():
            save(d, name + ".eval", model(x))
            if name == "course":
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
        sys.exit("usage: attention_unet.py OUTDIR | attention_unet.py check CASE WEIGHTS X OUT")
