#!/usr/bin/env bash
# A complete 2.2.1 quick submission (all four models) fits the 50 MB that
# LMS upload limits allow once `lab submit` stores the big tensors at 4 bits,
# and re-evaluation still holds every model to its weights: the genuine
# 4-bit weights pass reeval.logits, another run's 4-bit weights slipped in
# (manifest rewritten) fail it, and the same swap without the rewrite fails
# integrity.checksums. Untrained weights (--epochs 0) have the trained
# sizes, so no training is needed (docs/grading.md has the trained figures).
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8
cd "$TEST_TMP"

# Below chance untrained, so the self-check fails: exit 1 is expected.
expect_exit 1 "$LAB_BIN" run 2.2.1 --quick --device cpu --epochs 0 --out run
expect_exit 0 "$LAB_BIN" submit run --student gil
expect_match "$LAST_OUT" 'weights of 3 model\(s\) at 4 bits'
size=$(stat -c %s gil-2.2.1.tar.gz)
[ "$size" -le 50000000 ] || fail "the 4-bit submission is $size bytes, over 50 MB"
expect_exit 0 "$LAB_BIN" submit run --student gil --weights exact --out exact.tar.gz
exact=$(stat -c %s exact.tar.gz)
[ "$exact" -gt $((4 * size)) ] || fail "exact $exact bytes against 4-bit $size: the encoding saved too little"

expect_exit 1 "$LAB_BIN" grade gil-2.2.1.tar.gz --reeval --device cpu --format json --out gil.json
"$PY" - gil.json <<'PYEOF' || fail "the genuine 4-bit submission does not re-evaluate"
import json, sys
r = json.load(open(sys.argv[1]))
st = {(c["id"], c["name"].split(":")[0]): c for c in r["checks"]}
for m in ("lenet5", "alexnet", "vgg11", "resnet18"):
    for cid in ("reeval.load", "reeval.logits", "reeval.batch"):
        c = st[(cid, m)]
        assert c["status"] == "pass", c
for m in ("alexnet", "vgg11", "resnet18"):
    assert "at 4 bits" in st[("reeval.logits", m)]["message"], st[("reeval.logits", m)]
assert "at 4 bits" not in st[("reeval.logits", "lenet5")]["message"]  # too small to encode
PYEOF

# Another run's AlexNet (another seed), at 4 bits, in gil's submission.
expect_exit 1 "$LAB_BIN" run 2.2.1 --quick --device cpu --epochs 0 --model alexnet --set seed=7 --out other
expect_exit 0 "$LAB_BIN" submit other --student hal
mkdir -p swapped hal && tar xzf gil-2.2.1.tar.gz -C swapped && tar xzf hal-2.2.1.tar.gz -C hal
cp hal/models/alexnet/model.safetensors swapped/models/alexnet/model.safetensors
cp -r swapped unlisted
"$PY" - swapped <<'PYEOF'
import os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import write_manifest
write_manifest(sys.argv[1])
PYEOF
expect_exit 1 "$LAB_BIN" grade swapped --reeval --device cpu --format json --out swapped.json
"$PY" - swapped.json <<'PYEOF' || fail "4-bit weights that do not give the submitted logits pass re-evaluation"
import json, sys
r = json.load(open(sys.argv[1]))
c = next(c for c in r["checks"] if c["id"] == "reeval.logits" and c["name"].startswith("alexnet:"))
assert c["status"] == "fail" and c["kb"] == "TS-REEVAL-MISMATCH", c
assert "4-bit tolerance" in c["message"], c
others = [c for c in r["checks"] if c["id"] == "reeval.logits" and not c["name"].startswith("alexnet:")]
assert len(others) == 3 and all(c["status"] == "pass" for c in others), others
PYEOF
expect_exit 1 "$LAB_BIN" grade unlisted --format json --out unlisted.json
"$PY" - unlisted.json <<'PYEOF' || fail "a swapped file under the old manifest passes integrity.checksums"
import json, sys
r = json.load(open(sys.argv[1]))
c = next(c for c in r["checks"] if c["id"] == "integrity.checksums")
assert c["status"] == "fail" and "models/alexnet/model.safetensors" in c["message"], c
PYEOF
echo ok
