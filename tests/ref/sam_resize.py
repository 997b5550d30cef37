#!/usr/bin/python3
"""ResizeLongestSide(1024).apply_image as segment_anything runs it: the
uint8 image through torchvision's to_pil_image and resize (Pillow bilinear).

  sam_resize.py OUT
    OUT/resize.txt       one line per case: name h w new_h new_w
    OUT/<name>.in.raw    the HWC uint8 input (seeded torch.randint)
    OUT/<name>.out.raw   the HWC uint8 output
"""
import sys

import torch
from torchvision.transforms.functional import resize, to_pil_image

CASES = [("up_600x800", 600, 800), ("down_1500x2000", 1500, 2000), ("tall_700x300", 700, 300),
         ("odd_37x53", 37, 53)]


def shape(h, w, target=1024):
    scale = target * 1.0 / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def main():
    out = sys.argv[1]
    g = torch.Generator().manual_seed(5)
    lines = []
    for name, h, w in CASES:
        img = torch.randint(0, 256, (h, w, 3), dtype=torch.uint8, generator=g)
        nh, nw = shape(h, w)
        pil = resize(to_pil_image(img.permute(2, 0, 1)), (nh, nw))
        open(f"{out}/{name}.in.raw", "wb").write(img.numpy().tobytes())
        open(f"{out}/{name}.out.raw", "wb").write(pil.tobytes())
        lines.append(f"{name} {h} {w} {nh} {nw}")
    open(f"{out}/resize.txt", "w").write("\n".join(lines) + "\n")


main()
