#!/usr/bin/env bash
# lab doctor's speed without the network checks (offline), median of N runs:
# the checks themselves (the report's duration_ms) and the whole process,
# next to `lab version` (process start-up: loading libtorch) for scale.
# usage: scripts/bench/doctor.sh [BUILD_DIR] [N]
set -euo pipefail
build=${1:-build}; n=${2:-10}
lab=$build/lab
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export LAB_HOME=$tmp/home LAB_CACHE=$tmp/cache HF_HUB_OFFLINE=1
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
for _ in $(seq "$n"); do
  "$lab" doctor --json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["duration_ms"])' >>"$tmp/checks"
  ms "$lab" doctor >>"$tmp/whole"
  ms "$lab" version >>"$tmp/version"
done
echo "lab doctor (offline, $n runs, median): checks $(median <"$tmp/checks") ms," \
     "whole process $(median <"$tmp/whole") ms, lab version $(median <"$tmp/version") ms"
