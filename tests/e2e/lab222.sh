#!/usr/bin/env bash
# Lab 2.2.2 end to end, shortened for CI (the full quick mode and its target
# are in `make check-quick`): a tiny quick run pretrains its own source
# backbone on Fashion-MNIST 0-4, stores it in the Hugging Face cache layout,
# loads it back through the same path as timm's weights and runs the four
# strategies on classes 5-9; the frozen strategy leaves the backbone
# (weights and BN statistics) bit for bit the checkpoint's; a second run
# reuses the cached source offline; full mode offline without timm's weights
# fails naming the snapshot it looked for. The run is graded (its own
# self-check and `lab grade` of its submission): the grader's truth is the
# quick mode's class view (Fashion-MNIST 5-9 relabelled 0-4, the first 1,000
# of them), and broken submissions each fail exactly their transfer.* check.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8
export HF_HUB_CACHE=$TEST_TMP/hub
# eval_subset stays the lab's (1,000): the grader holds the run to it.
SMALL=(--quick --device cpu --set source.train_images=128 --set source.eval_images=64
       --set data.train_per_class=8 --set train.frozen.epochs=1 --set train.finetune.epochs=1 --set train.scratch.epochs=1)

run=$TEST_TMP/run
rc=0; "$LAB_BIN" run 2.2.2 "${SMALL[@]}" --out "$run" -v >"$TEST_TMP/out1" 2>&1 || rc=$?
out=$(cat "$TEST_TMP/out1")
# Graded (a run this short is near chance, so results.* and transfer.gain may fail; nothing else).
[ "$rc" = 1 ] || fail "the shortened run should exit 1 (graded, below the targets), got $rc: $out"
for id in integrity.mode transfer.norm shape.logits predictions.coverage honesty.accuracy transfer.head \
          transfer.backbone transfer.frozen; do
  expect_match "$out" "\[ok\] $id "
done
expect_match "$out" '1000 rows, one for each of the first 1000 images of fashion-mnist classes 5-9'
expect_match "$out" 'frozen: all 358 backbone tensors \(weights and BatchNorm statistics\) are lab-quick'
[ -s "$run/metrics.json" ] || fail "the run (exit $rc) wrote no metrics.json: $out"
expect_match "$out" 'source: pretraining efficientnet_b0 on fashion-mnist/train\[0-4\] \(128 images'
expect_match "$out" 'TRANSFER LEARNING COMPARISON'
expect_match "$out" 'frozen phase 1/1: 1 epoch\(s\), lr 0.01, 6405 of [0-9]+ parameters trainable'
for s in frozen finetune gradual scratch; do
  for f in models/$s/model.safetensors models/$s/predictions.safetensors; do
    [ -s "$run/$f" ] || fail "the run wrote no $f"
  done
done
[ -s "$run/plots/transfer-curves.png" ] || fail "no plots/transfer-curves.png"
repo=$HF_HUB_CACHE/models--lab-quick--efficientnet_b0.fashion_mnist_0-4
rev=$(ls "$repo/refs"); commit=$(cat "$repo/refs/$rev")
case "$(readlink "$repo/snapshots/$commit/model.safetensors")" in
  ../../blobs/*) ;; *) fail "the source checkpoint is not an HF-layout snapshot link" ;;
esac
[ -s "$repo/snapshots/$commit/config.json" ] || fail "no config.json beside the source weights"
"$PY" - "$run" "$repo/snapshots/$commit" "$LAB_SRC/../shared/reference/2.2.2-efficientnet_b0.tsv" <<'PYEOF' || fail "metrics or weights are wrong"
import json, os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load
run, snap, tsv = sys.argv[1:4]
m = json.load(open(run + "/metrics.json"))["models"]
fz = m["frozen"]
assert fz["trainable_params"] == 1280 * 5 + 5, fz["trainable_params"]
# frozen: the backbone (weights and BN statistics) is the checkpoint's, bit for bit
assert fz["pretrained"]["backbone_sha256"] == fz["backbone_sha256_after"], fz
assert m["finetune"]["pretrained"]["backbone_sha256"] != m["finetune"]["backbone_sha256_after"]
assert "pretrained" not in m["scratch"]
assert len(m["gradual"]["epochs"]) == 5 and [e["phase"] for e in m["gradual"]["epochs"]] == [1, 2, 2, 3, 3]
cfg = json.load(open(snap + "/config.json"))
assert cfg["architecture"] == "efficientnet_b0" and cfg["pretrained_cfg"]["input_size"] == [3, 32, 32], cfg
t, _ = st_load(run + "/models/frozen/model.safetensors")
src, _ = st_load(snap + "/model.safetensors")
for k, v in src.items():
    if not k.startswith("classifier"):
        assert (t[k] == v).all(), k
assert "classifier.weight" in src and tuple(t["classifier.1.weight"].shape) == (5, 1280)
if os.path.exists(tsv):  # timm's course key set, the head sized for the 5 target classes
    rows = [l.split("\t") for l in open(tsv) if l[0] != "#" and not l.startswith("key\t")]
    assert [r[0] for r in rows] == list(t.keys()) or sorted(r[0] for r in rows) == sorted(t.keys())
PYEOF

# Again, offline: the cached source is reused, not retrained.
rc=0; HF_HUB_OFFLINE=1 "$LAB_BIN" run 2.2.2 "${SMALL[@]}" --set strategy=frozen --set data.eval_subset=64 --out "$TEST_TMP/run2" \
  >"$TEST_TMP/out2" 2>&1 || rc=$?
out=$(cat "$TEST_TMP/out2")
expect_match "$out" "source: cached lab-quick/efficientnet_b0.fashion_mnist_0-4@$rev"
[ -s "$TEST_TMP/run2/models/frozen/model.safetensors" ] || fail "the offline run (exit $rc) trained no frozen model: $out"

# The solution's techniques by configuration, offline on the cached source:
# its 4-stage gradual_unfreeze rule (classifier; + bn2; + conv_head; + blocks)
# and mixup 0.2.
rc=0; HF_HUB_OFFLINE=1 "$LAB_BIN" run 2.2.2 "${SMALL[@]}" --set strategy=gradual --set train.gradual.rule=solution \
  --set train.gradual.solution.epochs=4 --set train.mixup=0.2 --set data.eval_subset=64 --out "$TEST_TMP/run3" \
  >"$TEST_TMP/out3" 2>&1 || rc=$?
out=$(cat "$TEST_TMP/out3")
expect_match "$out" 'mixup: alpha 0.2, one lambda'
expect_match "$out" "gradual phase 1/4: 1 epoch\(s\), lr 0.0001 \(head: its group's\), $((1280 * 5 + 5)) of"
"$PY" - "$TEST_TMP/run3" "$TEST_TMP/out3" "$LAB_SRC/../shared/reference/2.2.2-efficientnet_b0.tsv" <<'PYEOF' || fail "the solution's stages are wrong"
import json, os, re, sys
run, out, tsv = sys.argv[1:4]
m = json.load(open(run + "/metrics.json"))["models"]["gradual"]
assert [e["phase"] for e in m["epochs"]] == [1, 2, 3, 4], m["epochs"]
counts = [int(c) for c in re.findall(r"gradual phase \d/4: .* (\d+) of \d+ parameters trainable", open(out).read())]
assert len(counts) == 4, counts
if os.path.exists(tsv):  # each stage adds the reference's bn2, conv_head, blocks parameters
    size = {}
    for l in open(tsv):
        r = l.rstrip("\n").split("\t")
        if l[0] != "#" and not l.startswith("key\t") and r[2] == "param":
            n = 1
            for d in r[1].split("x"):
                n *= int(d)
            size[r[0]] = n
    part = lambda p: sum(v for k, v in size.items() if k.startswith(p))
    assert [b - a for a, b in zip(counts, counts[1:])] == [part("bn2."), part("conv_head."), part("blocks.")], counts
PYEOF

# Full mode offline, without timm's weights in the cache: a clear error naming the snapshot.
expect_exit 3 env HF_HUB_OFFLINE=1 "$LAB_BIN" run 2.2.2 --device cpu --set data.dataset=fashion-mnist --set data.num_classes=10 \
  --set strategy=frozen --out "$TEST_TMP/full"
expect_match "$LAST_ERR$LAST_OUT" 'offline.*timm/efficientnet_b0.ra_in1k'

# Grading the submission; then broken copies, each failing exactly its check.
cd "$TEST_TMP"
expect_exit 0 "$LAB_BIN" submit "$run" --student dana --weights exact
rc=0; "$LAB_BIN" grade dana-2.2.2.tar.gz --format json --out base.json >/dev/null 2>&1 || rc=$?
[ -s base.json ] || fail "lab grade wrote no report (exit $rc)"
mkdir -p base && tar xzf dana-2.2.2.tar.gz -C base
# Re-evaluation runs the submitted weights on the grader's split, preprocessed
# as the grader's own copy of the source checkpoint says (labs/pretrained.h).
rc=0; "$LAB_BIN" grade dana-2.2.2.tar.gz --reeval --device cpu --format json --out reeval.json >/dev/null 2>&1 || rc=$?
"$PY" - reeval.json <<'PYEOF' || fail "re-evaluation of the exact submission did not pass (exit $rc): $(head -c 2000 reeval.json)"
import json, sys
r = [c for c in json.load(open(sys.argv[1]))["checks"] if c["id"].startswith("reeval.")]
assert {c["id"] for c in r} == {"reeval.load", "reeval.logits", "reeval.batch"}, r
bad = [c for c in r if c["status"] != "pass"]
assert not bad, bad
PYEOF
# The default submission sends the big tensors at 4 bits: its frozen
# backbone is still the checkpoint's, as sent (the grader encodes the
# checkpoint the same way), and every transfer.* check ends as for the exact one.
expect_exit 0 "$LAB_BIN" submit "$run" --student erin
rc=0; "$LAB_BIN" grade erin-2.2.2.tar.gz --format json --out q4.json >/dev/null 2>&1 || rc=$?
"$PY" - q4.json base.json <<'PYEOF' || fail "the 4-bit submission's transfer checks differ from the exact one's"
import json, sys
def states(p):
    return {(c["id"], c["name"]): c["status"] for c in json.load(open(p))["checks"]}
q, b = states(sys.argv[1]), states(sys.argv[2])
transfer = {k: v for k, v in b.items() if k[0].startswith("transfer.")}
assert transfer and all(q.get(k) == v for k, v in transfer.items()), (transfer, q)
assert any(k[0] == "transfer.frozen" and v == "pass" for k, v in q.items()), q
PYEOF
broken() { # broken NAME CHECK KB MODEL: a copy of the submission with one thing broken
  rm -rf "v-$1"; cp -r base "v-$1"
  "$PY" - "v-$1" "$1" <<'PYEOF'
import os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load, st_save, edit_json, write_manifest
d, v = sys.argv[1], sys.argv[2]
def model(m):
    return d + "/models/" + m + "/model.safetensors"
if v == "random-backbone":   # finetune's weights with scratch's (random-init) backbone
    t, meta = st_load(model("finetune"))
    s, _ = st_load(model("scratch"))
    st_save(model("finetune"), {k: (s[k] if not k.startswith("classifier") else x) for k, x in t.items()}, meta)
elif v == "unfrozen":        # a backbone weight of the frozen strategy moved
    t, meta = st_load(model("frozen"))
    t["blocks.6.0.conv_pwl.weight"] += 1e-3
    st_save(model("frozen"), t, meta)
elif v == "bn-train":        # the frozen backbone's BatchNorm ran in train mode
    t, meta = st_load(model("frozen"))
    t["bn2.running_mean"] += 0.01
    st_save(model("frozen"), t, meta)
elif v == "imagenet-head":   # the head sized for 100 classes in a 5-class mode
    import torch
    t, meta = st_load(model("finetune"))
    t["classifier.1.weight"] = torch.zeros(100, 1280)
    t["classifier.1.bias"] = torch.zeros(100)
    st_save(model("finetune"), t, meta)
elif v == "cifar-norm":      # the new dataset's constants instead of the pretrained backbone's
    edit_json(d + "/config.json", lambda c: c["data"].update(normalize={"mean": [0.4914, 0.4822, 0.4465],
                                                                        "std": [0.2023, 0.1994, 0.2010]}))
write_manifest(d)
PYEOF
  rc=0; "$LAB_BIN" grade "v-$1" --format json --out "v-$1.json" >/dev/null 2>&1 || rc=$?
  [ "$rc" = 1 ] || fail "broken $1: lab grade exited $rc"
  "$PY" - base.json "v-$1.json" "$2" "$3" "$4" <<'PYEOF' || fail "broken $1: see above"
import json, sys
def states(p):
    return {(c["id"], c["name"]): (c["status"], c.get("kb")) for c in json.load(open(p))["checks"]}
base, var = states(sys.argv[1]), states(sys.argv[2])
check, kb, model = sys.argv[3:6]
changed = {k: v for k, v in var.items() if base.get(k) != v}
assert len(changed) == 1, changed
(cid, name), (st, got) = next(iter(changed.items()))
assert cid == check and st == "fail" and got == kb and name.startswith(model), (cid, name, st, got)
PYEOF
}
broken random-backbone transfer.backbone TS-TRANSFER-BACKBONE finetune
broken unfrozen transfer.frozen TS-TRANSFER-FROZEN frozen
broken bn-train transfer.frozen TS-TRANSFER-FROZEN frozen
broken imagenet-head transfer.head TS-TRANSFER-HEAD finetune
broken cifar-norm transfer.norm TS-NORM-MISMATCH ""
grep -q 'BatchNorm statistics changed' v-bn-train.json || fail "bn-train: the report does not say the BatchNorm statistics moved"
echo ok
