#!/usr/bin/env bash
# The README's main job as a student gets it: 2.2.1's quick mode as shipped
# (no --set), LeNet-5 and ResNet-18 each on their own recipe, both reaching
# the course's 80% on Fashion-MNIST.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
[ -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"

for m in lenet5 resnet18; do
  d=$TEST_TMP/$m
  rc=0; "$LAB_BIN" run 2.2.1 --quick --model "$m" --device cpu --out "$d" >"$d.log" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || fail "quick $m exited $rc: $(tail -5 "$d.log")"
  expect_match "$(cat "$d.log")" "course target for this mode: 80% \\(reached\\)"
  /usr/bin/python3 - "$d" "$m" <<'PYEOF' || fail "quick $m: recipe or accuracy wrong"
import json, sys
d, m = sys.argv[1:3]
want = {"lenet5": (60000, 32, 0.05), "resnet18": (5000, 16, 0.01)}[m]
r = json.load(open(d + "/metrics.json"))["models"][m]
got = (r["train_images"], r["batch_size"], r["base_lr"])
assert got == want, f"{m} trained with {got}, lab.json says {want}"
assert r["test_accuracy"] >= 0.80, f"{m}: {r['test_accuracy']:.4f} < 0.80"
print(f"{m}: {r['test_accuracy']:.4f} in {r['train_time_s']:.1f} s")
PYEOF
done
echo ok
