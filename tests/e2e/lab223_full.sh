#!/usr/bin/env bash
# Lab 2.2.3's full mode against a course mirror on 127.0.0.1 (LAB_MIRROR):
# nginx serves stand-ins for the released weights under their names (the
# shared Ultralytics-written yolov8n fixture; s and m written at test time
# by tests/ref/yolov8.py as Ultralytics checkpoints) and two small images as
# bus.jpg and zidane.jpg. Offline with an empty cache the run names `lab
# fetch yolov8-weights` and LAB_MIRROR and writes nothing; online it fetches
# every file once through the mirror, detects, studies the thresholds,
# benchmarks (shortened with --set) and passes its self-check; offline again
# it runs from the cache without a request; a doctored study is caught by
# the grader.
set -euo pipefail
source tests/e2e/lib.bash
PY=/usr/bin/python3
REF=$LAB_SRC/../shared/reference
[ -r "$REF/2.2.3-yolov8n-random.pt" ] || skip "the shared 2.2.3 fixtures are not in this checkout"
"$PY" -c 'import torch, PIL' 2>/dev/null || skip "no torch or PIL for /usr/bin/python3"
source tests/e2e/fetch_nginx.bash
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
unset LAB_OFFLINE HF_HUB_OFFLINE TRANSFORMERS_OFFLINE LAB_MIRROR
export LAB_FETCH_BACKOFF_MS=10 LAB_FETCH_RETRIES=1 NO_COLOR=1 LC_ALL=C.UTF-8

W=$WWW/mirror/yolov8-weights
S=$WWW/mirror/ultralytics-samples
mkdir -p "$W" "$S"
cp "$REF/2.2.3-yolov8n-random.pt" "$W/yolov8n.pt"
"$PY" tests/ref/yolov8.py pt s 1 "$W/yolov8s.pt"
"$PY" tests/ref/yolov8.py pt m 2 "$W/yolov8m.pt"
"$PY" - "$S" <<'PYEOF'
import sys
import numpy as np
from PIL import Image
rng = np.random.default_rng(0)
Image.fromarray(rng.integers(0, 256, (180, 135, 3), dtype=np.uint8)).save(sys.argv[1] + "/bus.jpg", quality=90)
Image.fromarray(rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)).save(sys.argv[1] + "/zidane.jpg", quality=90)
PYEOF
start_nginx
# The course's thresholds and study; the benchmark shortened: 64 and 96 pixel inputs, batches of 1 and 2.
SHORT=(--device cpu --set bench.runs=2 --set bench.warmup=1 --set bench.sizes=64,96 --set bench.batch_sizes=1,2
       --set data.input_size=3,96,96)

# 1. Offline, nothing cached: exit 3 before any request, naming the fix; no run results.
n0=$(log_lines)
LAB_OFFLINE=1 LAB_MIRROR=$BASE/mirror expect_exit 3 "$LAB_BIN" run 2.2.3 "${SHORT[@]}" --out "$TEST_TMP/off"
expect_match "$LAST_ERR" 'offline \(LAB_OFFLINE\): yolov8n.pt of yolov8-weights is not in the cache'
expect_match "$LAST_ERR" 'lab fetch yolov8-weights'
expect_match "$LAST_ERR" 'LAB_MIRROR'
[ "$(log_lines)" -eq "$n0" ] || fail "offline made a request"
[ ! -e "$TEST_TMP/off/metrics.json" ] && [ ! -e "$TEST_TMP/off/models/yolov8s" ] || fail "the offline run wrote results"
[ ! -e "$LAB_CACHE/weights/yolov8-weights" ] || fail "offline wrote into the cache"

# 2. Online through the mirror: each of the five files fetched once, then the whole study.
run=$TEST_TMP/run
n0=$(log_lines)
LAB_MIRROR=$BASE/mirror expect_exit 0 "$LAB_BIN" run 2.2.3 "${SHORT[@]}" --out "$run"
tail -n +$((n0 + 1)) "$ACCESS_LOG" | cut -d' ' -f1-3 | sort >"$TEST_TMP/log-run"
printf '%s\n' "200 GET /mirror/ultralytics-samples/bus.jpg" "200 GET /mirror/ultralytics-samples/zidane.jpg" \
  "200 GET /mirror/yolov8-weights/yolov8m.pt" "200 GET /mirror/yolov8-weights/yolov8n.pt" \
  "200 GET /mirror/yolov8-weights/yolov8s.pt" | diff - "$TEST_TMP/log-run" || fail "the run did not fetch exactly the five files"
for f in yolov8n.pt yolov8s.pt yolov8m.pt; do
  cmp -s "$W/$f" "$LAB_CACHE/weights/yolov8-weights/$f" || fail "the cached $f is not the served one"
done
out=$LAST_OUT
expect_match "$out" 'detection: yolov8s on 2 sample images of ultralytics-samples at 96, conf 0.25, NMS IoU 0.7, max_det 300'
expect_match "$out" '^Batch Processing Summary$'
expect_match "$out" '^Images processed: 2$'
expect_match "$out" '^conf +bus.jpg +zidane.jpg +total$'
# The notebook's table, its mAP column named for what it holds.
expect_match "$out" '^📊 BENCHMARK SUMMARY: cpu, fp32, [0-9]+ threads?, input 96$'
expect_match "$out" '^Model         Parameters    mAP50-95   Time \(ms\)         FPS$'
expect_match "$out" '^yolov8n            3\.2M       37\.3% +[0-9.]+ +[0-9.]+$'
expect_match "$out" '^yolov8s           11\.2M       44\.9% +[0-9.]+ +[0-9.]+$'
expect_match "$out" '^yolov8m           25\.9M       50\.2% +[0-9.]+ +[0-9.]+$'
expect_match "$out" '^   - For balanced performance: Use yolov8s$'
expect_match "$out" 'self-check: all [0-9]+ of the grader.s checks passed'
for f in config.json metrics.json log.txt summary.md detections/bus.json detections/bus.png detections/zidane.json \
  detections/zidane.png plots/detections.png plots/thresholds.png plots/latency_vs_size.png \
  plots/throughput_vs_batch.png plots/models.png models/yolov8s/model.safetensors models/yolov8s/predictions.safetensors; do
  [ -s "$run/$f" ] || fail "the run wrote no $f"
done
grep -q '^| yolov8m | 25902640 | 50.2 |' "$run/summary.md" || fail "summary.md lacks yolov8m: $(cat "$run/summary.md")"
"$PY" - "$run" <<'PYEOF' || fail "the full run's figures are wrong"
import json, os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load
run = sys.argv[1]
m = json.load(open(run + "/metrics.json"))
assert m["lab"] == "2.2.3" and m["mode"] == "full" and m["dataset"] == "ultralytics-samples", m
assert m["environment"]["device"] == "cpu" and m["environment"]["precision"] == "fp32", m["environment"]
assert m["environment"]["threads"] >= 1
s = m["models"]["yolov8s"]
assert list(m["models"]) == ["yolov8s"] and s["params"] == 11166560, s["params"]
assert (s["conf"], s["nms_iou"], s["max_det"], s["imgsz"]) == (0.25, 0.7, 300, 96), s
# per image: what <stem>.json says is what the predictions hold
p, meta = st_load(run + "/models/yolov8s/predictions.safetensors")
assert meta["eval_set"] == "ultralytics-samples", meta
idx, scores = p["image_index"].tolist(), p["scores"].tolist()
assert len(scores) == s["detections"] > 0, (len(scores), s["detections"])
assert min(scores) > 0.25, min(scores)
for i, (stem, w, h) in enumerate((("bus", 135, 180), ("zidane", 160, 90))):
    doc = json.load(open("%s/detections/%s.json" % (run, stem)))
    assert (doc["width"], doc["height"]) == (w, h) and doc == {k: v for k, v in s["images"][i].items() if k != "file"}
    assert len(doc["detections"]) == idx.count(i) and tuple(p["image_sizes"][i].tolist()) == (h, w)
# the study: the course's four thresholds, counts falling as the threshold rises, the row at the
# run's conf equal to what was drawn, per image and per class
rows = s["threshold_study"]
assert [r["conf"] for r in rows] == [0.1, 0.25, 0.5, 0.75], rows
for a, b in zip(rows, rows[1:]):
    assert all(x >= y for x, y in zip(a["per_image"], b["per_image"])), (a, b)
for r in rows:
    assert sum(r["per_image"]) == r["detections"] == sum(c["count"] for c in r["per_class"]), r
at = rows[1]
assert at["per_image"] == [idx.count(0), idx.count(1)], (at, idx)
cls = p["classes"].tolist()
assert {c["class"]: c["count"] for c in at["per_class"]} == {c: cls.count(c) for c in set(cls)}
assert rows[0]["detections"] > rows[-1]["detections"], rows  # the stand-in's scores spread over [0, 1]
b = m["benchmark"]
assert (b["warmup"], b["runs"], b["sizes"], b["batch_sizes"]) == (1, 2, [64, 96], [1, 2]), b
assert [(e["model"], e["size"], e["runs"]) for e in b["latency_vs_size"]] == [("yolov8s", 64, 2), ("yolov8s", 96, 2)]
assert [(e["batch"], e["size"]) for e in b["throughput"]] == [(1, 96), (2, 96)]
for e in b["latency_vs_size"] + b["throughput"] + b["models"]:
    assert 0 < e["min_ms"] <= e["median_ms"] <= e["max_ms"] and e["min_ms"] <= e["mean_ms"] <= e["max_ms"], e
    assert abs(e["fps"] - 1000 / e["mean_ms"]) < 1e-6 * e["fps"], e
for e in b["throughput"]:
    assert abs(e["images_per_s"] - e["batch"] * 1000 / e["mean_ms"]) < 1e-6 * e["images_per_s"], e
got = [(e["model"], e["size"], e["params"], e["coco_map50_95_published"]) for e in b["models"]]
assert got == [("yolov8n", 96, 3157200, 37.3), ("yolov8s", 96, 11166560, 44.9), ("yolov8m", 96, 25902640, 50.2)], got
# s at the input size is the size sweep's measurement, not another one
assert b["models"][1]["mean_ms"] == b["latency_vs_size"][1]["mean_ms"]
PYEOF

# 3. Submitted and graded; a study that does not count the predictions is caught.
(cd "$TEST_TMP" && expect_exit 0 "$LAB_BIN" submit "$run" --student alice)
mkdir -p "$TEST_TMP/base" && tar xzf "$TEST_TMP/alice-2.2.3.tar.gz" -C "$TEST_TMP/base"
expect_exit 0 "$LAB_BIN" grade "$TEST_TMP/base"
expect_match "$LAST_OUT" 'threshold study.s 3 row\(s\) at conf >= 0.25 match the predictions'
expect_match "$LAST_OUT" 'no mAP50 target for the full mode'
cp -r "$TEST_TMP/base" "$TEST_TMP/doctored"
"$PY" - "$TEST_TMP/doctored" <<'PYEOF'
import os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import edit_json, write_manifest
def f(m):
    r = m["models"]["yolov8s"]["threshold_study"][2]
    r["per_image"][0] += 1
    r["detections"] += 1
    r["per_class"][0]["count"] += 1
edit_json(sys.argv[1] + "/metrics.json", f)
write_manifest(sys.argv[1])
PYEOF
expect_exit 1 "$LAB_BIN" grade "$TEST_TMP/doctored"
expect_match "$LAST_OUT" 'the threshold study is not the predictions.: at conf 0.5 metrics.json counts'
expect_match "$LAST_OUT" 'TS-METRICS-MISMATCH'

# 4. Offline again, with a dead mirror: the cached files serve the run; no request.
n0=$(log_lines)
LAB_OFFLINE=1 LAB_MIRROR=http://127.0.0.1:9 expect_exit 0 "$LAB_BIN" run 2.2.3 "${SHORT[@]}" --set bench.sizes=96 \
  --set bench.batch_sizes=1 --out "$TEST_TMP/run-offline"
[ "$(log_lines)" -eq "$n0" ] || fail "the cached run made a request"
cmp -s "$run/models/yolov8s/predictions.safetensors" "$TEST_TMP/run-offline/models/yolov8s/predictions.safetensors" ||
  fail "the same weights and images gave other detections"

# 5. A bad setting is refused before anything is fetched.
expect_exit 2 "$LAB_BIN" run 2.2.3 --set bench.sizes=100 --out "$TEST_TMP/bad"
expect_match "$LAST_ERR" 'bench.sizes has 100'
expect_exit 2 "$LAB_BIN" run 2.2.3 --set model=yolov8x --out "$TEST_TMP/bad2"
expect_match "$LAST_ERR" "no weights for model 'yolov8x'"
echo ok
