#!/usr/bin/env bash
# Lab 2.2.3 end to end, shortened for CI (the full quick mode and its mAP50
# target are in `make check-quick`): a few batches of YOLOv8n training on
# Fashion-MNIST mosaics write the detect artifacts; the self-check's
# honesty.map recomputes mAP against mosaics the grader renders itself and
# agrees with metrics.json, and only results.threshold (mAP50 after 3
# batches) fails; a doctored metrics.json and a wrong eval_set fail
# honesty.map with their KB ids.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8

run=$TEST_TMP/run
# exit 1: the self-check fails results.threshold, as 3 batches cannot reach the target
expect_exit 1 "$LAB_BIN" run 2.2.3 --quick --device cpu --set train.max_batches=3 --set train.batch_size=8 -v \
  --out "$run"
expect_match "$LAST_OUT" 'yolov8n .*: 3012798 parameters'
expect_match "$LAST_OUT" 'held-out test \(300 mosaics, [0-9]+ boxes, [0-9]+ detections\): Ultralytics mAP50 [0-9.]+'
expect_match "$LAST_OUT" '\[ok\] honesty.map'
expect_match "$LAST_OUT" '\[FAIL\] results.threshold .*below the target 0.50'
expect_match "$LAST_OUT" '1 of 11 .* did not pass'
for f in config.json metrics.json log.txt models/yolov8n/model.safetensors models/yolov8n/predictions.safetensors; do
  [ -s "$run/$f" ] || fail "the run wrote no $f"
done
"$PY" - "$run" <<'PYEOF' || fail "metrics.json or predictions.safetensors is wrong"
import json, os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load
d = sys.argv[1]
m = json.load(open(d + "/metrics.json"))
assert m["lab"] == "2.2.3", m
y = m["models"]["yolov8n"]
assert 0 <= y["map50"] <= 1 and 0 <= y["map50_95"] <= y["map50"] + 1e-9, y
assert y["map50"] == y["ultralytics"]["mAP50"] and 0 <= y["coco"]["AP"] <= 1, y
assert y["train_batches"] == 3 and len(y["coco"]["per_class_AP"]) == 10, y
t, meta = st_load(d + "/models/yolov8n/predictions.safetensors")
assert meta["format"] == "lab-detections-v1", meta
assert meta["eval_set"] == "fashion-mnist-mosaic:test:size=96:n=300:seed=43", meta
b = t["boxes"]
assert b.shape[1] == 4 and b.shape[0] == t["scores"].shape[0] == y["detections"], b.shape
assert t["indices"].tolist() == list(range(300)), t["indices"]
assert float(b.min()) >= 0 and float(b.max()) <= 96 and float(t["scores"].min()) >= 0.001, (b.min(), b.max())
c = json.load(open(d + "/config.json"))
assert c["detect"]["conf"] == 0.001 and c["train"]["max_batches"] == 3, c
PYEOF

# lab submit, then doctored copies: the grader's recomputation disagrees
cd "$TEST_TMP"
expect_exit 0 "$LAB_BIN" submit "$run" --student alice
mkdir -p base && tar xzf alice-2.2.3.tar.gz -C base
doctor() { # doctor NAME: a copy of the submission with one thing changed, manifest rewritten
  rm -rf "v-$1"; cp -r base "v-$1"
  "$PY" - "v-$1" "$1" <<'PYEOF'
import json, os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load, st_save, write_manifest, edit_json
d, v = sys.argv[1], sys.argv[2]
if v == "inflated":
    def f(m):
        m["models"]["yolov8n"]["coco"]["AP"] = 0.9
        m["models"]["yolov8n"]["ultralytics"]["mAP50-95"] = 0.9
    edit_json(d + "/metrics.json", f)
elif v == "other-seed":  # boxes claimed for other mosaics: the grader renders those and scores them
    p = d + "/models/yolov8n/predictions.safetensors"
    t, meta = st_load(p)
    meta["eval_set"] = meta["eval_set"].replace("n=300", "n=299")
    st_save(p, t, meta)
write_manifest(d)
PYEOF
}
doctor inflated
expect_exit 1 "$LAB_BIN" grade v-inflated
expect_match "$LAST_OUT" 'recomputed mAP from the predictions against the grader'
expect_match "$LAST_OUT" 'TS-METRICS-MISMATCH'
doctor other-seed
expect_exit 1 "$LAB_BIN" grade v-other-seed
expect_match "$LAST_OUT" 'fewer canvases than the lab evaluates'
expect_match "$LAST_OUT" 'TS-DETECT-PREDICTIONS-FORMAT'

# The full mode needs the released weights: offline and not cached, it says how to get them.
LAB_OFFLINE=1 expect_exit 3 "$LAB_BIN" run 2.2.3 --device cpu --out "$TEST_TMP/full"
expect_match "$LAST_ERR" 'lab fetch yolov8-weights'
expect_exit 2 "$LAB_BIN" run 2.2.3 --quick --set data.input_size=[3,100,100] --out "$TEST_TMP/bad"
expect_match "$LAST_ERR" 'multiple of 32'
expect_exit 0 "$LAB_BIN" list
expect_match "$LAST_OUT" '^2\.2\.3 .* quick, grading \(full: lab fetch yolov8-weights\)'
echo ok
