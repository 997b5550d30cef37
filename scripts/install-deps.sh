#!/bin/sh
# Installs the Debian packages lab needs to build, run and test, when missing.
# Idempotent and quiet when everything is present. Usage: scripts/install-deps.sh [--list]
set -eu

PACKAGES="
build-essential pkg-config make
libtorch-dev
libarchive-dev libcurl4-openssl-dev libsqlite3-dev libjansson-dev libssl-dev zlib1g-dev
libpng-dev libjpeg62-turbo-dev libcairo2-dev
check
clang libclang-rt-14-dev
dataset-fashion-mnist
python3 python3-torch python3-torchvision
nginx-light curl openssl util-linux
python3-numpy python3-pil
podman runc crun uidmap fuse-overlayfs slirp4netns fontconfig
slurmctld slurmd slurm-client munge
"

if [ "${1:-}" = "--list" ]; then
    echo $PACKAGES | tr ' ' '\n'
    exit 0
fi

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

echo "lab: installing missing packages:$missing"
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
