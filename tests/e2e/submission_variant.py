"""Makes the broken submissions tests/e2e/grade221.sh grades: each variant
changes one thing in an unpacked submission directory, then (unless the
variant is about the manifest itself) rewrites MANIFEST.sha256 so that only
the intended check can fail. safetensors is written by hand (8-byte header
length, JSON header, raw data): torch 1.13 has no safetensors module.

usage: submission_variant.py DIR VARIANT
       submission_variant.py --expect REPORT.json ID KB   (exactly one check fails, beside the missing models)
       submission_variant.py --lenet5-only REPORT.json    (lenet5's checks pass, the other models are missing)
"""
import hashlib
import json
import os
import struct
import sys


def dtypes():  # torch is imported only by the variants that edit tensors (it takes a second)
    import torch
    d = {"F32": torch.float32, "I64": torch.int64, "F16": torch.float16, "BF16": torch.bfloat16,
         "U8": torch.uint8, "I32": torch.int32, "F64": torch.float64}
    return torch, d, {v: k for k, v in d.items()}


def st_load(path):
    torch, DTYPES, _ = dtypes()
    raw = open(path, "rb").read()
    n, = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", None)
    data = raw[8 + n:]
    out = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[b:e]), dtype=DTYPES[t["dtype"]]).reshape(t["shape"]).clone()
    return out, meta


def st_save(path, tensors, meta=None):
    _, _, NAMES = dtypes()
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for name, t in tensors.items():
        b = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def raw_header(path, header_obj, data=b"", length=None):
    h = json.dumps(header_obj).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h) if length is None else length) + h + data)


def write_manifest(d):
    lines = []
    for root, _, files in os.walk(d):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), d)
            if rel != "MANIFEST.sha256":
                lines.append(f"{hashlib.sha256(open(os.path.join(d, rel), 'rb').read()).hexdigest()}  {rel}")
    open(os.path.join(d, "MANIFEST.sha256"), "w").write("\n".join(sorted(lines, key=lambda l: l[66:])) + "\n")


def edit_json(path, fn):
    j = json.load(open(path))
    fn(j)
    json.dump(j, open(path, "w"), indent=1)


def variant(d, v):
    pred = os.path.join(d, "models/lenet5/predictions.safetensors")
    model = os.path.join(d, "models/lenet5/model.safetensors")
    manifest = True
    if v == "wrong-norm":
        def f(c):
            c["data"]["normalize"] = {"mean": [0.5] * 3, "std": [0.5] * 3}
        edit_json(os.path.join(d, "config.json"), f)
    elif v == "raw-inputs":
        t, meta = st_load(os.path.join(d, "inputs.safetensors"))
        t["pixel_values"] = ((t["pixel_values"] * 0.353 + 0.286) * 255).round()
        st_save(os.path.join(d, "inputs.safetensors"), t, meta)
    elif v == "inflated":
        edit_json(os.path.join(d, "metrics.json"), lambda m: m["models"]["lenet5"].update(test_accuracy=0.99))
    elif v == "nan":
        t, meta = st_load(pred)
        t["logits"][5, 3] = float("nan")
        st_save(pred, t, meta)
    elif v == "transposed":
        t, meta = st_load(pred)
        t["logits"] = t["logits"].t().contiguous()
        st_save(pred, t, meta)
    elif v == "module-prefix":
        t, meta = st_load(model)
        st_save(model, {"module." + k: x for k, x in t.items()}, meta)
    elif v == "tampered-weight":
        t, meta = st_load(model)
        k = sorted(k for k in t if k.endswith("weight"))[0]
        t[k] = t[k] * 1.5 + 0.01
        st_save(model, t, meta)
    elif v == "corrupt-manifest":  # a checksum that no longer matches its file
        lines = open(os.path.join(d, "MANIFEST.sha256")).read().splitlines()
        i = next(i for i, l in enumerate(lines) if l.endswith("model.safetensors"))
        lines[i] = ("0" if lines[i][0] != "0" else "1") + lines[i][1:]
        open(os.path.join(d, "MANIFEST.sha256"), "w").write("\n".join(lines) + "\n")
        manifest = False
    elif v == "bad-json":
        open(os.path.join(d, "metrics.json"), "w").write('{"lab": "2.2.1", "models": {"lenet5": {')
    elif v == "truncated-header":
        open(pred, "r+b").truncate(20)
    elif v == "oversized-header":
        raw_header(pred, {"logits": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4, 1 << 40)
    elif v == "offsets-outside":
        raw_header(pred, {"logits": {"dtype": "F32", "shape": [2000, 10], "data_offsets": [0, 80000]}}, b"\0" * 64)
    elif v == "absurd-shape":
        raw_header(pred, {"logits": {"dtype": "F32", "shape": [1 << 40, 10], "data_offsets": [0, 40 << 40]}},
                   b"\0" * 64)
    elif v == "missing-file":
        os.remove(model)
        manifest = False
    elif v == "no-manifest":
        os.remove(os.path.join(d, "MANIFEST.sha256"))
        manifest = False
    else:
        sys.exit(f"unknown variant {v}")
    if manifest:
        write_manifest(d)


# A quick run of lenet5 alone: the rubric's other models are missing, each a
# failed integrity.models row that costs that model's points.
MISSING = {"alexnet", "vgg11", "resnet18"}


def missing_models(r):
    rows = [c for c in r["checks"] if c["id"] == "integrity.models"]
    assert {c["name"].split(":")[0] for c in rows} == MISSING and len(rows) == len(MISSING), rows
    for c in rows:
        assert c["status"] == "fail" and c["points"] == 0 and c["max_points"] > 0, c
        assert c["kb"] == "TS-SUBMISSION-INTEGRITY", c
    return sum(c["max_points"] for c in rows)


def lenet5_only(report):
    """lenet5's own checks all pass; only the missing models cost points."""
    r = json.load(open(report))
    assert r["status"] == "graded", r
    bad = [c for c in r["checks"] if c["status"] not in ("pass", "skipped") and c["id"] != "integrity.models"]
    assert not bad, bad
    for c in r["checks"]:
        assert c["status"] != "skipped" or c["max_points"] == 0, c
    lost = missing_models(r)
    assert r["score"] == r["max_score"] - lost and r["score"] < r["max_score"], (r["score"], r["max_score"], lost)
    print(f"{r['score']:g}/{r['max_score']:g}: lenet5's checks pass, the missing models cost {lost:g}")


def expect(report, want_id, want_kb):
    r = json.load(open(report))
    lost = missing_models(r)
    bad = [c for c in r["checks"] if c["status"] not in ("pass", "skipped") and c["id"] != "integrity.models"]
    got = [(c["id"], c["kb"]) for c in bad]
    assert got == [(want_id, want_kb)], f"expected only {want_id} ({want_kb}) to fail, got {got}: " + \
        "; ".join(c["message"] for c in bad)
    c = bad[0]
    assert c["points"] == 0 and c["max_points"] > 0, c
    # checks that depend on the failed one are skipped but still count
    assert r["score"] <= r["max_score"] - lost - c["max_points"], (r["score"], r["max_score"])
    print(f"{want_id}: {c['message']}")


if __name__ == "__main__":
    if sys.argv[1] == "--expect":
        expect(*sys.argv[2:5])
    elif sys.argv[1] == "--lenet5-only":
        lenet5_only(sys.argv[2])
    else:
        variant(sys.argv[1], sys.argv[2])
