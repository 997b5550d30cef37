#!/bin/sh
# Installs the Debian packages lab needs to build, run and test, when missing.
# Idempotent and quiet when everything is present. Supports Debian 12
# (bookworm, libtorch 1.13) and Debian 13 (trixie, libtorch 2.6).
# Usage: scripts/install-deps.sh [--list] [--release]
#   --list     the packages for this release, one a line
#   --release  the Debian release found (12 or 13)
# LAB_DEBIAN_RELEASE=12|13 overrides the release read from /etc/os-release
# (scripts/trixie-root.sh lists Debian 13's packages from a Debian 12 host).
set -eu

detect_release() {
    [ -n "${LAB_DEBIAN_RELEASE:-}" ] && { echo "$LAB_DEBIAN_RELEASE"; return; }
    id=""; ver=""; code=""
    if [ -r /etc/os-release ]; then
        # shellcheck disable=SC1091
        . /etc/os-release
        id=${ID:-}; ver=${VERSION_ID:-}; code=${VERSION_CODENAME:-}
    fi
    case "$id:$ver:$code" in
        debian:12:*|debian:*:bookworm) echo 12 ;;
        debian:13:*|debian:*:trixie) echo 13 ;;
        *) echo "lab: error: unsupported system '${id:-unknown} ${ver:-}${code:+ ($code)}': scripts/install-deps.sh knows Debian 12 and 13" >&2
           echo "  fix: install the packages of docs/platforms.md by hand, or set LAB_DEBIAN_RELEASE=12|13 on a Debian derivative (docs/troubleshooting/TS-UNSUPPORTED-DISTRO.md)" >&2
           exit 3 ;;
    esac
}
RELEASE=$(detect_release)

# libopenblas0-openmp: Debian's libtorch and python3-torch do their matrix
# products through the libblas.so.3 alternative, which without it is the
# reference BLAS (a tenth of the speed; lab doctor's system.blas); the OpenMP
# build shares libtorch's OpenMP threads instead of adding its own.
# slurmdbd, its MySQL plugin and MariaDB: tests/e2e/slurm_acct.sh starts a
# private accounting database (sacct, --account); same names on 12 and 13.
COMMON="
build-essential pkg-config make debootstrap
libtorch-dev libopenblas0-openmp
libarchive-dev libcurl4-openssl-dev libsqlite3-dev libjansson-dev libssl-dev zlib1g-dev
libpng-dev libjpeg62-turbo-dev libcairo2-dev
check
clang
dataset-fashion-mnist
python3 python3-torch python3-torchvision
nginx-light curl openssl util-linux
python3-numpy python3-pil
podman runc crun uidmap fuse-overlayfs slirp4netns fontconfig
slurmctld slurmd slurm-client munge
slurmdbd slurm-wlm-mysql-plugin mariadb-server
"
# What differs: the fuzzers' runtime follows each release's clang (14, 19);
# Debian 13 has Python's safetensors, which tests/e2e/notebook_snippet.sh
# then uses instead of its stand-in.
case "$RELEASE" in
    12) PACKAGES="$COMMON libclang-rt-14-dev" ;;
    13) PACKAGES="$COMMON libclang-rt-19-dev python3-safetensors" ;;
    *) echo "lab: error: LAB_DEBIAN_RELEASE=$RELEASE: expected 12 or 13" >&2; exit 2 ;;
esac

case "${1:-}" in
    --list) echo $PACKAGES | tr ' ' '\n'; exit 0 ;;
    --release) echo "$RELEASE"; exit 0 ;;
    "") ;;
    *) echo "lab: error: unknown option '$1'" >&2; echo "  usage: scripts/install-deps.sh [--list] [--release]" >&2; exit 2 ;;
esac

missing=""
for p in $PACKAGES; do
    # dpkg-query prints "install ok installed" only for a fully installed package.
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        "install ok installed") ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

echo "lab: Debian $RELEASE: installing missing packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=sudo
    else
        echo "lab: error: installing packages needs root." >&2
        echo "  fix: run 'sudo scripts/install-deps.sh' (or as root: apt-get install$missing)" >&2
        exit 3
    fi
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
# An old or empty package list makes apt-get install fail; refresh it once.
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq $missing >/dev/null
echo "lab: packages installed"
