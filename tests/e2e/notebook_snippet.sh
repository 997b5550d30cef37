#!/usr/bin/env bash
# The notebook snippet of docs/submission-format.md, taken from the document
# itself and run by Python on a real quick run's model and predictions,
# produces an archive that `lab grade` accepts: lenet5's checks all pass, and
# the rubric's other models, not in it, cost their points. Debian 13 has
# Python's safetensors (python3-safetensors), and then the snippet runs with
# it; Debian 12 has none, and a stand-in module writes the same published
# layout (tests/ref/cnn221.st_save), so what is tested there is the snippet.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
[ -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
RUN=$TEST_TMP/run
rc=0; "$LAB_BIN" run 2.2.1 --quick --model lenet5 --device cpu --out "$RUN" >"$RUN.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "quick run exited $rc: $(tail -3 "$RUN.log")"

mkdir -p "$TEST_TMP/py" "$TEST_TMP/nb"
if /usr/bin/python3 -c 'import safetensors.torch' 2>/dev/null; then
  echo "with the real safetensors $(/usr/bin/python3 -c 'import safetensors; print(safetensors.__version__)')"
else
  echo "with the stand-in for safetensors (python3-safetensors is not installed)"
  mkdir -p "$TEST_TMP/py/safetensors"
  : >"$TEST_TMP/py/safetensors/__init__.py"
  cat >"$TEST_TMP/py/safetensors/torch.py" <<PYEOF
import sys
sys.path.insert(0, "$LAB_SRC/tests/ref")
import cnn221
def save_file(tensors, path):
    cnn221.st_save(tensors, path)
PYEOF
fi
awk '/^```python$/ {on = 1; next} on && /^```$/ {exit} on' docs/submission-format.md >"$TEST_TMP/snippet.py"
lines=$(wc -l <"$TEST_TMP/snippet.py")
[ "$lines" -ge 5 ] && [ "$lines" -le 15 ] || fail "the snippet has $lines lines (the format promises at most 15)"

# What a notebook has at that point: the trained model, its eval logits and
# labels, the accuracy and the config; here taken from the quick run.
cd "$TEST_TMP/nb"
PYTHONPATH="$TEST_TMP/py" /usr/bin/python3 - "$RUN" "$LAB_SRC" "$TEST_TMP/snippet.py" <<'PYEOF'
import json, sys
run, src, snippet = sys.argv[1:4]
sys.path.insert(0, src + "/tests/ref")
import cnn221
model = cnn221.MODELS["lenet5"]()
model.load_state_dict(cnn221.st_load(run + "/models/lenet5/model.safetensors"))
pred = cnn221.st_load(run + "/models/lenet5/predictions.safetensors")
logits, labels = pred["logits"], pred["labels"]
acc = (logits.argmax(1) == labels).float().mean().item()
cfg = json.load(open(run + "/config.json"))
exec(open(snippet).read())
PYEOF
[ -s alice-2.2.1.tar.gz ] || fail "the snippet wrote no alice-2.2.1.tar.gz"
expect_exit 1 "$LAB_BIN" grade alice-2.2.1.tar.gz --lab 2.2.1
expect_match "$LAST_OUT" 'student alice'
expect_exit 1 "$LAB_BIN" grade alice-2.2.1.tar.gz --lab 2.2.1 --format json --out report.json
/usr/bin/python3 "$LAB_SRC/tests/e2e/submission_variant.py" --lenet5-only report.json || fail "the snippet's archive is not graded as lenet5 alone"
echo ok
