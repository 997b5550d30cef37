#!/usr/bin/env bash
# Batch grading on a real Slurm (Debian's slurm-wlm started here, on
# 127.0.0.1, by tests/e2e/slurm_lib.bash): a job array grades 100
# submissions with a gpu gres; one array task is cancelled and one fails on
# purpose, both are resubmitted, and the batch ends with exactly one row per
# submission and the scores of a local batch; nothing is in the gradebook
# while array tasks are still queued (the collect job is its only writer);
# a rerun records nothing new; --no-collect-job; stopping the command that
# follows leaves the jobs to finish (a collect by hand meanwhile is safe);
# a task that exceeds --time is recorded as timeout; lab run --engine slurm
# natively and in the local image with the node's podman;
# lab doctor's Slurm group; usage errors. Skips (77) when Slurm cannot start.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/slurm_lib.bash"
PY=/usr/bin/python3
HERE="$LAB_SRC/tests/e2e"
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8 TZ=UTC
export TMPDIR=$TEST_TMP/tmp
mkdir -p "$TMPDIR"
cd "$TEST_TMP"
slurm_up "$TEST_TMP/slurm"
rows() { "$PY" "$HERE/batch_check.py" count "$1"; }

# A task that outlives --time (1 minute: Slurm's smallest), started first
# because Slurm notices it only on its 30 s sweep; the rest runs meanwhile.
mkdir -p slow/in
echo "the fault switch hangs its grading child" >slow/in/fault-timeout.tar.gz
( rc=0; LAB_TEST_GRADE_FAULT=timeout "$LAB_BIN" grade --batch slow/in --lab 2.2.1 --slurm --time 1 \
    --timeout 3600 --retries 0 --db slow.sqlite --spool spool >slow.out 2>slow.err || rc=$?; echo $rc >slow.rc ) &
slow_pid=$!

# One real (short) run, submitted: the model of every submission.
# (Trained on 1,500 images it misses the accuracy target: exit 1, and
# submissions that do not earn full marks are as good a test.)
expect_exit 1 "$LAB_BIN" run 2.2.1 --quick --model lenet5 --device cpu --set per_model.lenet5.data.train_subset=1500 \
  --out run
expect_exit 0 "$LAB_BIN" submit run --student base -o base.tar.gz
mkdir base && tar xzf base.tar.gz -C base
slurm_copies base in 97
cp -r base in/folder-sub                        # a folder submission
cp in/s000.tar.gz in/fault-crash.tar.gz
printf 'not an archive' >in/broken.tar.gz
total=$(ls in | wc -l)
[ "$total" -eq 100 ] || fail "made $total submissions, not 100"
FAULTS="crash@fault-crash"

# The reference: a local batch.
rc=0; LAB_TEST_GRADE_FAULT=$FAULTS "$LAB_BIN" grade --batch in --lab 2.2.1 --jobs 2 --db local.sqlite --json \
  >local.json 2>local.err || rc=$?
[ "$rc" -eq 1 ] || fail "the local batch exited $rc, not 1: $(tail -3 local.err)"

# On Slurm: 10 tasks, task 3 fails on purpose after its first submission,
# task 5 is cancelled while queued; one retry each.
rc=0
LAB_TEST_GRADE_FAULT=$FAULTS LAB_TEST_SLURM_FAULT=fail@3 "$LAB_BIN" grade --batch in --lab 2.2.1 --slurm \
  --gres gpu:1 --tasks 10 --retries 1 --db slurm.sqlite --spool spool --json >slurm.json 2>slurm.err &
grade_pid=$!
job=$(slurm_submitted slurm.json job)
spool_dir=$(slurm_submitted slurm.json spool)
scancel "${job}_5" || fail "scancel ${job}_5 failed"
# While tasks are queued, results appear in the spool and not one row in the gradebook.
checked=0
for _ in $(seq 1 600); do
  n=$(ls "$spool_dir/results" | wc -l)
  if [ "$n" -ge 5 ]; then
    r=$(rows slurm.sqlite)
    if squeue -h -j "$job" -t PENDING -r -o %i | grep -q .; then
      [ "$r" -eq 0 ] || fail "$r rows in the gradebook while array tasks are still queued"
      checked=1
    fi
    break
  fi
  sleep 0.1
done
[ "$checked" -eq 1 ] || fail "never saw results in the spool with tasks still queued"
wait "$grade_pid" || rc=$?
[ "$rc" -eq 1 ] || fail "the Slurm batch exited $rc, not 1: $(tail -5 slurm.err)"
"$PY" "$HERE/batch_check.py" same local.sqlite slurm.sqlite >/dev/null || fail "the Slurm batch differs from the local one"
[ "$(rows slurm.sqlite)" -eq 100 ] || fail "$(rows slurm.sqlite) rows, not 100"
"$PY" - "$spool_dir" <<'EOF' || fail "tasks 3 and 5 were not resubmitted once"
import json, sys
m = json.load(open(sys.argv[1] + "/spool.json"))
att = m["attempts"]
assert len(att) == 2 and att[0]["tasks"] is None and sorted(att[1]["tasks"]) == [3, 5], att
assert all(a["collect"] for a in att), att
EOF
# Accounting is off here: the progress came from the controller (scontrol).
expect_match "$(cat slurm.json)" '"event":"progress".*"from":"scontrol"'
summary=$(sed -n '/^{$/,$p' slurm.json)  # after the one-line events
expect_match "$summary" '"graded": 98'
expect_match "$summary" '"crash": 1'
expect_match "$summary" '"not_gradable": 1'

# The same command again: everything is recorded; nothing is submitted.
expect_exit 0 "$LAB_BIN" grade --batch in --lab 2.2.1 --slurm --db slurm.sqlite --spool spool
expect_match "$LAST_OUT" 'skipped 100'
[ "$(rows slurm.sqlite)" -eq 100 ] || fail "the rerun changed the row count"
# Collecting by hand a complete spool changes nothing.
expect_exit 0 "$LAB_BIN" grade --collect "$spool_dir" --json
expect_match "$LAST_OUT" '"complete": true'
[ "$(rows slurm.sqlite)" -eq 100 ] || fail "a second collect added rows"

# Usage and hostile input.
expect_exit 2 "$LAB_BIN" grade --batch in --lab 2.2.1 --partition debug
expect_match "$LAST_ERR" 'go with --slurm'
mkdir notaspool
expect_exit 2 "$LAB_BIN" grade --collect notaspool
expect_match "$LAST_ERR" 'TS-SLURM-SPOOL'
expect_exit 3 "$LAB_BIN" grade --batch in --lab 2.2.1 --slurm --partition nosuch --db x.sqlite --spool spool
expect_match "$LAST_ERR" 'sbatch refused the job'
expect_match "$LAST_ERR" 'TS-SLURM-SUBMIT'
[ "$(ls spool | wc -l)" -eq 2 ] || fail "a refused submission left a spool behind: $(ls spool)"
! ls x.sqlite* >/dev/null 2>&1 || fail "a refused submission left a gradebook behind: $(ls x.sqlite*)"

# --no-collect-job: the submitting command is the collect step (and a '%'
# in the spool's path reaches sbatch's --output as itself).
mkdir small && cp in/s001.tar.gz in/s002.tar.gz in/s003.tar.gz small/
expect_exit 0 "$LAB_BIN" grade --batch small --lab 2.2.1 --slurm --no-collect-job --db small.sqlite --spool 'sp%j'
ls sp%j/*/logs/task-*.out >/dev/null || fail "the array's logs are not in the spool: $(ls -R sp%j | head)"
expect_match "$LAST_OUT" 'graded 3 '
[ "$(rows small.sqlite)" -eq 3 ] || fail "--no-collect-job recorded $(rows small.sqlite) rows, not 3"
"$PY" - <<'EOF' || fail "--no-collect-job submitted a collect job"
import glob, json
m = [json.load(open(p)) for p in glob.glob("sp%j/*/spool.json") if json.load(open(p))["input"].endswith("/small")]
assert len(m) == 1 and m[0]["attempts"][0]["collect"] == "", m
EOF

# Stopping the command that follows (SIGTERM; without a terminal nobody is
# asked): the jobs go on, the collect job completes the gradebook alone, and
# a collect by hand meanwhile is safe.
mkdir stop && cp in/s01[0-9].tar.gz stop/
"$LAB_BIN" grade --batch stop --lab 2.2.1 --slurm --tasks 5 --db stop.sqlite --spool spool --json >stop.json 2>stop.err &
stop_pid=$!
stop_spool=$(slurm_submitted stop.json spool)
kill -TERM "$stop_pid"
rc=0; wait "$stop_pid" || rc=$?
[ "$rc" -eq 130 ] || fail "the stopped command exited $rc, not 130: $(tail -3 stop.err)"
expect_match "$(cat stop.err)" 'go on; `lab grade --collect'
expect_exit 0 "$LAB_BIN" grade --collect "$stop_spool" --json
expect_match "$LAST_OUT" '"complete": (true|false)'
for _ in $(seq 1 300); do [ -e "$stop_spool/summary.json" ] && break; sleep 0.2; done
[ -e "$stop_spool/summary.json" ] || fail "the collect job never completed the stopped batch"
[ "$(rows stop.sqlite)" -eq 10 ] || fail "the stopped batch ended with $(rows stop.sqlite) rows, not 10"

# lab run on a node: the log streamed, the lab's exit code (1: below the
# accuracy target, as natively) back, the run directory where asked.
expect_exit 0 "$LAB_BIN" run 2.2.1 --engine slurm --dry-run --gres gpu:1 --time 30 --quick --out there
expect_match "$LAST_OUT" '^#SBATCH --gres=gpu:1$'
expect_match "$LAST_OUT" "^exec .*/lab run 2.2.1 --engine native --quick --out $TEST_TMP/there\$"
expect_exit 1 "$LAB_BIN" run 2.2.1 --engine slurm --gres gpu:1 --quick --model lenet5 --device cpu \
  --set per_model.lenet5.data.train_subset=1500 --out slurm-run
expect_match "$LAST_OUT" "run dir: $TEST_TMP/slurm-run"
expect_match "$LAST_OUT" 'self-check'
[ -s slurm-run/metrics.json ] || fail "lab run --engine slurm left no metrics.json in slurm-run"
# ... and in the course image with the node's podman: the image `lab image
# build --local` makes here, run by a podman of the test's own (its
# configuration exported to the job, as a site's would be in place).
if command -v podman >/dev/null; then
  . "$HERE/podman_lib.bash"
  mkdir -p "$TEST_TMP/pm" && podman_private "$TEST_TMP/pm"
  trap 'podman rm -af -t 0 >/dev/null 2>&1; podman rmi -af >/dev/null 2>&1; slurm_stop' EXIT
  IMAGE=lab-local:$("$LAB_BIN" --version | head -1 | cut -d' ' -f2)
  "$LAB_BIN" image build --local --engine podman >image.log 2>&1 || fail "lab image build --local failed: $(tail -3 image.log)"
  expect_exit 1 "$LAB_BIN" run 2.2.1 --engine slurm --image "$IMAGE" --quick --model lenet5 --device cpu \
    --set per_model.lenet5.data.train_subset=1500 --out slurm-podman
  expect_match "$LAST_OUT$LAST_ERR" "running lab 2\.2\.1 in podman .*image $IMAGE"
  expect_match "$LAST_OUT" "run dir: $TEST_TMP/slurm-podman"
  [ -s slurm-podman/metrics.json ] && [ -s slurm-podman/models/lenet5/model.safetensors ] ||
    fail "the run in the node's podman left no results in slurm-podman: $(ls -R slurm-podman 2>&1 | head)"
fi

# lab doctor's Slurm group, against this Slurm.
"$LAB_BIN" doctor --json >doctor.json 2>/dev/null || true
"$PY" - <<'EOF' || fail "lab doctor's Slurm group: $(grep -o '"slurm[^}]*' doctor.json)"
import json
d = {c["id"]: c for c in json.load(open("doctor.json"))["checks"]}
assert d["slurm.controller"]["status"] == "pass", d["slurm.controller"]
assert d["slurm.partitions"]["status"] == "pass" and "debug" in d["slurm.partitions"]["message"], d["slurm.partitions"]
assert d["slurm.gpus"]["status"] == "pass" and "gpu:2" in d["slurm.gpus"]["message"], d["slurm.gpus"]
EOF
# --full: a one-task job on the node reads and writes the spool directory.
LAB_SLURM_SPOOL=$TEST_TMP/spool "$LAB_BIN" doctor --full --check slurm.shared_dir --json >shared.json 2>/dev/null || true
expect_match "$(cat shared.json)" '"status": "pass"'
expect_match "$(cat shared.json)" 'node .* reads and writes'

# The task past its --time: recorded as timeout, no points.
wait "$slow_pid" || true
[ "$(cat slow.rc)" -eq 1 ] || fail "the timed-out batch exited $(cat slow.rc), not 1: $(tail -5 slow.err)"
"$PY" - <<'EOF' || fail "the task past --time was not recorded as a Slurm timeout"
import sqlite3
c = sqlite3.connect("file:slow.sqlite?mode=ro", uri=True)
rows = list(c.execute("SELECT s.status, s.score, s.status_detail, r.check_id, r.kb FROM submissions s"
                      " JOIN check_results r ON r.submission = s.id"))
assert len(rows) == 1, rows
status, score, detail, check, kb = rows[0]
assert (status, score, check, kb) == ("timeout", 0, "slurm.timeout", "TS-SLURM-TIMEOUT"), rows
assert "Slurm state TIMEOUT" in detail, detail
EOF
echo "ok: slurm"
