#!/usr/bin/env bash
# Array tasks that Slurm itself ends: one killed for memory (cgroups enforce
# --task-mem: OUT_OF_MEMORY) and one whose node fails under it (the node is
# set DOWN while it runs: NODE_FAIL). With a retry both are resubmitted and
# the batch ends with exactly one row per submission and a local batch's
# scores; without one, their ungraded submissions are recorded with that
# outcome, never scored. Skips (77) when Slurm, or its cgroup plugins,
# cannot start here.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/slurm_lib.bash"
PY=/usr/bin/python3
HERE="$LAB_SRC/tests/e2e"
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
[ -w /sys/fs/cgroup/memory ] || skip "no writable cgroup v1 memory controller: Slurm cannot enforce --mem here"
export LC_ALL=C.UTF-8 TZ=UTC TMPDIR=$TEST_TMP/tmp
mkdir -p "$TMPDIR"
cd "$TEST_TMP"
SLURM_MEMKILL=1 slurm_up "$TEST_TMP/slurm"
rows() { "$PY" "$HERE/batch_check.py" count "$1"; }
# state JOB TASK: the controller's state of one array task
state() { scontrol -o show job "$1_$2" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -1 | cut -d= -f2; }
# fail_node_when SPOOL JOB HOG HANG: once task HOG is OUT_OF_MEMORY and task
# HANG runs with a result written, the node goes DOWN (it returns by itself:
# ReturnToService=2).
fail_node_when() {
  local i
  for i in $(seq 1 600); do
    if [ "$(state "$2" "$3")" = OUT_OF_MEMORY ] && [ "$(state "$2" "$4")" = RUNNING ] &&
      grep -q 'hangs on purpose' "$1"/logs/task-"$2_$4".out 2>/dev/null; then
      scontrol update nodename=localhost state=down reason=lab-e2e-node-fail || fail "could not set the node down"
      return 0
    fi
    sleep 0.1
  done
  fail "tasks $3 (memory) and $4 (hang) never got there: $(squeue -h -r -j "$2" -o '%i %T' | head -5)"
}

expect_exit 1 "$LAB_BIN" run 2.2.1 --quick --model lenet5 --device cpu --set per_model.lenet5.data.train_subset=1500 \
  --out run
expect_exit 0 "$LAB_BIN" submit run --student base -o base.tar.gz
mkdir base && tar xzf base.tar.gz -C base
slurm_copies base in 8
rc=0; "$LAB_BIN" grade --batch in --lab 2.2.1 --jobs 2 --db local.sqlite >local.out 2>local.err || rc=$?
[ "$rc" -eq 0 ] || fail "the local batch exited $rc, not 0: $(tail -3 local.err)"

# 1. One retry: 4 tasks of 2; task 1 eats memory past --task-mem, task 2
# hangs and its node fails, each after grading its first submission.
rc=0
LAB_TEST_SLURM_FAULT=hog@1,hang@2 "$LAB_BIN" grade --batch in --lab 2.2.1 --slurm --tasks 4 --retries 1 \
  --task-mem 300M --db slurm.sqlite --spool spool --json >slurm.json 2>slurm.err &
grade_pid=$!
job=$(slurm_submitted slurm.json job)
spool_dir=$(slurm_submitted slurm.json spool)
fail_node_when "$spool_dir" "$job" 1 2
wait "$grade_pid" || rc=$?
[ "$rc" -eq 0 ] || fail "the Slurm batch exited $rc, not 0: $(tail -5 slurm.err)"
[ "$(rows slurm.sqlite)" -eq 8 ] || fail "$(rows slurm.sqlite) rows, not 8"
"$PY" "$HERE/batch_check.py" same local.sqlite slurm.sqlite >/dev/null || fail "the Slurm batch differs from the local one"
"$PY" - "$spool_dir" "$job" <<'EOF' || fail "tasks 1 and 2 were not resubmitted once, with --mem and --no-requeue"
import json, sys
m = json.load(open(sys.argv[1] + "/spool.json"))
att = m["attempts"]
assert len(att) == 2 and att[0]["job"] == sys.argv[2] and {1, 2} <= set(att[1]["tasks"]), att
assert m["task_mem"] == "300M", m
EOF
grep -q 'exceeded memory limit\|oom-kill' "$spool_dir/logs/task-${job}_1.out" ||
  fail "task 1 was not killed for memory: $(tail -3 "$spool_dir/logs/task-${job}_1.out")"

# 2. No retry: the two submissions left ungraded are recorded as what
# happened to their tasks, with no score.
mkdir two && cp in/s00[0-3].tar.gz two/
rc=0
LAB_TEST_SLURM_FAULT=hog@0,hang@1 "$LAB_BIN" grade --batch two --lab 2.2.1 --slurm --tasks 2 --retries 0 \
  --task-mem 300M --db two.sqlite --spool spool --json >two.json 2>two.err &
grade_pid=$!
job=$(slurm_submitted two.json job)
spool_dir=$(slurm_submitted two.json spool)
fail_node_when "$spool_dir" "$job" 0 1
wait "$grade_pid" || rc=$?
[ "$rc" -eq 1 ] || fail "the batch without retries exited $rc, not 1: $(tail -5 two.err)"
"$PY" - <<'EOF' || fail "the OOM and node-failed tasks were not recorded as such"
import sqlite3
c = sqlite3.connect("file:two.sqlite?mode=ro", uri=True)
rows = {src.rsplit("/", 1)[-1]: (st, sc, ck, kb, det) for src, st, sc, ck, kb, det in c.execute(
    "SELECT s.source, s.status, s.score, r.check_id, r.kb, s.status_detail FROM submissions s"
    " JOIN check_results r ON r.submission = s.id WHERE r.check_id LIKE 'slurm.%'")}
assert set(rows) == {"s002.tar.gz", "s003.tar.gz"}, rows
oom, node = rows["s002.tar.gz"], rows["s003.tar.gz"]
assert oom[:4] == ("oom", 0, "slurm.oom", "TS-SLURM-OOM") and "OUT_OF_MEMORY" in oom[4], oom
assert node[:4] == ("crash", 0, "slurm.node_fail", "TS-SLURM-NODE-FAIL") and "NODE_FAIL" in node[4], node
total = c.execute("SELECT count(*) FROM submissions").fetchone()[0]
graded = c.execute("SELECT count(*) FROM submissions WHERE status = 'graded'").fetchone()[0]
assert (total, graded) == (4, 2), (total, graded)
EOF

# A size sbatch would not take is refused before anything is staged.
expect_exit 2 "$LAB_BIN" grade --batch two --lab 2.2.1 --slurm --task-mem 3GB --db x.sqlite --spool spool
expect_match "$LAST_ERR" "--task-mem '3GB' is not a size"
echo "ok: slurm_fail"
