#!/usr/bin/env bash
# Lab 2.2.6's full mode against a served checkpoint: nginx on 127.0.0.1
# serves the tiny parity SAM saved in the official format (torch.save of a
# state dict, tests/ref/sam_pth.py; random weights, vit_b's decoder). Without
# the checkpoint the run names `lab fetch sam-vit-b` and TS-SAM-CHECKPOINT;
# `lab fetch sam-vit-b` through a mirror refuses the stand-in (its md5 does
# not start with 01ec64, the prefix Meta names the file by), so the test
# downloads it with `lab fetch --url --sha256` into the cache path the
# manifest names. The run: the notebook's placeholder, the prompt study, the
# automatic masks (4 points a side, no crops: the course's 32 + 4 crops take
# minutes with this encoder on 2 CPUs), the benchmark table (2 runs), the
# prompt-task artifacts; its grading (13 points in the full mode) and a
# doctored metrics.json that honesty.miou catches. Then a vit_b-size random
# checkpoint (tests/ref/sam_pth.py --random, the TSV's 314 keys and shapes)
# loads strictly and encodes: one benchmark run, no automatic masks (35 s on
# the 2-CPU dev machine, 750 MB in TEST_TMP; LAB_TEST_SAM_VIT_B=0 skips it).
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
ref="$LAB_SRC/../shared/reference"
[ -r "$ref/2.2.6-sam_tiny.parity.safetensors" ] || skip "the 2.2.6 parity vectors are not in this checkout"
source "$LAB_SRC/tests/e2e/fetch_nginx.bash"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY LAB_OFFLINE LAB_MIRROR
export LAB_FETCH_BACKOFF_MS=10 LAB_FETCH_RETRIES=1 NO_COLOR=1 LC_ALL=C.UTF-8
mkdir -p "$WWW/mirror/sam-vit-b"
"$PY" "$LAB_SRC/tests/ref/sam_pth.py" "$WWW" "$ref"
cp "$WWW/sam_tiny.pth" "$WWW/mirror/sam-vit-b/sam_vit_b_01ec64.pth"
SHA=$(sha256sum "$WWW/sam_tiny.pth" | cut -d' ' -f1)
start_nginx
FAST=(--device cpu --set bench.runs=2 --set auto.crop_n_layers=0 --set auto.points_per_side=4)

# 1. No checkpoint: the notebook's FileNotFoundError, with the fetch command.
expect_exit 3 "$LAB_BIN" run 2.2.6 "${FAST[@]}" --out "$TEST_TMP/none"
expect_match "$LAST_ERR" 'sam_vit_b_01ec64.pth is not in the cache'
expect_match "$LAST_ERR" 'lab fetch sam-vit-b'
expect_match "$LAST_ERR" 'TS-SAM-CHECKPOINT'
[ ! -e "$TEST_TMP/none/metrics.json" ] || fail "the failed run wrote metrics.json"

# 2. The manifest's md5 prefix refuses a file that is not Meta's.
expect_exit 3 env LAB_MIRROR="$BASE/mirror" "$LAB_BIN" fetch sam-vit-b
expect_match "$LAST_OUT$LAST_ERR" 'md5'

# 3. The stand-in into the manifest's cache path, through lab fetch.
dest=$LAB_CACHE/weights/sam-vit-b/sam_vit_b_01ec64.pth
expect_exit 0 "$LAB_BIN" fetch --url "$BASE/sam_tiny.pth" --sha256 "$SHA" -o "$dest"
cmp -s "$dest" "$WWW/sam_tiny.pth" || fail "the fetched checkpoint differs from the served one"

# 4. The full mode.
run=$TEST_TMP/run
expect_exit 0 "$LAB_BIN" run 2.2.6 "${FAST[@]}" --out "$run"
out=$LAST_OUT
expect_match "$out" "notebook's placeholder \(800x600"
expect_match "$out" '^  point: mask 0 score -?[0-9.]+ area [0-9]+ px; mask 1 .* mask 2 '
expect_match "$out" '^  box: mask 0 score'
expect_match "$out" '^  combination: mask 0 score'
expect_match "$out" 'image 0: generated [0-9]+ masks in'
expect_match "$out" 'SAM BENCHMARK RESULTS ON CPU$'
expect_match "$out" '^Image size: \(600, 800, 3\)$'
expect_match "$out" '^Model: SAM vit_b$'
expect_match "$out" '^Operation {22}Mean \(ms\) {7}Std \(ms\)$'
for op in encode_time point_inference box_inference; do
  expect_match "$out" "^$op +[0-9]+\.[0-9] +[0-9]+\.[0-9]$"
done
expect_match "$out" 'Key insight: After encoding \([0-9]+ms\),'
expect_match "$out" 'self-check: all [0-9]+ of the grader.s checks passed'
for f in metrics.json models/vit_b/predictions.safetensors models/vit_b/predictions.json models/vit_b/model.safetensors \
  plots/prompts.png plots/auto-masks.png plots/benchmark.png auto/image0.json auto/image0.png; do
  [ -s "$run/$f" ] || fail "the run wrote no $f"
done
"$PY" - "$run" "$out" <<'PYEOF' || fail "the full mode's artifacts are wrong"
import json, os, re, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load
import numpy as np
run, out = sys.argv[1], sys.argv[2]
t, _ = st_load(run + "/models/vit_b/predictions.safetensors")
t = {k: v.numpy() for k, v in t.items()}
m = t["masks"]
assert m.shape == (5, 600, 800) and m.dtype == np.uint8 and m.max() <= 1, (m.shape, m.dtype)
w, h = 800, 600  # the notebook's prompts, from its cells
want = [[w // 2, h // 2, 1, 0]] * 3 + [[w // 4, h // 4, 3 * w // 4, 3 * h // 4], [w // 2, h // 2, 1, 0]]
assert np.allclose(t["prompts"], want), t["prompts"]
assert list(t["prompt_kind"]) == [1, 1, 1, 0, 2] and list(t["image_index"]) == [0] * 5
met = json.load(open(run + "/metrics.json"))
mm = met["models"]["vit_b"]
iou = t["iou_predictions"]
assert abs(mm["pred_iou_point"] - iou[:3].mean()) < 1e-5 and abs(mm["pred_iou_box"] - iou[3]) < 1e-5, (mm, iou)
assert abs(mm["pred_iou_combination"] - iou[4]) < 1e-5
b = mm["bench"]
assert b["runs"] == 2 and b["warmup"] == 1 and b["peak_rss_mb"] > 0, b
for k in ("encode", "point", "box"):
    row = {"encode": "encode_time", "point": "point_inference", "box": "box_inference"}[k]
    got = re.search(r"^%s +([0-9.]+) +([0-9.]+)$" % row, out, re.M)
    assert abs(float(got.group(1)) - b[k + "_ms"]) <= 0.051 and abs(float(got.group(2)) - b[k + "_std_ms"]) <= 0.051
assert mm["auto"]["images"][0]["masks"] == json.load(open(run + "/auto/image0.json"))["n_masks"]
p = json.load(open(run + "/models/vit_b/predictions.json"))["images"][0]["prompts"]
assert [q["kind"] for q in p] == ["point", "box", "combination"]
assert p[2]["points"] == [[400, 300, 1], [50, 50, 0], [750, 550, 0]], p[2]
# each mask's area in predictions.json is the submitted mask's
areas = [a for q in p for a in q["areas"]]
assert areas == [int(x.sum()) for x in m], (areas,)
from PIL import Image
im = np.asarray(Image.open(run + "/auto/image0.png").convert("RGB"))
assert im.shape == (600, 800, 3)
PYEOF
# the placeholder as the notebook draws it (numpy + its shapes), under the masks' overlay: rows without masks are it
"$PY" - "$run" <<'PYEOF' || fail "the placeholder is not the notebook's"
import json, sys
import numpy as np
from PIL import Image
run = sys.argv[1]
h, w = 600, 800
ph = np.zeros((h, w, 3), dtype=np.uint8)
for i in range(h):
    ph[i, :, 0] = int(255 * i / h)
    ph[i, :, 2] = int(255 * (1 - i / h))
ph[:, :, 1] = 128
ph[100:301, 100:301] = 255
yy, xx = np.mgrid[0:h, 0:w]
ph[(xx - 500) ** 2 + (yy - 300) ** 2 <= 100 ** 2] = (0, 255, 0)
ph[400:551, 400:701] = (255, 0, 255)
d = json.load(open(run + "/auto/image0.json"))
im = np.asarray(Image.open(run + "/auto/image0.png").convert("RGB"))
if d["n_masks"] == 0:
    assert (im == ph).all(), "auto/image0.png with no masks is not the placeholder"
else:
    assert (im[0] == ph[0]).all() or (im[-1] == ph[-1]).all()
PYEOF

# 5. Graded as a submission: the full mode's 13 points; a doctored metrics.json.
expect_exit 0 "$LAB_BIN" submit "$run" --student s1 --out "$TEST_TMP/sub.tar.gz"
expect_exit 0 "$LAB_BIN" grade "$TEST_TMP/sub.tar.gz"
expect_match "$LAST_OUT" 'score 13/13'
expect_match "$LAST_OUT" 'predictions.prompts +2/2'
expect_match "$LAST_OUT" 'masks.nonempty +- .*no ground truth'
"$PY" - "$run/metrics.json" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["models"]["vit_b"]["pred_iou_box"] += 0.2
json.dump(m, open(sys.argv[1], "w"))
PYEOF
expect_exit 0 "$LAB_BIN" submit "$run" --student s1 --out "$TEST_TMP/bad.tar.gz"
rc=0; "$LAB_BIN" grade "$TEST_TMP/bad.tar.gz" >"$TEST_TMP/bad.out" 2>&1 || rc=$?
expect_match "$(cat "$TEST_TMP/bad.out")" 'honesty.miou +0/3 .*pred_iou_box'
expect_match "$(cat "$TEST_TMP/bad.out")" 'score 10/13'

# 6. A vit_b-size checkpoint loads strictly and encodes.
if [ "${LAB_TEST_SAM_VIT_B:-1}" = 1 ]; then
  "$PY" "$LAB_SRC/tests/ref/sam_pth.py" --random "$dest" "$ref"
  expect_exit 0 "$LAB_BIN" run 2.2.6 --device cpu --set bench.runs=1 --set auto.enabled=false --out "$TEST_TMP/vitb"
  expect_match "$LAST_OUT" 'model: SAM vit_b from .*, 93735472 parameters'
  expect_match "$LAST_OUT" '^encode_time +[0-9.]+ +0.0$'
  expect_match "$LAST_OUT" 'self-check: all [0-9]+ of the grader.s checks passed'
fi
echo "ok"
