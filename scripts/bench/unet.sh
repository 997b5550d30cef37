#!/usr/bin/env bash
# Training throughput of lab 2.2.4's U-Net (the course's bilinear U-Net at
# the quick mode's width 8) against the same loop in Python PyTorch: 48x48
# Fashion-MNIST canvases, 11 classes, the quick mode's batch 16, the course's
# 0.5 CE (255 ignored) + 0.5 Dice and AdamW, fp32 (2.2.4 trains in fp32),
# same machine and thread count (OMP_NUM_THREADS for both).
# Usage: scripts/bench/unet.sh [BUILD_DIR]   (run by `make bench`)
# Env: THREADS (default: all cores), UNET_IMAGES (1024), UNET_WIDTH (8),
# PAIRS (interleaved lab/Python pairs, default 5; scripts/bench/pairs.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/train_lib.bash
N=${UNET_IMAGES:-1024}
WIDTH=${UNET_WIDTH:-8}
train_bench_require unet
# One lab measurement: images/s of one epoch, as its metrics.json records it
# (the epoch's loop with mosaic rendering, and the 16-canvas eval after it).
if [ "${2:-}" = "--lab-once" ]; then
  out=$tmp/run
  "$BUILD/lab" run 2.2.4 --quick --device cpu --set train.epochs=1 --set model.base_width="$WIDTH" \
    --set data.train_subset="$N" --set data.eval_subset=16 --out "$out" >/dev/null 2>&1 || [ $? -eq 1 ] ||
    { echo "lab run 2.2.4 failed" >&2; exit 1; }
  $PY -c 'import json,sys; print("%.1f" % json.load(open(sys.argv[1]))["models"]["unet"]["images_per_s"])' "$out/metrics.json"
  exit 0
fi
echo "== U-Net training images/s, 2.2.4 quick shapes (48x48, width $WIDTH, batch 16), $N images, $THREADS thread(s), lab (A) vs Python (B) interleaved =="
$PY scripts/bench/pairs.py --pairs "$PAIRS" --label "unet fp32" --unit images/s \
  --a "bash scripts/bench/unet.sh $BUILD --lab-once" \
  --b "cd tests/bench && $PY unet_bench.py $N 16 $WIDTH $THREADS" 2>/dev/null
