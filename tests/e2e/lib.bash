# Shared helpers for the e2e scripts (sourced, not run: hence not .sh).
: "${LAB_BIN:?LAB_BIN must point at the built lab}"
: "${TEST_TMP:?TEST_TMP must be a scratch directory}"

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_match TEXT REGEX: TEXT has a line matching the extended REGEX.
# (A here-string, not a pipe: grep -q stops at the first match, and under
# pipefail the writer's SIGPIPE would turn a match into a failure.)
expect_match() { grep -Eq -- "$2" <<<"$1" || fail "expected /$2/ in:
$1"; }

# expect_exit CODE CMD...: runs CMD, keeps stdout in LAST_OUT and stderr in LAST_ERR.
expect_exit() {
  local want=$1; shift
  local rc=0
  "$@" >"$TEST_TMP/.out" 2>"$TEST_TMP/.err" || rc=$?
  LAST_OUT=$(cat "$TEST_TMP/.out"); LAST_ERR=$(cat "$TEST_TMP/.err")
  [ "$rc" -eq "$want" ] || fail "$* exited $rc, expected $want; stderr: $LAST_ERR"
}

# skip REASON: this script cannot run here; the runner reports it as skipped.
skip() { echo "$*"; exit 77; }
