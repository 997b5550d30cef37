#!/usr/bin/env bash
# Training throughput of lab 2.2.2's EfficientNet-B0 (timm layout, course
# head) against the same loop in Python PyTorch (tests/bench/effnet_bench.py
# on tests/ref/efficientnet.py): `lab run 2.2.2 --quick --set
# strategy=scratch` (AdamW, per-epoch cosine, fp32, Fashion-MNIST 5-9) at the
# quick size 32x32 (batch 50, lab.json's quick block) and at 224x224 (the
# same images resized, a small batch: 2 cores take seconds per image).
# The first epoch is warm-up on both sides; the figure is images/s over the
# later epochs (lab: its metrics.json per-epoch images and seconds, which
# leave out the evaluation after each epoch).
# Usage: scripts/bench/effnet.sh [BUILD_DIR]   (run by `make bench`)
# Env: THREADS (default: all cores), SIZES ("32 224"), PAIRS (interleaved
# lab/Python pairs per size, default 5; scripts/bench/pairs.py),
# Q_PER_CLASS (100, the quick mode's), Q_EPOCHS (3), B224 (8), L_PER_CLASS (8), L_EPOCHS (3).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/train_lib.bash
LR=0.003 # lab.json's quick train.scratch.lr
train_bench_require effnet
export HF_HUB_CACHE=$tmp/hub
# One lab measurement: images/s of the epochs after the first.
if [ "${2:-}" = "--lab-once" ]; then
  size=$3 per_class=$4 batch=$5 epochs=$6 out=$tmp/run
  extra=()
  [ "$size" = 32 ] || extra=(--set data.resize="$size" --set "data.input_size=[3,$size,$size]")
  "$BUILD/lab" run 2.2.2 --quick --device cpu --precision fp32 --batch-size "$batch" --set strategy=scratch \
    --set train.scratch.epochs="$epochs" --set train.scratch.lr=$LR --set data.train_per_class="$per_class" \
    --set data.eval_subset="$batch" "${extra[@]}" --out "$out" >"$tmp/log" 2>&1 || [ $? -eq 1 ] ||
    { echo "lab run 2.2.2 at $size failed:" >&2; tail -5 "$tmp/log" >&2; exit 1; }
  $PY -c 'import json,sys
ep = json.load(open(sys.argv[1]))["models"]["scratch"]["epochs"][1:]
print("%.2f" % (sum(e["images"] for e in ep) / sum(e["seconds"] for e in ep)))' "$out/metrics.json"
  exit 0
fi
echo "== EfficientNet-B0 training images/s, 2.2.2 quick data (scratch), fp32, $THREADS thread(s), lab (A) vs Python (B) interleaved =="
for size in ${SIZES:-32 224}; do
  if [ "$size" = 32 ]; then per_class=${Q_PER_CLASS:-100} batch=50 epochs=${Q_EPOCHS:-3}
  else per_class=${L_PER_CLASS:-8} batch=${B224:-8} epochs=${L_EPOCHS:-3}; fi
  $PY scripts/bench/pairs.py --pairs "$PAIRS" --label "efficientnet_b0 ${size}x$size batch $batch" --unit images/s \
    --a "bash scripts/bench/effnet.sh $BUILD --lab-once $size $per_class $batch $epochs" \
    --b "$PY tests/bench/effnet_bench.py $size $per_class $batch $epochs $LR $THREADS"
done
