#!/usr/bin/env bash
# Training throughput of lab 2.2.1 against the same loop in Python PyTorch:
# LeNet-5 and ResNet-18 on Fashion-MNIST 3x32x32, batch 128, fp32 and bf16,
# same machine and thread count (OMP_NUM_THREADS for both).
# Usage: scripts/bench/train.sh [BUILD_DIR]   (run by `make bench`)
# Env: THREADS (default: all cores), LENET_IMAGES (20000), RESNET_IMAGES (1024).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
THREADS=${THREADS:-$(nproc)}
export OMP_NUM_THREADS=$THREADS
PY=/usr/bin/python3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export LAB_HOME=$tmp/home
echo "== training images/s, 2.2.1 quick data, batch 128, $THREADS thread(s) =="
printf '%-10s %-5s %10s %10s %8s\n' model prec lab python lab/py
for spec in lenet5:${LENET_IMAGES:-20000} resnet18:${RESNET_IMAGES:-1024}; do
  m=${spec%%:*} n=${spec#*:}
  for prec in fp32 bf16; do
    out=$tmp/$m-$prec
    "$BUILD/lab" run 2.2.1 --quick --model "$m" --device cpu --precision "$prec" --batch-size 128 \
      --set data.train_subset="$n" --set data.eval_subset=128 --out "$out" >/dev/null 2>&1 || [ $? -eq 1 ] ||
      { echo "lab run $m $prec failed" >&2; exit 1; }
    ours=$($PY -c 'import json,sys; print("%.1f" % json.load(open(sys.argv[1]))["models"][sys.argv[2]]["images_per_s"])' \
      "$out/metrics.json" "$m")
    theirs=$($PY tests/bench/train_bench.py "$m" "$n" 128 "$prec" "$THREADS")
    awk -v m="$m" -v p="$prec" -v a="$ours" -v b="$theirs" 'BEGIN { printf "%-10s %-5s %10.1f %10.1f %7.2fx\n", m, p, a, b, a / b }'
  done
done
