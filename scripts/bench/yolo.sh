#!/usr/bin/env bash
# YOLOv8 inference: lab's eval forward against the PyTorch reference
# (tests/ref/yolov8.py), interleaved pairs on the same shape, precision (fp32)
# and threads, median of the pairs' ratios; plus NMS time per image.
# Usage: scripts/bench/yolo.sh [BUILD_DIR]   (run by `make bench`)
# Env: THREADS (default 2), PAIRS (default 5), RUNS (per side and pair, default 3),
#      CASES (default "n:640:1 s:640:1 n:640:8 s:640:8", scale:imgsz:batch).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
THREADS=${THREADS:-2}
PAIRS=${PAIRS:-5}
RUNS=${RUNS:-3}
CASES=${CASES:-"n:640:1 s:640:1 n:640:8 s:640:8"}
[ -f "$BUILD/liblab.a" ] || { echo "yolo bench: $BUILD/liblab.a missing; run make first" >&2; exit 1; }
mkdir -p "$BUILD/bench"
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -I. -o "$BUILD/bench/yolo_bench" tests/bench/yolo_bench.c "$BUILD/liblab.a" \
  $(pkg-config --libs jansson) -lsqlite3 -larchive -lcurl -lcrypto -lpng16 -ljpeg -lcairo -lz -lpthread -ldl -lm \
  -Wl,--export-dynamic-symbol=lab_err -Wl,--export-dynamic-symbol=lab_err_message
echo "== YOLOv8 eval forward, fp32, CPU, $THREADS thread(s), $PAIRS interleaved pairs of $RUNS runs; load $(cut -d' ' -f1-3 /proc/loadavg) =="
printf '%-14s %10s %10s %8s %10s\n' case lab_ms python_ms ratio nms_ms
for c in $CASES; do
  IFS=: read -r s sz b <<<"$c"
  ratios=() labs=() pys=() nms=()
  for _ in $(seq "$PAIRS"); do
    read -r l n < <("$BUILD/bench/yolo_bench" "$s" "$sz" "$b" "$RUNS" "$THREADS")
    p=$(/usr/bin/python3 tests/bench/yolo_bench.py "$s" "$sz" "$b" "$RUNS" "$THREADS")
    labs+=("$l"); pys+=("$p"); nms+=("$n"); ratios+=("$(awk -v l="$l" -v p="$p" 'BEGIN{print p/l}')")
  done
  med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
  printf '%-14s %10s %10s %7.2fx %10s\n' "yolov8$s@$sz b$b" "$(med "${labs[@]}")" "$(med "${pys[@]}")" \
    "$(med "${ratios[@]}")" "$(med "${nms[@]}")"
done
