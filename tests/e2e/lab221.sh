#!/usr/bin/env bash
# Lab 2.2.1 end to end on small real data: artifacts and their shapes, the
# course's state-dict keys, parity with PyTorch both ways (fp32 and bf16),
# the store row, determinism, interrupt and resume, bad flags.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
REF=tests/ref/cnn221.py
[ -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
SMALL=(--quick --set data.train_subset=256 --set data.eval_subset=64 --batch-size 64)

run() { # run DIR ARGS...: a run into DIR; exit 0 or 1 (a failed self-check) are both a finished run
  local dir=$1; shift
  local rc=0
  "$LAB_BIN" run 2.2.1 "${SMALL[@]}" --out "$dir" "$@" >"$dir.log" 2>&1 || rc=$?
  [ "$rc" -le 1 ] || fail "lab run $* exited $rc: $(tail -5 "$dir.log")"
}

# Every architecture: keys and shapes are the course's, parity with PyTorch in fp32.
for m in lenet5 lenet5-maxpool alexnet vgg11 resnet18 se-resnet18; do
  d=$TEST_TMP/$m; run "$d" --model "$m" --precision fp32 -v   # -v: the self-check lists every check
  [ "$(tail -1 "$d.log")" = "run dir: $d" ] || fail "last line is not the run dir: $(tail -1 "$d.log")"
  "$PY" - "$d/models/$m/model.safetensors" "$m" <<'PYEOF' || fail "$m: keys or shapes differ from the course"
import json, struct, subprocess, sys, os
path, name = sys.argv[1:3]
raw = open(path, "rb").read()
n, = struct.unpack("<Q", raw[:8]); h = json.loads(raw[8:8 + n]); h.pop("__metadata__", None)
ours = {k: "x".join(map(str, v["shape"])) or "scalar" for k, v in h.items()}
ref = subprocess.run(["/usr/bin/python3", "tests/ref/cnn221.py", "keys", name], capture_output=True, text=True, check=True).stdout
want = {l.split("\t")[0]: l.split("\t")[1] for l in ref.splitlines() if "\t" in l}
assert ours == want, (set(ours) ^ set(want), [k for k in ours if ours[k] != want.get(k)])
tsv = os.path.join(os.environ.get("LAB_SRC", "."), "..", "shared", "reference", f"2.2.1-{name}.tsv")
if os.path.exists(tsv):
    rows = [l.split("\t") for l in open(tsv).read().splitlines() if l and not l.startswith(("#", "key\t"))]
    assert ours == {r[0]: r[1] for r in rows}, f"differs from {tsv}"
PYEOF
  "$PY" "$REF" check "$d" "$m" fp32 || fail "$m: logits differ from PyTorch's in fp32"
done

# Parameter counts as the course states them.
out=$("$LAB_BIN" info 2.2.1)
for pair in lenet5:62,006 alexnet:35,857,482 vgg11:28,149,514 resnet18:11,173,962 se-resnet18:11,261,002; do
  expect_match "$out" "${pair%%:*} +${pair#*:} parameters"
done
"$PY" - "$TEST_TMP/resnet18/metrics.json" <<'PYEOF' || fail "metrics.json params differ"
import json, sys
m = json.load(open(sys.argv[1]))["models"]["resnet18"]
assert m["params"] == 11173962, m["params"]
for k in ("test_accuracy", "test_loss", "train_time_s", "images_per_s", "epochs"): assert k in m, k
PYEOF

# bf16 autocast: same logits as PyTorch's autocast within 5e-3.
for m in lenet5 resnet18; do
  d=$TEST_TMP/$m-bf16; run "$d" --model "$m" --precision bf16
  "$PY" "$REF" check "$d" "$m" bf16 || fail "$m: logits differ from PyTorch's under bf16 autocast"
done

# The reverse: weights saved by PyTorch load into lab and give PyTorch's logits.
"$PY" "$REF" export resnet18 7 "$TEST_TMP/py-resnet18.safetensors" 64
d=$TEST_TMP/from-python; run "$d" --model resnet18 --precision fp32 --epochs 0 --set weights="$TEST_TMP/py-resnet18.safetensors"
"$PY" - "$d/models/resnet18/predictions.safetensors" "$TEST_TMP/py-resnet18.safetensors.logits" <<'PYEOF' || fail "PyTorch's weights give other logits in lab"
import sys; sys.path.insert(0, "tests/ref"); import cnn221
ours, ref = cnn221.st_load(sys.argv[1])["logits"], cnn221.st_load(sys.argv[2])["logits"]
err = (ours - ref).abs().max().item() / ref.abs().max().item()
print("python weights -> lab logits, max error", err); assert err < 1e-4
PYEOF
expect_exit 2 "$LAB_BIN" run 2.2.1 --quick --model lenet5 --set weights="$TEST_TMP/py-resnet18.safetensors" --out "$TEST_TMP/wrong"
expect_match "$LAST_ERR" 'does not fit the model'

# Artifacts of a run.
d=$TEST_TMP/lenet5
for f in config.json metrics.json log.txt comparison.md plots/lenet5-loss.png plots/lenet5-accuracy.png \
         plots/lenet5-confusion.png plots/lenet5-samples.png plots/comparison.png; do
  [ -s "$d/$f" ] || fail "missing $f"
done
[ "$(head -c 4 "$d/plots/lenet5-confusion.png" | tail -c 3)" = "PNG" ] || fail "plots are not PNG"
"$PY" - "$d" <<'PYEOF' || fail "config.json or predictions wrong"
import json, sys; sys.path.insert(0, "tests/ref"); import cnn221
d = sys.argv[1]; c = json.load(open(d + "/config.json"))
assert c["data"]["normalize"]["mean"] == [0.286] * 3 and c["data"]["normalize"]["std"] == [0.353] * 3, c["data"]
assert c["data"]["input_size"] == [3, 32, 32] and c["model"] == "lenet5" and c["device"] == "cpu"
assert c["precision"] == "fp32" and c["seed"] == 42 and c["train"]["batch_size"] == 64
p = cnn221.st_load(d + "/models/lenet5/predictions.safetensors")
assert tuple(p["logits"].shape) == (64, 10) and p["logits"].dtype.is_floating_point
assert tuple(p["labels"].shape) == (64,) and str(p["labels"].dtype) == "torch.int64"
PYEOF
grep -q '| lenet5 | 62006 |' "$d/comparison.md" || fail "comparison.md lacks the lenet5 row"
expect_match "$(cat "$d.log")" '^self-check: '
expect_match "$(cat "$d.log")" '\[ok\] values.finite '
expect_match "$(cat "$d/log.txt")" '\[ok\] values.finite '
out=$("$LAB_BIN" list)
expect_match "$out" '^2\.2\.1 .* (ok|failed) '

# Same seed, same device and precision: same metrics.
run "$TEST_TMP/det1" --model lenet5 --precision fp32 --epochs 2
run "$TEST_TMP/det2" --model lenet5 --precision fp32 --epochs 2
cmp <(grep -v seconds "$TEST_TMP/det1/metrics.json" | grep -v time_s | grep -v images_per_s) \
    <(grep -v seconds "$TEST_TMP/det2/metrics.json" | grep -v time_s | grep -v images_per_s) || fail "two runs of one seed differ"

# Ctrl-C after the first epoch: exit 130, marked interrupted; --resume finishes with the same numbers.
rc=0; LAB_TEST_INTERRUPT_AFTER_EPOCHS=1 "$LAB_BIN" run 2.2.1 "${SMALL[@]}" --model lenet5 --precision fp32 --epochs 2 \
  --out "$TEST_TMP/int" >"$TEST_TMP/int.log" 2>&1 || rc=$?
[ "$rc" -eq 130 ] || fail "an interrupted run exited $rc, not 130: $(tail -3 "$TEST_TMP/int.log")"
expect_match "$(cat "$TEST_TMP/int.log")" 'lab run 2.2.1 --resume'
expect_match "$("$LAB_BIN" list)" '^2\.2\.1 .* interrupted '
rc=0; "$LAB_BIN" run 2.2.1 --resume "$TEST_TMP/int" >"$TEST_TMP/res.log" 2>&1 || rc=$?
[ "$rc" -le 1 ] || fail "resume exited $rc: $(tail -3 "$TEST_TMP/res.log")"
expect_match "$(cat "$TEST_TMP/res.log")" 'resuming lenet5 after epoch 1'
cmp <(grep -v seconds "$TEST_TMP/det1/metrics.json" | grep -v time_s | grep -v images_per_s) \
    <(grep -v seconds "$TEST_TMP/int/metrics.json" | grep -v time_s | grep -v images_per_s) || fail "resumed run differs"

# Bad flags: exit 2 naming the problem; a non-empty --out is never overwritten.
expect_exit 2 "$LAB_BIN" run 2.2.1 --set train.lrr=0.1
expect_match "$LAST_ERR" "did you mean 'train.lr'"
expect_exit 2 "$LAB_BIN" run 2.2.1 --epochs many
expect_match "$LAST_ERR" "--epochs takes a whole number from 0 to 10000, not 'many'"
expect_exit 2 "$LAB_BIN" run 2.2.1 --set train.epochs=many
expect_match "$LAST_ERR" 'train.epochs takes an integer'
expect_exit 2 "$LAB_BIN" run 2.2.1 --model resnet34
expect_match "$LAST_ERR" "unknown value 'resnet34' for --model"
expect_exit 2 "$LAB_BIN" run 2.2.1 --model ResNet-18
expect_match "$LAST_ERR" "fix: did you mean --model resnet18?"
expect_exit 2 "$LAB_BIN" run 2.2.1 --precision fp8
expect_exit 3 "$LAB_BIN" run 2.2.1 --device cuda
expect_match "$LAST_ERR" 'libtorch sees none'
expect_exit 2 "$LAB_BIN" run 2.2.1 --quick --out "$TEST_TMP/lenet5"
expect_match "$LAST_ERR" 'never overwrites'
echo ok
