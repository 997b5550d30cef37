"""Reference PyTorch YOLOv8 (n/s/m/l/x), written from the description in
shared/reference/README.md ("2.2.3 YOLOv8 as Ultralytics builds and saves it"),
without ultralytics, and the parity data tests/unit/test_yolo.c checks
labs/models/yolov8.c against:

  yolov8.py OUTDIR   writes
      yolov8X.keys.txt     "key<TAB>shape" rows of the state dict, X in n s m l x
      yolov8X.params.txt   the parameter count
      yolov8n.safetensors  seed-0 weights, perturbed (random BN statistics, non-constant
                           parameters) so that no tensor can be dropped unnoticed
      x                    input [2, 3, 64, 96] (non-square on purpose)
      layer.I              eval output of model.I, I = 0..21
      raw0..raw2           the Detect maps; y the eval output [2, 84, 126]
      train.raw0..2        the same weights in train mode (BN batch statistics)
      yolov8n.pt           the same model pickled whole as an Ultralytics checkpoint ({"model": ...},
                           its classes re-homed under ultralytics.nn.tasks / .modules.conv|block|head)
      yolov8n-identity.pt  the same with Identity after model.9.cv1 (as Ultralytics 8.4 builds
                           SPPF); id.layer.9 and id.y its layer-9 and eval outputs
  yolov8.py fixture PT EXPECTED    checks this reference itself: unpickles Ultralytics' checkpoint
                                  PT with its classes mapped by name onto the ones here, runs the
                                  input stored in EXPECTED (2.2.3-yolov8n-random.expected.safetensors)
                                  and exits non-zero unless every layer is within 1e-4 of it
  yolov8.py pt SCALE SEED OUT     a random-init YOLOv8 of SCALE (n s m l x; torch's default init,
                                  seeded, BatchNorm statistics from random images) pickled whole as an Ultralytics checkpoint in fp16, as the
                                  released files are (the stand-ins tests/e2e/lab223_full.sh serves)
  yolov8.py check WEIGHTS X OUT   loads lab's WEIGHTS (safetensors) strictly into a yolov8n
                                  (load_state_dict, as into ultralytics' DetectionModel) and
                                  writes its eval output on X (.t) to OUT (.t)
"""
import math
import os
import sys
import types

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shim_ref import out_dir, save, save_text  # noqa: E402
from weights_safetensors import TORCH, deserialize, serialize  # noqa: E402

torch.set_num_threads(1)

SCALES = {"n": (0.33, 0.25, 1024), "s": (0.33, 0.50, 1024), "m": (0.67, 0.75, 768),
          "l": (1.00, 1.00, 512), "x": (1.00, 1.25, 512)}
STRIDES = (8, 16, 32)
REG_MAX = 16


class Conv(nn.Module):
    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c, shortcut):
        super().__init__()
        self.cv1, self.cv2, self.add = Conv(c, c, 3), Conv(c, c, 3), shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, c1, c2, n, shortcut):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c)
        self.cv2 = Conv((2 + n) * self.c, c2)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x):
        ys = list(self.cv1(x).split(self.c, 1))
        for m in self.m:
            ys.append(m(ys[-1]))
        return self.cv2(torch.cat(ys, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2):
        super().__init__()
        self.cv1, self.cv2 = Conv(c1, c1 // 2), Conv(c1 // 2 * 4, c2)
        self.m = nn.MaxPool2d(5, 1, 2)

    def forward(self, x):
        ys = [self.cv1(x)]
        for _ in range(3):
            ys.append(self.m(ys[-1]))
        return self.cv2(torch.cat(ys, 1))


class DFL(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(REG_MAX, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(REG_MAX, dtype=torch.float).view(1, REG_MAX, 1, 1)

    def forward(self, x):
        b, _, a = x.shape
        p = x.view(b, 4, REG_MAX, a).transpose(2, 1).softmax(1)
        return self.conv(p).view(b, 4, a)


class Detect(nn.Module):
    def __init__(self, nc, ch):
        super().__init__()
        self.nc, self.no = nc, nc + 4 * REG_MAX
        c2, c3 = max(16, ch[0] // 4, 4 * REG_MAX), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(nn.Sequential(Conv(c, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * REG_MAX, 1))
                                 for c in ch)
        self.cv3 = nn.ModuleList(nn.Sequential(Conv(c, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for c in ch)
        self.dfl = DFL()
        for a, b, s in zip(self.cv2, self.cv3, STRIDES):
            a[-1].bias.data[:] = 1.0
            b[-1].bias.data[:nc] = math.log(5 / nc / (640 / s) ** 2)

    def forward(self, xs):
        raw = [torch.cat((self.cv2[i](x), self.cv3[i](x)), 1) for i, x in enumerate(xs)]
        if self.training:
            return raw
        b = raw[0].shape[0]
        cat = torch.cat([r.view(b, self.no, -1) for r in raw], 2)
        box, cls = cat.split((4 * REG_MAX, self.nc), 1)
        pts, strides = [], []
        for r, s in zip(raw, STRIDES):
            h, w = r.shape[2:]
            sy, sx = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
            pts.append(torch.stack((sx, sy), -1).view(-1, 2))
            strides.append(torch.full((h * w, 1), float(s)))
        anchors = torch.cat(pts).T.unsqueeze(0)
        stride = torch.cat(strides).T
        lt, rb = self.dfl(box).chunk(2, 1)
        x1y1, x2y2 = anchors - lt, anchors + rb
        xywh = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1)
        return torch.cat((xywh * stride, cls.sigmoid()), 1), raw


class Concat(nn.Module):
    def forward(self, xs):
        return torch.cat(xs, 1)


# yolov8.yaml: (from, repeats, module, args)
YAML = [(-1, 1, "Conv", 64), (-1, 1, "Conv", 128), (-1, 3, "C2f", 128, True), (-1, 1, "Conv", 256),
        (-1, 6, "C2f", 256, True), (-1, 1, "Conv", 512), (-1, 6, "C2f", 512, True), (-1, 1, "Conv", 1024),
        (-1, 3, "C2f", 1024, True), (-1, 1, "SPPF", 1024), (-1, 1, "Up"), ([-1, 6], 1, "Concat"),
        (-1, 3, "C2f", 512, False), (-1, 1, "Up"), ([-1, 4], 1, "Concat"), (-1, 3, "C2f", 256, False),
        (-1, 1, "Conv", 256), ([-1, 12], 1, "Concat"), (-1, 3, "C2f", 512, False), (-1, 1, "Conv", 512),
        ([-1, 9], 1, "Concat"), (-1, 3, "C2f", 1024, False), ([15, 18, 21], 1, "Detect")]


class YOLOv8(nn.Module):
    def __init__(self, scale, nc=80):
        super().__init__()
        depth, width, max_ch = SCALES[scale]
        ch, layers, self.froms = [3], [], []
        for i, (f, n, kind, *args) in enumerate(YAML):
            n = max(round(n * depth), 1) if n > 1 else n
            out = lambda c: int(math.ceil(min(c, max_ch) * width / 8) * 8)  # noqa: E731
            c_in = ch[f] if isinstance(f, int) else None
            if kind == "Conv":
                m, c = Conv(c_in, out(args[0]), 3, 2), out(args[0])
            elif kind == "C2f":
                m, c = C2f(c_in, out(args[0]), n, args[1]), out(args[0])
            elif kind == "SPPF":
                m, c = SPPF(c_in, out(args[0])), out(args[0])
            elif kind == "Up":
                m, c = nn.Upsample(None, 2, "nearest"), c_in
            elif kind == "Concat":
                m, c = Concat(), sum(ch[j if j < 0 else j + 1] for j in f)
            else:
                m, c = Detect(nc, [ch[j + 1] for j in f]), 0
            layers.append(m)
            self.froms.append(f)
            ch.append(c)
        self.model = nn.Sequential(*layers)

    def forward(self, x, hook=None):
        outs = []
        for m, f in zip(self.model, self.froms):
            if isinstance(f, int):
                inp = x if f == -1 else outs[f]
            else:
                inp = [x if j == -1 else outs[j] for j in f]
            x = m(inp)
            outs.append(x)
            if hook:
                hook(len(outs) - 1, x)
        return x


def save_ultralytics(model, path):
    """torch.save of {"model": model} as Ultralytics writes it: pickle names each class by
    module and name, so the reference classes are registered under Ultralytics' paths."""
    homes = {Conv: "conv", Concat: "conv", C2f: "block", Bottleneck: "block", SPPF: "block", DFL: "block",
             Detect: "head"}
    names = ["ultralytics", "ultralytics.nn", "ultralytics.nn.modules", "ultralytics.nn.tasks"] + \
        ["ultralytics.nn.modules." + h for h in set(homes.values())]
    for n in names:
        sys.modules.setdefault(n, types.ModuleType(n))
    old = {c: (c.__module__, c.__qualname__) for c in list(homes) + [YOLOv8]}
    for c, h in homes.items():
        c.__module__ = "ultralytics.nn.modules." + h
        setattr(sys.modules[c.__module__], c.__name__, c)
    YOLOv8.__module__, YOLOv8.__qualname__ = "ultralytics.nn.tasks", "DetectionModel"
    sys.modules["ultralytics.nn.tasks"].DetectionModel = YOLOv8
    try:
        torch.save({"epoch": -1, "best_fitness": None, "model": model, "ema": None}, path)
    finally:
        for c, (mod, qual) in old.items():
            c.__module__, c.__qualname__ = mod, qual


def keys_text(model):
    return "".join("%s\t%s\n" % (k, "x".join(str(s) for s in v.shape)) for k, v in model.state_dict().items())


def perturb(model):
    torch.manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data = 1 + 0.1 * torch.randn_like(m.weight)
            m.bias.data = 0.1 * torch.randn_like(m.bias)
    for k, p in model.named_parameters():
        if p.numel() > 1 and bool((p == p.flatten()[0]).all()) and "dfl" not in k:
            p.data += 0.1 * torch.randn_like(p)


def main():
    d = out_dir()
    for s in SCALES:
        torch.manual_seed(0)
        m = YOLOv8(s)
        save_text(d, "yolov8%s.keys" % s, keys_text(m))
        save_text(d, "yolov8%s.params" % s, "%d\n" % sum(p.numel() for p in m.parameters()))
    torch.manual_seed(0)
    m = YOLOv8("n")
    perturb(m)
    m.eval()
    sd = m.state_dict()
    with open(os.path.join(d, "yolov8n.safetensors"), "wb") as f:
        f.write(serialize({k: ("I64" if v.dtype == torch.int64 else "F32", tuple(v.shape),
                               v.contiguous().numpy().tobytes()) for k, v in sd.items()},
                          {"what": "tests/ref/yolov8.py"}))
    torch.manual_seed(2)
    x = torch.rand(2, 3, 64, 96)
    save(d, "x", x)
    with torch.no_grad():
        y, raw = m(x, hook=lambda i, o: save(d, "layer.%d" % i, o) if i < 22 else None)
    save(d, "y", y)
    for i, r in enumerate(raw):
        save(d, "raw%d" % i, r)
    save_ultralytics(m, os.path.join(d, "yolov8n.pt"))
    m.model[9].cv1.act = nn.Identity()
    save_ultralytics(m, os.path.join(d, "yolov8n-identity.pt"))
    with torch.no_grad():
        y, _ = m(x, hook=lambda i, o: save(d, "id.layer.9", o) if i == 9 else None)
    save(d, "id.y", y)
    m.model[9].cv1.act = nn.SiLU()
    m.train()
    with torch.no_grad():
        raw = m(x)
    for i, r in enumerate(raw):
        save(d, "train.raw%d" % i, r)


def load_t(path):
    with open(path, "rb") as f:
        storage, dtype, ndim, *shape = f.readline().split()
        data = f.read()
    t = torch.frombuffer(bytearray(data), dtype={b"f32": torch.float32, b"i64": torch.int64}[storage])
    return t.reshape([int(s) for s in shape])


def check(weights, x_path, out):
    tensors, _ = deserialize(open(weights, "rb").read())
    sd = {k: torch.frombuffer(bytearray(raw), dtype=TORCH[dt]).reshape(shape) for k, (dt, shape, raw) in
          tensors.items()}
    m = YOLOv8("n")
    m.load_state_dict(sd, strict=True)
    m.eval()
    with torch.no_grad():
        y, _ = m(load_t(x_path))
    save(os.path.dirname(out), os.path.basename(out)[:-2], y)


class _ByName(types.ModuleType):
    """Stands in for every ultralytics.* module while a checkpoint is unpickled: a class is
    found by its name among the reference classes here, whose forwards fit the pickled
    __dict__s (8.0.x's flat ultralytics.nn.modules and later paths alike)."""
    CLASSES = {"DetectionModel": nn.Module, "Conv": Conv, "C2f": C2f, "Bottleneck": Bottleneck, "SPPF": SPPF,
               "Concat": Concat, "Detect": Detect, "DFL": DFL, "IterableSimpleNamespace": types.SimpleNamespace}

    def __getattr__(self, name):
        if name in _ByName.CLASSES:
            return _ByName.CLASSES[name]
        raise AttributeError(name)


def _stand_in(pt):
    import zipfile
    names = set()
    for n in zipfile.ZipFile(pt).namelist():
        if n.endswith("data.pkl"):
            import pickletools
            for op, arg, _ in pickletools.genops(zipfile.ZipFile(pt).read(n)):
                if op.name == "GLOBAL" and arg.startswith("ultralytics"):
                    names.add(arg.split(" ")[0])
    for mod in names:
        parts = mod.split(".")
        for k in range(1, len(parts) + 1):
            sys.modules.setdefault(".".join(parts[:k]), _ByName(".".join(parts[:k])))


def fixture(pt, expected):
    _stand_in(pt)
    # The fixture pickles a DetectionModel; torch 2.6 refuses any class by
    # default (weights_only=True). It is a trusted file (../shared/reference).
    ckpt = torch.load(pt, map_location="cpu", weights_only=False)
    model = (ckpt.get("ema") or ckpt["model"]).float().eval()
    tensors, _ = deserialize(open(expected, "rb").read())
    ref = {k: torch.frombuffer(bytearray(raw), dtype=TORCH[dt]).reshape(shape) for k, (dt, shape, raw) in
           tensors.items()}
    x, outs, worst = ref["input"], [], 0.0
    with torch.no_grad():
        for i, m in enumerate(model.model):
            inp = (x if m.f == -1 else outs[m.f]) if isinstance(m.f, int) else \
                [x if j == -1 else outs[j] for j in m.f]
            x = m(inp)
            outs.append(x)
            got = {"layer.%d" % i: x} if i < 22 else dict(
                [("layer.22.y", x[0])] + [("layer.22.raw%d" % k, r) for k, r in enumerate(x[1])])
            for k, v in got.items():
                err = float((v - ref[k]).abs().max() / ref[k].abs().max().clamp_min(1e-12))
                worst = max(worst, err)
                if err > 1e-4:
                    sys.exit("%s: relative error %g" % (k, err))
    print("reference matches %s: worst relative error %.3g" % (os.path.basename(expected), worst))


def random_pt(scale, seed, out):
    """BatchNorm statistics set from a batch of random images (train mode, cumulative
    average): every layer's output then has unit scale, so the scores vary with the
    image and across anchors, where an untrained net's vanish to its biases."""
    torch.manual_seed(int(seed))
    m = YOLOv8(scale)
    for b in m.modules():
        if isinstance(b, nn.BatchNorm2d):
            b.momentum = None
    m.train()
    with torch.no_grad():
        m(torch.rand(4, 3, 128, 128))
    for b in m.modules():
        if isinstance(b, nn.BatchNorm2d):
            b.momentum = 0.03
    m.eval()
    save_ultralytics(m.half(), out)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "pt":
        random_pt(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "check":
        check(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "fixture":
        fixture(*sys.argv[2:])
    else:
        main()
