#!/usr/bin/env bash
# Lab 2.2.6 quick mode end to end, shortened for CI (4 steps on 64 mosaics;
# the full quick mode and its targets are in `make check-quick`): a small SAM
# trains on Fashion-MNIST mosaics' instance masks and writes the prompt-task
# predictions over the lab's 200 held-out mosaics (the grader scores exactly
# those); its self-check grades the run (the prompt task's rubric); doctored
# submissions each fail their check with their troubleshooting id.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8
run=$TEST_TMP/run
# Exit 1: 4 steps learn no masks yet, so results.miou fails (and masks.nonempty
# with it: every mask is empty); every other check passes.
expect_exit 1 "$LAB_BIN" run 2.2.6 --quick --device cpu --set data.train_subset=64 \
  --set train.steps=4 --set train.log_every=2 --out "$run"
expect_match "$LAST_OUT" 'held-out: mIoU box [0-9.]+, point [0-9.]+ over [0-9]+ instances in 200 mosaics'
expect_match "$LAST_OUT" 'corrective clicks: 1 per step'
expect_match "$LAST_OUT" 'held-out: mIoU point \+ one corrective click [0-9.]+ over 452 instances'
expect_match "$LAST_OUT" '\[FAIL\] results.miou'
fails=$(grep -o '\[FAIL\] [a-z._]*' <<<"$LAST_OUT" | sed 's/\[FAIL\] //' | grep -vx 'results.miou' | grep -vx 'masks.nonempty' || true)
[ -z "$fails" ] || fail "only results.miou (and masks.nonempty) should fail on the short run: $fails"
for f in config.json metrics.json models/sam/model.safetensors models/sam/predictions.safetensors; do
  [ -s "$run/$f" ] || fail "the run wrote no $f"
done
"$PY" - "$run" <<'PYEOF' || fail "metrics.json or predictions.safetensors is wrong"
import json, os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load
d = sys.argv[1]
s = json.load(open(d + "/metrics.json"))["models"]["sam"]
assert 0 <= s["miou_box"] <= 1 and 0 <= s["miou_point"] <= 1 and s["steps"] == 4, s
assert 0 <= s["miou_point_corrected"] <= 1, s
assert len(s["curve"]) == 2 and s["curve"][-1]["loss"] > 0, s["curve"]
a = s["auto"]  # the automatic mask generator on the first held-out mosaics
assert a["images"] == 4 and a["instances"] >= 4 and 0 <= a["recall50"] <= 1 and a["masks"] >= 0, a
t, meta = st_load(d + "/models/sam/predictions.safetensors")
assert meta["format"] == "lab-prompt-masks-v1", meta
P = t["masks"].shape[0]
assert P == 2 * s["instances"] and tuple(t["masks"].shape[1:]) == (64, 64), t["masks"].shape
assert int(t["masks"].max()) <= 1 and tuple(t["prompts"].shape) == (P, 4), t["prompts"].shape
assert t["image_index"].shape[0] == P and t["indices"].tolist() == list(range(200))
from PIL import Image
tile = 64 * 3  # plot_image_grid draws each 64 px mosaic 3x
loss = Image.open(d + "/plots/loss.png")
auto = Image.open(d + "/plots/auto-masks.png")
assert auto.width >= 4 * tile, auto.size  # the 4 mosaics the generator ran on
grid = Image.open(d + "/plots/prompt-masks.png").convert("RGB")
assert grid.width >= 8 * tile and grid.height >= 2 * tile, grid.size  # 8 mosaics, a box and a point tile each
# the first tile (8 px margin, 40 px title): a gray mosaic with its box prompts drawn in colour
first = grid.crop((8, 40, 8 + tile, 40 + tile))
assert any(r != g or g != b for r, g, b in first.getdata()), "no prompt drawn on the first mosaic"
PYEOF

cd "$TEST_TMP"
# The quick model through lab predict: its grid, patch and window come from
# the weights' shapes (8x8, 8, 4), the low-res logits are 4x the grid.
"$PY" -c "from PIL import Image; Image.open('$run/plots/prompt-masks.png').convert('L').crop((8, 40, 200, 232)).resize((64, 64)).save('mosaic.png')"
expect_exit 0 "$LAB_BIN" predict 2.2.6 --weights "$run/models/sam/model.safetensors" --source mosaic.png --box 4,4,40,40 --out pq
"$PY" - pq <<'PYEOF' || fail "lab predict with the quick weights wrote the wrong outputs"
import os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load
t, _ = st_load(sys.argv[1] + "/outputs.safetensors")
assert tuple(t["masks"].shape[-2:]) == (64, 64) and tuple(t["low_res_masks"].shape[-2:]) == (32, 32), \
    {k: tuple(v.shape) for k, v in t.items()}
PYEOF
expect_exit 0 "$LAB_BIN" submit "$run" --student erin
expect_exit 1 "$LAB_BIN" grade erin-2.2.6.tar.gz --device cpu --format json --out erin.json
"$PY" - erin.json <<'PYEOF' || fail "the 2.2.6 report is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
bad = {c["id"] for c in r["checks"] if c["status"] not in ("pass", "skipped")}
assert "results.miou" in bad and bad <= {"results.miou", "masks.nonempty"}, bad
ids = {c["id"] for c in r["checks"] if c["status"] == "pass"}
want = {"shape.masks", "masks.binary", "predictions.prompts", "masks.orientation", "honesty.miou"}
assert want <= ids, want - ids
PYEOF

# --reeval prompts the submitted (4-bit) weights again with the lab's prompts
expect_exit 1 "$LAB_BIN" grade erin-2.2.6.tar.gz --reeval --device cpu --format json --out erin-re.json
"$PY" - erin-re.json <<'PYEOF' || fail "the 2.2.6 re-evaluation is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
st = {c["id"]: c["status"] for c in r["checks"]}
assert st.get("reeval.load") == "pass" and st.get("reeval.masks") == "pass", st
PYEOF

mkdir -p base && tar xzf erin-2.2.6.tar.gz -C base
broken() { # broken NAME CHECK KB [ALSO...]: a copy of the submission with one thing broken
  local name=$1 check=$2 kb=$3
  shift 3
  rm -rf "v-$name"; cp -r base "v-$name"
  "$PY" - "v-$name" "$name" <<'PYEOF'
import os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load, st_save, edit_json, write_manifest
import torch
d, v = sys.argv[1:3]
pred = d + "/models/sam/predictions.safetensors"
t, meta = st_load(pred)
m, pr = t["masks"], t["prompts"]
def boxfill():  # masks a model could give: each row fills its instance's box (rows: boxes, then points)
    out = torch.zeros_like(m)
    img = t["image_index"].tolist()
    r = 0
    while r < len(img):
        n = img.count(img[r]) // 2
        for j in range(n):
            x1, y1, x2, y2 = [int(round(float(c))) for c in pr[r + j]]
            out[r + j, y1:y2, x1:x2] = 1
            out[r + n + j, y1:y2, x1:x2] = 1
        r += 2 * n
    return out
if v == "inflated":
    edit_json(d + "/metrics.json", lambda j: j["models"]["sam"].update(miou_box=0.95))
elif v == "lowres":         # SAM's 256x256 low-res masks, not upsampled to the image
    t["masks"] = m[:200].repeat_interleave(4, 1).repeat_interleave(4, 2).contiguous()  # 200 rows: under the
    for k in ("iou_predictions", "prompts", "image_index"):                           # grader's read limit
        t[k] = t[k][:200].contiguous()
elif v == "logits":         # scores scaled to 0..255 instead of 0/1 masks
    t["masks"] = (boxfill() * 255).contiguous()
elif v == "transposed":     # written [P, W, H]: square canvases keep the shape
    t["masks"] = boxfill().transpose(1, 2).contiguous()
elif v == "empty":          # a positive prompt that segments nothing
    b = boxfill()
    b[::2] = 0
    t["masks"] = b.contiguous()
elif v == "prompts":        # easier prompts of the submission's choosing: boxes grown by 2 px
    p = pr.clone()
    p[:, 0:2] -= 2
    p[:, 2:4] += 2
    t["prompts"] = p.contiguous()
elif v == "fewer":          # the first 100 mosaics only
    keep = t["image_index"] < 100
    for k in ("masks", "iou_predictions", "prompts", "image_index"):
        t[k] = t[k][keep].contiguous()
st_save(pred, t, meta)
write_manifest(d)
PYEOF
  expect_exit 1 "$LAB_BIN" grade "v-$name" --device cpu --format json --out "v-$name.json"
  "$PY" - "v-$name.json" "$check" "$kb" "$@" <<'PYEOF' || fail "broken $name: see above"
import json, sys
r = json.load(open(sys.argv[1]))
bad = {c["id"]: c["kb"] for c in r["checks"] if c["status"] not in ("pass", "skipped")}
assert bad.get(sys.argv[2]) == sys.argv[3], (sys.argv[2], bad)
allowed = {sys.argv[2], "results.miou", "masks.nonempty", *sys.argv[4:]}
assert set(bad) <= allowed, (bad, allowed)
PYEOF
}
broken inflated honesty.miou TS-METRICS-MISMATCH
broken lowres shape.masks TS-SAM-LOWRES-MASKS
broken logits masks.binary TS-SAM-LOWRES-MASKS honesty.miou
broken transposed masks.orientation TS-WIDTH-HEIGHT-SWAP honesty.miou
broken empty masks.nonempty TS-SAM-EMPTY-MASKS honesty.miou
broken prompts predictions.prompts TS-SAM-PROMPTS
broken fewer predictions.prompts TS-SAM-PROMPTS

# the full mode needs the official checkpoint (tests/e2e/lab226_full.sh runs it)
expect_exit 3 "$LAB_BIN" run 2.2.6 --device cpu --out "$TEST_TMP/full"
expect_match "$LAST_ERR" 'lab fetch sam-vit-b'
expect_exit 2 "$LAB_BIN" run 2.2.6 --quick --set sam.patch=7 --out "$TEST_TMP/bad"
expect_match "$LAST_ERR" 'patch'
echo ok
