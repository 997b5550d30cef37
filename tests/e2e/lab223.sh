#!/usr/bin/env bash
# Lab 2.2.3 end to end, shortened for CI (the full quick mode and its mAP50
# target are in `make check-quick`): a few batches of YOLOv8n training on
# Fashion-MNIST mosaics write the detect artifacts; the self-check's
# honesty.map recomputes mAP against mosaics the grader renders itself and
# agrees with metrics.json, and only results.threshold (mAP50 after 3
# batches) fails; a doctored metrics.json and a wrong eval_set fail
# honesty.map with their KB ids. With --reeval the grader re-runs the
# submitted (4-bit) weights: the honest submission passes every reeval
# check; the ground-truth boxes pasted in as detections and another run's
# detections fail reeval.detections, weights under other names reeval.load.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
export LC_ALL=C.UTF-8

run=$TEST_TMP/run
# exit 1: the self-check fails results.threshold, as 3 batches cannot reach the target
expect_exit 1 "$LAB_BIN" run 2.2.3 --quick --device cpu --set train.max_batches=3 --set train.batch_size=8 -v \
  --out "$run"
expect_match "$LAST_OUT" 'yolov8n .*: 3012798 parameters'
expect_match "$LAST_OUT" 'held-out test \(300 mosaics, [0-9]+ boxes, [0-9]+ detections\): Ultralytics mAP50 [0-9.]+'
expect_match "$LAST_OUT" '\[ok\] honesty.map'
expect_match "$LAST_OUT" '\[FAIL\] results.threshold .*below the target 0.50'
expect_match "$LAST_OUT" '1 of 11 .* did not pass'
for f in config.json metrics.json log.txt models/yolov8n/model.safetensors models/yolov8n/predictions.safetensors; do
  [ -s "$run/$f" ] || fail "the run wrote no $f"
done
"$PY" - "$run" <<'PYEOF' || fail "metrics.json or predictions.safetensors is wrong"
import json, os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load
d = sys.argv[1]
m = json.load(open(d + "/metrics.json"))
assert m["lab"] == "2.2.3", m
y = m["models"]["yolov8n"]
assert 0 <= y["map50"] <= 1 and 0 <= y["map50_95"] <= y["map50"] + 1e-9, y
assert y["map50"] == y["ultralytics"]["mAP50"] and 0 <= y["coco"]["AP"] <= 1, y
assert y["train_batches"] == 3 and len(y["coco"]["per_class_AP"]) == 10, y
t, meta = st_load(d + "/models/yolov8n/predictions.safetensors")
assert meta["format"] == "lab-detections-v1", meta
assert meta["eval_set"] == "fashion-mnist-mosaic:test:size=96:n=300:seed=43", meta
b = t["boxes"]
assert b.shape[1] == 4 and b.shape[0] == t["scores"].shape[0] == y["detections"], b.shape
assert t["indices"].tolist() == list(range(300)), t["indices"]
assert float(b.min()) >= 0 and float(b.max()) <= 96 and float(t["scores"].min()) >= 0.001, (b.min(), b.max())
c = json.load(open(d + "/config.json"))
assert c["detect"]["conf"] == 0.001 and c["train"]["max_batches"] == 3, c
PYEOF

# lab submit, then doctored copies: the grader's recomputation disagrees
cd "$TEST_TMP"
expect_exit 0 "$LAB_BIN" submit "$run" --student alice
mkdir -p base && tar xzf alice-2.2.3.tar.gz -C base
doctor() { # doctor NAME...: a copy v-NAME of the submission for each, one thing changed, manifest rewritten
  local v
  for v in "$@"; do rm -rf "v-$v"; cp -r base "v-$v"; done
  "$PY" - "$@" <<'PYEOF'
import json, os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load, st_save, write_manifest, edit_json
for v in sys.argv[1:]:
    d = "v-" + v
    if v == "inflated":
        def f(m):
            m["models"]["yolov8n"]["coco"]["AP"] = 0.9
            m["models"]["yolov8n"]["ultralytics"]["mAP50-95"] = 0.9
        edit_json(d + "/metrics.json", f)
    elif v == "truth":  # the ground truth as detections: anyone can render the public t10k mosaics
        import subprocess, torch
        p = d + "/models/yolov8n/predictions.safetensors"
        t, meta = st_load(p)
        rows = json.loads(subprocess.check_output([sys.executable, os.environ["LAB_SRC"] + "/tests/e2e/mosaic_truth.py",
                                                   meta["eval_set"]]))
        t["boxes"] = torch.tensor([r[2:] for r in rows], dtype=torch.float32)
        t["scores"] = torch.full((len(rows),), 0.9)
        t["classes"] = torch.tensor([r[1] for r in rows], dtype=torch.int64)
        t["image_index"] = torch.tensor([r[0] for r in rows], dtype=torch.int64)
        st_save(p, t, meta)
    elif v == "borrowed":  # another run's detections (the same mosaics) and its honest metrics
        other = os.environ["OTHER"]
        t, meta = st_load(other + "/models/yolov8n/predictions.safetensors")
        st_save(d + "/models/yolov8n/predictions.safetensors", t, meta)
        theirs = json.load(open(other + "/metrics.json"))["models"]["yolov8n"]
        edit_json(d + "/metrics.json", lambda m: m["models"]["yolov8n"].update(theirs))
    elif v == "wrapped":  # the state dict of a DataParallel wrapper
        p = d + "/models/yolov8n/model.safetensors"
        t, meta = st_load(p)
        st_save(p, {"module." + k: x for k, x in t.items()}, meta)
    elif v == "other-seed":  # boxes claimed for other mosaics: the grader renders those and scores them
        p = d + "/models/yolov8n/predictions.safetensors"
        t, meta = st_load(p)
        meta["eval_set"] = meta["eval_set"].replace("n=300", "n=299")
        st_save(p, t, meta)
    elif v == "train-split":  # scored on the training mosaics (its first 300), which the weights were fitted to
        p = d + "/models/yolov8n/predictions.safetensors"
        t, meta = st_load(p)
        meta["eval_set"] = meta["eval_set"].replace(":test:", ":train:").replace("seed=43", "seed=42")
        st_save(p, t, meta)
    write_manifest(d)
PYEOF
}
doctor inflated
expect_exit 1 "$LAB_BIN" grade v-inflated
expect_match "$LAST_OUT" 'recomputed mAP from the predictions against the grader'
expect_match "$LAST_OUT" 'TS-METRICS-MISMATCH'
doctor other-seed train-split
expect_exit 1 "$LAB_BIN" grade v-other-seed
expect_match "$LAST_OUT" 'fewer canvases than the lab evaluates'
expect_match "$LAST_OUT" 'TS-DETECT-PREDICTIONS-FORMAT'
expect_exit 1 "$LAB_BIN" grade v-train-split
expect_match "$LAST_OUT" "names mosaics of Fashion-MNIST's training split"
expect_match "$LAST_OUT" 'TS-DETECT-PREDICTIONS-FORMAT'

# --reeval on the honest submission: every re-evaluation check passes
expect_exit 1 "$LAB_BIN" grade alice-2.2.3.tar.gz --reeval --device cpu --format json --out alice.json
"$PY" - alice.json <<'PYEOF' || fail "the --reeval report is wrong"
import json, sys
r = json.load(open(sys.argv[1]))
bad = [(c["id"], c["status"]) for c in r["checks"] if c["status"] not in ("pass", "skipped")]
assert bad == [("results.threshold", "fail")], bad
ok = {c["id"] for c in r["checks"] if c["status"] == "pass"}
want = {"honesty.map", "reeval.load", "reeval.detections", "reeval.heldout", "reeval.batch"}
assert want <= ok, want - ok
assert r["max_score"] == 28 and r["score"] == 25, (r["score"], r["max_score"])
PYEOF
expect_exit 1 "$LAB_BIN" grade alice-2.2.3.tar.gz --format json --out alice-plain.json
"$PY" -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["max_score"] == 20, r["max_score"]' \
  alice-plain.json || fail "without --reeval the re-evaluation must not count"

# Another run's detections to borrow, on the same mosaics: 3 batches give every
# canvas one whole-canvas box, the same for any 3 batches; 10 at a high rate
# give boxes of their own
expect_exit 1 "$LAB_BIN" run 2.2.3 --quick --device cpu --set train.max_batches=10 --set train.batch_size=8 \
  --set train.lr=0.01 --set train.warmup_iters=0 --out "$TEST_TMP/other"
export OTHER=$TEST_TMP/other
reeval_fails() { # NAME CHECK KB [ALSO-ALLOWED...]: v-NAME fails that check with that id, nothing else but ALSO
  local name=$1
  expect_exit 1 "$LAB_BIN" grade "v-$name" --reeval --device cpu --format json --out "v-$name.json"
  "$PY" - "v-$name.json" "${@:2}" <<'PYEOF' || fail "doctored $name: see above"
import json, sys
r = json.load(open(sys.argv[1]))
bad = {c["id"]: c["kb"] for c in r["checks"] if c["status"] not in ("pass", "skipped")}
assert bad.get(sys.argv[2]) == sys.argv[3], (sys.argv[2], bad)
assert set(bad) <= {sys.argv[2], "results.threshold", *sys.argv[4:]}, bad
PYEOF
}
doctor truth borrowed wrapped
# the pasted boxes are the grader's own truth (mAP 1 recomputed), which the weights do not detect
reeval_fails truth reeval.detections TS-REEVAL-MISMATCH honesty.map reeval.heldout results.threshold
expect_match "$(cat v-truth.json)" 'against the grader.s ground truth: (0\.99|1\.0)[0-9]* and (0\.99|1\.0)'
expect_match "$(cat v-truth.json)" 'the weights \(at 4 bits\) detect other boxes than the submitted ones'
"$PY" -c 'import json, sys; c = {c["id"]: c for c in json.load(open(sys.argv[1]))["checks"]}["reeval.heldout"]
assert c["status"] == "fail" and c["kb"] == "TS-REEVAL-HELDOUT-GAP", c' v-truth.json \
  || fail "a submission scoring far above its weights on fresh mosaics must fail reeval.heldout"
reeval_fails borrowed reeval.detections TS-REEVAL-MISMATCH
reeval_fails wrapped reeval.load TS-STATE-DICT-MISMATCH
expect_match "$(cat v-wrapped.json)" '355 unexpected \(module\.model\.'

# The full mode needs the released weights: offline and not cached, it says how to get them.
LAB_OFFLINE=1 expect_exit 3 "$LAB_BIN" run 2.2.3 --device cpu --out "$TEST_TMP/full"
expect_match "$LAST_ERR" 'lab fetch yolov8-weights'
expect_exit 2 "$LAB_BIN" run 2.2.3 --quick --set data.input_size=[3,100,100] --out "$TEST_TMP/bad"
expect_match "$LAST_ERR" 'multiple of 32'
expect_exit 0 "$LAB_BIN" list
expect_match "$LAST_OUT" '^2\.2\.3 .* quick, grading \(full: lab fetch yolov8-weights\)'
echo ok
