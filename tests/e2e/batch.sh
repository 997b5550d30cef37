#!/usr/bin/env bash
# Batch grading end to end: ~200 submissions made from one real quick run of
# 2.2.1 (valid ones, every broken variant of the grader's tests, hostile
# archives, grading faults) each get the right status; nothing is written
# outside the staging area; kill -9 in the middle and a rerun give one row
# per submission with the scores of an uninterrupted run; exports, feedback
# pages (well-formed) and the duplicates report; --reeval; an LMS bulk zip
# with a late penalty; usage errors.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
HERE="$LAB_SRC/tests/e2e"
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8 TZ=UTC
export TMPDIR=$TEST_TMP/tmp
OUTSIDE=$TEST_TMP/outside
mkdir -p "$TMPDIR" "$OUTSIDE"
cd "$TEST_TMP"

# One real run, submitted, unpacked: the model for every generated submission.
expect_exit 0 "$LAB_BIN" run 2.2.1 --quick --model lenet5 --device cpu --out run
expect_exit 0 "$LAB_BIN" submit run --student base -o base.tar.gz
mkdir base && tar xzf base.tar.gz -C base
"$PY" "$HERE/batch_make.py" base gen 180 "$OUTSIDE" >/dev/null || fail "making the batch failed"
total=$(wc -l <gen/expected.tsv)

FAULTS="crash@fault-crash,timeout@fault-timeout,oom@fault-oom"
grade() { LAB_TEST_GRADE_FAULT=$FAULTS "$LAB_BIN" grade --batch gen/in --lab 2.2.1 --jobs 2 --timeout 5 "$@"; }
tree() { find "$TEST_TMP" -path "$TMPDIR" -prune -o -print | sort; }

# An uninterrupted batch: every submission its status; exit 1 (some not graded).
tree >before.txt
rc=0; grade --db full.sqlite --json >full.json 2>full.err || rc=$?
[ "$rc" -eq 1 ] || fail "the batch exited $rc, not 1: $(tail -5 full.err)"
tree >after.txt
extra=$(comm -13 before.txt after.txt | grep -v -E "/(full\.sqlite(-wal|-shm)?|full\.json|full\.err|after\.txt)$" || true)
[ -z "$extra" ] || fail "the batch wrote outside its staging area: $extra"
[ -z "$(ls -A "$TMPDIR")" ] || fail "the staging area was left behind: $(ls "$TMPDIR")"
[ -z "$(ls -A "$OUTSIDE")" ] || fail "a hostile archive wrote outside: $(ls -R "$OUTSIDE")"
"$PY" "$HERE/batch_check.py" expect full.sqlite gen/expected.tsv || fail "statuses differ from the expected ones"
"$PY" - full.json "$total" <<'PYEOF' || fail "the summary is wrong"
import json, sys
s = json.load(open(sys.argv[1])); n = int(sys.argv[2])
assert s["total"] == s["done"] == n and s["counts"]["skipped"] == 0, s
assert (s["counts"]["crash"], s["counts"]["timeout"], s["counts"]["oom"]) == (1, 1, 1), s["counts"]
assert s["ignored"] == ["README.txt: not an archive or a submission folder"], s["ignored"]
PYEOF
expect_match "$(cat full.err)" '^grading: [0-9]+/[0-9]+ \([0-9]+%\) [0-9.]+ sub/s ETA [0-9:]+  graded [0-9]+  not_gradable [0-9]+  crash'

# Run again: everything is known already.
rc=0; grade --db full.sqlite --json >again.json 2>/dev/null || rc=$?
"$PY" -c 'import json,sys; s=json.load(open("again.json")); assert s["counts"]["skipped"] == int(sys.argv[1]), s["counts"]' \
  "$total" || fail "a second run graded again"

# kill -9 in the middle; the same command again finishes only what is left.
LAB_TEST_GRADE_FAULT=$FAULTS "$LAB_BIN" grade --batch gen/in --lab 2.2.1 --jobs 2 --timeout 5 --db killed.sqlite \
  >/dev/null 2>&1 &
pid=$! # lab itself, not a subshell: kill -9 must hit the batch's parent process
for _ in $(seq 1 600); do
  [ "$("$PY" "$HERE/batch_check.py" count killed.sqlite)" -ge 40 ] && break
  sleep 0.1
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
kept=$("$PY" "$HERE/batch_check.py" count killed.sqlite)
[ "$kept" -ge 40 ] && [ "$kept" -lt "$total" ] || fail "could not kill the batch in the middle ($kept of $total)"
sleep 0.5
! ps -eo args | grep -F -- "--db killed.sqlite" | grep -v grep >/dev/null || fail "grading children outlived kill -9"
rc=0; grade --db killed.sqlite --json >rerun.json 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "the rerun exited $rc"
"$PY" -c 'import json,sys; s=json.load(open("rerun.json")); assert s["counts"]["skipped"] == int(sys.argv[1]), (s["counts"], sys.argv[1])' \
  "$kept" || fail "the rerun did not skip exactly what was committed"
"$PY" "$HERE/batch_check.py" same full.sqlite killed.sqlite || fail "kill -9 and rerun differ from an uninterrupted run"
[ -z "$(ls -A "$TMPDIR")" ] || fail "the killed batch's staging area was not cleaned up: $(ls "$TMPDIR")"

# Exports: one row per student; rows in an id conflict kept and flagged, rows
# without an id left out, each with a warning.
expect_exit 0 "$LAB_BIN" grades export --db full.sqlite --csv -o grades.csv
expect_match "$LAST_ERR" 'left out: no student id|in a student id conflict'
expect_exit 0 "$LAB_BIN" grades export --db full.sqlite --json --lab 2.2.1
echo "$LAST_OUT" >grades.json
"$PY" - full.sqlite grades.csv grades.json <<'PYEOF' || fail "exports are wrong"
import csv, json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
want = {r[0]: r[1:] for r in db.execute("SELECT student, final_score, max_score, status FROM submissions"
                                        " WHERE student IS NOT NULL AND id_issue IS NULL")}
labmax = db.execute("SELECT max_score FROM labs WHERE id = '2.2.1'").fetchone()[0]
flagged = db.execute("SELECT count(*) FROM submissions WHERE student IS NOT NULL AND id_issue IS NOT NULL").fetchone()[0]
rows = list(csv.DictReader(open(sys.argv[2], newline="")))
assert sum(1 for r in rows if r["id_issue"]) == flagged, (flagged, [r for r in rows if r["id_issue"]][:3])
rows = [r for r in rows if not r["id_issue"]]
assert len(rows) == len(want) > 180, (len(rows), len(want))
assert list(rows[0])[:8] == ["student", "lab", "score", "max_score", "status", "late_penalty", "graded_at",
                             "grader_version"], list(rows[0])
for r in rows:
    score, mx, status = want[r["student"]]
    mx = mx or labmax  # what never got a report has the lab's maximum
    assert abs(float(r["score"]) - score) < 1e-3 and float(r["max_score"]) == mx and r["status"] == status, r
j = json.load(open(sys.argv[3]))
assert sorted(x["student"] for x in j if not x["id_issue"]) == sorted(want), "JSON and CSV differ"
PYEOF

# Feedback: a page per student, a class page, all well-formed, images inline.
expect_exit 0 "$LAB_BIN" grades feedback --db full.sqlite --out feedback
expect_match "$LAST_OUT" '^[0-9]+ student pages and index.html in feedback'
"$PY" - feedback <<'PYEOF' || fail "feedback pages are wrong"
import glob, os, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
pages = glob.glob(os.path.join(d, "*.html"))
assert len(pages) > 180, len(pages)
for p in pages:
    ET.parse(p)  # well-formed (XHTML-compatible) or it raises
index = open(os.path.join(d, "index.html")).read()
assert index.count("data:image/png;base64,") == 2 and "failure rate per check" in index
nan = open(os.path.join(d, "variant-nan.html")).read()
assert "values.finite" in nan and "NaN or Inf in the loss or the outputs" in nan, "no KB text for the failure"
assert nan.count("data:image/png;base64,") >= 5, "the student's plots are not embedded"
assert "Not graded" in open(os.path.join(d, "faultcrash.html")).read()
PYEOF

# Duplicates: every generated submission holds the same weights; module. prefix ones are equal under other names.
expect_exit 0 "$LAB_BIN" grades duplicates --db full.sqlite
expect_match "$LAST_OUT" 'byte-identical model.safetensors'
expect_match "$LAST_OUT" 'equal weights in different files'
expect_match "$LAST_OUT" 'not proof of copying'

# Re-evaluation in the batch catches what only re-running the weights shows.
rc=0; "$LAB_BIN" grade --batch gen/reeval --lab 2.2.1 --reeval --db reeval.sqlite --jobs 2 >reeval.out 2>&1 || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || fail "the --reeval batch exited $rc: $(tail -5 reeval.out)"
"$PY" "$HERE/batch_check.py" reeval reeval.sqlite || fail "--reeval in a batch missed a variant"

# An LMS bulk download: ids from Canvas and Moodle names, late days, penalties.
rc=0; "$LAB_BIN" grade --batch gen/bulk.zip --lab 2.2.1 --db bulk.sqlite --due 2026-01-10T12:00:00Z \
  --late-penalty 10%/day >bulk.out 2>&1 || rc=$?
[ "$rc" -le 1 ] || fail "the bulk batch exited $rc: $(tail -5 bulk.out)"
"$PY" "$HERE/batch_check.py" bulk bulk.sqlite || fail "LMS names were not read right"

# Usage and input errors.
expect_exit 2 "$LAB_BIN" grade --batch gen/in
expect_match "$LAST_ERR" 'needs --lab'
expect_exit 2 "$LAB_BIN" grade --batch gen/in --lab 2.2.1 --late-penalty 10
expect_match "$LAST_ERR" 'needs --due'
expect_exit 2 "$LAB_BIN" grade --batch gen/in --lab 2.2.1 --due tomorrow
expect_exit 2 "$LAB_BIN" grade --batch gen/in --lab 2.2.9
expect_exit 2 "$LAB_BIN" grade --batch base.tar.gz --lab 2.2.1 --db single.sqlite
expect_match "$LAST_ERR" 'a single submission, not a batch'
expect_exit 2 "$LAB_BIN" grade --batch nowhere --lab 2.2.1
expect_exit 2 "$LAB_BIN" grades export --db nothing.sqlite
expect_match "$LAST_ERR" 'no gradebook at nothing.sqlite'
expect_exit 2 "$LAB_BIN" grades feedback --db full.sqlite
expect_exit 2 "$LAB_BIN" grades frobnicate
echo "not a database, not at all......" >junk.sqlite
expect_exit 3 "$LAB_BIN" grades export --db junk.sqlite
expect_match "$LAST_ERR" 'TS-GRADEBOOK'
echo ok
