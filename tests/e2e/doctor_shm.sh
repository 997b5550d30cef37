#!/usr/bin/env bash
# In a private mount namespace: a 64 MiB /dev/shm gives the --ipc=host
# finding, and a nearly full LAB_CACHE the disk finding.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
export HF_HUB_OFFLINE=1
if ! unshare -m true 2>/dev/null; then
  skip "unshare -m is refused here (not root, or no CAP_SYS_ADMIN): cannot mount a small /dev/shm"
fi
mkdir -p "$TEST_TMP/small"
rc=0
unshare -m bash -c '
  set -e
  mount --make-rprivate / 2>/dev/null || true
  mount -t tmpfs -o size=64m tmpfs /dev/shm
  mount -t tmpfs -o size=64m tmpfs "$1"
  LAB_CACHE="$1/cache" "$2" doctor --check container.shm --check system.disk --check cache.lab
' _ "$TEST_TMP/small" "$LAB_BIN" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
out=$(cat "$TEST_TMP/out")
if grep -q 'mount: .*permission denied\|must be superuser' "$TEST_TMP/err"; then
  skip "mounting a tmpfs is refused here: $(cat "$TEST_TMP/err")"
fi
[ "$rc" -eq 1 ] || fail "expected exit 1, got $rc: $out $(cat "$TEST_TMP/err")"
expect_match "$out" '\[FAIL\] +container\.shm +/dev/shm is only 64\.0 MiB'
expect_match "$out" 'fix: start the container with `--ipc=host`'
expect_match "$out" 'kb: +TS-IPC-HOST'
expect_match "$out" '\[FAIL\] +system\.disk +LAB_CACHE is low on space'
expect_match "$out" 'kb: +TS-DISK-FULL'
expect_match "$out" '\[ok\] +cache\.lab'
echo ok
