#!/bin/sh
# Makes (or reuses) a Debian 13 (trixie) root for testing lab against
# libtorch 2.6, with debootstrap from Debian's archive. Prints its path.
# Usage: scripts/trixie-root.sh cpu|cuda
#   cpu   libtorch-dev 2.6, python3-torch 2.6 and the build and test packages
#         of `LAB_DEBIAN_RELEASE=13 scripts/install-deps.sh --list`
#   cuda  contrib's CUDA build of libtorch 2.6 and the build packages only:
#         for `make check-cuda-build`, which compiles and never runs CUDA
# The roots live under LAB_TRIXIE_CACHE (default /var/cache/lab), never in the
# source tree; downloaded .debs are kept in $LAB_TRIXIE_CACHE/debs, so a root
# rebuilt after its package list changed downloads only what is new. A root is
# reused while its stamp (ROOT_FORMAT and its package list) is unchanged.
# Needs root (debootstrap, chroot, mount). Exit 77: cannot run here, and why.
set -eu

flavour=${1:-cpu}
CACHE=${LAB_TRIXIE_CACHE:-/var/cache/lab}
MIRROR=${LAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
src=$(cd "$(dirname "$0")/.." && pwd)
root=$CACHE/trixie-$flavour
debs=$CACHE/debs

say() { echo "trixie-root: $*" >&2; }
cannot() { say "skipped: $*"; say "  see docs/troubleshooting/TS-TRIXIE-ROOT.md (lab explain TS-TRIXIE-ROOT)"; exit 77; }

[ "$(id -u)" -eq 0 ] || cannot "needs root (debootstrap, chroot and bind mounts); run as root or 'sudo make test-trixie'"
command -v debootstrap >/dev/null || cannot "debootstrap is not installed (apt-get install debootstrap)"

# Containers and Slurm's daemons do not start inside a chroot (their tests
# skip there), so their packages are left out, and so is debootstrap;
# install-deps.sh's full list is still checked against the archive below.
# git is added: tests/e2e/check_layers.sh lists the tree with git ls-files.
NOT_IN_ROOT='^(podman|runc|crun|uidmap|fuse-overlayfs|slirp4netns|debootstrap|slurmctld|slurmd|slurm-client|munge|slurmdbd|slurm-wlm-mysql-plugin|mariadb-server)$'
ROOT_EXTRA="git"
BUILD_PKGS="build-essential pkg-config make libarchive-dev libcurl4-openssl-dev libsqlite3-dev libjansson-dev
libssl-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev libcairo2-dev check python3"
case "$flavour" in
    cpu) pkgs="$(LAB_DEBIAN_RELEASE=13 "$src/scripts/install-deps.sh" --list | grep -Ev "$NOT_IN_ROOT" | tr '\n' ' ')$ROOT_EXTRA" ;;
    cuda) pkgs="$(echo $BUILD_PKGS)" ;;
    *) say "error: unknown flavour '$flavour'"; say "  usage: scripts/trixie-root.sh cpu|cuda"; exit 2 ;;
esac
# Bump ROOT_FORMAT when what this script does to a root changes.
ROOT_FORMAT=1
stamp=$(echo "$ROOT_FORMAT $flavour $pkgs" | sha256sum | cut -d' ' -f1)

mkdir -p "$CACHE" "$debs"
exec 9>"$CACHE/.lock"
flock 9
if [ -f "$root/.lab-stamp" ] && [ "$(cat "$root/.lab-stamp")" = "$stamp" ]; then
    echo "$root"
    exit 0
fi

say "building the Debian 13 $flavour root in $root (packages: $pkgs)"
tmp=$root.tmp
umount_all() {
    for m in var/cache/apt/archives proc; do
        mountpoint -q "$tmp/$m" 2>/dev/null && umount "$tmp/$m"
    done
    return 0
}
on_exit() {
    rc=$?
    umount_all
    [ "$rc" -eq 0 ] || say "error: building the $flavour root failed (exit $rc); $tmp is left for inspection; see docs/troubleshooting/TS-TRIXIE-ROOT.md"
}
trap on_exit EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
umount_all
rm -rf "$tmp"
debootstrap --variant=minbase --components=main,contrib,non-free,non-free-firmware \
    --cache-dir="$debs" trixie "$tmp" "$MIRROR" >&2
# Services must not start from maintainer scripts inside the root.
printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
chmod 0755 "$tmp/usr/sbin/policy-rc.d"
mount --bind "$debs" "$tmp/var/cache/apt/archives"
mount -t proc proc "$tmp/proc"
in_root() { chroot "$tmp" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }
in_root apt-get update -qq >&2
# shellcheck disable=SC2086
in_root apt-get install -y -qq --no-install-recommends $pkgs >&2

if [ "$flavour" = cpu ]; then
    # What install-deps.sh would install on Debian 13 must all exist there.
    cp "$src/scripts/install-deps.sh" "$tmp/tmp/install-deps.sh"
    [ "$(in_root sh /tmp/install-deps.sh --release)" = 13 ] || { say "error: install-deps.sh does not recognise Debian 13"; exit 1; }
    for p in $(in_root sh /tmp/install-deps.sh --list); do
        in_root apt-cache show "$p" >/dev/null 2>&1 || { say "error: install-deps.sh names '$p', which Debian 13 does not have"; exit 1; }
    done
    rm -f "$tmp/tmp/install-deps.sh"
fi
if [ "$flavour" = cuda ]; then
    # libtorch-cuda-2.6 depends on the driver's libcuda1 and on nvidia-cudnn,
    # an installer that downloads cuDNN from NVIDIA (unreachable here). A
    # compile-and-link check needs neither: empty stand-in packages satisfy
    # them, and check-cuda-build takes libcuda's stub and cuDNN from
    # /usr/local/cuda when it loads the library.
    for p in libcuda1 nvidia-cudnn; do
        d=$tmp/tmp/standin-$p
        mkdir -p "$d/DEBIAN"
        printf 'Package: %s\nVersion: 999:0\nArchitecture: amd64\nMaintainer: lab <lab@localhost>\nDescription: empty stand-in for lab check-cuda-build\n' "$p" >"$d/DEBIAN/control"
        in_root dpkg-deb -b "/tmp/standin-$p" "/tmp/standin-$p.deb" >/dev/null
        in_root dpkg -i "/tmp/standin-$p.deb" >/dev/null
        rm -rf "$d" "$d.deb"
    done
    in_root apt-get install -y -qq --no-install-recommends libtorch-cuda-dev >&2
fi
in_root dpkg-query -W -f='${Package} ${Version}\n' libtorch-dev libtorch-cuda-dev python3-torch 2>/dev/null >&2 || true
umount_all
echo "$stamp" >"$tmp/.lab-stamp"
rm -rf "$root"
mv "$tmp" "$root"
echo "$root"
