#!/usr/bin/env bash
# Training throughput of lab 2.2.1 against the same loop in Python PyTorch:
# LeNet-5 and ResNet-18 on Fashion-MNIST 3x32x32, batch 128, fp32 and bf16,
# same machine and thread count (OMP_NUM_THREADS for both).
# Usage: scripts/bench/train.sh [BUILD_DIR]   (run by `make bench`)
# Env: THREADS (default: all cores), LENET_IMAGES (20000), RESNET_IMAGES (1024),
# PAIRS (interleaved lab/Python pairs per row, default 5; scripts/bench/pairs.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/train_lib.bash
# One lab measurement: images/s of one epoch, as its metrics.json records it.
if [ "${2:-}" = "--lab-once" ]; then
  m=$3 n=$4 prec=$5 out=$tmp/run
  "$BUILD/lab" run 2.2.1 --quick --model "$m" --device cpu --precision "$prec" --batch-size 128 \
    --set data.train_subset="$n" --set data.eval_subset=128 --out "$out" >/dev/null 2>&1 || [ $? -eq 1 ] ||
    { echo "lab run $m $prec failed" >&2; exit 1; }
  $PY -c 'import json,sys; print("%.1f" % json.load(open(sys.argv[1]))["models"][sys.argv[2]]["images_per_s"])' \
    "$out/metrics.json" "$m"
  exit 0
fi
echo "== training images/s, 2.2.1 quick data, batch 128, $THREADS thread(s), lab (A) vs Python (B) interleaved =="
for spec in lenet5:${LENET_IMAGES:-20000} resnet18:${RESNET_IMAGES:-1024}; do
  m=${spec%%:*} n=${spec#*:}
  for prec in fp32 bf16; do
    $PY scripts/bench/pairs.py --pairs "$PAIRS" --label "$m $prec" --unit images/s \
      --a "bash scripts/bench/train.sh $BUILD --lab-once $m $n $prec" \
      --b "$PY tests/bench/train_bench.py $m $n 128 $prec $THREADS" 2>/dev/null
  done
done
