#!/usr/bin/env bash
# Containers: `lab image build --local` time, container start overhead
# (`lab --version` inside podman vs natively) and a quick LeNet-5 run
# (`lab run 2.2.1 --quick --model lenet5`) natively vs `--engine podman`,
# median of N. A private podman store in a temporary directory (storage
# driver $DRIVER: vfs or overlay) and the same containers.conf as
# tests/e2e/containers.sh unless CONTAINERS_CONF is set.
# usage: scripts/bench/containers.sh [BUILD_DIR] [N] [DRIVER]
set -euo pipefail
build=${1:-build}; n=${2:-3}; driver=${3:-vfs}
lab=$(realpath "$build/lab")
command -v podman >/dev/null || { echo "containers: podman not installed, skipped"; exit 0; }
tmp=$(mktemp -d)
cleanup() { podman rm -af -t 0 >/dev/null 2>&1 || true; podman rmi -af >/dev/null 2>&1 || true
            [ "$driver" = overlay ] && podman system reset -f >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
export LAB_HOME=$tmp/home LAB_CACHE=$tmp/cache HF_HUB_OFFLINE=1 CONTAINERS_STORAGE_CONF=$tmp/storage.conf
printf '[storage]\ndriver = "%s"\ngraphroot = "%s/root"\nrunroot = "%s/run"\n' "$driver" "$tmp" "$tmp" >"$CONTAINERS_STORAGE_CONF"
if [ -z "${CONTAINERS_CONF:-}" ]; then
  export CONTAINERS_CONF=$tmp/containers.conf
  nproc_hard=$(ulimit -Hu); { [ "$nproc_hard" = unlimited ] || [ "$nproc_hard" -gt 32768 ]; } && nproc_hard=32768
  printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\nnetns = "none"\n[engine]\nruntime = "runc"\n' \
    "$(ulimit -Sn)" "$(ulimit -Hn)" "$nproc_hard" "$nproc_hard" >"$CONTAINERS_CONF"
fi
cd "$tmp"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
version=$("$lab" --version | head -1 | cut -d' ' -f2)
image=lab-local:$version

t0=$(date +%s%N)
summary=$("$lab" image build --local --engine podman 2>/dev/null | tail -1)
build_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
for _ in $(seq "$n"); do
  ms "$lab" --version >>native_version
  ms podman run --rm --pull=never "$image" lab --version >>podman_version
  ms "$lab" run 2.2.1 --quick --model lenet5 >>native_run
  ms "$lab" run 2.2.1 --quick --model lenet5 --engine podman --image "$image" >>podman_run
done
nv=$(median <native_version); pv=$(median <podman_version); nr=$(median <native_run); pr=$(median <podman_run)
echo "containers (podman $(podman --version | cut -d' ' -f3), $driver storage, median of $n):"
echo "  lab image build --local: $build_ms ms ($summary)"
printf '  lab --version: native %d ms, in podman %d ms (container start overhead %+d ms)\n' "$nv" "$pv" $((pv - nv))
printf '  lab run 2.2.1 --quick --model lenet5: native %d ms, --engine podman %d ms (%+d ms)\n' "$nr" "$pr" $((pr - nr))
