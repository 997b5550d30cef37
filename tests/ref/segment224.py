"""Lab 2.2.4's losses and metrics, restated from the course's description
(shared/reference/README.md, "2.2.4": DiceLoss(smooth=1.0), CombinedLoss(0.5,
0.5) with ignore_index 255, compute_iou pooled over the split), with the fix
the reference asks for: pixels labelled 255 are left out of the Dice sums and
of the IoU counts as well as of the cross-entropy. tests/unit/test_segment.c
checks labs/tasks/segment.c against what this writes:

  segment224.py OUTDIR
      loss.logits [2, 5, 7, 9], loss.target (i64, 255 on about a fifth of the pixels, class 4 absent)
      loss.argmax (u8 [2, 7, 9], the predicted class of each pixel)
      loss.<kind> and loss.<kind>.grad (d loss / d logits) for kind in ce_dice, ce, dice, focal
      iou.pred, iou.truth (u8 [3, 6, 8], 6 classes: 4 in neither, 5 predicted only; 255 in truth)
      iou.per_class (NaN where absent), iou.miou, iou.pixel_accuracy, iou.dice
      voc.palette (u8 [256, 3], the VOC devkit's labelcolormap: each class
      id's bits, three at a time, spread over the high bits of R, G and B)
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shim_ref import save  # noqa: E402

IGNORE = 255


class DiceLoss(nn.Module):
    """The lab's DiceLoss(smooth=1.0), its sums restricted to kept pixels."""

    def __init__(self, smooth=1.0):
        super().__init__()
        self.smooth = smooth

    def forward(self, logits, target):
        keep = (target != IGNORE).unsqueeze(1).float()
        probs = F.softmax(logits, dim=1) * keep
        onehot = F.one_hot(target.masked_fill(target == IGNORE, 0), logits.shape[1]).permute(0, 3, 1, 2).float()
        onehot = onehot * keep
        inter = (probs * onehot).sum(dim=(0, 2, 3))
        dice = (2 * inter + self.smooth) / (probs.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3)) + self.smooth)
        return 1 - dice.mean()


class CombinedLoss(nn.Module):
    def __init__(self, ce_weight=0.5, dice_weight=0.5):
        super().__init__()
        self.ce = nn.CrossEntropyLoss(ignore_index=IGNORE)
        self.dice = DiceLoss(1.0)
        self.cw, self.dw = ce_weight, dice_weight

    def forward(self, logits, target):
        return self.cw * self.ce(logits, target) + self.dw * self.dice(logits, target)


def focal(logits, target, gamma=2.0):
    ce = F.cross_entropy(logits, target, ignore_index=IGNORE, reduction="none")
    keep = (target != IGNORE).float()
    return ((1 - torch.exp(-ce)) ** gamma * ce * keep).sum() / keep.sum().clamp(min=1)


LOSSES = {
    "ce_dice": CombinedLoss(0.5, 0.5),
    "ce": nn.CrossEntropyLoss(ignore_index=IGNORE),
    "dice": DiceLoss(1.0),
    "focal": focal,
}


def compute_iou(pred, target, num_classes):
    """The lab's compute_iou: per class I/U, NaN where U = 0; mIoU over the rest."""
    ious = []
    for c in range(num_classes):
        p, t = pred == c, target == c
        inter, union = (p & t).sum().item(), (p | t).sum().item()
        ious.append(inter / union if union > 0 else float("nan"))
    valid = [v for v in ious if v == v]
    return ious, (sum(valid) / len(valid) if valid else 0.0)


def voc_palette():
    """VOCdevkit's VOClabelcolormap.m, restated: bit j of each 3-bit group
    of the class id goes to bit 7 - j of red, green, blue in turn."""
    cmap = torch.zeros(256, 3, dtype=torch.uint8)
    for i in range(256):
        c, rgb = i, [0, 0, 0]
        for j in range(8):
            for ch in range(3):
                rgb[ch] |= ((c >> ch) & 1) << (7 - j)
            c >>= 3
        cmap[i] = torch.tensor(rgb, dtype=torch.uint8)
    return cmap


def main(d):
    save(d, "voc.palette", voc_palette())
    g = torch.Generator().manual_seed(2024)
    logits = torch.randn(2, 5, 7, 9, generator=g) * 2
    target = torch.randint(0, 4, (2, 7, 9), generator=g)
    target[torch.rand(2, 7, 9, generator=g) < 0.2] = IGNORE
    save(d, "loss.logits", logits)
    save(d, "loss.target", target)
    save(d, "loss.argmax", logits.argmax(dim=1).to(torch.uint8))
    for kind, fn in LOSSES.items():
        x = logits.clone().requires_grad_(True)
        loss = fn(x, target)
        loss.backward()
        save(d, "loss." + kind, loss)
        save(d, "loss.%s.grad" % kind, x.grad)

    pred = torch.randint(0, 4, (3, 6, 8), generator=g)
    pred[0, 0, :3] = 5  # predicted, absent from the ground truth: IoU 0, counted
    truth = torch.randint(0, 4, (3, 6, 8), generator=g)
    truth[torch.rand(3, 6, 8, generator=g) < 0.15] = IGNORE
    truth[0, 0, 0] = IGNORE  # one of the class-5 predictions falls on an ignored pixel
    save(d, "iou.pred", pred.to(torch.uint8))
    save(d, "iou.truth", truth.to(torch.uint8))
    keep = truth != IGNORE
    ious, miou = compute_iou(pred[keep], truth[keep], 6)
    save(d, "iou.per_class", torch.tensor(ious, dtype=torch.float64))
    save(d, "iou.miou", torch.tensor(miou, dtype=torch.float64))
    save(d, "iou.pixel_accuracy", (pred[keep] == truth[keep]).double().mean())
    dice = []
    for c in range(6):
        p, t = pred[keep] == c, truth[keep] == c
        s = p.sum().item() + t.sum().item()
        dice.append(2 * (p & t).sum().item() / s if s else float("nan"))
    save(d, "iou.dice", torch.tensor(dice, dtype=torch.float64))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: segment224.py OUTDIR")
    os.makedirs(sys.argv[1], exist_ok=True)
    main(sys.argv[1])
