#!/usr/bin/env bash
# make bench: the CUDA build check (make check-cuda-build), which is too slow
# for CI on a fresh machine (docs/platforms.md). Record its last result
# (date, commit, seconds) in docs/perf.md, "libtorch 2.x builds".
# Usage: scripts/bench/cuda_build.sh [BUILD_DIR]   (the build dir is unused)
set -uo pipefail
cd "$(dirname "$0")/../.."
rc=0; scripts/check-cuda-build.sh || rc=$?
[ "$rc" -eq 77 ] && { echo "cuda_build: skipped (see above)"; exit 0; }
exit "$rc"
