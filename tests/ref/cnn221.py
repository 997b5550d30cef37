"""Reference PyTorch definitions of lab 2.2.1's models, written from the
course's description (shared/reference/README.md), and the parity checks the
e2e test runs against `lab`:

  cnn221.py keys MODEL                   print "key<TAB>shape<TAB>kind" and the parameter count
  cnn221.py check RUN_DIR MODEL PREC     lab's weights in this architecture give lab's logits
  cnn221.py export MODEL SEED OUT        random weights of this architecture as safetensors
  cnn221.py logits WEIGHTS MODEL N OUT   logits of the first N Fashion-MNIST test images (.npy-free: raw f32)
"""
import gzip
import json
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

FASHION = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
MEAN, STD = 0.2860, 0.3530


class LeNet5(nn.Module):
    def __init__(self, n=10, max_pool=False):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, n)
        self.pool = nn.MaxPool2d(2) if max_pool else nn.AvgPool2d(2)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def cbr(i, o):
    return [nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]


class AlexNet(nn.Module):
    def __init__(self, n=10):
        super().__init__()
        self.features = nn.Sequential(
            *cbr(3, 64), nn.MaxPool2d(2), *cbr(64, 192), nn.MaxPool2d(2),
            *cbr(192, 384), *cbr(384, 256), *cbr(256, 256), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Dropout(0.5), nn.Linear(256 * 4 * 4, 4096), nn.ReLU(inplace=True),
            nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Linear(4096, n))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class VGG11(nn.Module):
    def __init__(self, n=10):
        super().__init__()
        blocks, i = [], 3
        for o, reps in [(64, 1), (128, 1), (256, 2), (512, 2), (512, 2)]:
            layers = []
            for _ in range(reps):
                layers += cbr(i, o)
                i = o
            blocks.append(nn.Sequential(*layers, nn.MaxPool2d(2)))
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(
            nn.Linear(512, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(4096, n))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class SE(nn.Module):
    def __init__(self, c, r=16):
        super().__init__()
        self.excite = nn.Sequential(nn.Linear(c, c // r, bias=False), nn.ReLU(inplace=True),
                                    nn.Linear(c // r, c, bias=False), nn.Sigmoid())

    def forward(self, x):
        w = self.excite(F.adaptive_avg_pool2d(x, 1).flatten(1))
        return x * w.view(x.size(0), x.size(1), 1, 1)


class BasicBlock(nn.Module):
    def __init__(self, i, o, stride, se):
        super().__init__()
        self.conv1 = nn.Conv2d(i, o, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(o)
        self.conv2 = nn.Conv2d(o, o, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(o)
        if se:
            self.se = SE(o)
        self.shortcut = nn.Sequential()
        if stride != 1 or i != o:
            self.shortcut = nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if hasattr(self, "se"):
            out = self.se(out)
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    def __init__(self, n=10, se=False):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        i = 64
        for k, (o, s) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)]):
            setattr(self, f"layer{k + 1}", nn.Sequential(BasicBlock(i, o, s, se), BasicBlock(o, o, 1, se)))
            i = o
        self.fc = nn.Linear(512, n)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


MODELS = {
    "lenet5": lambda: LeNet5(),
    "lenet5-maxpool": lambda: LeNet5(max_pool=True),
    "alexnet": AlexNet,
    "vgg11": VGG11,
    "resnet18": lambda: ResNet18(),
    "se-resnet18": lambda: ResNet18(se=True),
}

# ---- safetensors, by its published layout (8-byte length, JSON header, data) ----
DT = {"F32": torch.float32, "I64": torch.int64, "F16": torch.float16, "BF16": torch.bfloat16}


def st_load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        t = torch.frombuffer(bytearray(raw[base + b:base + e]), dtype=DT[v["dtype"]]) if e > b else \
            torch.empty(0, dtype=DT[v["dtype"]])
        out[k] = t.reshape(v["shape"])
    return out


def st_save(tensors, path):
    names = sorted(tensors)
    header, off, blobs = {}, 0, []
    rev = {v: k for k, v in DT.items()}
    for k in names:
        t = tensors[k].contiguous()
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[k] = {"dtype": rev[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        off += len(data)
        blobs.append(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def fashion_eval(n):
    with gzip.open(FASHION) as f:
        raw = f.read()
    x = torch.frombuffer(bytearray(raw[16:16 + n * 784]), dtype=torch.uint8).reshape(n, 1, 28, 28)
    x = F.pad(x.float() / 255.0, (2, 2, 2, 2)).repeat(1, 3, 1, 1)
    return (x - MEAN) / STD


def logits_of(model, x, prec):
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=(prec == "bf16")):
        return model(x).float()


def main():
    torch.set_num_threads(2)
    cmd = sys.argv[1]
    if cmd == "keys":
        m = MODELS[sys.argv[2]]()
        for k, v in m.state_dict().items():
            kind = "buffer" if k.endswith(("running_mean", "running_var", "num_batches_tracked")) else "param"
            print(f"{k}\t{'x'.join(map(str, v.shape)) or 'scalar'}\t{kind}")
        print("params", sum(p.numel() for p in m.parameters()))
    elif cmd == "check":
        run, name, prec = sys.argv[2:5]
        m = MODELS[name]()
        m.load_state_dict(st_load(f"{run}/models/{name}/model.safetensors"), strict=True)
        pred = st_load(f"{run}/models/{name}/predictions.safetensors")
        idx = pred["indices"]
        assert torch.equal(idx, torch.arange(len(idx))), "indices are not the first N test images"
        ours = pred["logits"]
        ref = logits_of(m, fashion_eval(len(idx)), prec)
        tol = 1e-4 if prec == "fp32" else 5e-3
        err = ((ours - ref).abs() / (ref.abs() + 1e-3)).max().item()
        scale = ref.abs().max().item()
        worst = (ours - ref).abs().max().item() / max(scale, 1e-6)
        print(f"{name} {prec}: max error relative to the logit scale {worst:.2e} (elementwise {err:.2e})")
        sys.exit(0 if worst <= tol else 1)
    elif cmd == "export":
        name, seed, out = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        torch.manual_seed(seed)
        m = MODELS[name]()
        # non-trivial running statistics so eval-mode BatchNorm is exercised
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
        st_save(m.state_dict(), out)
        n = int(sys.argv[5]) if len(sys.argv) > 5 else 64
        ref = logits_of(m, fashion_eval(n), "fp32")
        st_save({"logits": ref}, out + ".logits")
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
