#!/usr/bin/env bash
# lab datasets and the no-network paths of lab fetch: the registry listing,
# --verify on Debian's Fashion-MNIST, --dry-run, offline with data present.
set -euo pipefail
source tests/e2e/lib.bash
unset LAB_MIRROR LAB_OFFLINE HF_HUB_OFFLINE TRANSFORMERS_OFFLINE
export HF_HUB_CACHE=$TEST_TMP/hub LAB_OFFLINE=1  # nothing here may touch the network

[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] ||
  skip "Debian's dataset-fashion-mnist is not installed"

expect_exit 0 "$LAB_BIN" datasets
for n in fashion-mnist cifar-10 cifar-100 voc2012 sam-vit-b sam-vit-l sam-vit-h resnet18 resnet50 \
  efficientnet-b0 yolov8-weights ultralytics-samples; do
  expect_match "$LAST_OUT" "^$n "
done
expect_match "$LAST_OUT" '^fashion-mnist +dataset +30.9 MB +present +/usr/share/datasets/fashion-mnist$'
expect_match "$LAST_OUT" "^cifar-10 .*missing +$LAB_CACHE/datasets/cifar-10/cifar-10-binary.tar.gz$"
expect_match "$LAST_OUT" "^sam-vit-b .*~375.0 MB .*missing"

expect_exit 0 "$LAB_BIN" datasets --verify
expect_match "$LAST_OUT" '^fashion-mnist .*verified'
# the verification is remembered
expect_exit 0 "$LAB_BIN" datasets
expect_match "$LAST_OUT" '^fashion-mnist .*verified'

expect_exit 0 "$LAB_BIN" datasets --json
printf '%s' "$LAST_OUT" | /usr/bin/python3 -c '
import json, sys
d = {e["name"]: e for e in json.load(sys.stdin)}
assert len(d) == 12, d.keys()
fm = d["fashion-mnist"]
assert fm["status"] == "verified" and fm["size"] == 26421880 + 29515 + 4422102 + 5148, fm
assert all(f["status"] == "verified" for f in fm["files"]) and len(fm["files"]) == 4
assert d["cifar-10"]["status"] == "missing" and d["cifar-10"]["size_approx"] is True
' || fail "lab datasets --json is wrong: $LAST_OUT"

# present data needs no network even offline
expect_exit 0 "$LAB_BIN" fetch fashion-mnist
expect_match "$LAST_OUT" 'train-images-idx3-ubyte.gz: present and verified'

# --dry-run says what and where, and writes nothing
unset LAB_OFFLINE
expect_exit 0 "$LAB_BIN" fetch 2.2.4 --dry-run
expect_match "$LAST_OUT" 'would download voc2012/VOCtrainval_11-May-2012.tar \(~2.0 GB\)'
expect_match "$LAST_OUT" 'http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar'
[ ! -e "$LAB_CACHE/datasets/voc2012" ] || fail "--dry-run wrote into the cache"
LAB_MIRROR=http://mirror.example/lab expect_exit 0 "$LAB_BIN" fetch cifar-100 --dry-run
expect_match "$LAST_OUT" '^  http://mirror.example/lab/cifar-100/cifar-100-binary.tar.gz$'

expect_exit 2 "$LAB_BIN" fetch voc
expect_match "$LAST_ERR" "did you mean 'voc2012'"
expect_exit 2 "$LAB_BIN" fetch
expect_exit 0 "$LAB_BIN" fetch --help
expect_match "$LAST_OUT" 'LAB_MIRROR'
echo ok
