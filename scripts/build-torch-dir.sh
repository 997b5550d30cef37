#!/bin/sh
# Builds lab against a libtorch in the pip/NGC layout: the torch Python
# package's directory, holding include/, include/torch/csrc/api/include and
# lib/. The Containerfile builds the course image with it; make test-trixie
# runs it against Debian 13's libtorch 2.6 arranged in that layout.
# Usage: scripts/build-torch-dir.sh [make arguments...]   (default: all)
#   TORCH_DIR        default: the directory of python's torch/__init__.py
#   TORCH_CXX11_ABI  default: the ABI that torch was built with (0 or 1)
#   PYTHON           default: python3
set -eu

py=${PYTHON:-python3}
if [ -z "${TORCH_DIR:-}" ]; then
    TORCH_DIR=$("$py" -c 'import torch, os; print(os.path.dirname(torch.__file__))') || {
        echo "build-torch-dir: error: $py cannot import torch; set TORCH_DIR to the directory holding libtorch's include/ and lib/" >&2
        exit 2
    }
fi
if [ ! -d "$TORCH_DIR/include/torch/csrc/api/include" ] || [ ! -d "$TORCH_DIR/lib" ]; then
    echo "build-torch-dir: error: $TORCH_DIR is not a libtorch in the pip layout (no include/torch/csrc/api/include or lib/)" >&2
    echo "  fix: set TORCH_DIR to the directory of a pip or NGC torch package (docs/platforms.md)" >&2
    exit 2
fi
if [ -z "${TORCH_CXX11_ABI:-}" ]; then
    TORCH_CXX11_ABI=$("$py" -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
fi
echo "build-torch-dir: building lab against $TORCH_DIR (CXX11 ABI $TORCH_CXX11_ABI)"
[ $# -gt 0 ] || set -- all
exec make -j"${LAB_JOBS:-$(nproc)}" TORCH_DIR="$TORCH_DIR" TORCH_CXX11_ABI="$TORCH_CXX11_ABI" "$@"
