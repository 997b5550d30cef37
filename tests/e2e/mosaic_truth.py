"""The ground-truth boxes of a set of Fashion-MNIST detection mosaics, as
anyone can render them from the public t10k items: a port of
datasets/mosaic.c's ds_mosaic_render (xoshiro256** seeded by splitmix64,
the same draws, bilinear resize with half-pixel centres, boxes from the
visible pixels) with the defaults of its with_defaults. lab223.sh pastes
them into a submission as detections to see reeval.detections refuse them.

usage: mosaic_truth.py EVAL_SET   (prints JSON [[image, class, x1, y1, x2, y2], ...])
"""
import gzip
import json
import re
import sys

M64 = (1 << 64) - 1
DIR = "/usr/share/datasets/fashion-mnist"


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return x, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


class Rng:
    def __init__(self, a, b, c):
        x, z = splitmix64(a)
        x = z ^ b
        x, z = splitmix64(x)
        x = z ^ c
        self.s = []
        for _ in range(4):
            x, z = splitmix64(x)
            self.s.append(z)

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, n):
        limit = M64 - M64 % n
        while True:
            v = self.next()
            if v < limit:
                return v % n

    def range(self, lo, hi):
        return lo + (hi - lo) * ((self.next() >> 11) * 2.0 ** -53)


def f32(v):  # the C code keeps these in float
    import struct
    return struct.unpack("f", struct.pack("f", v))[0]


def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def resize(px, side):  # ds_image_resize, bilinear, from 28 x 28
    s = 28.0 / side
    out = []
    for y in range(side):
        fy = max((y + 0.5) * s - 0.5, 0.0)
        y0 = int(fy)
        y1 = y0 + 1 if y0 + 1 < 28 else y0
        ay = fy - y0
        for x in range(side):
            fx = max((x + 0.5) * s - 0.5, 0.0)
            x0 = int(fx)
            x1 = x0 + 1 if x0 + 1 < 28 else x0
            ax = fx - x0
            v = (px[y0 * 28 + x0] * (1 - ax) + px[y0 * 28 + x1] * ax) * (1 - ay) + \
                (px[y1 * 28 + x0] * (1 - ax) + px[y1 * 28 + x1] * ax) * ay
            out.append(round(min(max(v, 0.0), 255.0)))
    return out


def main():
    m = re.fullmatch(r"fashion-mnist-mosaic:(train|test):size=(\d+):n=(\d+):seed=(\d+)", sys.argv[1])
    split, S, n, seed = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))
    pre = "train" if split == "train" else "t10k"
    images = gzip.open(f"{DIR}/{pre}-images-idx3-ubyte.gz").read()[16:]
    labels = gzip.open(f"{DIR}/{pre}-labels-idx1-ubyte.gz").read()[8:]
    count = len(labels)
    min_items, max_items, min_scale, max_scale = 1, 4, f32(0.75), f32(1.5)
    threshold, min_visible, max_iou = 20, 16, f32(0.3)
    rows = []
    for i in range(n):
        r = Rng(seed, i, 0x6d6f73616963)
        want = min_items + r.below(max_items - min_items + 1)
        owner = [-1] * (S * S)
        placed, labs = [], []
        for _ in range(want):
            src = r.below(count)
            side = int(28.0 * r.range(min_scale, max_scale) + 0.5)  # lround of a positive value
            ok = False
            for _attempt in range(10):
                x = r.below(S - side + 1)
                y = r.below(S - side + 1)
                b = (x, y, x + side, y + side)
                ok = all(f32(iou(b, p)) <= max_iou for p in placed)
                if ok:
                    break
            if not ok:
                continue
            px = resize(images[src * 784:(src + 1) * 784], side)
            k = len(placed)
            for yy in range(side):
                for xx in range(side):
                    if px[yy * side + xx] > threshold:
                        owner[(y + yy) * S + x + xx] = k
            placed.append(b)
            labs.append(labels[src])
        for j, (x, y, x2, y2) in enumerate(placed):
            pts = [(p % S, p // S) for yy in range(y, y2) for p in range(yy * S + x, yy * S + x2) if owner[p] == j]
            if len(pts) < min_visible:
                continue
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            rows.append([i, labs[j], min(xs), min(ys), max(xs) + 1, max(ys) + 1])
    json.dump(rows, sys.stdout)


main()
