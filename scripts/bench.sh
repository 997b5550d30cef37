#!/usr/bin/env bash
# `make bench`: runs every scripts/bench/*.sh with the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
rc=0
for b in scripts/bench/*.sh; do
    echo "### $b"
    "$b" "$BUILD" || { echo "benchmark $b failed" >&2; rc=1; }
done
exit $rc
