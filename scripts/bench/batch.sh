#!/usr/bin/env bash
# Batch grading throughput: 500 submissions generated from one real quick run
# of 2.2.1 (LeNet-5), graded end to end (hash, unpack, verify, check, commit)
# without re-evaluation; then a few with --reeval on the 10,000-image eval
# split. Usage: scripts/bench/batch.sh [BUILD_DIR] [N] [JOBS]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
n=${2:-500}
jobs=${3:-2}
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LAB_HOME=$tmp/home LAB_CACHE=$tmp/cache TMPDIR=$tmp
lab=$build/lab
cd "$tmp"
now() { date +%s.%N; }

"$lab" run 2.2.1 --quick --model lenet5 --device cpu --out run >run.log 2>&1 || {
  tail -5 run.log; exit 1; }
"$lab" submit run --student base -o base.tar.gz >/dev/null
mkdir base && tar xzf base.tar.gz -C base
/usr/bin/python3 "$src/tests/bench/batch_copies.py" base in "$n" s
echo "$n submissions of $(du -k base.tar.gz | cut -f1) KiB each; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"

t0=$(now)
/usr/bin/time -f "%U %S" -o cpu.txt "$lab" grade --batch in --lab 2.2.1 --jobs "$jobs" --db plain.sqlite --json \
  >plain.json 2>/dev/null
t1=$(now)
/usr/bin/python3 - plain.json "$t0" "$t1" "$jobs" cpu.txt <<'PYEOF'
import json, os, sys
s = json.load(open(sys.argv[1])); wall = float(sys.argv[3]) - float(sys.argv[2])
user, sys_ = map(float, open(sys.argv[5]).read().split()[-2:])
assert s["counts"]["graded"] == s["total"], s["counts"]
n, jobs = s["total"], int(sys.argv[4])
cpu = (user + sys_) / n
print(f"without --reeval, --jobs {jobs}: {n} graded in {wall:.1f} s end to end (process start included): "
      f"{n / wall:.1f} submissions/s; batch loop {s['per_s']:.1f}/s")
print(f"  CPU: {user:.1f} s user + {sys_:.1f} s sys = {1000 * cpu:.1f} ms per submission, i.e. "
      f"{jobs / cpu:.0f} submissions/s if {jobs} cores were ours alone (load average now "
      f"{os.getloadavg()[0]:.1f})")
PYEOF
t0=$(now)
"$lab" grade --batch in --lab 2.2.1 --jobs "$jobs" --db plain.sqlite --json >again.json 2>/dev/null
t1=$(now)
echo "rerun, all already graded: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s"

mkdir reeval && for f in $(ls in | head -4); do cp "in/$f" reeval/; done
for j in 1 "$jobs"; do
  t0=$(now)
  "$lab" grade --batch reeval --lab 2.2.1 --reeval --device cpu --jobs "$j" --db "reeval$j.sqlite" --json \
    >"reeval$j.json" 2>/dev/null
  t1=$(now)
  /usr/bin/python3 - "reeval$j.json" "$t0" "$t1" "$j" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1])); wall = float(sys.argv[3]) - float(sys.argv[2])
assert s["counts"]["graded"] == s["total"], s
print(f"--reeval (LeNet-5, 10,000 eval images, CPU), --jobs {sys.argv[4]}: {s['total']} in {wall:.1f} s, "
      f"{wall / s['total']:.2f} s per submission")
PYEOF
done
