#!/usr/bin/env bash
# Lab runs in a real container, with Debian's podman: lab image build
# --local, then lab run 2.2.1 --quick --engine podman in that image: it
# finishes, its run directory appears on the host owned by the caller,
# /dev/shm inside is the host's (--ipc=host), exit codes come back, SIGINT
# stops the container, lab ps --clean removes what a killed runner left, and
# Gradescope's and PrairieLearn's wrappers grade in containers laid out as theirs.
# Skips (exit 77, with podman's own words) only when podman cannot run a
# container on this machine at all.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
command -v podman >/dev/null || skip "podman is not installed (scripts/install-deps.sh installs it)"
[ -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
unset LAB_ENGINE LAB_IMAGE

. "$(dirname "$0")/podman_lib.bash"
podman_private "$TEST_TMP"
cleanup() {
  jobs -p | xargs -r kill -9 2>/dev/null || true
  podman rm -af -t 0 >/dev/null 2>&1 || true
  podman rmi -af >/dev/null 2>&1 || true
}
trap cleanup EXIT

VERSION=$("$LAB_BIN" --version | head -1 | cut -d' ' -f2)
IMAGE=lab-local:$VERSION
WORK=$TEST_TMP/work; mkdir -p "$WORK"
labc() { (cd "$WORK" && "$LAB_BIN" "$@"); }

# The local image, from this lab, no registry.
rc=0; labc image build --local --engine podman >"$TEST_TMP/build.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
  grep -q 'import of' "$TEST_TMP/build.log" && skip "podman cannot store an image here: $(tail -5 "$TEST_TMP/build.log")"
  fail "lab image build --local exited $rc: $(tail -5 "$TEST_TMP/build.log")"
fi
expect_match "$(cat "$TEST_TMP/build.log")" "image $IMAGE built \(podman\)"
expect_exit 0 labc image check --local --engine podman
expect_match "$LAST_OUT" "present, lab $VERSION \(matches\)"

# Can podman run a container here at all? Its own words if not.
rc=0; out=$(podman run --rm --pull=never "$IMAGE" lab --version 2>&1) || rc=$?
case $rc in
  0) expect_match "$out" "^lab $VERSION\$" ;;
  125|126|127) skip "podman cannot run containers on this machine: $(printf '%s\n' "$out" | tail -3)" ;;
  *) fail "lab in the local image exited $rc: $out" ;;
esac

# The run: finishes, `run dir:` is a host path, owned by the caller, in the store.
rc=0; labc run 2.2.1 --quick --model lenet5 --engine podman --image "$IMAGE" >"$TEST_TMP/run.out" 2>"$TEST_TMP/run.err" || rc=$?
[ "$rc" -le 1 ] || fail "lab run in podman exited $rc: $(tail -5 "$TEST_TMP/run.err") $(tail -5 "$TEST_TMP/run.out")"
last=$(tail -1 "$TEST_TMP/run.out")
expect_match "$last" "^run dir: $LAB_HOME/runs/2\.2\.1/"
run_dir=${last#run dir: }
[ -s "$run_dir/metrics.json" ] && [ -s "$run_dir/models/lenet5/model.safetensors" ] && [ -s "$run_dir/plots/lenet5-loss.png" ] ||
  fail "the run directory is not on the host: $(ls -R "$run_dir" 2>&1 | head)"
others=$(find "$run_dir" "$LAB_HOME/lab.db" ! -user "$(id -u)" | head -3)
[ -z "$others" ] || fail "files not owned by the caller ($(id -u)): $others"
expect_match "$(cat "$TEST_TMP/run.err")" "running lab 2\.2\.1 in podman \(chosen by --engine\), image $IMAGE"
expect_match "$("$LAB_BIN" list)" '^2\.2\.1 .* (ok|failed) '
expect_match "$(cat "$run_dir/config.json")" '"model": "lenet5"'

# /dev/shm inside is the host's: the same size, and a file the host put there
# is read inside. Run the exact command lab builds, with a probe instead of
# the lab: `lab doctor` for the size, --resume on a run directory that exists
# only in the host's /dev/shm for the file.
marker=/dev/shm/lab-e2e-$$; mkdir -p "$marker"; echo '{"lab": "2.2.9"}' >"$marker/config.json"
trap 'rm -rf "$marker"; cleanup' EXIT
cmd=$(labc run 2.2.1 --engine podman --image "$IMAGE" --dry-run 2>/dev/null)
eval "set -- $cmd"
engine_part=()
for a in "$@"; do engine_part+=("$a"); [ "$a" = "$IMAGE" ] && break; done
[ "${engine_part[-1]}" = "$IMAGE" ] || fail "no image in the dry-run command: $cmd"
expect_match "$cmd" ' --ipc=host '
shm_json() { "$@" doctor --check container.shm --json | tr -d '\n' | sed -E 's/.*"message": *"\/dev\/shm ([^,]*),.*/\1/'; }
inside=$(shm_json "${engine_part[@]}" lab); host=$(shm_json "$LAB_BIN")
[ -n "$host" ] && [ "$inside" = "$host" ] || fail "/dev/shm inside is '$inside', the host's is '$host'"
rc=0; out=$("${engine_part[@]}" lab run 2.2.1 --resume "$marker" 2>&1) || rc=$?
expect_match "$out" "holds a run of lab 2\.2\.9"  # read through the host's /dev/shm

# Exit codes come back, and the lab's error is printed once (by the lab inside).
expect_exit 2 labc run 2.2.1 --engine podman --image "$IMAGE" --set train.lrr=0.1
expect_match "$LAST_ERR" "did you mean 'train.lr'"
[ "$(printf '%s\n' "$LAST_ERR" | grep -c 'lab: error')" -eq 1 ] || fail "error printed more than once: $LAST_ERR"
expect_exit 3 labc run 2.2.1 --engine podman --image lab-nothere:1
expect_match "$LAST_ERR" 'TS-ENGINE-IMAGE-MISSING'

# Gradescope and PrairieLearn, in containers laid out as theirs: the
# autograder zip unpacked in /autograder/source, the upload (the archive
# itself) in /autograder/submission, run_autograder run by path with no
# LAB_AUTOGRADER_ROOT, as root, offline; the grade is the local one. Their
# images have a shell and coreutils, which the local image lacks: a layer of
# the host's adds them (the wrappers need bash, env, sed, awk, head, tr).
GS_IMAGE=lab-gradescope-e2e:$VERSION
gsroot=$TEST_TMP/gs-layer/root; mkdir -p "$gsroot"
for tool in bash env mkdir rm head tr sed awk cat chmod; do
  bin=$(command -v "$tool"); real=$(readlink -f "$bin")
  install -D -m 0755 "$real" "$gsroot/usr/bin/$tool"
  for lib in $(ldd "$real" | grep -o '/[^ ]*'); do
    [ -e "$gsroot$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$gsroot$lib"
  done
done
printf 'FROM %s\nCOPY root/ /\nENV PATH=/usr/local/bin:/usr/bin:/bin\n' "$IMAGE" >"$TEST_TMP/gs-layer/Containerfile"
podman build -q --pull=never -t "$GS_IMAGE" "$TEST_TMP/gs-layer" >"$TEST_TMP/gs-build.log" 2>&1 ||
  fail "could not build the Gradescope-like image: $(tail -5 "$TEST_TMP/gs-build.log")"
expect_exit 0 labc submit "$run_dir" --student alice -o "$WORK/alice.tar.gz"
rc=0; labc grade "$WORK/alice.tar.gz" --format json --out "$WORK/alice.json" >/dev/null 2>&1 || rc=$?
[ "$rc" -le 1 ] || fail "the local grade of alice.tar.gz exited $rc"
unzip_modes() { /usr/bin/python3 -c 'import os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for i in z.infolist():
    z.extract(i, sys.argv[2]); os.chmod(os.path.join(sys.argv[2], i.filename), (i.external_attr >> 16) & 0o777)' "$@"; }
same_score() { # RESULTS KEY_SCORE: the platform's score is the local grade's
  /usr/bin/python3 - "$1" "$WORK/alice.json" "$2" <<'PY' || fail "$2 in $1 is not the local grade: $(cat "$1")"
import json, sys
r, local, kind = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
want = local["score"] if kind == "gradescope" else local["score"] / local["max_score"]
assert r["tests"] and abs(r["score"] - want) < 1e-9, (r["score"], want)
PY
}
expect_exit 0 labc autograder gradescope 2.2.1 -o "$WORK/ag.zip"
AG=$TEST_TMP/gs/autograder; mkdir -p "$AG/source" "$AG/submission"
unzip_modes "$WORK/ag.zip" "$AG/source"
cp "$AG/source/run_autograder" "$AG/run_autograder"
cp "$WORK/alice.tar.gz" "$AG/submission/"
echo '{"users": [{"email": "alice@example.edu", "name": "Alice", "sid": "alice"}]}' >"$AG/submission_metadata.json"
rc=0; out=$(podman run --rm --pull=never --user 0 -v "$AG:/autograder" "$GS_IMAGE" /autograder/run_autograder 2>&1) || rc=$?
[ "$rc" -eq 0 ] || fail "run_autograder in the container exited $rc: $out"
[ -s "$AG/results/results.json" ] || fail "no /autograder/results/results.json: $out"
same_score "$AG/results/results.json" gradescope
expect_exit 0 labc autograder prairielearn 2.2.1 -o "$WORK/plq"
G=$TEST_TMP/pl/grade; mkdir -p "$G/student"
cp -r "$WORK/plq/tests" "$G/tests"
cp "$WORK/alice.tar.gz" "$G/student/submission.tar.gz"
rc=0; out=$(podman run --rm --pull=never -v "$G:/grade" "$GS_IMAGE" /grade/tests/run.sh 2>&1) || rc=$?
[ "$rc" -eq 0 ] || fail "PrairieLearn's run.sh in the container exited $rc: $out"
same_score "$G/results/results.json" prairielearn

# Waits until the container of lab process $1 runs and has written an epoch line to $2.
wait_training() {
  for i in $(seq 300); do
    grep -q 'lenet5 epoch' "$2" 2>/dev/null && podman ps --format '{{.Names}}' | grep -qx "lab-2.2.1-$1" && return 0
    kill -0 "$1" 2>/dev/null || fail "lab run ended early: $(tail -5 "$2")"
    sleep 0.1
  done
  fail "the container of lab $1 never started training: $(tail -5 "$2")"
}
LONG=(run 2.2.1 --quick --model lenet5 --epochs 40 --engine podman --image "$IMAGE")

# SIGINT to lab: the container is stopped, the lab inside saves and exits 130.
(cd "$WORK" && exec "$LAB_BIN" "${LONG[@]}" --out "$WORK/interrupted") >"$TEST_TMP/int.log" 2>&1 &
pid=$!
wait_training "$pid" "$TEST_TMP/int.log"
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 130 ] || fail "SIGINT: lab exited $rc, not 130: $(tail -5 "$TEST_TMP/int.log")"
expect_match "$(cat "$TEST_TMP/int.log")" "interrupted: progress saved; continue with \`lab run 2\.2\.1 --resume $WORK/interrupted\`"
[ -z "$(podman ps -aq --filter "label=lab.runner-pid=$pid")" ] || fail "the container outlived SIGINT"
[ -s "$WORK/interrupted/config.json" ] || fail "the interrupted run's directory is not on the host"

# A runner killed outright leaves its container running: lab ps says so,
# lab ps --clean removes it.
(cd "$WORK" && exec "$LAB_BIN" "${LONG[@]}" --out "$WORK/orphan") >"$TEST_TMP/orphan.log" 2>&1 &
pid=$!
wait_training "$pid" "$TEST_TMP/orphan.log"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
expect_exit 0 labc ps --engine podman
expect_match "$LAST_OUT" "^podman +lab-2\.2\.1-$pid +2\.2\.1 +$pid gone +running"
expect_exit 0 labc ps --engine podman --clean
expect_match "$LAST_OUT" "^removed lab-2\.2\.1-$pid "
[ -z "$(podman ps -aq --filter "label=lab.runner-pid=$pid")" ] || fail "lab ps --clean left the container"
expect_exit 0 labc ps --engine podman
expect_match "$LAST_OUT" '^no lab containers$'
echo ok
