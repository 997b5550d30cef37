#!/usr/bin/env bash
# lab predict on a real (small) 2.2.1 run: PNG and JPEG sources, a
# directory and a single file; the logits equal PyTorch's for the course's
# LeNet-5 with the run's weights and the run's eval transform; bad
# arguments name the problem.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
run=$TEST_TMP/run
# (below the quick target on 2,000 images: the self-check may fail, exit 1)
rc=0; "$LAB_BIN" run 2.2.1 --quick --model lenet5 --device cpu --precision fp32 \
  --set per_model.lenet5.data.train_subset=2000 --set data.eval_subset=200 --out "$run" >"$TEST_TMP/run.log" 2>&1 || rc=$?
[ $rc -le 1 ] && [ -s "$run/models/lenet5/model.safetensors" ] || fail "the run failed: $(tail -5 "$TEST_TMP/run.log")"
mkdir -p "$TEST_TMP/img"
"$PY" - "$TEST_TMP/img" <<'PYEOF'
import sys
from PIL import Image
import numpy as np
rng = np.random.default_rng(3)
for i in range(3):  # 28x28 gray, as Fashion-MNIST: the resize is the identity
    Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8), "L").save(f"{sys.argv[1]}/g{i}.png")
Image.fromarray(rng.integers(0, 256, (40, 52, 3), dtype=np.uint8), "RGB").save(f"{sys.argv[1]}/z.jpg", quality=95)
open(f"{sys.argv[1]}/notes.txt", "w").write("not an image")
PYEOF
expect_exit 0 "$LAB_BIN" predict 2.2.1 --weights "$run" --model lenet5 --source "$TEST_TMP/img" --out "$TEST_TMP/out" --device cpu
expect_match "$LAST_OUT" 'g0.png: '
"$PY" - "$run" "$TEST_TMP/img" "$TEST_TMP/out" <<'PYEOF' || fail "lab predict's logits differ from PyTorch's"
import json, os, sys
import numpy as np, torch
from PIL import Image
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/ref")
import cnn221
run, img, out = sys.argv[1:4]
p = json.load(open(out + "/predictions.json"))
assert [os.path.basename(i["source"]) for i in p["images"]] == ["g0.png", "g1.png", "g2.png", "z.jpg"], p
for i in p["images"]:
    t = i["top5"]
    assert len(t) == 5 and all(a["probability"] >= b["probability"] for a, b in zip(t, t[1:])), t
    assert t[0]["name"] and 0 <= t[0]["class"] < 10
logits = cnn221.st_load(out + "/outputs.safetensors")["logits"]
assert logits.shape == (4, 10), logits.shape
m = cnn221.MODELS["lenet5"]()
m.load_state_dict(cnn221.st_load(run + "/models/lenet5/model.safetensors"))
m.eval()
cfg = json.load(open(run + "/config.json"))["data"]["normalize"]
for k in range(3):
    x = torch.tensor(np.array(Image.open(f"{img}/g{k}.png")), dtype=torch.float32) / 255
    x = torch.nn.functional.pad(x, (2, 2, 2, 2)).expand(3, 32, 32)
    x = (x - torch.tensor(cfg["mean"]).view(3, 1, 1)) / torch.tensor(cfg["std"]).view(3, 1, 1)
    with torch.no_grad():
        want = m(x.unsqueeze(0))[0]
    rel = (logits[k] - want).abs().max() / want.abs().max()
    assert rel < 1e-4, (k, rel, logits[k], want)
    assert p["images"][k]["top5"][0]["class"] == int(want.argmax())
PYEOF
expect_exit 0 "$LAB_BIN" predict 2.2.1 --weights "$run/models/lenet5/model.safetensors" --model lenet5 \
  --source "$TEST_TMP/img/g1.png" --out "$TEST_TMP/one" --device cpu
expect_exit 2 "$LAB_BIN" predict 2.2.1 --weights "$run" --source "$TEST_TMP/nothing" --out "$TEST_TMP/x"
expect_match "$LAST_ERR" 'does not exist'
expect_exit 2 "$LAB_BIN" predict 2.2.1 --weights "$run" --source "$TEST_TMP/img"
expect_match "$LAST_ERR" 'required'
expect_exit 2 "$LAB_BIN" predict 2.2.3 --weights "$run" --source "$TEST_TMP/img" --out "$TEST_TMP/x"
echo ok
