#!/usr/bin/env bash
# The run history: `lab runs`, run ids and `last` where a run directory is
# taken, `lab list` keeping the last good run in sight, a failed start that
# does not block its rerun, and nothing written outside LAB_HOME, LAB_CACHE
# and the run directory (HOME points at an empty scratch directory).
set -euo pipefail
. "$(dirname "$0")/lib.bash"
[ -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export HOME=$TEST_TMP/fakehome
mkdir -p "$HOME"
unset HF_HOME HF_HUB_CACHE HUGGINGFACE_HUB_CACHE XDG_CACHE_HOME XDG_DATA_HOME
SMALL=(--quick --model lenet5 --device cpu --set data.train_subset=256 --set data.eval_subset=64)

expect_exit 0 "$LAB_BIN" runs
expect_match "$LAST_OUT" 'no runs yet'
expect_exit 2 "$LAB_BIN" submit last --student alice
expect_match "$LAST_ERR" 'no run is recorded'
expect_match "$LAST_ERR" 'fix: .*lab runs'

# Run 1: a small run that finishes (its self-check may fail on so few images).
rc=0; "$LAB_BIN" run 2.2.1 "${SMALL[@]}" --out "$TEST_TMP/r1" >"$TEST_TMP/r1.log" 2>&1 || rc=$?
[ "$rc" -le 1 ] || fail "the small run exited $rc: $(tail -3 "$TEST_TMP/r1.log")"
expect_exit 0 "$LAB_BIN" runs
expect_match "$LAST_OUT" '^ID +LAB +MODEL +MODE +STATUS +HEADLINE +PATH'
expect_match "$LAST_OUT" "^1 +2\\.2\\.1 +lenet5 +quick +(ok|failed) +acc [0-9.]+% \\(lenet5\\) +$TEST_TMP/r1\$"
"$LAB_BIN" runs 2.2.1 --json | /usr/bin/python3 -c '
import json, sys
rows = json.load(sys.stdin)
assert len(rows) == 1, rows
r = rows[0]
assert (r["id"], r["lab"], r["model"], r["mode"]) == (1, "2.2.1", "lenet5", "quick"), r
m = json.load(open(r["run_dir"] + "/metrics.json"))["models"]["lenet5"]["test_accuracy"]
assert abs(r["headline"]["value"] - m) < 1e-6, (r["headline"], m)'
# The store says it finished well, as a full-size run would.
/usr/bin/python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE runs SET status = '"'ok'"' WHERE id = 1"); c.commit()' "$LAB_HOME/lab.db"

# A run id and `last` stand for the run directory.
cd "$TEST_TMP"
expect_exit 0 "$LAB_BIN" submit 1 --student alice
expect_match "$LAST_OUT" 'wrote alice-2.2.1.tar.gz'
expect_exit 0 "$LAB_BIN" submit last --student bob -o bob.tar.gz
cmp <(tar tzf alice-2.2.1.tar.gz | sort) <(tar tzf bob.tar.gz | sort) || fail "run 1 and last packed different runs"
rc=0; "$LAB_BIN" grade last --format json >grade-last.json || rc=$?
[ "$rc" -le 1 ] || fail "lab grade last exited $rc"
/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["lab"] == "2.2.1", r' grade-last.json
expect_exit 2 "$LAB_BIN" grade 99
expect_match "$LAST_ERR" 'no run 99 in the store'
expect_exit 2 "$LAB_BIN" run 2.2.1 --resume 99
expect_match "$LAST_ERR" 'no run 99'

# A failed start (full mode: CIFAR-10 is not in this cache): exit 3, the
# error in the run's log, and the same --out can be used again.
expect_exit 3 "$LAB_BIN" run 2.2.1 --device cpu --out "$TEST_TMP/fail"
expect_match "$LAST_ERR" 'cifar-10 is not present'
expect_match "$(cat "$TEST_TMP/fail/log.txt")" '^error: dataset cifar-10 is not present'
expect_exit 3 "$LAB_BIN" run 2.2.1 --device cpu --out "$TEST_TMP/fail"
expect_match "$LAST_ERR" 'cifar-10 is not present'
[ "$(grep -c '^error: ' "$TEST_TMP/fail/log.txt")" -eq 2 ] || fail "the log lost the first attempt's error"
# ... but a directory holding a real run is still never overwritten
expect_exit 2 "$LAB_BIN" run 2.2.1 "${SMALL[@]}" --out "$TEST_TMP/r1"
expect_match "$LAST_ERR" 'never overwrites'

# lab list: what can run, and the last good run despite the failures after it.
expect_exit 0 "$LAB_BIN" list
expect_match "$LAST_OUT" '^2\.2\.1 .* quick, grading \(full: lab fetch cifar-10\) +ok #1 .*\(then failed #3\)'
expect_match "$LAST_OUT" '^2\.2\.3 .* quick, grading \(full: lab fetch yolov8-weights\)'
"$LAB_BIN" list --json | /usr/bin/python3 -c '
import json, sys
d = {r["id"]: r for r in json.load(sys.stdin)}
a = d["2.2.1"]
assert a["has_code"] and a["can_run"] == {"full": False, "quick": True, "grading": True}, a
assert a["last_status"] == "ok" and a["last_attempt"]["status"] == "failed", a
s = d["2.2.3"]
assert s["has_code"] and s["can_run"]["quick"] and not s["can_run"]["full"], s'
# A quick-only lab's full mode (2.2.6) is refused before any run
# directory, engine or batch script.
for engine in "" "--engine slurm"; do
  # shellcheck disable=SC2086
  expect_exit 2 "$LAB_BIN" run 2.2.6 --dry-run $engine
  expect_match "$LAST_ERR" 'only a quick mode'
done

# --student without --seed: a seed of the student's own, the same each time;
# --seed still wins.
seed_of() { /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["seed"])' "$1/config.json"; }
for who in alice:sa1 alice:sa2 bob:sb; do
  rc=0; "$LAB_BIN" run 2.2.1 "${SMALL[@]}" --epochs 0 --student "${who%%:*}" --out "$TEST_TMP/${who#*:}" >/dev/null 2>&1 || rc=$?
  [ "$rc" -le 1 ] || fail "run --student ${who%%:*} exited $rc"
done
[ "$(seed_of "$TEST_TMP/sa1")" = "$(seed_of "$TEST_TMP/sa2")" ] || fail "alice's seed changed between runs"
[ "$(seed_of "$TEST_TMP/sa1")" != "$(seed_of "$TEST_TMP/sb")" ] || fail "alice and bob got one seed"
[ "$(seed_of "$TEST_TMP/sa1")" != 42 ] || fail "--student kept the course default seed"
rc=0; "$LAB_BIN" run 2.2.1 "${SMALL[@]}" --epochs 0 --student alice --seed 7 --out "$TEST_TMP/s7" >/dev/null 2>&1 || rc=$?
[ "$(seed_of "$TEST_TMP/s7")" = 7 ] || fail "--seed did not win over --student"
expect_exit 2 "$LAB_BIN" run 2.2.1 --quick --student ../etc
expect_match "$LAST_ERR" 'not a course login'

# Nothing outside LAB_HOME, LAB_CACHE and the run directories.
LAB_OFFLINE=1 expect_exit 3 "$LAB_BIN" fetch efficientnet-b0
expect_match "$LAST_ERR" "$LAB_CACHE/huggingface/hub"
left=$(find "$HOME" -mindepth 1)
[ -z "$left" ] || fail "lab created files in HOME: $left"
echo ok
