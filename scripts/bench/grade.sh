#!/usr/bin/env bash
# lab grade on a quick-run submission of lab 2.2.1 (lenet5, 2,000 eval
# images): wall time and peak RSS (GNU time), median of N runs, without and
# with --reeval (on the CPU), next to `lab version` (process start-up).
# usage: scripts/bench/grade.sh [BUILD_DIR] [N]
set -euo pipefail
build=${1:-build}; n=${2:-5}
lab=$(realpath "$build/lab")
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || { echo "grade bench: no Fashion-MNIST, skipped"; exit 0; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export LAB_HOME=$tmp/home LAB_CACHE=$tmp/cache
"$lab" run 2.2.1 --quick --model lenet5 --device cpu --out "$tmp/run" >/dev/null 2>&1 || true
(cd "$tmp" && "$lab" submit run --student bench -o sub.tar.gz >/dev/null)
# lenet5's checks pass; the three models a lenet5-only run leaves out cost their points (exit 1)
{ "$lab" grade "$tmp/sub.tar.gz" --reeval --device cpu || true; } | tail -1
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { # measure NAME ARGS...: appends "seconds rss_kb" per run
  local name=$1; shift
  for _ in $(seq "$n"); do
    /usr/bin/time -f '%e %M' -o "$tmp/t" "$lab" "$@" >/dev/null 2>&1 || true
    tail -1 "$tmp/t" >>"$tmp/$name"
  done
}
measure version version
measure plain grade "$tmp/sub.tar.gz"
measure reeval grade "$tmp/sub.tar.gz" --reeval --device cpu
for k in version plain reeval; do
  echo "$k: $(cut -d' ' -f1 "$tmp/$k" | median) s, peak RSS $(( $(cut -d' ' -f2 "$tmp/$k" | median) / 1024 )) MB"
done | sed 's/^version/lab version/; s/^plain/lab grade/; s/^reeval/lab grade --reeval --device cpu/' \
     | sed "1i lab grade on a quick 2.2.1 submission (lenet5, 2000 eval images; $n runs, median):"
