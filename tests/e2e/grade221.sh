#!/usr/bin/env bash
# The grader end to end on a real quick run of lab 2.2.1: the run's
# self-check, lab submit, full marks (also with --reeval), every report
# format (Gradescope and PrairieLearn against their documented fields),
# variants that each fail exactly one check with its troubleshooting id, and
# inputs that are not gradable (exit 3 with a precise message).
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
VARIANT="$LAB_SRC/tests/e2e/submission_variant.py"
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8

# A real quick run; its self-check is the grader's checks, with ids.
run=$TEST_TMP/run
expect_exit 0 "$LAB_BIN" run 2.2.1 --quick --model lenet5 --device cpu --out "$run"
for id in integrity.artifacts norm.config norm.inputs shape.logits honesty.accuracy results.threshold; do
  expect_match "$LAST_OUT" "\[ok\] $id "
done
[ -s "$run/inputs.safetensors" ] || fail "the run wrote no inputs.safetensors"

# lab submit: the archive, its name, refusals.
cd "$TEST_TMP"
expect_exit 0 "$LAB_BIN" submit "$run" --student alice
expect_match "$LAST_OUT" 'wrote alice-2.2.1.tar.gz'
expect_exit 2 "$LAB_BIN" submit "$run"
expect_match "$LAST_ERR" '--student ID is required'
expect_exit 2 "$LAB_BIN" submit "$run" --student '../x'
expect_match "$LAST_ERR" 'cannot be a student id'
expect_exit 2 "$LAB_BIN" submit "$TEST_TMP" --student bob
tar tzf alice-2.2.1.tar.gz >list.txt
grep -qx 'MANIFEST.sha256' list.txt || fail "no MANIFEST.sha256 in the archive"
grep -qx 'models/lenet5/model.safetensors' list.txt || fail "no weights in the archive"
! grep -q checkpoint list.txt || fail "a checkpoint went into the archive"

# Full marks, as text (✓ lines) and with --reeval.
expect_exit 0 "$LAB_BIN" grade alice-2.2.1.tar.gz
expect_match "$LAST_OUT" '^  ✓ integrity.checksums'
expect_match "$LAST_OUT" 'every check passed'
expect_exit 0 "$LAB_BIN" grade alice-2.2.1.tar.gz --reeval --device cpu --format json --out full.json
"$PY" - full.json <<'PYEOF' || fail "the --reeval JSON report is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "graded" and r["score"] == r["max_score"] > 0, r
assert r["lab"] == "2.2.1" and r["student"] == "alice" and r["grader_version"], r
assert r["fingerprint"]["device"] == "cpu" and r["fingerprint"]["libtorch"], r["fingerprint"]
ids = {c["id"]: c for c in r["checks"]}
for k in ("reeval.load", "reeval.logits", "reeval.batch", "integrity.checksums", "honesty.accuracy", "norm.inputs"):
    assert ids[k]["status"] == "pass", ids[k]
for c in r["checks"]:
    assert set(c) == {"id", "name", "status", "points", "max_points", "message", "kb"}, c
PYEOF

# Gradescope's results.json and PrairieLearn's results: only documented fields.
expect_exit 0 "$LAB_BIN" grade alice-2.2.1.tar.gz --format gradescope --out results.json
expect_exit 0 "$LAB_BIN" grade alice-2.2.1.tar.gz --format prairielearn --out pl.json
"$PY" - results.json pl.json <<'PYEOF' || fail "a platform report has undocumented or missing fields"
import json, sys
# https://gradescope-autograders.readthedocs.io/en/latest/specs/
g = json.load(open(sys.argv[1]))
assert set(g) <= {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
                  "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}, set(g)
assert isinstance(g["score"], (int, float)) and g["tests"]
for t in g["tests"]:
    assert set(t) <= {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
                      "tags", "visibility", "extra_data"}, set(t)
    assert {"score", "max_score", "status", "name", "output", "visibility"} <= set(t), t
    assert t["status"] in ("passed", "failed") and t["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
assert abs(g["score"] - sum(t["score"] for t in g["tests"])) < 1e-9
# https://prairielearn.readthedocs.io/en/latest/externalGrading/
p = json.load(open(sys.argv[2]))
assert set(p) <= {"succeeded", "gradable", "score", "message", "output", "images", "tests"}, set(p)
assert p["gradable"] is True and 0 <= p["score"] <= 1 and p["score"] == 1, p["score"]
for t in p["tests"]:
    assert set(t) <= {"name", "description", "points", "max_points", "message", "output", "images"}, set(t)
    assert {"name", "points", "max_points", "message"} <= set(t), t
PYEOF

# Variants: each fails exactly the intended check with the intended entry.
mkdir -p "$TEST_TMP/base" && tar xzf alice-2.2.1.tar.gz -C "$TEST_TMP/base"
variant() { # variant NAME: a fresh copy of the submission with one thing changed
  rm -rf "$TEST_TMP/v-$1"; cp -r "$TEST_TMP/base" "$TEST_TMP/v-$1"
  "$PY" "$VARIANT" "$TEST_TMP/v-$1" "$1"
}
fails_only() { # fails_only NAME CHECK KB [lab grade flags]
  local name=$1 id=$2 kb=$3; shift 3
  variant "$name"
  expect_exit 1 "$LAB_BIN" grade "$TEST_TMP/v-$name" --format json --out "$TEST_TMP/v-$name.json" "$@"
  "$PY" "$VARIANT" --expect "$TEST_TMP/v-$name.json" "$id" "$kb" >/dev/null || fail "variant $name: see above"
}
fails_only wrong-norm norm.config TS-NORM-MISMATCH
fails_only raw-inputs norm.inputs TS-RAW-PIXELS
fails_only inflated honesty.accuracy TS-METRICS-MISMATCH
fails_only nan values.finite TS-NAN-LOGITS
fails_only transposed shape.logits TS-LOGITS-SHAPE
fails_only module-prefix reeval.load TS-STATE-DICT-MISMATCH --reeval --device cpu
grep -q "prefix 'module.'" "$TEST_TMP/v-module-prefix.json" || fail "no hint about the module. prefix"
fails_only tampered-weight reeval.logits TS-REEVAL-MISMATCH --reeval --device cpu
fails_only corrupt-manifest integrity.checksums TS-SUBMISSION-INTEGRITY
# The text report names the entry under the failure.
expect_exit 1 "$LAB_BIN" grade "$TEST_TMP/v-inflated"
expect_match "$LAST_OUT" '✗ honesty.accuracy'
expect_match "$LAST_OUT" 'TS-METRICS-MISMATCH: Reported accuracy does not match'

# Not gradable: exit 3, the reason on stderr and in every format.
not_gradable() { # not_gradable NAME REGEX
  variant "$1"
  expect_exit 3 "$LAB_BIN" grade "$TEST_TMP/v-$1"
  expect_match "$LAST_ERR" "not gradable: .*$2"
}
not_gradable bad-json 'metrics.json: invalid JSON at line 1'
not_gradable truncated-header 'predictions.safetensors is not a valid safetensors file'
not_gradable oversized-header 'predictions.safetensors is not a valid safetensors file'
not_gradable offsets-outside 'predictions.safetensors is not a valid safetensors file'
not_gradable absurd-shape 'predictions.safetensors is not a valid safetensors file'
not_gradable missing-file 'lists models/lenet5/model.safetensors, which is missing'
not_gradable no-manifest 'no MANIFEST.sha256'
expect_exit 3 "$LAB_BIN" grade alice-2.2.1.tar.gz --lab 2.2.2 --format gradescope
expect_match "$LAST_ERR" 'for lab 2.2.1, not lab 2.2.2'
"$PY" -c 'import json,sys; g=json.loads(sys.argv[1]); assert g["score"] == 0 and "not_gradable" in g["output"]' "$LAST_OUT" \
  || fail "a not-gradable Gradescope report is wrong"
# An archive with a path leaving the directory.
(cd "$TEST_TMP/base" && tar czf "$TEST_TMP/evil.tar.gz" --transform 's|^|../|' config.json)
expect_exit 3 "$LAB_BIN" grade "$TEST_TMP/evil.tar.gz"
expect_match "$LAST_ERR" 'cannot be unpacked safely'
expect_exit 2 "$LAB_BIN" grade "$TEST_TMP/nothing-here.tar.gz"
expect_match "$LAST_ERR" "nothing-here.tar.gz does not exist"

# Usage errors.
expect_exit 2 "$LAB_BIN" grade alice-2.2.1.tar.gz --format pdf
expect_exit 2 "$LAB_BIN" grade
expect_exit 2 "$LAB_BIN" grade alice-2.2.1.tar.gz --lab 9.9.9
# A per-check time budget too small for anything: timeouts earn nothing.
expect_exit 1 "$LAB_BIN" grade alice-2.2.1.tar.gz --check-timeout 0.000001 --format json
"$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); t=[c for c in r["checks"] if c["status"]=="timeout"]; assert t and all(c["points"]==0 for c in t)' "$LAST_OUT" \
  || fail "timeouts were not reported"
echo ok
