#!/usr/bin/env bash
# SAM vit_b on the CPU, lab against plain PyTorch (tests/bench/sam_bench.py, a
# restatement of SamPredictor checked on the parity vectors; segment_anything
# is not imported): encode (set_image of the notebook's 800x600 placeholder),
# the centre point (multimask) and the central box (single mask) on the one
# embedding, i.e. prompt-only latency with the embedding held. fp32 both,
# the same thread count. Each measurement is one process: lab's full mode
# (`lab run 2.2.6 --set bench.runs=1 --set bench.warmup=0`: its prompt study
# has already encoded once and prompted, as the Python side does untimed) or
# the Python side; A (lab) and B (Python) alternate, and the figure is the
# median of the per-pair ratios lab/Python of the times (below 1: lab faster;
# speed-up = 1/ratio), as scripts/bench/pairs.py does for one figure.
# Checkpoint: sam_vit_b_01ec64.pth when `lab fetch sam-vit-b` has it, else a
# vit_b-size random one (tests/ref/sam_pth.py --random; timing is the same).
# Then lab's automatic masks with the course's settings on the 1024
# placeholder (lab only: about 2 minutes here; SAM_AUTO=0 skips them).
# Usage: scripts/bench/sam.sh [BUILD_DIR]   Env: THREADS, PAIRS (5)
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bench/train_lib.bash
ref=../shared/reference
if ! $PY -c 'import torch' 2>/dev/null || [ ! -r "$ref/2.2.6-sam_vit_b.tsv" ]; then
  echo "== sam: skipped: needs python3-torch and ../shared/reference/2.2.6-sam_vit_b.tsv =="
  exit 0
fi
export LAB_CACHE=$tmp/cache
ck=$LAB_CACHE/weights/sam-vit-b/sam_vit_b_01ec64.pth
mkdir -p "$(dirname "$ck")"
real=$(LAB_CACHE=${LAB_REAL_CACHE:-$HOME/.cache/lab} "$BUILD/lab" datasets 2>/dev/null |
       awk '$1 == "sam-vit-b" && $0 ~ /present|verified/ {print $NF}')
if [ -n "$real" ] && [ -r "$real" ]; then ln -s "$real" "$ck"; what="sam_vit_b_01ec64.pth"
else $PY tests/ref/sam_pth.py --random "$ck" "$ref"; what="a vit_b-size random checkpoint"; fi
echo "== SAM vit_b CPU latency, $what, $THREADS thread(s), fp32, lab (A) vs Python (B), $PAIRS interleaved pairs =="
[ "$PAIRS" -ge 5 ] || echo "   (only $PAIRS pair(s): fewer than the usual 5, a rough figure)"
lab_once() {
  "$BUILD/lab" run 2.2.6 --device cpu --set bench.runs=1 --set bench.warmup=0 --set auto.enabled=false \
    --out "$tmp/run" >/dev/null 2>&1 || { echo "lab run 2.2.6 failed" >&2; exit 1; }
  $PY -c 'import json,sys; b=json.load(open(sys.argv[1]))["models"]["vit_b"]["bench"]; print(b["encode_ms"], b["point_ms"], b["box_ms"])' \
    "$tmp/run/metrics.json"
  rm -rf "$tmp/run"
}
: >"$tmp/pairs"
for i in $(seq "$PAIRS"); do
  a=$(lab_once); b=$($PY tests/bench/sam_bench.py "$ck" "$THREADS")
  echo "  pair $i: lab $a | python $b (ms: encode point box)"
  echo "$a $b" >>"$tmp/pairs"
done
$PY - "$tmp/pairs" <<'PYEOF'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
for k, name in enumerate(("encode", "point prompt", "box prompt")):
    a, b = [r[k] for r in rows], [r[3 + k] for r in rows]
    ratio = statistics.median(x / y for x, y in zip(a, b))
    print(f"sam vit_b {name}: lab median {statistics.median(a):.1f} ms, python median {statistics.median(b):.1f} ms, "
          f"median lab/python over {len(rows)} pairs {ratio:.2f}x (speed-up {1 / ratio:.2f}x)")
PYEOF
if [ "${SAM_AUTO:-1}" = 1 ]; then
  s=$(date +%s.%N)
  "$BUILD/lab" run 2.2.6 --device cpu --set bench.runs=0 --out "$tmp/auto" >/dev/null 2>&1 || true
  $PY -c 'import json,sys; a=json.load(open(sys.argv[1]))["models"]["vit_b"]["auto"]["images"][0]; print("sam vit_b automatic masks (course settings, 1024 input):", a["masks"], "masks in %.1f s" % a["seconds"])' \
    "$tmp/auto/metrics.json"
fi
