#!/usr/bin/env bash
# Runs every benchmark script in scripts/bench/ with the build directory.
# Usage: scripts/bench.sh [BUILD_DIR]   (make bench)
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
status=0
for s in scripts/bench/*.sh; do
  echo "### $s"
  bash "$s" "$BUILD" || { echo "$s failed"; status=1; }
done
exit $status
