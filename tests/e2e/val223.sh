#!/usr/bin/env bash
# lab val 2.2.3 and training on a YOLO-format dataset, shortened for CI.
# A quick run's held-out mosaics, written as a YOLO dataset (lab datasets
# --export-yolo), evaluated by `lab val` with that run's weights give the
# very figures the run reported: the PNG and label round trip, the
# letterbox and the box mapping change nothing (and neither do they at 2x
# the size, where the letterbox halves every image back). Then a class
# count mismatch and malformed datasets fail naming the file and the fix,
# writing no val.json; and `lab run 2.2.3 --set data.dataset=DIR` trains
# on mosaics written as a dataset and writes the quick run's artifacts
# (with the full configuration's model, yolov8s).
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8
cd "$TEST_TMP"

# 120 batches: the fewest after which this seed's mAP is not 0 (a 0 = 0 match would prove nothing)
expect_exit 1 "$LAB_BIN" run 2.2.3 --quick --device cpu --set train.max_batches=120 --set data.eval_subset=100 --out run
set_name=$("$PY" - run <<'PYEOF'
import os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load
print(st_load(sys.argv[1] + "/models/yolov8n/predictions.safetensors")[1]["eval_set"])
PYEOF
)
[ "$set_name" = "fashion-mnist-mosaic:test:size=96:n=100:seed=43" ] || fail "eval_set $set_name"
expect_exit 0 "$LAB_BIN" datasets --export-yolo "$set_name" --out ds
expect_match "$LAST_OUT" 'as a YOLO-format dataset: ds/data.yaml'
w=run/models/yolov8n/model.safetensors
expect_exit 0 "$LAB_BIN" val 2.2.3 --weights "$w" --data ds/data.yaml --imgsz 96 --batch 16 --device cpu --out v1
expect_match "$LAST_OUT" '^ +Class +Images +Instances +Box\(P +R +mAP50 +mAP50-95\)$'
expect_match "$LAST_OUT" '^ +all +100 +[0-9]+ '
expect_match "$LAST_OUT" '^ +Ankle boot +[0-9]+ +[0-9]+ '

# 2x: every mosaic and box doubled; imgsz 96 letterboxes each image back to the same input
"$PY" - ds ds2x <<'PYEOF'
import os, shutil, sys
from PIL import Image
src, dst = sys.argv[1], sys.argv[2]
shutil.copytree(src, dst)
for f in os.listdir(f"{dst}/images/val"):
    p = f"{dst}/images/val/{f}"
    im = Image.open(p)
    im.resize((im.width * 2, im.height * 2), Image.NEAREST).save(p)
PYEOF
expect_exit 0 "$LAB_BIN" val 2.2.3 --weights "$w" --data ds2x --imgsz 96 --device cpu --out v2

"$PY" - run/metrics.json v1/val.json v2/val.json ds <<'PYEOF' || fail "lab val disagrees with the quick run"
import glob, json, sys
m = json.load(open(sys.argv[1]))["models"]["yolov8n"]
assert m["map50"] > 0.05, m["map50"]  # a real match, not 0 = 0
truth = [l.split() for f in glob.glob(sys.argv[4] + "/labels/val/*.txt") for l in open(f) if l.strip()]
for path, scale in ((sys.argv[2], 1), (sys.argv[3], 2)):
    v = json.load(open(path))
    u, c = v["ultralytics"], v["coco"]
    for a, b in ((u["mAP50"], m["map50"]), (u["mAP50-95"], m["map50_95"]), (u["precision"], m["ultralytics"]["precision"]),
                 (u["recall"], m["ultralytics"]["recall"]), (c["AP"], m["coco"]["AP"]), (c["AP50"], m["coco"]["AP50"])):
        assert abs(a - b) <= 1e-4, (path, a, b)
    for k in ("per_class_AP50", "per_class_AP50-95"):
        for a, b in zip(u[k], m["ultralytics"][k]):
            assert (a is None and b is None) or abs(a - b) <= 1e-4, (path, k, a, b)
    assert v["detections"] == m["detections"], (path, v["detections"], m["detections"])
    assert v["data"]["images"] == 100 and v["data"]["instances"] == len(truth), v["data"]
    assert v["weights"]["classes"] == 10 and len(v["weights"]["sha256"]) == 64 and len(v["data"]["sha256"]) == 64
    assert v["settings"]["imgsz"] == 96 and v["settings"]["conf"] == 0.001 and v["settings"]["iou"] == 0.7, v["settings"]
    rows = v["per_class"]
    assert sum(r["instances"] for r in rows) == len(truth) and rows[0]["name"] == "T-shirt/top", rows[0]
    assert all(abs(r["mAP50"] - u["per_class_AP50"][r["class"]]) <= 1e-12 for r in rows)
v1, v2 = (json.load(open(p)) for p in sys.argv[2:4])
assert v1["data"]["sha256"] != v2["data"]["sha256"]  # other images, another digest
PYEOF

# a class count mismatch, and malformed datasets: an error naming the file and the fix, no val.json
eleven() { # eleven SRC DST: a copy of SRC whose data.yaml names an 11th class
  cp -r "$1" "$2"
  "$PY" - "$2/data.yaml" <<'PYEOF'
import sys
p = sys.argv[1]
open(p, "a").write("  10: 'Hat'\n")
t = open(p).read().replace("nc: 10", "nc: 11")
open(p, "w").write(t)
PYEOF
}
eleven ds ds11
expect_exit 2 "$LAB_BIN" val 2.2.3 --weights "$w" --data ds11 --imgsz 96 --device cpu --out bad1
expect_match "$LAST_ERR" "detect 10 classes, ds11 names 11"
[ ! -e bad1/val.json ] || fail "a refused lab val wrote val.json"
cp -r ds dsbad && echo "3 0.5 0.5 0.2" >> dsbad/labels/val/000007.txt
expect_exit 2 "$LAB_BIN" val 2.2.3 --weights "$w" --data dsbad --imgsz 96 --device cpu --out bad2
expect_match "$LAST_ERR" 'labels/val/000007.txt:[0-9]+'
expect_match "$LAST_ERR" 'class cx cy w h'
[ ! -e bad2/val.json ] || fail "lab val wrote val.json from a malformed label file"
expect_exit 2 "$LAB_BIN" val 2.2.3 --weights "$w" --data nowhere/data.yaml --out bad3
expect_match "$LAST_ERR" 'cannot read nowhere/data.yaml'
mkdir dsnoval && cp ds/data.yaml dsnoval/
expect_exit 2 "$LAB_BIN" val 2.2.3 --weights "$w" --data dsnoval --out bad4
expect_match "$LAST_ERR" 'images/val: no such image folder'
expect_exit 2 "$LAB_BIN" val 2.2.3 --weights "$w" --data ds --split test --out bad5
expect_match "$LAST_ERR" 'names no test split'
cp -r ds dsimg && echo "not a picture" > dsimg/images/val/000004.png
rc=0; "$LAB_BIN" val 2.2.3 --weights "$w" --data dsimg --imgsz 96 --device cpu --out bad6 >/dev/null 2>"$TEST_TMP/e6" || rc=$?
[ "$rc" -ne 0 ] && grep -q 'images/val/000004.png' "$TEST_TMP/e6" || fail "an unreadable image: exit $rc, $(cat "$TEST_TMP/e6")"
[ ! -e bad6/val.json ] || fail "lab val wrote val.json past an unreadable image"

# training on a YOLO-format dataset: mosaics of the train split as train, of the test split as val
expect_exit 0 "$LAB_BIN" datasets --export-yolo fashion-mnist-mosaic:train:size=96:n=48:seed=7 --split train --out own
expect_exit 0 "$LAB_BIN" datasets --export-yolo fashion-mnist-mosaic:test:size=96:n=24:seed=8 --out own
expect_exit 0 "$LAB_BIN" run 2.2.3 --device cpu --set data.dataset=own/data.yaml --set data.input_size=[3,96,96] \
  --set train.epochs=1 --set train.max_batches=3 --set train.batch_size=8 --out ownrun
expect_match "$LAST_OUT" 'data own/data.yaml: 48 training, 24 val images, 10 classes, letterboxed to 96x96; from scratch'
expect_match "$LAST_OUT" 'val \(24 images, [0-9]+ boxes, [0-9]+ detections\): Ultralytics mAP50'
expect_match "$LAST_OUT" 'self-check: all 9 of the grader'
for f in config.json metrics.json log.txt models/yolov8s/model.safetensors models/yolov8s/predictions.safetensors; do
  [ -s "ownrun/$f" ] || fail "the dataset run wrote no $f"
done
expect_exit 0 "$LAB_BIN" val 2.2.3 --weights ownrun/models/yolov8s/model.safetensors --data own --imgsz 96 --device cpu --out v3
"$PY" - ownrun v3/val.json <<'PYEOF' || fail "the dataset run's artifacts are wrong"
import json, os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load
d = sys.argv[1]
m = json.load(open(d + "/metrics.json"))
y = m["models"]["yolov8s"]
assert m["dataset"] == "own/data.yaml" and m["dataset_info"]["val_images"] == 24, m
assert y["train_batches"] == 3 and y["test_images"] == 24 and len(y["coco"]["per_class_AP"]) == 10, y
t, meta = st_load(d + "/models/yolov8s/predictions.safetensors")
v = json.load(open(sys.argv[2]))
assert meta["eval_set"] == "yolo-dataset:val:n=24:sha256=" + v["data"]["sha256"], (meta, v["data"])
assert abs(v["ultralytics"]["mAP50-95"] - y["map50_95"]) <= 1e-4 and v["detections"] == y["detections"], (v, y)
c = json.load(open(d + "/config.json"))
assert c["detect"]["conf"] == 0.001 and c["detect"]["nms_iou"] == 0.7 and c["data"]["dataset"] == "own/data.yaml", c
PYEOF
# the grader: format checks; the mAP it cannot recompute stays in max_score, as points given by hand
expect_exit 0 "$LAB_BIN" submit ownrun --student carol
expect_exit 0 "$LAB_BIN" grade carol-2.2.3.tar.gz
expect_match "$LAST_OUT" 'honesty.map +0/3 .*own dataset .*by hand'
expect_match "$LAST_OUT" 'score 14/20 '
expect_exit 0 "$LAB_BIN" grade --reeval carol-2.2.3.tar.gz
expect_match "$LAST_OUT" 'reeval.detections +0/3 .*own dataset.*by hand'
expect_match "$LAST_OUT" 'score 16/28 '
# starting weights must have the dataset's classes; --quick is the mosaics only
eleven own own11
expect_exit 2 "$LAB_BIN" run 2.2.3 --device cpu --set data.dataset=own11 --set data.input_size=[3,96,96] \
  --set train.weights="$w" --out badrun
expect_match "$LAST_ERR" 'detects 10 classes, own11 names 11'
expect_exit 2 "$LAB_BIN" run 2.2.3 --device cpu --set data.dataset=own12 --out badrun3
expect_match "$LAST_ERR" 'data.dataset own12 does not exist'
[ ! -e badrun3 ] || fail "a refused dataset run made its run directory"
expect_exit 2 "$LAB_BIN" run 2.2.3 --quick --set data.dataset=own --out badrun2
expect_match "$LAST_ERR" 'leave out --quick'
echo ok
