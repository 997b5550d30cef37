# What the lab-against-PyTorch training benchmarks (train.sh, effnet.sh,
# vit.sh) share; sourced from the repository root with the script's
# arguments. BUILD (the first argument, default build), THREADS (default:
# all cores) as OMP_NUM_THREADS for both sides, PY, PAIRS (default 5), a
# private LAB_HOME under $tmp, removed on exit.
BUILD=${1:-build}
THREADS=${THREADS:-$(nproc)}
export OMP_NUM_THREADS=$THREADS
PY=/usr/bin/python3
PAIRS=${PAIRS:-5}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export LAB_HOME=$tmp/home

# Exits 0 saying so when the Python side cannot run: it needs Debian's
# Fashion-MNIST and python3-torch.
train_bench_require() {
  if [ ! -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || ! $PY -c 'import torch' 2>/dev/null; then
    echo "== $1: skipped: needs Debian's dataset-fashion-mnist and python3-torch (make deps) =="
    exit 0
  fi
}
