"""Debian's Fashion-MNIST training split for the benchmarks' Python sides."""
import gzip

import torch

ROOT = "/usr/share/datasets/fashion-mnist/"


def train_split(n=None):
    """The first n training images (all when n is None) as uint8 [n, 1, 28, 28] and their labels as int64 [n]."""
    with gzip.open(ROOT + "train-images-idx3-ubyte.gz") as f:
        raw = f.read()[16:]
    with gzip.open(ROOT + "train-labels-idx1-ubyte.gz") as f:
        lab = f.read()[8:]
    if n is not None:
        raw, lab = raw[:n * 784], lab[:n]
    images = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(-1, 1, 28, 28)
    return images, torch.frombuffer(bytearray(lab), dtype=torch.uint8).long()
