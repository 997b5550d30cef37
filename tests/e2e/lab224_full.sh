#!/usr/bin/env bash
# Lab 2.2.4's full mode without the 2 GB download: a VOC 2012 layout written
# here from Fashion-MNIST mosaics (tests/e2e/voc_mosaics.py: JPEG images of
# varying sizes, palette PNG masks with 255 borders, the train/val lists) is
# tarred as VOCtrainval_11-May-2012.tar and served by nginx as a course
# mirror; a stand-in manifest (LAB_TEST_MANIFEST_DIR) records its size and
# md5, so `lab fetch voc2012` runs the real download, verify and unpack
# path. Offline, the fetch and the run each say what is missing and how to
# get it. A shortened full run (a narrow U-Net, two batches, the course's
# 256x256) writes every artifact; its mIoU is recomputed here from the masks
# against the PNGs resized with PIL's nearest rule, and the grader
# recomputes it from its own copy of the val split and re-runs the weights.
set -euo pipefail
source tests/e2e/lib.bash
PY=/usr/bin/python3
[ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
"$PY" -c 'import torchvision.io' 2>/dev/null || skip "Debian's python3-torchvision is not installed"
source tests/e2e/fetch_nginx.bash
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
unset LAB_OFFLINE HF_HUB_OFFLINE TRANSFORMERS_OFFLINE LAB_MIRROR
export LAB_FETCH_BACKOFF_MS=10 LAB_FETCH_RETRIES=1 NO_COLOR=1 LC_ALL=C.UTF-8
TAR=VOCtrainval_11-May-2012.tar
NVAL=6

"$PY" tests/e2e/voc_mosaics.py "$TEST_TMP/voc" 24 $NVAL
mkdir -p "$WWW/mirror/voc2012" "$TEST_TMP/manifests"
tar -cf "$WWW/mirror/voc2012/$TAR" -C "$TEST_TMP/voc" VOCdevkit
MD5=$(md5sum "$WWW/mirror/voc2012/$TAR" | cut -d' ' -f1)
SIZE=$(stat -c %s "$WWW/mirror/voc2012/$TAR")
# the real entry with this tar's size and md5, and no URL but the mirror
"$PY" - "$LAB_SRC/datasets/voc2012.json" "$TEST_TMP/manifests/voc2012.json" "$SIZE" "$MD5" <<'PYEOF'
import json, sys
e = json.load(open(sys.argv[1]))
f = e["files"][0]
f.update(size=int(sys.argv[3]), size_approx=False, urls=[], checks=[{"algo": "md5", "hex": sys.argv[4], "source": "test"}])
json.dump(e, open(sys.argv[2], "w"))
PYEOF
export LAB_TEST_MANIFEST_DIR=$TEST_TMP/manifests
start_nginx

# 1. Offline with nothing cached: the fetch and the run name what is missing and how to get it.
LAB_OFFLINE=1 expect_exit 3 "$LAB_BIN" fetch voc2012
expect_match "$LAST_ERR" "offline: $TAR of voc2012 .* is not in the cache"
expect_match "$LAST_ERR" 'TS-OFFLINE'
LAB_OFFLINE=1 expect_exit 3 "$LAB_BIN" run 2.2.4 --device cpu --out "$TEST_TMP/run-off"
expect_match "$LAST_ERR" 'lab fetch voc2012'
[ ! -e "$TEST_TMP/run-off/metrics.json" ] || fail "the run without data wrote metrics.json"

# 2. lab fetch through the mirror: downloaded, md5-verified, unpacked where the loader looks.
n0=$(log_lines)
LAB_MIRROR=$BASE/mirror expect_exit 0 "$LAB_BIN" fetch voc2012
expect_match "$LAST_OUT" "voc2012/$TAR: downloaded from $BASE/mirror/voc2012/$TAR"
[ "$(tail -n +$((n0 + 1)) "$ACCESS_LOG" | cut -d' ' -f1-3)" = "200 GET /mirror/voc2012/$TAR" ] ||
  fail "expected one download: $(tail -n +$((n0 + 1)) "$ACCESS_LOG")"
UNPACKED=$LAB_CACHE/datasets/voc2012/unpacked/VOCdevkit/VOC2012
[ "$(wc -l <"$UNPACKED/ImageSets/Segmentation/val.txt")" = $NVAL ] || fail "the val list did not unpack"
expect_exit 0 "$LAB_BIN" datasets
expect_match "$LAST_OUT" '^voc2012 .*verified'

# 3. A shortened full run: the course's data path and input size, a narrow
# U-Net, three batches of four (lr 0.01, so that more than one class is
# predicted); every artifact; the whole val split evaluated.
SHORT=(--device cpu --set model.base_width=4 --set train.batch_size=4 --set train.max_batches=3 --set train.epochs=1
       --set train.lr=0.01)
run=$TEST_TMP/run
rc=0
"$LAB_BIN" run 2.2.4 "${SHORT[@]}" --out "$run" >"$TEST_TMP/run.out" 2>&1 || rc=$?
out=$(cat "$TEST_TMP/run.out")
# exit 1: three batches stay below the full target (results.miou), nothing else
[ "$rc" = 1 ] || fail "the full run exited $rc: $out"
expect_match "$out" "data voc2012: 24 train, $NVAL val images resized to 256x256"
expect_match "$out" 'at most 3 batch\(es\) an epoch'
[ "$(grep -c '\[FAIL\]' <<<"$out")" = 1 ] && expect_match "$out" '\[FAIL\] results.miou' ||
  fail "only results.miou should fail the self-check: $out"
for f in config.json metrics.json log.txt models/unet/model.safetensors models/unet/predictions.safetensors \
  plots/loss.png plots/miou.png plots/per-class-iou.png plots/validation.png; do
  [ -s "$run/$f" ] || fail "the run wrote no $f"
done
"$PY" - "$run" "$TEST_TMP/voc/masks.json" <<'PYEOF' || fail "the full run's artifacts are wrong"
import json, math, os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load
run, truth = sys.argv[1:3]
m = json.load(open(run + "/metrics.json"))
assert m["lab"] == "2.2.4" and m["dataset"] == "voc2012", m
u = m["models"]["unet"]
assert u["class_names"][:3] == ["background", "aeroplane", "bicycle"] and u["class_names"][20] == "tvmonitor", u
assert len(u["class_names"]) == 21 and len(u["per_class_iou"]) == 21, u
assert u["train_images"] == 24 and u["test_images"] == 6 and u["augment"] == "none", u
t, meta = st_load(run + "/models/unet/predictions.safetensors")
assert meta["eval_set"] == "voc2012/val", meta
masks = t["masks"]
n = masks.shape[0]
assert tuple(masks.shape) == (n, 256, 256) and n == 6 and int(masks.max()) <= 20, masks.shape
assert t["indices"].tolist() == list(range(n))
# The val masks as the course resizes them (PIL NEAREST: source floor((i + 0.5) * in / out)),
# 255 ignored, IoU pooled over the split, mIoU over the classes present in either.
inter, union = [0] * 21, [0] * 21
S = 256
for k, v in enumerate(json.load(open(truth))["val"]):
    w, h, ids = v["w"], v["h"], v["ids"]
    cols = [min(w - 1, int((x + 0.5) * w / S)) for x in range(S)]
    for y in range(S):
        sy = min(h - 1, int((y + 0.5) * h / S))
        row = masks[k, y].tolist()
        for x in range(S):
            g = ids[sy * w + cols[x]]
            if g == 255:
                continue
            p = row[x]
            if p == g:
                inter[g] += 1
                union[g] += 1
            else:
                union[g] += 1
                union[p] += 1
iou = [inter[c] / union[c] if union[c] else None for c in range(21)]
present = [x for x in iou if x is not None]
miou = sum(present) / len(present)
assert abs(miou - u["miou"]) < 1e-6, (miou, u["miou"])
assert all((a is None) == (b is None) and (a is None or abs(a - b) < 1e-6) for a, b in zip(iou, u["per_class_iou"])), \
    (iou, u["per_class_iou"])
c = json.load(open(run + "/config.json"))
assert c["data"]["input_size"] == [3, 256, 256] and c["data"]["canvas"] == 256, c["data"]
PYEOF

# 4. Grading recomputes mIoU from the grader's own val split, and --reeval
# re-runs the weights on the val images resized and normalized as the lab does.
cd "$TEST_TMP"
expect_exit 0 "$LAB_BIN" submit "$run" --student vera
expect_exit 1 "$LAB_BIN" grade vera-2.2.4.tar.gz --reeval --device cpu --format json --out vera.json
"$PY" - vera.json <<'PYEOF' || fail "the full-mode report is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
bad = [(c["id"], c["status"]) for c in r["checks"] if c["status"] not in ("pass", "skipped")]
assert bad == [("results.miou", "fail")], bad
by = {c["id"]: c for c in r["checks"]}
for k in ("shape.masks", "masks.range", "predictions.coverage", "honesty.miou", "reeval.load", "reeval.masks",
          "reeval.batch"):
    assert by[k]["status"] == "pass", (k, by[k])
assert "VOC" in by["honesty.miou"]["message"] or "voc2012" in by["honesty.miou"]["message"], by["honesty.miou"]
assert "0.30" in by["results.miou"]["message"], by["results.miou"]
PYEOF

# 4b. The val ground truth itself submitted as the predictions (computed
# here from the PNGs with PIL's nearest rule, 255 as background), with its
# honest mIoU 1: the grader's own val masks agree pixel for pixel
# (honesty.miou recomputes exactly 1), and only the weights give it away.
mkdir -p base && tar xzf vera-2.2.4.tar.gz -C base
"$PY" - base "$TEST_TMP/voc/masks.json" <<'PYEOF'
import json, os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load, st_save, edit_json, write_manifest
import torch
d, truth = sys.argv[1:3]
pred = d + "/models/unet/predictions.safetensors"
t, meta = st_load(pred)
S = 256
for k, v in enumerate(json.load(open(truth))["val"]):
    w, h, ids = v["w"], v["h"], v["ids"]
    rows = [min(h - 1, int((y + 0.5) * h / S)) for y in range(S)]
    cols = [min(w - 1, int((x + 0.5) * w / S)) for x in range(S)]
    m = torch.tensor([[ids[r * w + c] for c in cols] for r in rows], dtype=torch.uint8)
    m[m == 255] = 0
    t["masks"][k] = m
st_save(pred, t, meta)
edit_json(d + "/metrics.json", lambda m: m["models"]["unet"].update(miou=1.0))
write_manifest(d)
PYEOF
expect_exit 1 "$LAB_BIN" grade base --reeval --device cpu --format json --out truth.json
"$PY" - truth.json <<'PYEOF' || fail "the submitted ground truth was not caught, or the grader's val masks differ"
import json, sys
by = {c["id"]: c for c in json.load(open(sys.argv[1]))["checks"]}
assert by["honesty.miou"]["status"] == "pass" and "mIoU 1.0000" in by["honesty.miou"]["message"], by["honesty.miou"]
assert by["results.miou"]["status"] == "pass", by["results.miou"]
assert by["reeval.masks"]["status"] == "fail" and by["reeval.masks"]["kb"] == "TS-REEVAL-MISMATCH", by["reeval.masks"]
PYEOF

# 5. A grader without the val split says so instead of trusting the claim.
LAB_CACHE=$TEST_TMP/empty-cache LAB_OFFLINE=1 expect_exit 1 "$LAB_BIN" grade vera-2.2.4.tar.gz --format json \
  --out vera-nodata.json
"$PY" - vera-nodata.json <<'PYEOF' || fail "grading without the val split trusted the submission"
import json, sys
by = {c["id"]: c for c in json.load(open(sys.argv[1]))["checks"]}
h = by["honesty.miou"]
assert h["status"] in ("error", "fail") and "lab fetch voc2012" in h["message"], h
PYEOF

# 5b. --data naming a VOC2012 directory stands in for the grader's cache.
LAB_CACHE=$TEST_TMP/empty-cache LAB_OFFLINE=1 expect_exit 1 "$LAB_BIN" grade vera-2.2.4.tar.gz --format json \
  --data "$UNPACKED" --out vera-datadir.json
"$PY" - vera-datadir.json <<'PYEOF' || fail "grade --data did not read the VOC val split there"
import json, sys
by = {c["id"]: c for c in json.load(open(sys.argv[1]))["checks"]}
assert by["honesty.miou"]["status"] == "pass" and "voc2012/val" in by["honesty.miou"]["message"], by["honesty.miou"]
PYEOF

# 6. Joint augmentation and the notebook's border remap in full mode: the
# same sizes, each another first loss.
expect_exit 1 "$LAB_BIN" run 2.2.4 "${SHORT[@]}" --set data.augment=joint --out "$TEST_TMP/run-joint"
expect_match "$LAST_OUT" 'augmentation: joint'
expect_exit 1 "$LAB_BIN" run 2.2.4 "${SHORT[@]}" --set data.border=background --out "$TEST_TMP/run-bg"
expect_match "$LAST_OUT" 'training borders as background'
"$PY" - "$run" "$TEST_TMP/run-joint" "$TEST_TMP/run-bg" <<'PYEOF' || fail "data.augment=joint or data.border=background did not change the training"
import json, sys
a, b, c = (json.load(open(d + "/metrics.json"))["models"]["unet"] for d in sys.argv[1:4])
first = lambda m: m["epochs"][0]["train_loss"]
assert b["augment"] == "joint" and abs(first(a) - first(b)) > 1e-6, (a, b)
assert abs(first(a) - first(c)) > 1e-6, (a, c)
PYEOF
expect_exit 2 "$LAB_BIN" run 2.2.4 --device cpu --set data.augment=mixup --out "$TEST_TMP/bad-aug"
expect_match "$LAST_ERR" 'data.augment: none .* or joint'
echo ok
