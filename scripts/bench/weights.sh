#!/usr/bin/env bash
# Weight loading: ViT-B/16 (346 MB) from .safetensors and .pth in C, against
# torch.load in Python. Usage: scripts/bench/weights.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -std=c11 -O2 -D_GNU_SOURCE -I"$src" -o "$tmp/weights_load" "$src/tests/bench/weights_load.c" \
   "$build/liblab.a" $(pkg-config --libs jansson) -lm -Wl,--export-dynamic-symbol=lab_err
# The shim is loaded at the first tensor call; from a temp dir it is found this way.
export LAB_TORCHSHIM=$(cd "$build" && pwd)/liblabtorch.so
/usr/bin/python3 "$src/tests/ref/weights_bench.py" "$tmp"
"$tmp/weights_load" "$tmp/vit_b_16.safetensors" "$tmp/vit_b_16.pth"
