#!/usr/bin/env bash
# lab predict 2.2.3 on a PNG and a JPEG (EXIF-rotated) with the shared
# random-init YOLOv8n checkpoint (Ultralytics' own .pt): one .json and one
# .png per image, boxes in original pixels, the thresholds honoured, bad
# arguments named.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
pt="$LAB_SRC/../shared/reference/2.2.3-yolov8n-random.pt"
[ -r "$pt" ] || skip "the shared 2.2.3 fixtures are not in this checkout"
mkdir -p "$TEST_TMP/img"
"$PY" - "$TEST_TMP/img" <<'PYEOF'
import sys
from PIL import Image
import numpy as np
rng = np.random.default_rng(4)
Image.fromarray(rng.integers(0, 256, (120, 200, 3), dtype=np.uint8), "RGB").save(f"{sys.argv[1]}/a.png")
im = Image.fromarray(rng.integers(0, 256, (90, 160, 3), dtype=np.uint8), "RGB")
exif = Image.Exif()
exif[0x0112] = 6  # displayed rotated 90 degrees clockwise: upright it is 90 wide, 160 high
im.save(f"{sys.argv[1]}/b.jpg", quality=95, exif=exif.tobytes())
PYEOF
expect_exit 0 "$LAB_BIN" predict 2.2.3 --weights "$pt" --source "$TEST_TMP/img" --out "$TEST_TMP/out" \
  --conf 0.00001 --max-det 7 --imgsz 320 --device cpu
expect_match "$LAST_OUT" 'a.png: 7 detections'
"$PY" - "$TEST_TMP/out" <<'PYEOF' || fail "lab predict 2.2.3 wrote wrong detections"
import json, sys
from PIL import Image
out = sys.argv[1]
for stem, w, h in (("a", 200, 120), ("b", 90, 160)):
    doc = json.load(open(f"{out}/{stem}.json"))
    assert (doc["width"], doc["height"]) == (w, h), doc
    dets = doc["detections"]
    assert len(dets) == 7, len(dets)
    confs = [d["confidence"] for d in dets]
    assert confs == sorted(confs, reverse=True), confs
    for d in dets:
        x1, y1, x2, y2 = d["xyxy"]
        assert 0 <= x1 <= x2 <= w and 0 <= y1 <= y2 <= h, d
        assert d["confidence"] > 0.00001 and 0 <= d["class"] < 80 and d["name"], d
    assert Image.open(f"{out}/{stem}.png").size == (w, h)
assert len(json.load(open(f"{out}/predictions.json"))["images"]) == 2
PYEOF
# the class filter (on each box's best class, as Ultralytics: with this init that is
# always person) and the default threshold (a random init scores far below 0.25)
expect_exit 0 "$LAB_BIN" predict 2.2.3 --weights "$pt" --source "$TEST_TMP/img/a.png" --out "$TEST_TMP/o2" \
  --conf 0.00001 --classes person,2 --imgsz 320 --device cpu
"$PY" -c "import json,sys; d=json.load(open(sys.argv[1]))['detections']; assert d and all(x['class'] in (0, 2) for x in d), d" \
  "$TEST_TMP/o2/a.json" || fail "--classes person,2 kept other classes"
expect_exit 0 "$LAB_BIN" predict 2.2.3 --weights "$pt" --source "$TEST_TMP/img/a.png" --out "$TEST_TMP/o3" --imgsz 320 --device cpu
expect_match "$LAST_OUT" 'a.png: 0 detections'
expect_exit 2 "$LAB_BIN" predict 2.2.3 --weights "$pt" --source "$TEST_TMP/img" --out "$TEST_TMP/o4" --classes unicorn
expect_match "$LAST_ERR" "'unicorn' is not one of the model's 80 classes"
expect_exit 2 "$LAB_BIN" predict 2.2.3 --weights "$pt" --source "$TEST_TMP/img" --out "$TEST_TMP/o5" --imgsz 100
expect_match "$LAST_ERR" 'multiple of 32'
echo ok
