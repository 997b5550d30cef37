#!/usr/bin/env bash
# Lab 2.2.4 end to end, shortened for CI (the full quick mode and its target
# are in `make check-quick`): a short quick run of a narrow U-Net on
# Fashion-MNIST mosaics writes the segment artifacts, and metrics.json holds
# per-class IoU, mIoU and pixel accuracy in range; the grader recomputes
# mIoU against mosaics it renders itself and, with --reeval, re-runs the
# weights; broken submissions each fail their check with their
# troubleshooting id; the full (VOC) mode without the data names `lab fetch
# voc2012` (its run: tests/e2e/lab224_full.sh).
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8
SHORT=(--quick --device cpu --set data.train_subset=1000 --set train.epochs=2)

# Exit 1: below the quick target after 2 epochs on 1000 mosaics, so the
# self-check fails results.miou and nothing else (7 s here).
run=$TEST_TMP/run
expect_exit 1 "$LAB_BIN" run 2.2.4 "${SHORT[@]}" --out "$run"
expect_match "$LAST_OUT" 'unet: base width 8, [0-9]+ parameters'
expect_match "$LAST_OUT" 'test: mIoU [0-9.]+ over [0-9]+ present classes'
[ "$(grep -c '\[FAIL\]' <<<"$LAST_OUT")" = 1 ] && expect_match "$LAST_OUT" '\[FAIL\] results.miou' \
  || fail "only results.miou should fail on the short run: $LAST_OUT"
for f in config.json metrics.json log.txt models/unet/model.safetensors models/unet/predictions.safetensors \
  plots/loss.png plots/miou.png plots/per-class-iou.png plots/validation.png; do
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
assert tuple(t["masks"].shape) == (500, 48, 48) and int(t["masks"].max()) <= 10, t["masks"].shape
assert t["indices"].tolist() == list(range(500)), t["indices"]
c = json.load(open(d + "/config.json"))
assert c["model"]["base_width"] == 8 and c["data"]["train_subset"] == 1000, c
assert c["precision"] == "fp32", c  # what it trained in, whatever the CPU has
PYEOF
"$PY" - "$run" <<'PYEOF' || fail "the plots or the per-epoch curve are wrong"
import json, struct, sys, zlib
d = sys.argv[1]
ep = json.load(open(d + "/metrics.json"))["models"]["unet"]["epochs"]
assert len(ep) == 2 and all(0 <= e["test_miou"] <= 1 and e["train_loss"] > 0 for e in ep), ep
for name, least in (("loss", 200), ("miou", 200), ("per-class-iou", 200), ("validation", 48 * 8)):
    b = open(f"{d}/plots/{name}.png", "rb").read()
    assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR", name
    assert zlib.crc32(b[12:29]) == struct.unpack(">I", b[29:33])[0], name + ": IHDR CRC"
    w, h = struct.unpack(">II", b[16:24])
    assert w >= least and h >= 100 and b"IEND" in b[-12:], (name, w, h)
PYEOF

# Grading with re-evaluation: every check but the target passes.
cd "$TEST_TMP"
expect_exit 0 "$LAB_BIN" submit "$run" --student erin
expect_exit 1 "$LAB_BIN" grade erin-2.2.4.tar.gz --reeval --device cpu --format json --out erin.json
"$PY" - erin.json <<'PYEOF' || fail "the 2.2.4 report is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
bad = [(c["id"], c["status"]) for c in r["checks"] if c["status"] not in ("pass", "skipped")]
assert bad == [("results.miou", "fail")], bad
ids = {c["id"] for c in r["checks"] if c["status"] == "pass"}
want = {"shape.masks", "masks.range", "masks.one_class", "predictions.coverage", "masks.orientation",
        "honesty.miou", "reeval.load", "reeval.masks", "reeval.batch"}
assert want <= ids, want - ids
assert r["max_score"] == 23, r["max_score"]
PYEOF

# Another run's masks (same seed, so the same mosaics) to borrow.
expect_exit 1 "$LAB_BIN" run 2.2.4 --quick --device cpu --set data.train_subset=300 --set train.epochs=1 \
  --out "$TEST_TMP/other"
mkdir -p base && tar xzf erin-2.2.4.tar.gz -C base
broken() { # broken NAME CHECK KB [ALSO...]: a copy of the submission with one thing broken
  local name=$1 check=$2 kb=$3
  shift 3
  rm -rf "v-$name"; cp -r base "v-$name"
  "$PY" - "v-$name" "$name" "$TEST_TMP/other" <<'PYEOF'
import json, os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load, st_save, edit_json, write_manifest
d, v, other = sys.argv[1:4]
pred = d + "/models/unet/predictions.safetensors"
if v == "transposed":       # written [N, W, H]: square canvases keep the shape
    t, meta = st_load(pred)
    t["masks"] = t["masks"].transpose(1, 2).contiguous()
    st_save(pred, t, meta)
elif v == "inflated":
    edit_json(d + "/metrics.json", lambda m: m["models"]["unet"].update(miou=0.95))
elif v == "borrowed":       # masks and their honest mIoU from another run, under these weights
    t, meta = st_load(other + "/models/unet/predictions.safetensors")
    st_save(pred, t, meta)
    theirs = json.load(open(other + "/metrics.json"))["models"]["unet"]
    edit_json(d + "/metrics.json", lambda m: m["models"]["unet"].update(theirs))
elif v == "ignore-label":   # 255 leaked into the predictions
    t, meta = st_load(pred)
    t["masks"][:, 0, :] = 255
    st_save(pred, t, meta)
elif v == "half":           # half of the held-out mosaics
    t, meta = st_load(pred)
    st_save(pred, {"masks": t["masks"][:250].contiguous(), "indices": t["indices"][:250].contiguous()}, meta)
write_manifest(d)
PYEOF
  expect_exit 1 "$LAB_BIN" grade "v-$name" --reeval --device cpu --format json --out "v-$name.json"
  "$PY" - "v-$name.json" "$check" "$kb" "$@" <<'PYEOF' || fail "broken $name: see above"
import json, sys
r = json.load(open(sys.argv[1]))
bad = {c["id"]: c["kb"] for c in r["checks"] if c["status"] not in ("pass", "skipped")}
assert bad.get(sys.argv[2]) == sys.argv[3], (sys.argv[2], bad)
allowed = {sys.argv[2], "results.miou", *sys.argv[4:]}
assert set(bad) <= allowed, (bad, allowed)
PYEOF
}
broken transposed masks.orientation TS-WIDTH-HEIGHT-SWAP honesty.miou reeval.masks
broken inflated honesty.miou TS-METRICS-MISMATCH
broken borrowed reeval.masks TS-REEVAL-MISMATCH
broken ignore-label masks.range TS-DEVICE-ASSERT-LABELS honesty.miou reeval.masks
broken half predictions.coverage TS-PREDICTIONS-COVERAGE

expect_exit 3 "$LAB_BIN" run 2.2.4 --device cpu --out "$TEST_TMP/full"
expect_match "$LAST_ERR" 'voc2012 is not present'
expect_match "$LAST_ERR" 'lab fetch voc2012'
[ ! -e "$TEST_TMP/full/metrics.json" ] || fail "the full run without VOC wrote metrics.json"
expect_exit 2 "$LAB_BIN" run 2.2.4 --quick --set model.base_width=0 --out "$TEST_TMP/bad"
expect_match "$LAST_ERR" 'base_width'
# bf16 autocast (what --precision auto picks on a GPU of compute capability
# 8.0 or newer): the run records it, trains otherwise than fp32 from the same
# seed, and re-evaluation re-runs the weights in bf16 and agrees.
B16=(--quick --device cpu --set data.train_subset=200 --set train.epochs=1)
expect_exit 1 "$LAB_BIN" run 2.2.4 "${B16[@]}" --precision bf16 --out "$TEST_TMP/bf16"
expect_match "$LAST_OUT" 'precision bf16'
expect_exit 1 "$LAB_BIN" run 2.2.4 "${B16[@]}" --precision fp32 --out "$TEST_TMP/fp32"
"$PY" - "$TEST_TMP" <<'PYEOF' || fail "the bf16 run did not train in bf16"
import json, sys
d = sys.argv[1]
c = json.load(open(d + "/bf16/config.json"))
assert c["precision"] == "bf16", c["precision"]
loss = [json.load(open(f"{d}/{p}/metrics.json"))["models"]["unet"]["epochs"][0]["train_loss"] for p in ("bf16", "fp32")]
assert loss[0] != loss[1] and abs(loss[0] - loss[1]) < 0.1 * loss[1], loss
PYEOF
expect_exit 0 "$LAB_BIN" submit "$TEST_TMP/bf16" --student bea
expect_exit 1 "$LAB_BIN" grade bea-2.2.4.tar.gz --reeval --device cpu --format json --out bea.json
"$PY" - bea.json <<'PYEOF' || fail "a bf16 submission does not pass re-evaluation"
import json, sys
r = {c["id"]: c for c in json.load(open(sys.argv[1]))["checks"]}
for k in ("reeval.load", "reeval.masks", "reeval.batch", "honesty.miou"):
    assert r[k]["status"] == "pass", (k, r[k])
PYEOF
# The course's border remap, the loss variants and the joint augmentation:
# each tiny run (16 mosaics, one epoch, about 1 s) trains on its own loss or
# its own inputs, so the first epoch's losses all differ; evaluation ignores
# 255 in every one.
tiny=(--quick --device cpu --set data.train_subset=16 --set data.eval_subset=8 --set train.epochs=1)
for v in "border ignore" "border background" "loss ce" "loss dice" "loss focal" "augment joint"; do
  set -- $v
  key=train.loss; [ "$1" = border ] && key=data.border; [ "$1" = augment ] && key=data.augment
  expect_exit 1 "$LAB_BIN" run 2.2.4 "${tiny[@]}" --set "$key=$2" --out "$TEST_TMP/tiny-$1-$2"
done
expect_match "$(cat "$TEST_TMP/tiny-border-background/log.txt")" 'training borders as background'
expect_match "$(cat "$TEST_TMP/tiny-augment-joint/log.txt")" 'augmentation: joint \(per training sample one flip'
"$PY" - "$TEST_TMP" <<'PYEOF' || fail "data.border or train.loss does not change the training loss"
import json, sys
loss = {}
for v in ("border-ignore", "border-background", "loss-ce", "loss-dice", "loss-focal", "augment-joint"):
    m = json.load(open(f"{sys.argv[1]}/tiny-{v}/metrics.json"))["models"]["unet"]
    loss[v] = m["epochs"][0]["train_loss"]
vals = sorted(loss.values())
assert all(b - a > 1e-4 for a, b in zip(vals, vals[1:])), loss
# the remap adds the border pixels to CE as background: the ce_dice loss moves
assert abs(loss["border-ignore"] - loss["border-background"]) > 1e-3, loss
PYEOF
expect_exit 2 "$LAB_BIN" run 2.2.4 --quick --set data.border=zero --out "$TEST_TMP/bad-border"
expect_match "$LAST_ERR" "data.border: ignore .* or background"
expect_exit 2 "$LAB_BIN" run 2.2.4 --quick --set train.loss=lovasz --out "$TEST_TMP/bad-loss"
expect_match "$LAST_ERR" 'ce_dice .* ce, dice or focal'
expect_exit 0 "$LAB_BIN" info 2.2.4
expect_match "$LAST_OUT" 'remaps the 255 borders to 0 .*ignore_index=255 never fires'
expect_match "$LAST_OUT" 'data.border'
# lab list says what the full mode needs; lab info no longer calls the lab quick-only
expect_exit 0 "$LAB_BIN" list
expect_match "$LAST_OUT" '^2\.2\.4 .* quick, grading \(full: lab fetch voc2012\)'
expect_exit 0 "$LAB_BIN" info 2.2.4
grep -q 'quick mode only' <<<"$LAST_OUT" && fail "lab info still calls 2.2.4 quick-only: $LAST_OUT"
expect_match "$LAST_OUT" 'data.augment'
echo ok
