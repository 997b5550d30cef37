#!/usr/bin/env bash
# lab doctor on this machine (no GPU, no internet): the no-driver finding,
# offline skipping, the JSON schema, options and exit codes, the crash guard,
# fixture roots, the store. Network tests only ever use 127.0.0.1.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
export HF_HUB_OFFLINE=1 HF_HOME="$TEST_TMP/hf" NO_COLOR=
unset LAB_DOCTOR_ROOT LAB_DOCTOR_NET_HOSTS CUDA_VISIBLE_DEVICES 2>/dev/null || true

# No GPU here: a clear "no NVIDIA driver" warning with its fix, never a crash.
# The exit status is 0 (warnings do not fail) and 1 with --strict.
if [ ! -e /dev/nvidiactl ]; then
  expect_exit 0 "$LAB_BIN" doctor --check gpu.driver
  expect_match "$LAST_OUT" '^  \[warn\] +gpu\.driver +no NVIDIA driver'
  expect_match "$LAST_OUT" 'fix: .*install the NVIDIA driver'
  expect_match "$LAST_OUT" 'kb: +TS-NO-DRIVER'
  expect_match "$LAST_OUT" '^ok: 0 passed, 1 warning, 0 failed, 0 crashed, 0 skipped'
  expect_exit 1 "$LAB_BIN" doctor --check gpu.driver --strict
  expect_match "$LAST_OUT" 'problems found: .*--strict'
fi

# The whole run, offline: the network group is skipped; JSON only on stdout.
rc=0
"$LAB_BIN" doctor --json >"$TEST_TMP/report.json" 2>"$TEST_TMP/err" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || fail "lab doctor --json exited $rc: $(cat "$TEST_TMP/err")"
LAB_SRC=$PWD RC=$rc /usr/bin/python3 - "$TEST_TMP/report.json" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
assert set(d) >= {"schema_version", "ok", "summary", "checks"}, d.keys()
assert d["schema_version"] == 1
assert isinstance(d["ok"], bool) and isinstance(d["summary"], str)
assert (os.environ["RC"] == "0") == d["ok"], (os.environ["RC"], d["ok"])
keys = {"id", "category", "status", "message", "remediation", "kb", "duration_ms"}
ids = [c["id"] for c in d["checks"]]
assert len(ids) == len(set(ids)) and len(ids) >= 25, ids
for c in d["checks"]:
    assert set(c) == keys, c
    assert c["status"] in ("pass", "warn", "fail", "skip", "crash"), c
    assert c["id"].startswith(c["category"] + "."), c
    assert isinstance(c["duration_ms"], (int, float)) and c["duration_ms"] >= 0, c
    assert c["status"] != "crash", c
    if c["status"] in ("warn", "fail"):
        assert c["remediation"] and c["kb"], c
        assert os.path.exists(os.path.join(os.environ["LAB_SRC"], "docs/troubleshooting", c["kb"] + ".md")), c
by = {c["id"]: c for c in d["checks"]}
assert by["network.reach"]["status"] == "skip" and "offline" in by["network.reach"]["message"], by["network.reach"]
assert "HF_HUB_OFFLINE='1'" in by["cache.offline"]["message"], by["cache.offline"]
n = {s: sum(c["status"] == s for c in d["checks"]) for s in ("pass", "warn", "fail", "crash", "skip")}
assert d["summary"].startswith("%d passed" % n["pass"]), (d["summary"], n)
PY

# Options and usage errors (exit 2).
out=$("$LAB_BIN" doctor --list-checks)
for id in system.os gpu.driver gpu.cuda_version container.shm cache.hf_token network.reach env.cuda_visible_devices smoke.conv; do
  expect_match "$out" "^$id "
done
"$LAB_BIN" doctor --list-checks --json | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert all({"id","category","title","kb"} <= set(c) for c in d) and len(d) >= 25'
expect_exit 2 "$LAB_BIN" doctor --check gpu.drivr
expect_match "$LAST_ERR" "unknown check 'gpu.drivr'"
expect_match "$LAST_ERR" "fix: did you mean 'gpu.driver'"
expect_exit 2 "$LAB_BIN" doctor --frobnicate
expect_match "$LAST_ERR" 'lab doctor --help'
expect_exit 2 "$LAB_BIN" doctor extra
out=$("$LAB_BIN" doctor --help)
expect_match "$out" '^usage: lab doctor'

# --check is repeatable; only those run.
expect_exit 0 "$LAB_BIN" doctor --json --check env.profiler --check cache.offline --check env.profiler
printf '%s' "$LAST_OUT" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert [c["id"] for c in d["checks"]] == ["env.profiler", "cache.offline"], d'

# Findings from the environment: exit 1 with the fix.
CUDA_VISIBLE_DEVICES=-1 expect_exit 1 "$LAB_BIN" doctor --check env.cuda_visible_devices
expect_match "$LAST_OUT" '\[FAIL\] +env\.cuda_visible_devices'
expect_match "$LAST_OUT" 'fix: `unset CUDA_VISIBLE_DEVICES`'

# The crash guard: a check that crashes is reported, the others still run.
LAB_DOCTOR_TEST_CRASH=env.profiler expect_exit 1 "$LAB_BIN" doctor --check env.profiler --check env.alloc_conf
expect_match "$LAST_OUT" '\[CRASH\] env\.profiler +env\.profiler crashed \(signal 11'
expect_match "$LAST_OUT" '\[ok\] +env\.alloc_conf'
LAB_DOCTOR_TEST_HANG=system.os LAB_DOCTOR_TIMEOUT_MS=200 expect_exit 1 "$LAB_BIN" doctor --check system.os
expect_match "$LAST_OUT" 'system\.os timed out after'

# A fixture root stands in for /proc, /sys, /etc.
root="$TEST_TMP/root"
mkdir -p "$root/proc/sys/kernel" "$root/etc"
echo aarch64 >"$root/proc/sys/kernel/arch"
cp tests/fixtures/doctor/cpuinfo-arm64 "$root/proc/cpuinfo"
cp tests/fixtures/doctor/modules-nouveau "$root/proc/modules"
LAB_DOCTOR_ROOT=$root expect_exit 0 "$LAB_BIN" doctor --check system.arch --check system.cpu_bf16
expect_match "$LAST_OUT" '\[warn\] +system\.arch +aarch64'
expect_match "$LAST_OUT" '\[ok\] +system\.cpu_bf16'
LAB_DOCTOR_ROOT=$root expect_exit 1 "$LAB_BIN" doctor --check gpu.nouveau
expect_match "$LAST_OUT" 'blacklist nouveau'

# Network against 127.0.0.1 only: a port nobody listens on is "refused".
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
HF_HUB_OFFLINE= LAB_DOCTOR_NET_HOSTS="tcp:127.0.0.1:$port" expect_exit 1 "$LAB_BIN" doctor --check network.reach
expect_match "$LAST_OUT" "none of 1 hosts reachable; 127\.0\.0\.1:$port: DNS ok, TCP refused"

# Symbols on a terminal, ASCII with NO_COLOR.
if command -v script >/dev/null; then
  out=$(script -qec "$LAB_BIN doctor --check env.profiler" /dev/null </dev/null || true)
  expect_match "$out" '✓.*env\.profiler'
  out=$(NO_COLOR=1 script -qec "$LAB_BIN doctor --check env.profiler" /dev/null </dev/null || true)
  expect_match "$out" '\[ok\] +env\.profiler'
fi

# A whole run is kept in the store; a --check run is not.
/usr/bin/python3 - "$LAB_HOME/lab.db" <<'PY'
import sqlite3, sys, json
rows = sqlite3.connect(sys.argv[1]).execute("SELECT ok, summary, report FROM doctor_reports").fetchall()
assert len(rows) == 1, rows
assert json.loads(rows[0][2])["summary"] == rows[0][1]
PY
echo ok
