#!/usr/bin/env bash
# lab predict 2.2.6 on a PNG with the tiny parity model saved as an official
# .pth (torch.save of a state dict): points, a box, three masks, the cutout;
# the masks are the image's size; a second run reads the cached embedding;
# bad prompts name the problem; --grow and --refine as the solution's tools;
# several boxes and --detect (a 2.2.3 detector's boxes as prompts) against
# one-box runs and lab predict 2.2.3. (--auto encodes 5 crops: too slow for CI;
# the generator is tested in tests/unit/test_sam_predict.c.)
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
ref="$LAB_SRC/../shared/reference"
[ -r "$ref/2.2.6-sam_tiny.parity.safetensors" ] || skip "the 2.2.6 parity vectors are not in this checkout"
mkdir -p "$TEST_TMP/w"
"$PY" "$LAB_SRC/tests/ref/sam_pth.py" "$TEST_TMP/w" "$ref"
"$PY" - "$TEST_TMP/img.png" <<'PYEOF'
import sys
import torch
from torchvision.transforms.functional import to_pil_image
g = torch.Generator().manual_seed(9)
to_pil_image(torch.randint(0, 256, (3, 150, 200), dtype=torch.uint8, generator=g)).save(sys.argv[1])
PYEOF
out=$TEST_TMP/out
expect_exit 0 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
  --point 60,40 --point 120,90,0 --box 20,20,150,120 --multimask --cutout --out "$out" --device cpu
expect_match "$LAST_OUT" 'embedding computed'
"$PY" - "$out" <<'PYEOF' || fail "lab predict 2.2.6 wrote the wrong outputs"
import json, sys
from PIL import Image
d = sys.argv[1]
p = json.load(open(f"{d}/predictions.json"))
assert (p["width"], p["height"]) == (200, 150), p
assert len(p["masks"]) == 3 and p["points"][1][2] == 0 and p["box"] == [20, 20, 150, 120], p
for m in p["masks"]:
    im = Image.open(f"{d}/{m['mask']}")
    assert im.size == (200, 150) and im.mode == "L", (m, im.size, im.mode)
    assert sum(1 for v in im.getdata() if v == 255) == m["area"], m
    assert Image.open(f"{d}/{m['overlay']}").size == (200, 150)
c = Image.open(f"{d}/cutout.png")
assert c.mode == "RGBA" and c.size == (200, 150)
best = p["masks"][p["best"]]
assert sum(1 for a in c.getdata(3) if a == 255) == best["area"]
PYEOF
expect_exit 0 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
  --point 60,40 --out "$TEST_TMP/out2" --device cpu
expect_match "$LAST_OUT" 'embedding from the cache'
grep -q '"embedding_from_cache": true' "$TEST_TMP/out2/predictions.json" || fail "the second run recomputed the embedding"
# The solution's annotator tools: --grow makes the largest of the three
# masks the current one (the cutout's); --refine N rewrites every mask
# (its exact rule is checked against NumPy in test_sam_refine.c).
for v in plain:"" refined:"--refine 50"; do
  # shellcheck disable=SC2086
  expect_exit 0 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
    --point 60,40 --multimask --grow ${v#*:} --cutout --out "$TEST_TMP/out-${v%%:*}" --device cpu
done
"$PY" - "$TEST_TMP/out-refined" "$TEST_TMP/out-plain" <<'PYEOF' || fail "--grow / --refine wrote the wrong masks"
import json, sys
from PIL import Image
d, plain = sys.argv[1:3]
p = json.load(open(f"{d}/predictions.json"))
areas = [m["area"] for m in p["masks"]]
assert p["best"] == areas.index(max(areas)) and p["best_by"] == "largest" and p["refine_min_area"] == 50, p
assert json.load(open(f"{plain}/predictions.json"))["refine_min_area"] is None
c = Image.open(f"{d}/cutout.png")
assert sum(1 for a in c.getdata(3) if a == 255) == max(areas)
changed = [list(Image.open(f"{d}/{m['mask']}").getdata()) != list(Image.open(f"{plain}/{m['mask']}").getdata())
           for m in p["masks"]]
assert any(changed), "--refine changed no mask"
PYEOF
expect_exit 2 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
  --point 60,40 --grow --out "$TEST_TMP/out5" --device cpu
expect_match "$LAST_ERR" 'add --multimask'
expect_exit 2 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
  --point 60 --out "$TEST_TMP/out3" --device cpu
expect_match "$LAST_ERR" 'X,Y'
expect_exit 2 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
  --out "$TEST_TMP/out3" --device cpu
expect_match "$LAST_ERR" 'needs a prompt'
# Several boxes (the solution's BoxSelector): each box prompted on its own,
# so each box's mask is byte for byte the mask a one-box run gives it.
boxes=(20,20,150,120 60,10,190,80 5,50,100,140)
bargs=(); for b in "${boxes[@]}"; do bargs+=(--box "$b"); done
expect_exit 0 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
  "${bargs[@]}" --out "$TEST_TMP/boxes" --device cpu
expect_match "$LAST_OUT" '3 boxes, each prompted on its own'
for i in "${!boxes[@]}"; do
  expect_exit 0 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
    --box "${boxes[$i]}" --out "$TEST_TMP/box$i" --device cpu
  cmp -s "$TEST_TMP/boxes/box_${i}_mask_0.png" "$TEST_TMP/box$i/mask_0.png" ||
    fail "box $i's mask differs from a one-box run's"
  cmp -s "$TEST_TMP/boxes/box_${i}_overlay_0.png" "$TEST_TMP/box$i/overlay_0.png" ||
    fail "box $i's overlay differs from a one-box run's"
done
"$PY" - "$TEST_TMP/boxes" "${boxes[@]}" <<'PYEOF' || fail "several boxes wrote the wrong outputs"
import json, os, sys
from PIL import Image
d, boxes = sys.argv[1], [[float(v) for v in b.split(",")] for b in sys.argv[2:]]
p = json.load(open(f"{d}/predictions.json"))
assert "masks" not in p and "box" not in p and len(p["boxes"]) == len(boxes), p
assert len([f for f in os.listdir(d) if f.endswith("_mask_0.png")]) == len(boxes), os.listdir(d)
for i, e in enumerate(p["boxes"]):
    assert e["index"] == i and e["box"] == boxes[i] and len(e["masks"]) == 1, e
    assert sum(1 for v in Image.open(f"{d}/{e['mask']}").getdata() if v == 255) == e["area"], e
assert Image.open(f"{d}/{p['overlay']}").size == (200, 150)
PYEOF
expect_exit 2 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
  --point 60,40 "${bargs[@]:0:4}" --out "$TEST_TMP/out6" --device cpu
expect_match "$LAST_ERR" 'with 2 boxes: each box is prompted alone'
expect_match "$LAST_ERR" 'give the points with one --box'
[ ! -e "$TEST_TMP/out6" ] || fail "a refused call created its output folder"

# --detect (the solution's detect_and_segment): 2.2.3's detections, each box
# prompting SAM, in the detector's order. The shared random checkpoint scores
# every anchor about 1.6e-4 (all "person"); a seeded random yolov8n from
# tests/ref/yolov8.py finds buses and a motorcycle at conf 0.3.
pt="$ref/2.2.3-yolov8n-random.pt"
"$PY" "$LAB_SRC/tests/ref/yolov8.py" pt n 1 "$TEST_TMP/yolo1.pt"
# det_check SAM-OUT YOLO-JSON [CLASS]: one entry and one mask per detection
# (only CLASS's), with the detector's classes, names, confidences and boxes
det_check() {
  "$PY" - "$@" <<'PYEOF' || fail "--detect $* disagrees with lab predict 2.2.3"
import json, os, struct, sys
from PIL import Image
d, yolo = sys.argv[1], json.load(open(sys.argv[2]))["detections"]
if len(sys.argv) > 3:
    yolo = [y for y in yolo if y["name"] == sys.argv[3]]
p = json.load(open(f"{d}/predictions.json"))
dets = p["detections"]
assert len(dets) == len(yolo), (len(dets), len(yolo))
masks = [f for f in os.listdir(d) if f.startswith("det_") and f.endswith("_mask_0.png")]
assert len(masks) == len(yolo), (masks, len(yolo))
f32 = lambda v: struct.unpack("f", struct.pack("f", v))[0]  # 2.2.3 prints float32s to 9 digits
for e, y in zip(dets, yolo):
    assert (e["class"], e["name"]) == (y["class"], y["name"]), (e, y)
    assert [f32(v) for v in [e["confidence"]] + e["bbox"]] == [f32(v) for v in [y["confidence"]] + y["xyxy"]], (e, y)
    assert sum(1 for v in Image.open(f"{d}/{e['mask']}").getdata() if v == 255) == e["area"], e
    assert 0 <= e["mask_score"] and e["mask"] == f"det_{e['index']}_mask_0.png", e
PYEOF
}
expect_exit 0 "$LAB_BIN" predict 2.2.3 --weights "$pt" --source "$TEST_TMP/img.png" --conf 0.0001 --imgsz 160 \
  --out "$TEST_TMP/y0" --device cpu
expect_match "$LAST_OUT" 'img.png: 4 detections'
expect_exit 0 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
  --detect "$pt" --conf 0.0001 --imgsz 160 --out "$TEST_TMP/d0" --device cpu
expect_match "$LAST_OUT" 'Detected and segmented 4 objects'
det_check "$TEST_TMP/d0" "$TEST_TMP/y0/img.json"
for c in 0.5 0.3; do
  expect_exit 0 "$LAB_BIN" predict 2.2.3 --weights "$TEST_TMP/yolo1.pt" --source "$TEST_TMP/img.png" --conf $c \
    --out "$TEST_TMP/y$c" --device cpu
done
expect_match "$LAST_OUT" 'img.png: 4 detections'
# the course's conf 0.5 by default
expect_exit 0 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
  --detect "$TEST_TMP/yolo1.pt" --out "$TEST_TMP/d1" --device cpu
det_check "$TEST_TMP/d1" "$TEST_TMP/y0.5/img.json"
for cls in bus motorcycle; do
  expect_exit 0 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
    --detect "$TEST_TMP/yolo1.pt" --conf 0.3 --classes $cls --out "$TEST_TMP/d-$cls" --device cpu
  det_check "$TEST_TMP/d-$cls" "$TEST_TMP/y0.3/img.json" $cls
done
# a detection's mask is its box's: the same as --box with the detector's xyxy
bbox=$("$PY" -c "import json,sys; print(','.join(repr(v) for v in json.load(open(sys.argv[1]))['detections'][0]['bbox']))" \
  "$TEST_TMP/d-motorcycle/predictions.json")
expect_exit 0 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
  --box "$bbox" --out "$TEST_TMP/dbox" --device cpu
cmp -s "$TEST_TMP/d-motorcycle/det_0_mask_0.png" "$TEST_TMP/dbox/mask_0.png" || fail "a detection's mask is not its box's"
expect_exit 0 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
  --detect "$TEST_TMP/yolo1.pt" --conf 0.9 --out "$TEST_TMP/d9" --device cpu
expect_match "$LAST_ERR" 'no detections at conf 0.9'
"$PY" -c "import json,sys; p=json.load(open(sys.argv[1])); assert p['detections'] == [] and p['overlay'] is None, p" \
  "$TEST_TMP/d9/predictions.json" || fail "no detections did not write an empty list"
expect_exit 2 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
  --detect "$pt" --point 60,40 --out "$TEST_TMP/out7" --device cpu
expect_match "$LAST_ERR" '--detect does not combine with --point'
expect_exit 2 "$LAB_BIN" predict 2.2.6 --weights "$TEST_TMP/w/sam_tiny.pth" --source "$TEST_TMP/img.png" \
  --point 60,40 --conf 0.3 --out "$TEST_TMP/out8" --device cpu
expect_match "$LAST_ERR" 'add --detect'
echo "ok"
