#!/usr/bin/env bash
# Lab 2.2.4 end to end, shortened for CI (the full quick mode is in
# `make check-quick`): a tiny quick run of a narrow U-Net on Fashion-MNIST
# mosaics writes the segment artifacts, and metrics.json holds per-class IoU,
# mIoU and pixel accuracy in range; full (VOC) mode is refused with a fix.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8

# Exit 1: the run succeeds but there is no 2.2.4 rubric yet, so the
# self-check reports the lab as not gradable.
run=$TEST_TMP/run
expect_exit 1 "$LAB_BIN" run 2.2.4 --quick --device cpu --set data.train_subset=64 --set data.eval_subset=16 \
  --set train.epochs=1 --out "$run"
expect_match "$LAST_OUT" 'unet: base width 8, [0-9]+ parameters'
expect_match "$LAST_OUT" 'test: mIoU [0-9.]+ over [0-9]+ present classes'
for f in config.json metrics.json log.txt models/unet/model.safetensors models/unet/predictions.safetensors; do
  [ -s "$run/$f" ] || fail "the run wrote no $f"
done
"$PY" - "$run" <<'PYEOF' || fail "metrics.json or predictions.safetensors is wrong"
import json, math, os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load
d = sys.argv[1]
m = json.load(open(d + "/metrics.json"))
assert m["lab"] == "2.2.4", m
u = m["models"]["unet"]
assert 0 <= u["miou"] <= 1 and 0 <= u["pixel_accuracy"] <= 1, u
iou = u["per_class_iou"]
assert len(iou) == 11 and all(v is None or 0 <= v <= 1 for v in iou), iou
present = [v for v in iou if v is not None]
assert present and abs(sum(present) / len(present) - u["miou"]) < 1e-6, (present, u["miou"])
t, meta = st_load(d + "/models/unet/predictions.safetensors")
assert tuple(t["masks"].shape) == (16, 48, 48) and int(t["masks"].max()) <= 10, t["masks"].shape
assert t["indices"].tolist() == list(range(16)), t["indices"]
c = json.load(open(d + "/config.json"))
assert c["model"]["base_width"] == 8 and c["data"]["train_subset"] == 64, c
assert c["precision"] == "fp32", c  # what it trained in, whatever the CPU has
PYEOF

expect_exit 2 "$LAB_BIN" run 2.2.4 --device cpu --out "$TEST_TMP/full"
expect_match "$LAST_ERR" 'only a quick mode'
expect_exit 2 "$LAB_BIN" run 2.2.4 --quick --set model.base_width=0 --out "$TEST_TMP/bad"
expect_match "$LAST_ERR" 'base_width'
expect_exit 2 "$LAB_BIN" run 2.2.4 --quick --precision bf16 --out "$TEST_TMP/bf16"
expect_match "$LAST_ERR" 'fp32 only'
# lab list and lab info do not promise a full mode that is refused
expect_exit 0 "$LAB_BIN" list
expect_match "$LAST_OUT" '^2\.2\.4 .* quick \(full: not in this version\)'
expect_exit 0 "$LAB_BIN" info 2.2.4
expect_match "$LAST_OUT" 'quick mode only'
echo ok
