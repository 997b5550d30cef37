#!/usr/bin/python3
"""Generates CIFAR-10/100 binary, VOC2012-segmentation and EXIF-orientation
fixtures in OUTDIR, with the values the C loaders must produce, computed
independently here with numpy and Pillow (Pillow's ImageOps.exif_transpose
is the reference for orientation). Run by tests/unit/test_loaders_formats.c.

Expected values are written as raw uint8 files (HWC) plus expected.json."""
import json
import os
import sys

import numpy as np
from PIL import Image, ImageOps

out = sys.argv[1]
rng = np.random.default_rng(20261122)
expected = {}


def raw(path, arr):
    np.ascontiguousarray(arr, dtype=np.uint8).tofile(path)


# CIFAR-10: 5 train batches of 7 records, a test batch of 5.
c10 = os.path.join(out, "cifar-10-batches-bin")
os.makedirs(c10)
train_imgs, train_labels = [], []
for b in range(1, 6):
    imgs = rng.integers(0, 256, size=(7, 3, 32, 32), dtype=np.uint8)  # planar CHW, as stored
    labels = rng.integers(0, 10, size=7, dtype=np.uint8)
    with open(os.path.join(c10, f"data_batch_{b}.bin"), "wb") as f:
        for img, lab in zip(imgs, labels):
            f.write(bytes([lab]) + img.tobytes())
    train_imgs.append(imgs)
    train_labels.append(labels)
imgs = np.concatenate(train_imgs).transpose(0, 2, 3, 1)  # to HWC
raw(os.path.join(out, "c10_train.raw"), imgs)
expected["c10_train_labels"] = np.concatenate(train_labels).tolist()
test = rng.integers(0, 256, size=(5, 3, 32, 32), dtype=np.uint8)
test_labels = rng.integers(0, 10, size=5, dtype=np.uint8)
with open(os.path.join(c10, "test_batch.bin"), "wb") as f:
    for img, lab in zip(test, test_labels):
        f.write(bytes([lab]) + img.tobytes())
raw(os.path.join(out, "c10_test.raw"), test.transpose(0, 2, 3, 1))
expected["c10_test_labels"] = test_labels.tolist()

# CIFAR-100: <coarse><fine><3072>; the fine label is the one used.
c100 = os.path.join(out, "cifar-100-binary")
os.makedirs(c100)
for split, n in (("train", 9), ("test", 4)):
    imgs = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    fine = rng.integers(0, 100, size=n, dtype=np.uint8)
    coarse = (fine // 5).astype(np.uint8)
    with open(os.path.join(c100, f"{split}.bin"), "wb") as f:
        for img, c, fl in zip(imgs, coarse, fine):
            f.write(bytes([c, fl]) + img.tobytes())
    raw(os.path.join(out, f"c100_{split}.raw"), imgs.transpose(0, 2, 3, 1))
    expected[f"c100_{split}_labels"] = fine.tolist()

# A damaged CIFAR file: not a whole number of records.
bad = os.path.join(out, "cifar-bad")
os.makedirs(bad)
with open(os.path.join(bad, "test_batch.bin"), "wb") as f:
    f.write(b"\x01" * 3000)

# VOC2012: smooth images (JPEG-friendly) and palette masks with 255 borders.
voc = os.path.join(out, "VOC2012")
for d in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
    os.makedirs(os.path.join(voc, d))
palette = [0] * 768
for i in range(256):
    palette[3 * i:3 * i + 3] = [(i * 37) % 256, (i * 91) % 256, (i * 53) % 256]
ids = {"train": ["2007_000032", "2007_000039", "2008_000001"], "val": ["2007_000123", "2009_004321"]}
expected["voc"] = {}
for split, names in ids.items():
    with open(os.path.join(voc, "ImageSets/Segmentation", f"{split}.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    for k, name in enumerate(names):
        h, w = 40 + 8 * k, 56 + 4 * k
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([xx * 4 % 256, yy * 5 % 256, (xx + yy) * 2 % 256], axis=-1).astype(np.uint8)
        Image.fromarray(img, "RGB").save(os.path.join(voc, "JPEGImages", name + ".jpg"), quality=95)
        mask = np.zeros((h, w), np.uint8)
        cls = 1 + (k * 7) % 20
        mask[8:h - 8, 10:w - 10] = cls
        mask[8, 10:w - 10] = 255  # border: ignore
        mask[h - 9, 10:w - 10] = 255
        mask[0, 0] = 20
        m = Image.fromarray(mask, "P")
        m.putpalette(palette)
        m.save(os.path.join(voc, "SegmentationClass", name + ".png"))
        decoded = np.asarray(Image.open(os.path.join(voc, "JPEGImages", name + ".jpg")).convert("RGB"))
        raw(os.path.join(out, f"voc_{name}_img.raw"), decoded)
        raw(os.path.join(out, f"voc_{name}_mask.raw"), np.asarray(Image.open(os.path.join(voc, "SegmentationClass", name + ".png"))))
        expected["voc"][name] = {"w": w, "h": h}
expected["voc_ids"] = ids

# EXIF orientation 1..8 on an asymmetric image; reference: exif_transpose.
ex = os.path.join(out, "exif")
os.makedirs(ex)
base = np.zeros((24, 40, 3), np.uint8)
base[:12, :20] = (250, 10, 10)
base[:12, 20:] = (10, 250, 10)
base[12:, :20] = (10, 10, 250)
base[12:, 20:] = (250, 250, 10)
base[:4, :4] = (255, 255, 255)
expected["exif"] = {}
for o in range(1, 9):
    for ext in ("jpg", "png"):
        img = Image.fromarray(base, "RGB")
        exif = Image.Exif()
        exif[0x0112] = o
        path = os.path.join(ex, f"o{o}.{ext}")
        if ext == "jpg":
            img.save(path, quality=98, exif=exif.tobytes())
        else:
            img.save(path, exif=exif.tobytes())
        upright = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        arr = np.asarray(upright)
        raw(os.path.join(out, f"exif_o{o}_{ext}.raw"), arr)
        expected["exif"][f"o{o}.{ext}"] = {"w": arr.shape[1], "h": arr.shape[0]}

with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f)
