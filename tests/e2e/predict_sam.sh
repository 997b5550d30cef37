#!/usr/bin/env bash
# lab predict 2.2.6 on a PNG with the tiny parity model saved as an official
# .pth (torch.save of a state dict): points, a box, three masks, the cutout;
# the masks are the image's size; a second run reads the cached embedding;
# bad prompts name the problem; --grow and --refine as the solution's tools. (--auto encodes 5 crops: too slow for CI;
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
echo "ok"
