#!/usr/bin/env bash
# Lab 2.2.5 end to end, shortened for CI (the full quick mode and its target
# are in `make check-quick`): a small quick run of a 2-block ViT writes the
# classify artifacts and the attention maps; the exercise configurations
# print their sizes; the grader's ViT checks pass on the run, re-evaluation
# rebuilds the configured architecture, and broken submissions each fail
# their check with their troubleshooting id.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8
SMALL=(--quick --device cpu --epochs 1 --set train.warmup_epochs=0 --set data.train_subset=512 --set model.depth=2)

# The run: below the quick target on this little data, so only results.threshold
# fails; -v lists every self-check, passing ones too.
run=$TEST_TMP/run
expect_exit 1 "$LAB_BIN" run 2.2.5 "${SMALL[@]}" --out "$run" -v
for id in norm.config norm.inputs shape.logits honesty.accuracy vit.patches vit.attention; do
  expect_match "$LAST_OUT" "\[ok\] $id "
done
[ "$(grep -c '\[FAIL\]' <<<"$LAST_OUT")" = 1 ] && expect_match "$LAST_OUT" '\[FAIL\] results.threshold' \
  || fail "only results.threshold should fail on a 512-image run: $LAST_OUT"
expect_match "$LAST_OUT" 'vit: [0-9]+ parameters; patch 4 -> 64 patches, 65 tokens'
for f in config.json metrics.json inputs.safetensors attention.safetensors models/vit/model.safetensors \
         models/vit/predictions.safetensors plots/vit-confusion.png plots/vit-attention-heads.png \
         plots/vit-cls-attention.png plots/vit-pos-embed.png; do
  [ -s "$run/$f" ] || fail "the run wrote no $f"
done
"$PY" - "$run" <<'PYEOF' || fail "attention.safetensors or metrics.json is wrong"
import json, os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load
d = sys.argv[1]
t, meta = st_load(d + "/attention.safetensors")
a = t["attention"]
assert a.shape[0] == 16 and a.shape[1] == 8 and a.shape[2] == a.shape[3] == 65, a.shape
assert (a.sum(-1) - 1).abs().max() < 1e-4 and (a >= 0).all()
assert t["indices"].tolist() == list(range(16)), t["indices"]
m = json.load(open(d + "/metrics.json"))["models"]["vit"]
assert m["num_patches"] == 64 and 0 <= m["top5_accuracy"] <= 1 and m["top5_accuracy"] >= m["test_accuracy"], m
assert len(m["per_class_accuracy"]) == 10 and sum(map(sum, m["confusion"])) == 2000, m
PYEOF

# The exercise configurations: their sizes, without training (so below chance's bar).
expect_exit 1 "$LAB_BIN" run 2.2.5 "${SMALL[@]}" --epochs 0 --set model.patch_size=8 --set model.depth=4 \
  --out "$TEST_TMP/p8" --set data.eval_subset=16
expect_match "$LAST_OUT" 'patch 8 -> 16 patches, 17 tokens of width 256, depth 4'
expect_exit 2 "$LAB_BIN" run 2.2.5 --quick --set model.patch_size=5 --out "$TEST_TMP/bad"
expect_match "$LAST_ERR" 'patch'
expect_exit 2 "$LAB_BIN" run 2.2.5 --quick --model vit-large --out "$TEST_TMP/bad2"
expect_match "$LAST_ERR" "unknown model 'vit-large'"

# Grading: re-evaluation builds the run's own architecture (2 blocks).
cd "$TEST_TMP"
expect_exit 0 "$LAB_BIN" submit "$run" --student carol
expect_exit 1 "$LAB_BIN" grade carol-2.2.5.tar.gz --reeval --device cpu --format json --out full.json
"$PY" - full.json <<'PYEOF' || fail "the 2.2.5 report is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
bad = [(c["id"], c["status"]) for c in r["checks"] if c["status"] not in ("pass", "skipped")]
assert bad == [("results.threshold", "fail")], bad
ids = {c["id"] for c in r["checks"] if c["status"] == "pass"}
assert {"reeval.load", "reeval.logits", "vit.patches", "vit.attention", "vit.cls"} <= ids, ids
cls = next(c for c in r["checks"] if c["id"] == "vit.cls")
assert "are the CLS token's" in cls["message"], cls
PYEOF

# Broken submissions, each failing its check with its entry.
mkdir -p base && tar xzf carol-2.2.5.tar.gz -C base
broken() { # broken NAME CHECK KB: a copy of the submission with one thing broken
  rm -rf "v-$1"; cp -r base "v-$1"
  "$PY" - "v-$1" "$1" <<'PYEOF'
import os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load, st_save, edit_json, write_manifest
d, v = sys.argv[1], sys.argv[2]
model = d + "/models/vit/model.safetensors"
if v == "wrong-patch":      # weights of patch 4 under a config that says 8
    edit_json(d + "/config.json", lambda c: c["model"].update(patch_size=8))
elif v == "no-cls-row":     # a positional embedding without the CLS row
    t, meta = st_load(model)
    t["pos_embed"] = t["pos_embed"][:, 1:].contiguous()
    st_save(model, t, meta)
elif v == "scores":         # attention scores saved instead of their softmax
    t, meta = st_load(d + "/attention.safetensors")
    t["attention"] = t["attention"].log()
    st_save(d + "/attention.safetensors", t, meta)
elif v == "inflated":
    edit_json(d + "/metrics.json", lambda m: m["models"]["vit"].update(test_accuracy=0.99))
elif v == "no-normalize":
    edit_json(d + "/config.json", lambda c: c["data"].update(normalize={"mean": [0.0] * 3, "std": [1.0] * 3}))
write_manifest(d)
PYEOF
  expect_exit 1 "$LAB_BIN" grade "v-$1" --format json --out "v-$1.json"
  "$PY" - "v-$1.json" "$2" "$3" <<'PYEOF' || fail "broken $1: see above"
import json, sys
r = json.load(open(sys.argv[1]))
bad = {(c["id"], c["kb"]) for c in r["checks"] if c["status"] not in ("pass", "skipped")}
assert (sys.argv[2], sys.argv[3]) in bad, (sys.argv[2], bad)
assert bad <= {(sys.argv[2], sys.argv[3]), ("results.threshold", "TS-ACC-BELOW-TARGET")}, bad
PYEOF
}
broken wrong-patch vit.patches TS-VIT-POS-EMBED
broken no-cls-row vit.patches TS-VIT-POS-EMBED
broken scores vit.attention TS-VIT-ATTENTION
broken inflated honesty.accuracy TS-METRICS-MISMATCH
broken no-normalize norm.config TS-NORM-MISMATCH
# The head read the patch tokens' mean (untrained weights, so that it costs
# only the evaluation): the submission that says so fails vit.cls on its
# config; the one that hides it in config.json fails it on its logits.
expect_exit 1 "$LAB_BIN" run 2.2.5 "${SMALL[@]}" --epochs 0 --set model.pool=mean --out "$TEST_TMP/mean"
expect_exit 0 "$LAB_BIN" submit "$TEST_TMP/mean" --student dave --weights exact
mkdir -p said hid && tar xzf dave-2.2.5.tar.gz -C said && tar xzf dave-2.2.5.tar.gz -C hid
"$PY" - hid <<'PYEOF'
import os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import edit_json, write_manifest
edit_json(sys.argv[1] + "/config.json", lambda c: c["model"].pop("pool"))
write_manifest(sys.argv[1])
PYEOF
for v in said hid; do
  expect_exit 1 "$LAB_BIN" grade "$v" --reeval --device cpu --format json --out "$v.json"
  "$PY" - "$v.json" "$v" <<'PYEOF' || fail "the mean-pooled submission ($v) is not caught by vit.cls"
import json, sys
r = json.load(open(sys.argv[1]))
c = {x["id"]: x for x in r["checks"]}
assert c["vit.cls"]["status"] == "fail" and c["vit.cls"]["kb"] == "TS-VIT-CLS", c["vit.cls"]
want = "model.pool=mean" if sys.argv[2] == "said" else "mean of the patch tokens"
assert want in c["vit.cls"]["message"], c["vit.cls"]
# Hidden, the course's readout does not reproduce its logits either.
assert sys.argv[2] == "said" or c["reeval.logits"]["status"] == "fail", c["reeval.logits"]
PYEOF
done
expect_exit 2 "$LAB_BIN" run 2.2.5 --quick --set model.pool=max --out "$TEST_TMP/bad3"
expect_match "$LAST_ERR" 'model.pool'

# DeiT distilled from a 2.2.1 ResNet-18 run (a few batches of each): the
# teacher is named and loaded, the student trains and is evaluated on its
# heads' average, and compare_with puts the 2.2.1 run's model beside it in
# comparison.md; a teacher for a model without a distillation head, a
# teacher from other preprocessing and a compare_with that is no run are
# refused before training.
TINY=(--quick --device cpu --epochs 1 --set data.train_subset=64 --set data.eval_subset=32)
rc=0; "$LAB_BIN" run 2.2.1 "${TINY[@]}" --model resnet18 --out "$TEST_TMP/t221" >/dev/null 2>&1 || rc=$?
[ -s "$TEST_TMP/t221/models/resnet18/model.safetensors" ] || fail "the 2.2.1 teacher run (exit $rc) wrote no weights"
rc=0; "$LAB_BIN" run 2.2.5 "${TINY[@]}" --model deit --set train.teacher="$TEST_TMP/t221" \
  --set compare_with="$TEST_TMP/t221" --out "$TEST_TMP/deit" >"$TEST_TMP/deit.out" 2>&1 || rc=$?
out=$(cat "$TEST_TMP/deit.out")
expect_match "$out" "distillation: teacher 2.2.1 resnet18 \\($TEST_TMP/t221\\), [0-9]+ parameters; temperature 3, alpha 0.5"
expect_match "$out" 'deit epoch 1/1: train loss [0-9.]+'
[ -s "$TEST_TMP/deit/models/deit/predictions.safetensors" ] || fail "the distilled run (exit $rc) wrote no predictions: $out"
expect_match "$out" "compared with $TEST_TMP/t221 \\(lab 2.2.1\\)"
grep -q '^| deit | 4774164 |' "$TEST_TMP/deit/comparison.md" && grep -q '^| resnet18 (2.2.1) | 11173962 |' "$TEST_TMP/deit/comparison.md" \
  || fail "comparison.md lacks the ViT or the 2.2.1 model: $(cat "$TEST_TMP/deit/comparison.md")"
[ -s "$TEST_TMP/deit/plots/comparison.png" ] || fail "no plots/comparison.png"
expect_exit 2 "$LAB_BIN" run 2.2.5 "${TINY[@]}" --set compare_with="$TEST_TMP/nothing" --out "$TEST_TMP/bad6"
expect_match "$LAST_ERR" 'no metrics.json'
expect_exit 2 "$LAB_BIN" run 2.2.5 "${TINY[@]}" --model vit --set train.teacher="$TEST_TMP/t221" --out "$TEST_TMP/bad4"
expect_match "$LAST_ERR" 'deit'
expect_exit 2 "$LAB_BIN" run 2.2.5 "${TINY[@]}" --model deit --set data.pad=0 --set train.teacher="$TEST_TMP/t221" \
  --out "$TEST_TMP/bad5"
expect_match "$LAST_ERR" 'data.pad'
echo ok
