#!/usr/bin/env bash
# Lab 2.2.2 end to end, shortened for CI (the full quick mode and its target
# are in `make check-quick`): a tiny quick run pretrains its own source
# backbone on Fashion-MNIST 0-4, stores it in the Hugging Face cache layout,
# loads it back through the same path as timm's weights and runs the four
# strategies on classes 5-9; the frozen strategy leaves the backbone
# (weights and BN statistics) bit for bit the checkpoint's; a second run
# reuses the cached source offline; full mode offline without timm's weights
# fails naming the snapshot it looked for.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8
export HF_HUB_CACHE=$TEST_TMP/hub
SMALL=(--quick --device cpu --set source.train_images=128 --set source.eval_images=64 --set data.eval_subset=64
       --set data.train_per_class=8 --set train.frozen.epochs=1 --set train.finetune.epochs=1 --set train.scratch.epochs=1)

run=$TEST_TMP/run
rc=0; "$LAB_BIN" run 2.2.2 "${SMALL[@]}" --out "$run" >"$TEST_TMP/out1" 2>&1 || rc=$?
out=$(cat "$TEST_TMP/out1")
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
rc=0; HF_HUB_OFFLINE=1 "$LAB_BIN" run 2.2.2 "${SMALL[@]}" --set strategy=frozen --out "$TEST_TMP/run2" \
  >"$TEST_TMP/out2" 2>&1 || rc=$?
out=$(cat "$TEST_TMP/out2")
expect_match "$out" "source: cached lab-quick/efficientnet_b0.fashion_mnist_0-4@$rev"
[ -s "$TEST_TMP/run2/models/frozen/model.safetensors" ] || fail "the offline run (exit $rc) trained no frozen model: $out"

# Full mode offline, without timm's weights in the cache: a clear error naming the snapshot.
expect_exit 3 env HF_HUB_OFFLINE=1 "$LAB_BIN" run 2.2.2 --device cpu --set data.dataset=fashion-mnist --set data.num_classes=10 \
  --set strategy=frozen --out "$TEST_TMP/full"
expect_match "$LAST_ERR$LAST_OUT" 'offline.*timm/efficientnet_b0.ra_in1k'
echo ok
