#!/bin/sh
# make test: the Debian 12 suite (every unit suite and e2e script, then the
# fuzz targets from their seeds), then the libtorch 2.6 line in a Debian 13
# root (scripts/test-trixie.sh --quick). The root is made while the Debian 12
# suite runs: debootstrap mostly waits on the archive and the disk, so the
# two overlap instead of adding up (docs/platforms.md).
#   LAB_TEST_TRIXIE=0  leave the Debian 13 part out (it then says so)
# Every part runs even when one before it failed; the exit status is
# non-zero when any failed. A Debian 13 part that cannot run here (not root,
# no debootstrap: exit 77) is reported as skipped, with why.
set -u

src=$(cd "$(dirname "$0")/.." && pwd)
make=${MAKE:-make}
build=${BUILD:-build}
mkdir -p "$build"
t0=$(date +%s)
failed=""

trixie=${LAB_TEST_TRIXIE:-1}
root_pid=""
root_log=$build/trixie-root.log
if [ "$trixie" != 0 ]; then
    "$src/scripts/trixie-root.sh" cpu >"$root_log" 2>&1 &
    root_pid=$!
    echo "test: making the Debian 13 root in the background (log: $root_log)"
fi

part() {
    name=$1; shift
    b=$(date +%s)
    if "$@"; then
        echo "test: $name passed in $(( $(date +%s) - b )) s"
    else
        echo "test: $name FAILED after $(( $(date +%s) - b )) s"
        failed="$failed $name"
    fi
}

part "Debian 12 unit suites" "$make" --no-print-directory unit
part "fuzz smoke" "$make" --no-print-directory fuzz-smoke

if [ -n "$root_pid" ]; then
    b=$(date +%s)
    rc=0; wait "$root_pid" || rc=$?
    echo "test: the Debian 13 root was ready $(( $(date +%s) - b )) s after the Debian 12 suite ended (exit $rc)"
    if [ "$rc" -eq 77 ]; then
        sed 's/^/  /' "$root_log"
        echo "test: Debian 13 / libtorch 2.6 part SKIPPED (the reason is above)"
    elif [ "$rc" -ne 0 ]; then
        tail -n 40 "$root_log" | sed 's/^/  /'
        echo "test: the Debian 13 root FAILED (exit $rc; whole log: $root_log)"
        failed="$failed trixie-root"
    else
        part "Debian 13 / libtorch 2.6 (scripts/test-trixie.sh --quick)" "$src/scripts/test-trixie.sh" --quick
    fi
else
    echo "test: Debian 13 / libtorch 2.6 part left out (LAB_TEST_TRIXIE=0)"
fi

echo "test: all parts in $(( $(date +%s) - t0 )) s"
if [ -n "$failed" ]; then
    echo "test: failed:$failed"
    exit 1
fi
