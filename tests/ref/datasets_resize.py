#!/usr/bin/python3
"""Reference for lab's resize: torch.nn.functional.interpolate on the same
uint8 HWC image (as float, align_corners=False, no antialias), rounded back
to uint8 like lab does; bicubic is PIL's Image.resize(BICUBIC), which is what
timm's eval transform applies to a PIL image. Usage: datasets_resize.py IN.raw
W H C OUTDIR W1xH1 ...
Writes OUTDIR/<mode>_<W1>x<H1>.raw for mode in nearest, bilinear, bicubic."""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

path, w, h, c, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
img = np.fromfile(path, dtype=np.uint8).reshape(h, w, c)
x = torch.from_numpy(img.astype(np.float64)).permute(2, 0, 1).unsqueeze(0)
for size in sys.argv[6:]:
    tw, th = (int(v) for v in size.split("x"))
    for mode in ("nearest", "bilinear"):
        kw = {} if mode == "nearest" else {"align_corners": False}
        y = F.interpolate(x, size=(th, tw), mode=mode, **kw)[0].permute(1, 2, 0).numpy()
        y = np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)
        y.tofile(os.path.join(out, f"{mode}_{tw}x{th}.raw"))
    pil = Image.fromarray(img if c == 3 else img[:, :, 0])
    y = np.asarray(pil.resize((tw, th), Image.BICUBIC))
    (y if c == 3 else y[:, :, None]).tofile(os.path.join(out, f"bicubic_{tw}x{th}.raw"))
