#!/usr/bin/env bash
# Training throughput of lab 2.2.5's ViT (the course's, 4,771,082
# parameters) against the same loop in Python PyTorch: Fashion-MNIST
# 3x32x32, the quick mode's batch 64, bf16 (the CPU default) and fp32, same
# machine and thread count (OMP_NUM_THREADS for both).
# Usage: scripts/bench/vit.sh [BUILD_DIR]   (run by `make bench`)
# Env: THREADS (default: all cores), VIT_IMAGES (2048), PAIRS (interleaved
# lab/Python pairs per row, default 5; scripts/bench/pairs.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/train_lib.bash
N=${VIT_IMAGES:-2048}
train_bench_require vit
# One lab measurement: images/s of one epoch, as its metrics.json records it.
if [ "${2:-}" = "--lab-once" ]; then
  prec=$3 out=$tmp/run
  "$BUILD/lab" run 2.2.5 --quick --model vit --device cpu --precision "$prec" --epochs 1 \
    --set data.train_subset="$N" --set data.eval_subset=64 --out "$out" >/dev/null 2>&1 || [ $? -eq 1 ] ||
    { echo "lab run 2.2.5 $prec failed" >&2; exit 1; }
  $PY -c 'import json,sys; print("%.1f" % json.load(open(sys.argv[1]))["models"]["vit"]["images_per_s"])' "$out/metrics.json"
  exit 0
fi
echo "== ViT training images/s, 2.2.5 quick data, batch 64, $N images, $THREADS thread(s), lab (A) vs Python (B) interleaved =="
for prec in bf16 fp32; do
  $PY scripts/bench/pairs.py --pairs "$PAIRS" --label "vit $prec" --unit images/s \
    --a "bash scripts/bench/vit.sh $BUILD --lab-once $prec" \
    --b "$PY tests/bench/vit_bench.py $N 64 $prec $THREADS" 2>/dev/null
done
