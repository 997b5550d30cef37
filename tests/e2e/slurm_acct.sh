#!/usr/bin/env bash
# Batch grading on a real Slurm with accounting: slurm_lib.bash's
# SLURM_ACCOUNTING=1 starts a private MariaDB and slurmdbd beside slurmctld
# and slurmd (127.0.0.1 and private sockets only; stopped by the EXIT trap).
# `--account cv101` is in sacct's Account column; the states that decide a
# task's fate come from sacct: a task past its --time is recorded as timeout
# (TIMEOUT), a cancelled one as cancelled, a failing one as failed, never
# scored, one row per submission after a rerun (slurmdbd hears of task 1
# seconds after it fails, at the next scheduling pass, which is just when
# the collect job starts: this is what the collect's wait for accounting is
# for); progress says "from":"sacct";
# an unknown account exits 3 naming it and the fix, and leaves neither spool
# nor gradebook behind; lab doctor's slurm.accounting passes. Skips (77)
# when Slurm or its accounting cannot start here. Submissions are broken
# archives: quick to grade, and only what Slurm does to them matters here.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/slurm_lib.bash"
PY=/usr/bin/python3
export SLURM_ACCOUNTING=1 SLURM_ACCOUNTS="cv101"
export LC_ALL=C.UTF-8 TZ=UTC
export TMPDIR=$TEST_TMP/tmp
mkdir -p "$TMPDIR"
cd "$TEST_TMP"
slurm_up "$TEST_TMP/slurm"
# Each row of a gradebook: source|status|score|check|detail (its first non-passing check).
rows() {
  "$PY" - "$1" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for r in c.execute("SELECT s.source, s.status, s.score, coalesce((SELECT check_id FROM check_results r"
                   " WHERE r.submission = s.id AND r.status NOT IN ('pass', 'skipped') ORDER BY seq LIMIT 1), ''),"
                   " coalesce(s.status_detail, '') FROM submissions s ORDER BY s.source"):
    print("|".join([r[0], r[1], "%g" % r[2], r[3], r[4]]))
EOF
}

# A task past its --time. Slurm's smallest --time is a minute and slurmctld
# checks limits every 30 s: once the task runs, the test moves its end to
# now (scontrol update EndTime, as an operator can), so the limit is passed
# at the next check instead of a minute later; Slurm itself ends it TIMEOUT.
mkdir -p slow
echo "the fault switch hangs its grading child" >slow/fault-timeout.tar.gz
LAB_TEST_GRADE_FAULT=timeout "$LAB_BIN" grade --batch slow --lab 2.2.1 --slurm --time 1 --timeout 3600 \
  --retries 0 --db slow.sqlite --spool spool --json >slow.json 2>slow.err &
slow_pid=$!
slow_job=$(slurm_submitted slow.json job)

# Six submissions in three tasks, one task at a time: task 1 fails after its
# first submission (LAB_TEST_SLURM_FAULT); task 2 hangs on s2 and is
# cancelled while it runs. (A task cancelled before it starts leaves no
# record, in sacct or scontrol: lab finds it LOST, as docs/cluster.md says.)
mkdir in
for i in 0 1 2 3 4 5; do echo "not an archive $i" >"in/s$i.tar.gz"; done
grade=("$LAB_BIN" grade --batch in --lab 2.2.1 --slurm --account cv101 --tasks 3 --array-parallel 1 --retries 0
  --db acct.sqlite --spool spool)
rc=0
LAB_TEST_SLURM_FAULT=fail@1 LAB_TEST_GRADE_FAULT=timeout@s2 "${grade[@]}" --json >acct.json 2>acct.err &
acct_pid=$!
job=$(slurm_submitted acct.json job)
collect=$(slurm_submitted acct.json collect)

running() { for _ in $(seq 1 600); do squeue -h -j "$1" -t RUNNING -o %i | grep -q . && return 0; sleep 0.1; done
  fail "$1 never ran: $(squeue -a 2>&1 | tail -5)"; }
running "${slow_job}_0"
scontrol update JobId="${slow_job}_0" EndTime=now+1 || fail "could not move the end of ${slow_job}_0"
running "${job}_2"
# slurmdbd hears of a new job a little after the controller: the first
# polls may come from scontrol. Task 2 hangs until cancelled, and the
# command polls on (an event at least every 10 s) until sacct answers.
for _ in $(seq 1 300); do grep -q '"from":"sacct"' acct.json && break; sleep 0.1; done
scancel "${job}_2" || fail "scancel ${job}_2 failed"

wait "$acct_pid" || rc=$?
[ "$rc" -eq 1 ] || fail "the batch exited $rc, not 1: $(tail -5 acct.err)"
# The account, as accounting recorded it, for the array's tasks and the collect job.
accounts=$(sacct -X -n -P -o JobID,Account -j "$job,$collect")
expect_match "$accounts" "^${job}_0\|cv101$"
expect_match "$accounts" "^${job}_2\|cv101$"
expect_match "$accounts" "^${collect}\|cv101$"
[ "$(grep -vc '|cv101$' <<<"$accounts")" -eq 0 ] || fail "a job not in account cv101: $accounts"
# Progress came from accounting once it had the job, and from then on.
"$PY" - <<'EOF' || fail "progress did not come from sacct: $(grep progress acct.json)"
import json
src = [json.loads(l)["from"] for l in open("acct.json") if l.startswith('{"event":"progress"')]
assert "sacct" in src and set(src[src.index("sacct"):]) == {"sacct"}, src
EOF
got=$(rows acct.sqlite)
[ "$(wc -l <<<"$got")" -eq 6 ] || fail "not one row per submission: $got"
[ "$(grep -c '|not_gradable|0|' <<<"$got")" -eq 3 ] || fail "three submissions were graded, not: $got"
[ "$(grep -Ec '\|crash\|0\|slurm\.failed\|.*Slurm state FAILED .*; from sacct\)' <<<"$got")" -eq 1 ] ||
  fail "the failing task's second submission is not recorded as failed from sacct: $got"
[ "$(grep -Ec '\|crash\|0\|slurm\.cancelled\|.*Slurm state CANCELLED .*; from sacct\)' <<<"$got")" -eq 2 ] ||
  fail "the cancelled task's two submissions are not recorded as cancelled from sacct: $got"

# The same command again: everything is recorded, nothing is submitted.
spools=$(ls spool | wc -l)
expect_exit 0 "${grade[@]}"
expect_match "$LAST_OUT" 'skipped 6'
[ "$(rows acct.sqlite)" = "$got" ] || fail "the rerun changed the gradebook: $(rows acct.sqlite)"
[ "$(ls spool | wc -l)" -eq "$spools" ] || fail "the rerun left a spool: $(ls spool)"

# An account that does not exist: refused by sbatch, named, with the fix;
# no spool and no gradebook left.
expect_exit 3 "$LAB_BIN" grade --batch in --lab 2.2.1 --slurm --account nosuch --db refused.sqlite --spool spool
expect_match "$LAST_ERR" "account 'nosuch'"
expect_match "$LAST_ERR" 'Invalid account'
expect_match "$LAST_ERR" 'sacctmgr show assoc user=\$USER'
expect_match "$LAST_ERR" 'TS-SLURM-ACCOUNT'
[ "$(ls spool | wc -l)" -eq "$spools" ] || fail "a refused submission left a spool: $(ls spool)"
! ls refused.sqlite* >/dev/null 2>&1 || fail "a refused submission left a gradebook: $(ls refused.sqlite*)"

# lab doctor, against this Slurm: accounting on, root has associations.
"$LAB_BIN" doctor --check slurm.accounting --json >doctor.json 2>/dev/null || true
"$PY" - <<'EOF' || fail "lab doctor's slurm.accounting: $(cat doctor.json)"
import json
c = {c["id"]: c for c in json.load(open("doctor.json"))["checks"]}["slurm.accounting"]
assert c["status"] == "pass", c
assert "accounting_storage/slurmdbd" in c["message"] and "cv101" in c["message"], c
EOF

# The task past its time: TIMEOUT, as sacct says, recorded as timeout with no points.
rc=0; wait "$slow_pid" || rc=$?
[ "$rc" -eq 1 ] || fail "the timed-out batch exited $rc, not 1: $(tail -5 slow.err)"
got=$(rows slow.sqlite)
expect_match "$got" '^fault-timeout\.tar\.gz\|timeout\|0\|slurm\.timeout\|.*Slurm state TIMEOUT .*; from sacct\)$'
[ "$(wc -l <<<"$got")" -eq 1 ] || fail "not one row for the timed-out submission: $got"
expect_match "$(sacct -X -n -P -o JobID,State -j "$slow_job")" "^${slow_job}_0\|TIMEOUT$"
echo "ok: slurm_acct"
