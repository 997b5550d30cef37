#!/bin/sh
# Compiles and links the shim and lab against Debian 13's CUDA build of
# libtorch 2.6 (the root of `scripts/trixie-root.sh cuda`) with the CUDA
# toolkit's headers from this machine's /usr/local/cuda, so that the shim's
# CUDA branch (TS_HAVE_CUDA_HEADERS) is compiled -Werror clean. Nothing runs on
# a GPU: `lab --version` loads the library with libcuda's stub.
# Exit 77: cannot run here (not root, no debootstrap, no CUDA toolkit), and why.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
jobs=${LAB_JOBS:-2}
cuda=$(readlink -f "${CUDA_HOME:-/usr/local/cuda}")
[ -r "$cuda/include/cuda_runtime_api.h" ] || { echo "check-cuda-build: skipped: no CUDA toolkit headers under ${CUDA_HOME:-/usr/local/cuda} (set CUDA_HOME)"; exit 77; }
[ -e "$cuda/lib64/stubs/libcuda.so" ] || { echo "check-cuda-build: skipped: no libcuda stub under $cuda/lib64/stubs"; exit 77; }
t0=$(date +%s)
rc=0; root=$("$src/scripts/trixie-root.sh" cuda) || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
t1=$(date +%s)

exec 9>"$root.run.lock"
flock 9
undo() {
    for m in "$root/src" "$root/usr/local/cuda" "$root/dev" "$root/proc"; do
        mountpoint -q "$m" 2>/dev/null && umount -R "$m"
    done
    return 0
}
trap undo EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
undo
mkdir -p "$root/src" "$root/usr/local/cuda"
mount --bind "$src" "$root/src"
mount --bind -o ro "$cuda" "$root/usr/local/cuda"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"

chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 LAB_JOBS="$jobs" /bin/bash -c '
set -euo pipefail
cd /src
echo "check-cuda-build: libtorch-cuda-dev $(dpkg-query -W -f="\${Version}" libtorch-cuda-dev), CUDA headers $(sed -n "s/^#define CUDART_VERSION[[:space:]]*\([0-9]*\).*/\1/p" /usr/local/cuda/include/cuda_runtime_api.h)"
make -s -j"$LAB_JOBS" BUILD=build-cuda all build-cuda/tests/unit
fail() { echo "check-cuda-build: FAIL: $*" >&2; exit 1; }
# The CUDA branch was compiled: the per-device query calls the CUDA runtime.
nm -u build-cuda/pic/shim/runtime.o | grep -q cudaMemGetInfo || fail "shim/runtime.cpp was built without TS_HAVE_CUDA_HEADERS"
readelf -d build-cuda/liblabtorch.so | grep -q "libtorch_cuda.so" || fail "liblabtorch.so does not link libtorch_cuda"
stubs=$(mktemp -d)
ln -s /usr/local/cuda/lib64/stubs/libcuda.so "$stubs/libcuda.so.1"
v=$(LD_LIBRARY_PATH="$stubs:/usr/local/cuda/lib64" build-cuda/lab --version)
rm -rf "$stubs"
echo "$v" | head -2
echo "$v" | grep -q "^libtorch 2\.[0-9.]* (cuda build, CUDA available)" || fail "lab --version does not report a CUDA build"
'
echo "check-cuda-build: passed in $(( $(date +%s) - t0 )) s (root $((t1 - t0)) s) at commit $(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)"
