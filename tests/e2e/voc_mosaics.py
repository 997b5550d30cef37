"""Writes a small Pascal VOC 2012 layout from Fashion-MNIST mosaics, for lab
2.2.4's full mode without the 2 GB download: VOCdevkit/VOC2012/ with
JPEGImages/<id>.jpg (RGB, torchvision's JPEG encoder), SegmentationClass/
<id>.png (8-bit palette PNGs in VOC's colour map, written here with zlib),
ImageSets/Segmentation/{train,val}.txt. Canvases have varying sizes (not
square, as VOC's), objects are Fashion-MNIST items with class id label + 1
(VOC ids 1..10), and a one-pixel ring around each object is 255, as VOC
marks its borders. Also writes masks.json: each val mask's ids, so a test can
score predictions without a PNG decoder.

usage: voc_mosaics.py OUT N_TRAIN N_VAL [SCALE]
SCALE (default 1) enlarges every canvas (the image bilinear, the mask
nearest) to VOC's own sizes for scripts/bench/voc_grade.sh; masks.json is
then not written.
"""
import gzip
import json
import os
import random
import struct
import sys
import zlib

import torch
from torchvision.io import encode_jpeg

out, n_train, n_val = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
scale = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
raw = gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").read()[16:]
lab = gzip.open("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz").read()[8:]


def palette():
    p = []
    for c in range(256):
        r = g = b = 0
        x = c
        for j in range(8):
            r |= (x & 1) << (7 - j)
            g |= ((x >> 1) & 1) << (7 - j)
            b |= ((x >> 2) & 1) << (7 - j)
            x >>= 3
        p += [r, g, b]
    return bytes(p)


def png_palette(path, w, h, ids):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    rows = b"".join(b"\0" + bytes(ids[y * w:(y + 1) * w]) for y in range(h))
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
            + chunk(b"PLTE", palette()) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    open(path, "wb").write(data)


def canvas(rng):
    w, h = rng.randint(64, 112), rng.randint(56, 96)
    gray = [0] * (w * h)
    ids = [0] * (w * h)
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(60000)
        x0, y0 = rng.randrange(w - 28), rng.randrange(h - 28)
        for y in range(28):
            for x in range(28):
                v = raw[k * 784 + y * 28 + x]
                if v > 40:
                    p = (y0 + y) * w + x0 + x
                    gray[p] = v
                    ids[p] = lab[k] + 1
    # VOC's borders: background pixels next to an object become 255
    ring = list(ids)
    for y in range(h):
        for x in range(w):
            if ids[y * w + x]:
                continue
            if any(0 <= y + dy < h and 0 <= x + dx < w and ids[(y + dy) * w + x + dx]
                   for dy in (-1, 0, 1) for dx in (-1, 0, 1)):
                ring[y * w + x] = 255
    # colour by class, so RGB carries information the gray item does not
    rgb = torch.zeros(3, h, w, dtype=torch.uint8)
    t = torch.tensor(gray, dtype=torch.int32).reshape(h, w)
    c = torch.tensor(ids, dtype=torch.int32).reshape(h, w)
    rgb[0] = (t * (c % 3 + 1) // 3).to(torch.uint8)
    rgb[1] = (t * ((c + 1) % 3 + 1) // 3).to(torch.uint8)
    rgb[2] = t.to(torch.uint8)
    return w, h, rgb, ring


voc = os.path.join(out, "VOCdevkit", "VOC2012")
for d in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
    os.makedirs(os.path.join(voc, d), exist_ok=True)
rng = random.Random(2012)
masks = {}
for split, n in (("train", n_train), ("val", n_val)):
    names = []
    for i in range(n):
        name = f"2012_{split}_{i:04d}"
        w, h, rgb, ids = canvas(rng)
        if scale != 1.0:
            size = (round(h * scale), round(w * scale))
            rgb = torch.nn.functional.interpolate(rgb[None].float(), size=size, mode="bilinear",
                                                  align_corners=False)[0].round().clamp(0, 255).to(torch.uint8)
            big = torch.nn.functional.interpolate(torch.tensor(ids, dtype=torch.float32).reshape(1, 1, h, w),
                                                  size=size, mode="nearest")
            h, w, ids = size[0], size[1], big.to(torch.uint8).flatten().tolist()
        open(os.path.join(voc, "JPEGImages", name + ".jpg"), "wb").write(bytes(encode_jpeg(rgb, quality=95).tolist()))
        png_palette(os.path.join(voc, "SegmentationClass", name + ".png"), w, h, ids)
        names.append(name)
        if split == "val" and scale == 1.0:
            masks[name] = {"w": w, "h": h, "ids": ids}
    open(os.path.join(voc, "ImageSets/Segmentation", split + ".txt"), "w").write("\n".join(names) + "\n")
if scale == 1.0:
    json.dump({"val": [masks[k] for k in sorted(masks)]}, open(os.path.join(out, "masks.json"), "w"))
