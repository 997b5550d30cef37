#!/usr/bin/env bash
# The grader's detection evaluation at COCO val size (5,000 images x 100
# detections, 80 classes): COCO AP as pycocotools and Ultralytics' figures.
# Target: COCO evaluation under 1 s. Usage: scripts/bench/detect_eval.sh [BUILD_DIR] [N]
set -euo pipefail
BUILD=${1:-build}; N=${2:-5}
[ -r "$BUILD/liblab.a" ] || { echo "build first: make"; exit 1; }
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
cc -std=c11 -D_GNU_SOURCE -O2 -I. -o "$TMP/bench_coco" tests/bench/bench_coco.c "$BUILD/liblab.a" \
  $(pkg-config --cflags --libs jansson) -lm
"$TMP/bench_coco" "$N"
