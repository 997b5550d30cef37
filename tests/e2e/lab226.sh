#!/usr/bin/env bash
# Lab 2.2.6 quick mode end to end, shortened for CI (10 steps): a small SAM
# trains on Fashion-MNIST mosaics' instance masks and writes the prompt-task
# predictions; exit 1 because 2.2.6 has no rubric yet (not gradable).
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8
run=$TEST_TMP/run
expect_exit 1 "$LAB_BIN" run 2.2.6 --quick --device cpu --set data.train_subset=64 --set data.eval_subset=8 \
  --set train.steps=4 --set train.log_every=2 --out "$run"
expect_match "$LAST_OUT" 'held-out: mIoU box [0-9.]+, point [0-9.]+ over [0-9]+ instances'
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
assert len(s["curve"]) == 2 and s["curve"][-1]["loss"] > 0, s["curve"]
t, meta = st_load(d + "/models/sam/predictions.safetensors")
assert meta["format"] == "lab-prompt-masks-v1", meta
P = t["masks"].shape[0]
assert P == 2 * s["instances"] and tuple(t["masks"].shape[1:]) == (64, 64), t["masks"].shape
assert int(t["masks"].max()) <= 1 and tuple(t["prompts"].shape) == (P, 4), t["prompts"].shape
assert t["image_index"].shape[0] == P and t["indices"].tolist() == list(range(8))
PYEOF
expect_exit 2 "$LAB_BIN" run 2.2.6 --device cpu --out "$TEST_TMP/full"
expect_match "$LAST_ERR" 'only a quick mode'
expect_exit 2 "$LAB_BIN" run 2.2.6 --quick --set sam.patch=7 --out "$TEST_TMP/bad"
expect_match "$LAST_ERR" 'patch'
echo ok
