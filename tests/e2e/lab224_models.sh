#!/usr/bin/env bash
# Lab 2.2.4's exercise and challenge models as --model choices: a short
# quick run of the attention U-Net (one epoch of 2 batches) writes its
# artifacts under models/attention-unet/; graded with --reeval, its weights
# load into lab's attention-unet by name and its checks run, but only the
# rubric's unet earns points: with unet beside it the score stays within
# the lab's maximum, and renamed to a name the lab does not have it earns
# nothing. Bad choices are refused with the list.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8

att=$TEST_TMP/att
expect_exit 1 "$LAB_BIN" run 2.2.4 --quick --device cpu --model attention-unet --set train.epochs=1 \
  --set train.max_batches=2 --out "$att"
expect_match "$LAST_OUT" 'attention-unet: base width 8, [0-9]+ parameters'
for f in models/attention-unet/model.safetensors models/attention-unet/predictions.safetensors; do
  [ -s "$att/$f" ] || fail "the run wrote no $f"
done
[ ! -e "$att/models/unet" ] || fail "an attention-unet run wrote models/unet"
expect_exit 1 "$LAB_BIN" run 2.2.4 --quick --device cpu --set data.train_subset=300 --set train.epochs=1 \
  --out "$TEST_TMP/unet"

cd "$TEST_TMP"
expect_exit 0 "$LAB_BIN" submit "$att" --student ada
expect_exit 0 "$LAB_BIN" submit "$TEST_TMP/unet" --student ada --out ada-unet.tar.gz
mkdir both renamed u && tar xzf ada-2.2.4.tar.gz -C both && tar xzf ada-2.2.4.tar.gz -C renamed && tar xzf ada-unet.tar.gz -C u
"$PY" - <<'PYEOF'
import json, os, shutil, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import edit_json, write_manifest
shutil.copytree("u/models/unet", "both/models/unet")
theirs = json.load(open("u/metrics.json"))["models"]["unet"]
edit_json("both/metrics.json", lambda m: m["models"].update(unet=theirs))
write_manifest("both")
os.rename("renamed/models/attention-unet", "renamed/models/attnunet")
edit_json("renamed/metrics.json", lambda m: m["models"].update(attnunet=m["models"].pop("attention-unet")))
write_manifest("renamed")
PYEOF
for v in ada-2.2.4.tar.gz both renamed; do
  expect_exit 1 "$LAB_BIN" grade "$v" --reeval --device cpu --format json --out "$v.json"
done
"$PY" - <<'PYEOF' || fail "the extra models are graded wrongly"
import json
def rows(v):
    r = json.load(open(v + ".json"))
    assert r["max_score"] == 23, (v, r["max_score"])
    return r, [c for c in r["checks"] if c["name"].startswith(("attention-unet:", "attnunet:"))]
integrity = 5  # manifest, checksums, artifacts, lab: every submission here earns them
r, att = rows("ada-2.2.4.tar.gz")
load = [c for c in att if c["id"] == "reeval.load"]
assert load and load[0]["status"] == "pass" and "lab's attention-unet" in load[0]["message"], load
assert {c["id"] for c in att if c["status"] == "pass"} >= {"shape.masks", "honesty.miou", "reeval.masks"}, att
assert all(c["points"] == 0 and c["max_points"] == 0 for c in att), att
assert r["score"] == integrity, r["score"]
r, att = rows("both")
unet = sum(c["points"] for c in r["checks"] if c["name"].startswith("unet:"))
assert unet > 0 and r["score"] == integrity + unet <= r["max_score"], (r["score"], unet)
assert all(c["points"] == 0 for c in att), att
r, att = rows("renamed")
assert [c["status"] for c in att] == ["fail"] and att[0]["points"] == 0, att
assert r["score"] == integrity, r["score"]
PYEOF

expect_exit 2 "$LAB_BIN" run 2.2.4 --quick --model attention_unet --out "$TEST_TMP/bad-name"
expect_match "$LAST_ERR" "unknown model 'attention_unet' \(did you mean attention-unet\?\)"
expect_match "$LAST_ERR" 'larger-unet, attention-unet, deeplabv3-resnet50'
expect_exit 2 "$LAB_BIN" run 2.2.4 --quick --model attention-unet --set data.canvas=40 --out "$TEST_TMP/bad-canvas"
expect_match "$LAST_ERR" 'multiple of 16'
expect_exit 2 "$LAB_BIN" run 2.2.4 --quick --set train.max_batches=-1 --out "$TEST_TMP/bad-batches"
expect_match "$LAST_ERR" 'train.max_batches'
