#!/usr/bin/env bash
# Shim benchmark: per-op call overhead (direct libtorch vs the C API vs
# Python) and a LeNet-5 training step in C vs Python, same thread count.
# Usage: scripts/bench/shim.sh [BUILD_DIR]   (run by `make bench`)
# Env: THREADS (default 1), OPS_N (calls per op, default 200000), STEPS (default 30),
# PAIRS (interleaved C/Python pairs for the training step, default 5).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
THREADS=${THREADS:-1}
OPS_N=${OPS_N:-200000}
STEPS=${STEPS:-30}
PY=/usr/bin/python3
[ -f "$BUILD/liblab.a" ] || { echo "shim bench: $BUILD/liblab.a missing; run make first" >&2; exit 1; }
if [ -n "${TORCH_DIR:-}" ]; then
    TINC="-isystem $TORCH_DIR/include -isystem $TORCH_DIR/include/torch/csrc/api/include"
    TLIB="-L$TORCH_DIR/lib -Wl,-rpath,$TORCH_DIR/lib"
else
    TINC="-isystem /usr/include/torch/csrc/api/include"
    TLIB=""
fi
# liblab.a holds the shim's stubs; they load $BUILD/liblabtorch.so (found from
# $BUILD/bench) on the first call. shim_overhead also calls libtorch directly.
LIBS="$BUILD/liblab.a $TLIB -ltorch -ltorch_cpu -lc10 -lstdc++ -lpthread -lm -Wl,--export-dynamic-symbol=lab_err"
mkdir -p "$BUILD/bench"
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -I. -o "$BUILD/bench/shim_lenet" tests/bench/shim_lenet.c $LIBS
${CXX:-c++} -std=c++17 -O2 -I. $TINC -o "$BUILD/bench/shim_overhead" tests/bench/shim_overhead.cpp $LIBS

echo "== shim: per-op call on 4-element tensors, $THREADS thread(s), ns per call =="
printf '%-12s %10s %10s %10s %10s\n' op libtorch shim overhead python
join <("$BUILD/bench/shim_overhead" "$OPS_N" "$THREADS" | sort) \
     <($PY tests/bench/shim_bench.py ops "$OPS_N" "$THREADS" | sort) |
    awk '{ printf "%-12s %10d %10d %10d %10d\n", $1, $2, $3, $3 - $2, $4 }'

PAIRS=${PAIRS:-5}
echo "== shim: LeNet-5 training step, batch 64, 3x32x32, SGD, $THREADS thread(s), ms/step, C (A) vs Python (B) interleaved =="
$PY scripts/bench/pairs.py --pairs "$PAIRS" --label "batch 64 (A/B below 1: C faster)" --unit ms/step \
  --a "$BUILD/bench/shim_lenet $STEPS $THREADS" --b "$PY tests/bench/shim_bench.py lenet $STEPS $THREADS" 2>/dev/null
# Where the C API's lower per-call cost shows: the same step on a small batch.
$PY scripts/bench/pairs.py --pairs "$PAIRS" --label "batch 4 (A/B below 1: C faster)" --unit ms/step \
  --a "$BUILD/bench/shim_lenet $STEPS $THREADS 4" --b "$PY tests/bench/shim_bench.py lenet $STEPS $THREADS 4" 2>/dev/null
