#!/usr/bin/env bash
# Batch grading on Slurm against a local batch: the same 300 submissions
# (copies of one real quick run of 2.2.1, no --reeval), graded by
# `lab grade --batch --jobs 2` and by `lab grade --batch --slurm` (30 array
# tasks, the collect job, all on a private slurm-wlm on this machine as
# tests/e2e/slurm.sh starts it), interleaved A B A B ... 5 pairs; the
# median ratio and the scheduling overhead per submission. Then a
# simulation (a model, not a measurement) of a 300-student re-evaluation on
# 1, 2 and 4 GPU nodes from a measured per-submission --reeval time.
# Needs root (slurmd); says so and exits 0 otherwise.
# Usage: scripts/bench/slurm.sh [BUILD_DIR] [N] [PAIRS]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
n=${2:-300}
pairs=${3:-5}
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
export LAB_HOME=$tmp/home LAB_CACHE=$tmp/cache TMPDIR=$tmp
lab=$build/lab
TEST_TMP=$tmp LAB_BIN=$lab
. "$src/tests/e2e/slurm_lib.bash"
why=$(slurm_why_not)
if [ -n "$why" ]; then echo "slurm bench skipped: $why"; rm -rf "$tmp"; exit 0; fi
cd "$tmp"
slurm_start "$tmp/slurm" >slurm.why 2>&1 || { echo "slurm bench skipped: $(cat slurm.why)"; exit 0; }
trap 'slurm_stop; rm -rf "$tmp"' EXIT
now() { date +%s.%N; }

"$lab" run 2.2.1 --quick --model lenet5 --device cpu --set data.eval_subset=0 \
  --set per_model.lenet5.data.train_subset=1500 --out run >run.log 2>&1 || true
[ -s run/metrics.json ] || { tail -5 run.log; exit 1; }
"$lab" submit run --student base -o base.tar.gz >/dev/null
mkdir base && tar xzf base.tar.gz -C base
/usr/bin/python3 "$src/tests/bench/batch_copies.py" base in "$n" s
echo "$n submissions of $(du -k base.tar.gz | cut -f1) KiB each; $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg)"

: >times.txt
for i in $(seq 1 "$pairs"); do
  t0=$(now)
  "$lab" grade --batch in --lab 2.2.1 --jobs 2 --db "local$i.sqlite" --json >"local$i.json" 2>/dev/null
  t1=$(now)
  "$lab" grade --batch in --lab 2.2.1 --slurm --tasks 30 --db "slurm$i.sqlite" --spool spool --json \
    >"slurm$i.json" 2>/dev/null
  t2=$(now)
  echo "$t0 $t1 $t2" >>times.txt
  /usr/bin/python3 "$src/tests/e2e/batch_check.py" same "local$i.sqlite" "slurm$i.sqlite" >/dev/null
done
mkdir reeval && for f in $(ls in | head -4); do cp "in/$f" reeval/; done
t0=$(now)
"$lab" grade --batch reeval --lab 2.2.1 --reeval --device cpu --jobs 1 --db reeval.sqlite --json >/dev/null 2>&1
t1=$(now)
/usr/bin/python3 - times.txt "$n" "$t0" "$t1" <<'PYEOF'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
local = [b - a for a, b, c in rows]
slurm = [c - b for a, b, c in rows]
ratios = [s / l for s, l in zip(slurm, local)]
ml, ms = statistics.median(local), statistics.median(slurm)
print(f"local --jobs 2: {', '.join(f'{x:.2f}' for x in local)} s (median {ml:.2f} s)")
print(f"slurm 30 tasks: {', '.join(f'{x:.2f}' for x in slurm)} s (median {ms:.2f} s)")
print(f"median ratio slurm/local over {len(rows)} interleaved pairs: {statistics.median(ratios):.2f}x; "
      f"scheduling overhead {1000 * (ms - ml) / n:.1f} ms per submission")
per_sub = (float(sys.argv[4]) - float(sys.argv[3])) / 4
overhead_task = max(ms - ml, 0) / 30  # measured: per array task of 10 submissions, beyond local grading
print(f"measured --reeval (2.2.1 LeNet-5, 10,000 eval images, CPU, --jobs 1): {per_sub:.2f} s per submission")
print("SIMULATION (a model from the figures above, not a run): 300 submissions in 30 tasks of 10, one task per")
print("GPU node at a time, each task costing 10 x the --reeval time + the measured Slurm overhead per task:")
for label, t_sub in (("measured here", per_sub), ("docs/perf.md, idle machine", 0.35)):
    cells = []
    for nodes in (1, 2, 4):
        waves = -(-30 // nodes)
        cells.append(f"{nodes} node{'s' if nodes > 1 else ''} {waves * (10 * t_sub + overhead_task) / 60:.1f} min")
    print(f"  {t_sub:.2f} s/submission ({label}): " + ", ".join(cells))
PYEOF
