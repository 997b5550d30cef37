#!/usr/bin/env bash
# Grading the way courses collect work: `lab submit -o x.zip` writes a real
# zip; `lab autograder gradescope|prairielearn` packages, and their wrappers
# run here in directories laid out as the platforms lay them out
# (/autograder/{source,submission,results}, /grade/{tests,student,results};
# LAB_AUTOGRADER_ROOT stands in for the root; containers.sh runs both in
# podman containers laid out as theirs).
# The upload is the archive itself, a zip, a folder inside an archive (with
# macOS litter), junk, and a lab that cannot start.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8
cd "$TEST_TMP"

run=$TEST_TMP/run
expect_exit 0 "$LAB_BIN" run 2.2.1 --quick --model lenet5 --device cpu --out "$run"
expect_exit 0 "$LAB_BIN" submit "$run" --student alice
TGZ=$TEST_TMP/alice-2.2.1.tar.gz

# 1. -o x.zip is a zip (not a gzip named .zip), and it grades
expect_exit 0 "$LAB_BIN" submit "$run" --student alice -o alice.zip
$PY - alice.zip <<'PY' || fail "alice.zip is not a real zip"
import sys, zipfile
p = sys.argv[1]
assert open(p, "rb").read(2) == b"PK", "no zip signature"
names = zipfile.ZipFile(p).namelist()
assert "MANIFEST.sha256" in names and "submission.json" in names, names
assert zipfile.ZipFile(p).testzip() is None
PY
# lenet5 alone: its checks pass; the rubric's other models, missing, cost their points
expect_exit 1 "$LAB_BIN" grade alice.zip --format json --out alice.json
$PY "$LAB_SRC/tests/e2e/submission_variant.py" --lenet5-only alice.json >/dev/null || fail "alice.zip is not graded as lenet5 alone"

# 2. the Gradescope package
expect_exit 0 "$LAB_BIN" autograder gradescope 2.2.1 -o ag.zip
expect_match "$LAST_OUT" 'wrote ag.zip'
$PY - ag.zip <<'PY' || fail "the autograder zip is wrong"
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
info = {i.filename: i for i in z.infolist()}
for name in ("setup.sh", "run_autograder", "bin/lab", "rubric.json"):
    assert name in info, (name, sorted(info))
for name in ("setup.sh", "run_autograder", "bin/lab"):
    assert (info[name].external_attr >> 16) & 0o111, name + " is not executable"
r = json.loads(z.read("rubric.json"))
assert r["lab"] == "2.2.1" and r["checks"] and all("points" in c for c in r["checks"]), r
assert b"--lab 2.2.1 --format gradescope" in z.read("run_autograder")
PY

# A Gradescope machine: source/ is the unpacked zip, run_autograder is copied
# to the root; setup.sh is not run (apt): Debian's Fashion-MNIST is the data.
gradescope() { # UPLOAD...: grade these files as one submission; results in $AG/results
  AG=$TEST_TMP/gs-$RANDOM
  mkdir -p "$AG/source" "$AG/submission"
  (cd "$AG/source" && $PY -c 'import sys, zipfile, os
z = zipfile.ZipFile(sys.argv[1])
for i in z.infolist():
    z.extract(i); os.chmod(i.filename, (i.external_attr >> 16) & 0o777)' "$TEST_TMP/ag.zip")
  cp "$AG/source/run_autograder" "$AG/run_autograder"
  echo '{"users": [{"email": "alice@example.edu", "name": "Alice", "sid": "alice"}], "assignment": {"title": "Lab 2.2.1"}}' \
    >"$AG/submission_metadata.json"
  cp -r "$@" "$AG/submission/"
  LAB_AUTOGRADER_ROOT=$AG bash "$AG/run_autograder" || fail "run_autograder exited non-zero"
  [ -s "$AG/results/results.json" ] || fail "no results.json"
}
lenet5_marks_gs() { # the score of the local grade (alice.json); only the missing models lose points
  $PY - "$AG/results/results.json" "$TEST_TMP/alice.json" <<'PY' || fail "not lenet5's marks: $(cat "$AG/results/results.json")"
import json, sys
r = json.load(open(sys.argv[1]))
local = json.load(open(sys.argv[2]))
tests = r["tests"]
assert tests and all({"score", "max_score", "name", "output"} <= set(t) for t in tests), tests
top = sum(t["max_score"] for t in tests)
assert abs(top - local["max_score"]) < 1e-9 and abs(r["score"] - local["score"]) < 1e-9 < top - r["score"], \
    (r["score"], top, local["score"], local["max_score"])
lost = sorted(t["name"].split(":")[0] for t in tests if t["score"] < t["max_score"])
assert lost == ["alexnet", "resnet18", "vgg11"], lost
assert all("[integrity.models]" in t["name"] for t in tests if t["score"] < t["max_score"]), tests
PY
}

# 3. the upload is the archive itself (how Gradescope stores a .tar.gz)
gradescope "$TGZ"
lenet5_marks_gs
# ... a zip
gradescope "$TEST_TMP/alice.zip"
lenet5_marks_gs
# ... a folder zipped on a Mac: alice/ beside __MACOSX/
mkdir -p nested/alice && tar xzf "$TGZ" -C nested/alice && mkdir -p nested/__MACOSX/alice
(cd nested && $PY -c 'import shutil; shutil.make_archive("../nested", "zip", ".")')
gradescope "$TEST_TMP/nested.zip"
lenet5_marks_gs
# ... the files themselves (a student who uploaded the unpacked archive)
gradescope nested/alice/*
lenet5_marks_gs

# 4. junk: a result with score 0 that says why, not a missing results.json
head -c 3000 /dev/urandom >junk.tar.gz
gradescope junk.tar.gz
$PY - "$AG/results/results.json" <<'PY' || fail "junk: $(cat "$AG/results/results.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["score"] == 0 and r["output"], r
PY

# 5. lab cannot even start: the fallback results.json is valid JSON carrying its words
gradescope "$TGZ"
printf '#!/bin/sh\nprintf "lab: error: a \\"quoted\\" back\\\\slash\\tand a tab\\n" >&2\nexit 3\n' >"$AG/source/bin/lab"
LAB_AUTOGRADER_ROOT=$AG bash "$AG/run_autograder" || fail "run_autograder exited non-zero"
$PY - "$AG/results/results.json" <<'PY' || fail "fallback: $(cat "$AG/results/results.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["score"] == 0 and r["tests"] == [], r
assert 'a "quoted" back\\slash' in r["output"] and "exit 3" in r["output"], r["output"]
PY

# 6. PrairieLearn: the question directory, and its grader in a /grade layout
expect_exit 0 "$LAB_BIN" autograder prairielearn 2.2.1 -o plq
$PY - plq <<'PY' || fail "the PrairieLearn question is wrong"
import json, os, sys
d = sys.argv[1]
info = json.load(open(os.path.join(d, "info.json")))
assert info["gradingMethod"] == "External" and len(info["uuid"]) == 36, info
o = info["externalGradingOptions"]
assert o["enabled"] is True and o["entrypoint"] == "/grade/tests/run.sh", o
assert "pl-file-upload" in open(os.path.join(d, "question.html")).read()
assert os.access(os.path.join(d, "tests/run.sh"), os.X_OK) and os.access(os.path.join(d, "tests/bin/lab"), os.X_OK)
PY
G=$TEST_TMP/grade
mkdir -p "$G/student"
cp -r plq/tests "$G/tests"
cp "$TGZ" "$G/student/submission.tar.gz"
LAB_AUTOGRADER_ROOT=$G bash "$G/tests/run.sh" || fail "run.sh exited non-zero"
$PY - "$G/results/results.json" "$TEST_TMP/alice.json" <<'PY' || fail "PrairieLearn: $(cat "$G/results/results.json")"
import json, sys
r = json.load(open(sys.argv[1]))
local = json.load(open(sys.argv[2]))
assert r["gradable"] is True and abs(r["score"] - local["score"] / local["max_score"]) < 1e-9 and r["score"] < 1, r
assert r["tests"] and all({"name", "points", "max_points"} <= set(t) for t in r["tests"]), r["tests"]
PY
cp junk.tar.gz "$G/student/submission.tar.gz"
LAB_AUTOGRADER_ROOT=$G bash "$G/tests/run.sh" || fail "run.sh exited non-zero"
$PY -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["gradable"] is False and r["score"] == 0, r' \
  "$G/results/results.json" || fail "junk on PrairieLearn: $(cat "$G/results/results.json")"

# 7. refusals
expect_exit 2 "$LAB_BIN" autograder prairielearn 2.2.1 -o plq
expect_match "$LAST_ERR" 'not an empty directory'
expect_exit 2 "$LAB_BIN" autograder moodle 2.2.1
expect_match "$LAST_ERR" 'gradescope'
expect_exit 2 "$LAB_BIN" autograder gradescope 9.9.9
expect_exit 2 "$LAB_BIN" autograder gradescope
echo ok
