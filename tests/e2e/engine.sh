#!/usr/bin/env bash
# lab run --engine, lab ps, lab image check against a stand-in `docker` that
# records its arguments and plays the engine's part (exit codes, errors,
# stop on Ctrl-C): the runner's side of the container flow, on any machine.
# The real engine is tests/e2e/containers.sh.
set -euo pipefail
. "$(dirname "$0")/lib.bash"

BIN=$TEST_TMP/bin
mkdir -p "$BIN" "$TEST_TMP/work" "$TEST_TMP/noroot"
# The stand-in: every call appends its arguments (one per line, then a
# blank line) to $FAKE_LOG; FAKE_MODE chooses how `run` behaves.
cat >"$BIN/docker" <<'EOF'
#!/bin/sh
PATH=/usr/bin:/bin
{ for a in "$@"; do printf '%s\n' "$a"; done; echo; } >>"$FAKE_LOG"
case "$1" in
run)
  case "${FAKE_MODE:-ok}" in
  ok) echo "inside: $1 $2"; exit "${FAKE_EXIT:-0}" ;;
  daemon) echo "docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 125 ;;
  image) echo "docker: Error response from daemon: No such image: lab-course:0.1.0." >&2; exit 125 ;;
  wait) : >"$FAKE_DIR/started"
        for i in $(seq 300); do [ -e "$FAKE_DIR/stopped" ] && { echo "interrupted: progress saved"; exit 130; }; sleep 0.1; done
        exit 99 ;;
  esac ;;
stop) : >"$FAKE_DIR/stopped"; exit 0 ;;
ps) printf '%s\n' "{\"ID\":\"abc\",\"Names\":\"lab-2.2.1-999999\",\"Labels\":\"lab.lab=2.2.1,lab.runner-host=$(uname -n),lab.runner-pid=999999\",\"State\":\"running\",\"Status\":\"Up 2 minutes\"}"
    printf '%s\n' "{\"ID\":\"def\",\"Names\":\"lab-2.2.1-$$\",\"Labels\":\"lab.lab=2.2.1,lab.runner-host=$(uname -n),lab.runner-pid=$PPID\",\"State\":\"running\",\"Status\":\"Up 1 second\"}"
    exit 0 ;;
rm) exit 0 ;;
image) [ "$5" = "lab-course:0.1.0" ] && { echo '{"lab.version":"0.1.0"}'; exit 0; }
       [ "$5" = "old:1" ] && { echo '{"lab.version":"0.0.1"}'; exit 0; }
       echo "Error: No such image: $5" >&2; exit 1 ;;
esac
exit 0
EOF
chmod +x "$BIN/docker"
export FAKE_LOG=$TEST_TMP/calls FAKE_DIR=$TEST_TMP
unset DOCKER_HOST LAB_ENGINE LAB_IMAGE
# Only the stand-in engine is in PATH; no GPU (an empty doctor root).
labx() { (cd "$TEST_TMP/work" && PATH=$BIN LAB_DOCTOR_ROOT=$TEST_TMP/noroot "$LAB_BIN" "$@"); }
VERSION=$("$LAB_BIN" --version | head -1 | cut -d' ' -f2)

# Default: native, even with an engine installed; --dry-run says what would run.
expect_exit 0 labx run 2.2.1 --quick --dry-run
[ "$LAST_OUT" = "lab run 2.2.1 --engine native --quick" ] || fail "native dry run: $LAST_OUT"

# The docker command, exactly: the course's line first, secrets by name only.
expect_exit 0 env HF_TOKEN=hf_very_secret LAB_LOG=warn LAB_HOME="$TEST_TMP/home" \
  bash -c "cd '$TEST_TMP/work' && PATH='$BIN' LAB_DOCTOR_ROOT='$TEST_TMP/noroot' '$LAB_BIN' run 2.2.1 --engine docker --quick --out 'runs/a b' --dry-run"
expect_match "$LAST_OUT" "^$BIN/docker run --rm --ipc=host --ulimit memlock=-1 --ulimit stack=67108864 --name lab-2\.2\.1-[0-9]+ "
expect_match "$LAST_OUT" "--label lab\.runner-pid=[0-9]+ --label lab\.runner-host=[^ ]+ --label lab\.lab=2\.2\.1 --pull=never --user $(id -u):$(id -g) "
expect_match "$LAST_OUT" "--mount type=bind,source=$TEST_TMP/work,target=/workspace "
expect_match "$LAST_OUT" "--mount type=bind,source=$TEST_TMP/home,target=$TEST_TMP/home "
expect_match "$LAST_OUT" "--mount 'type=bind,source=$TEST_TMP/work/runs/a b,target=$TEST_TMP/work/runs/a b' "
expect_match "$LAST_OUT" "-w /workspace -e LAB_HOME=$TEST_TMP/home -e LAB_CACHE=[^ ]+ -e HF_HOME=/root/\.cache/huggingface -e HF_TOKEN "
expect_match "$LAST_OUT" " -e LAB_LOG "
expect_match "$LAST_OUT" " lab-course:$VERSION lab run 2\.2\.1 --engine native --quick --out '$TEST_TMP/work/runs/a b'$"
case "$LAST_OUT" in *hf_very_secret*) fail "a secret value was printed" ;; esac
expect_match "$LAST_ERR" 'no NVIDIA GPU on this host'
[ ! -e "$TEST_TMP/work/runs" ] || fail "--dry-run created directories"

# The command that runs is the one printed; the lab's exit code comes back.
: >"$FAKE_LOG"
expect_exit 0 labx run 2.2.1 --engine docker --quick
expect_match "$LAST_OUT" '^inside: run --rm'
expect_match "$(cat "$FAKE_LOG")" '^lab-course:'"$VERSION"'$'
for code in 1 2 3 130; do
  expect_exit "$code" env FAKE_EXIT=$code bash -c "cd '$TEST_TMP/work' && PATH='$BIN' LAB_DOCTOR_ROOT='$TEST_TMP/noroot' '$LAB_BIN' run 2.2.1 --engine docker"
  case "$LAST_ERR" in *"lab: error"*) fail "exit $code: the outer lab repeated an error the lab inside already printed: $LAST_ERR" ;; esac
done

# Engine errors name their troubleshooting entry; exit 3.
expect_exit 3 env FAKE_MODE=daemon bash -c "cd '$TEST_TMP/work' && PATH='$BIN' '$LAB_BIN' run 2.2.1 --engine docker"
expect_match "$LAST_ERR" 'Is the docker daemon running\?'
expect_match "$LAST_ERR" 'lab explain TS-ENGINE-DAEMON'
expect_exit 3 env FAKE_MODE=image bash -c "cd '$TEST_TMP/work' && PATH='$BIN' '$LAB_BIN' run 2.2.1 --engine docker"
expect_match "$LAST_ERR" 'TS-ENGINE-IMAGE-MISSING'

# Ctrl-C (SIGINT to lab) becomes `docker stop` of the named container; 130 comes back.
rm -f "$TEST_TMP/started" "$TEST_TMP/stopped"; : >"$FAKE_LOG"
(cd "$TEST_TMP/work" && FAKE_MODE=wait PATH=$BIN exec "$LAB_BIN" run 2.2.1 --engine docker) >"$TEST_TMP/int.out" 2>&1 &
pid=$!
for i in $(seq 100); do [ -e "$TEST_TMP/started" ] && break; sleep 0.1; done
[ -e "$TEST_TMP/started" ] || fail "the stand-in engine never started"
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 130 ] || fail "interrupted container run exited $rc, not 130: $(cat "$TEST_TMP/int.out")"
grep -qx "lab-2.2.1-$pid" "$FAKE_LOG" || fail "no container named lab-2.2.1-$pid"
tr '\n' ' ' <"$FAKE_LOG" | grep -q "stop -t 30 lab-2.2.1-$pid" || fail "SIGINT did not stop the container: $(cat "$FAKE_LOG")"

# Named but missing engine: exit 3, never a silent fallback; auto falls back to native.
expect_exit 3 labx run 2.2.1 --engine podman --dry-run
expect_match "$LAST_ERR" 'engine podman \(from --engine\) is not installed'
expect_exit 0 env LAB_ENGINE=auto PATH=/nonexistent "$LAB_BIN" run 2.2.1 --dry-run
expect_match "$LAST_OUT" '^lab run 2\.2\.1 --engine native$'
# The config file chooses when nothing else does; LAB_ENGINE beats it.
mkdir -p "$LAB_HOME"
echo '{"engine": "docker", "image": "reg.example/course:7"}' >"$LAB_HOME/config.json"
expect_exit 0 labx run 2.2.1 --dry-run
expect_match "$LAST_OUT" ' reg\.example/course:7 lab run 2\.2\.1 --engine native$'
expect_exit 0 env LAB_ENGINE=native PATH=$BIN "$LAB_BIN" run 2.2.1 --dry-run
expect_match "$LAST_OUT" '^lab run 2\.2\.1 --engine native$'
echo '{"engine": "docker", "imgae": "x"}' >"$LAB_HOME/config.json"
expect_exit 2 labx run 2.2.1 --dry-run
expect_match "$LAST_ERR" "unknown key 'imgae'"
rm "$LAB_HOME/config.json"

# No GPU on the host: --device cuda refuses before anything starts.
: >"$FAKE_LOG"
expect_exit 3 labx run 2.2.1 --engine docker --device cuda
expect_match "$LAST_ERR" 'no NVIDIA GPU'
[ ! -s "$FAKE_LOG" ] || fail "the engine was started for --device cuda without a GPU"
# Bad options are refused by the outer lab (exit 2), paths with ',' too.
expect_exit 2 labx run 2.2.1 --engine docker --epochz 3
expect_exit 2 labx run 2.2.1 --engine docker --out 'a,b' --dry-run
expect_match "$LAST_ERR" "cannot mount a path with ','"

# lab ps: the container of a lab that is gone is marked; --clean removes only it.
expect_exit 0 labx ps --engine docker
expect_match "$LAST_OUT" '^docker +lab-2\.2\.1-999999 +2\.2\.1 +999999 gone +running'
expect_match "$LAST_OUT" 'lab ps --clean'
: >"$FAKE_LOG"
expect_exit 0 labx ps --engine docker --clean
expect_match "$LAST_OUT" '^removed lab-2\.2\.1-999999'
tr '\n' ' ' <"$FAKE_LOG" | grep -q 'rm -f lab-2.2.1-999999' || fail "ps --clean did not remove: $(cat "$FAKE_LOG")"
[ "$(grep -c '^rm$' "$FAKE_LOG")" -eq 1 ] || fail "ps --clean removed more than the orphan: $(cat "$FAKE_LOG")"
expect_exit 0 labx ps --engine docker --json
expect_match "$LAST_OUT" '"orphan": true'

# lab image check: present and matching, absent, another version.
expect_exit 0 labx image check --engine docker
expect_match "$LAST_OUT" "present, lab $VERSION \(matches\)"
expect_exit 3 labx image check --engine docker --local
expect_match "$LAST_ERR" 'lab image build --local'
expect_exit 3 labx image check --engine docker --image old:1
expect_match "$LAST_ERR" 'holds lab 0\.0\.1'
expect_exit 0 labx image build --local --engine docker --dry-run
expect_match "$LAST_OUT" "docker import --change 'LABEL lab\.version=$VERSION'"
expect_exit 0 bash -c "cd '$LAB_SRC' && PATH='$BIN' '$LAB_BIN' image build --engine docker --dry-run"
expect_match "$LAST_OUT" "docker build -f \./containers/Containerfile -t lab-course:$VERSION --build-arg LAB_VERSION=$VERSION --label lab\.version=$VERSION \.$"

# lab explain knows the engines' own words.
top() { printf '%s\n' "$1" | "$LAB_BIN" explain - | head -1; }
expect_match "$(top 'docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?')" '^TS-ENGINE-DAEMON: '
expect_match "$(top 'docker: permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: dial unix /var/run/docker.sock: connect: permission denied')" '^TS-ENGINE-SOCKET: '
expect_match "$(top 'Error: lab-course:0.1.0: image not known')" '^TS-ENGINE-IMAGE-MISSING: '
expect_match "$(top 'docker: Error response from daemon: could not select device driver "" with capabilities: [[gpu]].')" '^TS-CONTAINER-TOOLKIT: '
expect_match "$(top 'Error: setting up CDI devices: unresolvable CDI devices nvidia.com/gpu=all')" '^TS-ENGINE-CDI: '
expect_match "$(top 'error setting rlimits for ready process: error setting rlimit type 8: operation not permitted')" '^TS-ENGINE-LIMITS: '
echo ok
