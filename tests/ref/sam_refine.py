"""Reference for tests/unit/test_sam_refine.c: the course solution's
refine_mask(mask, min_area=500) as ../shared/reference/README.md states it
(2.2.6 sol): 4-connected components under min_area erased; background not
4-connected to the border filled; a closing with OpenCV's 5x5 ellipse where
pixels outside the image neither feed the dilation nor erode. Written here
with NumPy: components and the border fill by breadth-first search, the
morphology by shifted copies of a padded array (0 padding for the dilation,
1 for the erosion). Saved: random blobby masks and their refined forms.
Run: /usr/bin/python3 sam_refine.py OUTDIR
"""
from collections import deque

import numpy as np
import torch

from shim_ref import out_dir, save

D = out_dir()
rng = np.random.default_rng(226)
ELLIPSE = np.array([[0, 0, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 1, 0, 0]], bool)


def label4(m):
    lab = np.zeros(m.shape, int)
    n = 0
    for s in zip(*np.nonzero(m)):
        if lab[s]:
            continue
        n += 1
        lab[s] = n
        q = deque([s])
        while q:
            y, x = q.popleft()
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < m.shape[0] and 0 <= nx < m.shape[1] and m[ny, nx] and not lab[ny, nx]:
                    lab[ny, nx] = n
                    q.append((ny, nx))
    return lab, n


def morph(m, dilate):
    p = np.pad(m, 2, constant_values=not dilate)
    out = np.zeros(m.shape, bool) if dilate else np.ones(m.shape, bool)
    for dy in range(5):
        for dx in range(5):
            if ELLIPSE[dy, dx]:
                sh = p[dy:dy + m.shape[0], dx:dx + m.shape[1]]
                out = out | sh if dilate else out & sh
    return out


def refine(m, min_area):
    m = m.astype(bool).copy()
    lab, n = label4(m)
    for k in range(1, n + 1):
        if (lab == k).sum() < min_area:
            m[lab == k] = False
    bg, nb = label4(~m)
    border = set(bg[0, :]) | set(bg[-1, :]) | set(bg[:, 0]) | set(bg[:, -1])
    for k in range(1, nb + 1):
        if k not in border:
            m[bg == k] = True
    return morph(morph(m, True), False)


def blobby(h, w):
    m = np.zeros((h, w), bool)
    yy, xx = np.mgrid[:h, :w]
    for _ in range(rng.integers(3, 8)):
        cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(2, 18)
        m |= (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
    for _ in range(rng.integers(2, 6)):  # holes and specks
        cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(1, 6)
        m ^= (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
    m |= rng.random((h, w)) < 0.01
    return m


for i, (h, w, a) in enumerate(((60, 80, 500), (47, 33, 40), (90, 70, 120))):
    m = blobby(h, w)
    save(D, f"in{i}", torch.from_numpy(m.astype(np.uint8)))
    save(D, f"out{i}", torch.from_numpy(refine(m, a).astype(np.uint8)))
