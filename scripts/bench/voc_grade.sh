#!/usr/bin/env bash
# Grading a full-mode 2.2.4 submission on a VOC 2012-sized val split: the
# grader's reading and resizing of the val images and masks, and the course
# U-Net's (width 64) eval forward per image in reeval.masks' batches, against
# those checks' time budgets. The split is a stand-in in VOC's layout and
# sizes (tests/e2e/voc_mosaics.py with SCALE 4.5; the real one is a 2 GB
# download), made once under BUILD/bench/voc-sized.
# Usage: scripts/bench/voc_grade.sh [BUILD_DIR]   (run by `make bench`)
# Env: N_VAL (default 1449, VOC's val list), THREADS (2), BATCH (8, reeval.masks' at 256),
#      BATCHES (timed U-Net batches, default 3).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
N_VAL=${N_VAL:-1449}
THREADS=${THREADS:-2}
BATCH=${BATCH:-8}
BATCHES=${BATCHES:-3}
[ -f "$BUILD/liblab.a" ] || { echo "voc_grade bench: $BUILD/liblab.a missing; run make first" >&2; exit 1; }
data=$BUILD/bench/voc-sized-$N_VAL
if [ ! -f "$data/VOCdevkit/VOC2012/ImageSets/Segmentation/val.txt" ]; then
  rm -rf "$data"
  /usr/bin/python3 tests/e2e/voc_mosaics.py "$data" 1 "$N_VAL" 4.5
fi
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -I. -o "$BUILD/bench/voc_grade" tests/bench/voc_grade.c "$BUILD/liblab.a" \
  $(pkg-config --libs jansson) -lsqlite3 -larchive -lcurl -lcrypto -lpng16 -ljpeg -lcairo -lz -lpthread -ldl -lm \
  -Wl,--export-dynamic-symbol=lab_err -Wl,--export-dynamic-symbol=lab_err_message
echo "== grading 2.2.4 on a VOC-sized val split ($N_VAL images, $(du -sh "$data" | cut -f1)), $THREADS thread(s), load $(cut -d' ' -f1-3 /proc/loadavg) =="
read -r n read_s ms < <("$BUILD/bench/voc_grade" "$data/VOCdevkit/VOC2012" 256 "$THREADS" "$BATCH" "$BATCHES")
awk -v n="$n" -v r="$read_s" -v ms="$ms" 'BEGIN {
  printf "read and resize %d images + masks to 256: %.2f s (masks.orientation budget 30 s)\n", n, r
  printf "U-Net width 64 eval forward at 256, fp32: %.1f ms per image\n", ms
  printf "reeval.masks on %d images, computed from that: %.0f s + reading (budget 600 s)\n", n, n * ms / 1e3
}'
