#!/usr/bin/env bash
# Lab 2.2.2's full mode against a served checkpoint: nginx on 127.0.0.1 serves
# a stand-in for timm/efficientnet_b0.ra_in1k in the Hub's URL layout
# (<repo>/resolve/<revision>/<file>, X-Repo-Commit, X-Linked-Etag): timm's
# key set and shapes with random weights, timm's pretrained_cfg
# (tests/e2e/timm_checkpoint.py, from the reference files). `lab fetch`
# fills the HF cache; a tiny full-mode run (Fashion-MNIST standing in for
# CIFAR-100) loads that backbone, drops the 1000-class head and makes a
# 10-class one, and evaluates with the served config's transform; the
# course's CIFAR-100 run on a stand-in in the real binary format (fetched
# through the mirror) gets the 100-class head and is graded against
# test.bin's fine labels; offline
# with a dead server it still runs from the cache, with an empty cache it
# names the snapshot; a wrong revision and a 401/403 on the run's own
# download fail with their fix and leave the cache as it was.
set -euo pipefail
source tests/e2e/lib.bash
PY=/usr/bin/python3
REF=$LAB_SRC/../shared/reference
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || skip "Debian's dataset-fashion-mnist is not installed"
source tests/e2e/fetch_nginx.bash
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
unset LAB_OFFLINE HF_HUB_OFFLINE TRANSFORMERS_OFFLINE LAB_MIRROR HF_TOKEN HUGGING_FACE_HUB_TOKEN HF_HOME
export LAB_FETCH_BACKOFF_MS=10 LAB_FETCH_RETRIES=1 NO_COLOR=1 LC_ALL=C.UTF-8
REPO_ID=timm/efficientnet_b0.ra_in1k
SERVED=$WWW/hf/$REPO_ID/resolve/main
DEAD=http://127.0.0.1:9
# A full-mode run as small as it gets: 64 training images, 32 test images, one epoch, the frozen strategy.
TINY=(--device cpu --precision fp32 --set strategy=frozen --set data.dataset=fashion-mnist --set data.num_classes=10
      --set data.train_subset=64 --set data.eval_subset=32 --set train.frozen.epochs=1 --set train.batch_size=32)

# tree DIR: every path under DIR with what a link points at, to compare before and after a failure.
tree() { (cd "$1" 2>/dev/null && find . -printf '%p %l\n' | sort) || true; }

if [ -r "$REF/2.2.2-efficientnet_b0-imagenet.tsv" ] && [ -r "$REF/README.md" ]; then
  "$PY" tests/e2e/timm_checkpoint.py "$REF" "$SERVED"
  HF_SHA=$(sha256sum "$SERVED/model.safetensors" | cut -d' ' -f1)
  FP=$("$PY" tests/e2e/timm_checkpoint.py --fingerprint "$SERVED/model.safetensors")
  HAVE_REF=1
else
  echo "no $REF/2.2.2-efficientnet_b0-imagenet.tsv: only the error paths are tested"
  mkdir -p "$SERVED"
  HAVE_REF=
fi
start_nginx "${HF_SHA:-none}"

# 1. lab fetch fills the HF cache from the served Hub layout.
if [ -n "$HAVE_REF" ]; then
  export HF_HUB_CACHE=$TEST_TMP/hub
  CACHED=$HF_HUB_CACHE/models--timm--efficientnet_b0.ra_in1k
  HF_ENDPOINT=$BASE/hf expect_exit 0 "$LAB_BIN" fetch efficientnet-b0
  [ "$(cat "$CACHED/refs/main")" = "$HF_COMMIT" ] || fail "refs/main is not the served commit"
  cmp -s "$CACHED/snapshots/$HF_COMMIT/model.safetensors" "$SERVED/model.safetensors" || fail "the cached weights differ"
  cmp -s "$CACHED/snapshots/$HF_COMMIT/config.json" "$SERVED/config.json" || fail "the cached config.json differs"

  # 2. Offline with a dead server: the run loads the cached checkpoint and makes no request.
  n0=$(log_lines)
  run=$TEST_TMP/run
  rc=0; HF_HUB_OFFLINE=1 HF_ENDPOINT=$DEAD "$LAB_BIN" run 2.2.2 "${TINY[@]}" --out "$run" >"$TEST_TMP/out1" 2>&1 || rc=$?
  out=$(cat "$TEST_TMP/out1")
  [ -s "$run/metrics.json" ] || fail "the offline full-mode run (exit $rc) wrote no metrics.json: $out"
  # exit 1: its self-check grades Fashion-MNIST as the quick mode's data (docs/labs/2.2.2.md); not a crash
  [ "$rc" -le 1 ] || fail "the offline full-mode run exited $rc: $out"
  [ "$(log_lines)" -eq "$n0" ] || fail "the offline run made a request: $(tail -n +$((n0 + 1)) "$ACCESS_LOG")"
  # the run says it follows the served pretrained_cfg (and the inputs it saved show it does, below)
  expect_match "$out" "pretrained: $REPO_ID@main \(efficientnet_b0, input 224x224, bicubic, crop 0.875, mean 0.485 0.456 0.406\)"
  expect_match "$out" 'data: fashion-mnist.* is greyscale; its channel is repeated three times'
  "$PY" - "$run" "$SERVED" "$FP" <<'PYEOF' || fail "the run did not load the served backbone"
import json, os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load
run, served, fp = sys.argv[1:4]
m = json.load(open(run + "/metrics.json"))["models"]
fz = m["frozen"]
pre = fz["pretrained"]
assert pre["repo"] == "timm/efficientnet_b0.ra_in1k" and pre["revision"] == "main", pre
# the fingerprint of the served file's non-classifier tensors, as the grader computes it
assert pre["backbone_sha256"] == fp, (pre, fp)
src, _ = st_load(served + "/model.safetensors")
t, _ = st_load(run + "/models/frozen/model.safetensors")
backbone = [k for k in src if not k.startswith("classifier")]
assert pre["tensors"] == len(backbone), (pre["tensors"], len(backbone))
for k in backbone:  # frozen: weights and BatchNorm statistics bit for bit the served ones
    assert t[k].dtype == src[k].dtype and (t[k] == src[k]).all(), k
# the 1000-class head dropped, the course head Dropout -> Linear(1280, 10) created
assert tuple(src["classifier.weight"].shape) == (1000, 1280)
assert "classifier.weight" not in t and tuple(t["classifier.1.weight"].shape) == (10, 1280), \
    {k: tuple(v.shape) for k, v in t.items() if k.startswith("classifier")}
assert fz["trainable_params"] == 1280 * 10 + 10, fz["trainable_params"]
assert fz["pretrained"]["backbone_sha256"] == fz["backbone_sha256_after"], fz
# The evaluated inputs (inputs.safetensors: the eval transform's first batch)
# are the served config's transform as timm does it with PIL: the grey
# channel three times, resize to round(size / crop_pct) with the config's
# interpolation, center crop, its mean/std.
x = st_load(run + "/inputs.safetensors")[0]["pixel_values"].numpy()
pc = json.load(open(served + "/config.json"))["pretrained_cfg"]
size = pc["input_size"][1]
assert x.shape[1:] == (3, size, size), x.shape
try:
    import gzip
    import numpy as np
    from PIL import Image
except ImportError:
    print("no numpy/PIL: the eval transform is checked by its shape only")
else:
    raw = gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").read()
    imgs = np.frombuffer(raw[16:], np.uint8).reshape(-1, 28, 28)
    r = int(size / pc["crop_pct"] + 0.5)
    o = (r - size) // 2
    mean, std = (np.array(pc[k]).reshape(3, 1, 1) for k in ("mean", "std"))
    interp = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "nearest": Image.NEAREST}[pc["interpolation"]]
    for i in range(x.shape[0]):
        a = np.asarray(Image.fromarray(imgs[i]).resize((r, r), interp).crop((o, o, o + size, o + size)), np.float64)
        ref = (np.stack([a / 255.0] * 3) - mean) / std
        assert np.abs(ref - x[i]).max() < 1e-5, (i, np.abs(ref - x[i]).max())
PYEOF

  # 2b. The course's own run: CIFAR-100 (a stand-in in the real binary
  # format, random pixels), fetched through the mirror as `lab fetch
  # cifar-100` fetches the real archive (a manifest of the test's own,
  # LAB_TEST_MANIFEST_DIR, carries the stand-in's size and md5), then the
  # lab's data settings, shrunk: the 100-class head on the served backbone,
  # and the self-check grades its predictions against test.bin's fine labels.
  "$PY" - "$TEST_TMP/c100/cifar-100-binary" <<'PYEOF'
import os, random, sys
d = sys.argv[1]
os.makedirs(d)
r = random.Random(2022)
for name, n in (("train.bin", 200), ("test.bin", 100)):
    with open(os.path.join(d, name), "wb") as f:  # <coarse label><fine label><3072 bytes>, as CIFAR-100 binary
        for i in range(n):
            fine = (i * 37) % 100
            f.write(bytes([fine % 20, fine]) + r.randbytes(3072))
PYEOF
  mkdir -p "$WWW/mirror/cifar-100" "$TEST_TMP/manifests"
  tar -czf "$WWW/mirror/cifar-100/cifar-100-binary.tar.gz" -C "$TEST_TMP/c100" cifar-100-binary
  "$PY" - "$LAB_SRC/datasets/cifar-100.json" "$TEST_TMP/manifests/cifar-100.json" \
    "$WWW/mirror/cifar-100/cifar-100-binary.tar.gz" <<'PYEOF'
import hashlib, json, os, sys
e = json.load(open(sys.argv[1]))
blob = open(sys.argv[3], "rb").read()
e["files"][0].update(size=len(blob), size_approx=False, urls=[],
                     checks=[{"algo": "md5", "hex": hashlib.md5(blob).hexdigest(), "source": "test"}])
json.dump(e, open(sys.argv[2], "w"))
PYEOF
  LAB_TEST_MANIFEST_DIR=$TEST_TMP/manifests LAB_MIRROR=$BASE/mirror expect_exit 0 "$LAB_BIN" fetch cifar-100
  expect_match "$LAST_OUT" 'cifar-100/cifar-100-binary.tar.gz: downloaded from'
  C100=$LAB_CACHE/datasets/cifar-100/unpacked/cifar-100-binary
  cmp -s "$C100/test.bin" "$TEST_TMP/c100/cifar-100-binary/test.bin" || fail "lab fetch cifar-100 did not unpack test.bin"
  C100_RUN=(--device cpu --precision fp32 --set strategy=frozen --set data.train_subset=64 --set data.eval_subset=32
            --set train.frozen.epochs=1 --set train.batch_size=32)
  rc=0; HF_HUB_OFFLINE=1 HF_ENDPOINT=$DEAD "$LAB_BIN" run 2.2.2 "${C100_RUN[@]}" --out "$TEST_TMP/run-c100" \
    >"$TEST_TMP/out-c100" 2>&1 || rc=$?
  out=$(cat "$TEST_TMP/out-c100")
  [ "$rc" -le 1 ] || fail "the CIFAR-100 full-mode run exited $rc: $out"
  expect_match "$out" 'cifar-100'
  "$PY" - "$TEST_TMP/run-c100" "$C100/test.bin" "$FP" <<'PYEOF' || fail "the CIFAR-100 run is wrong: $out"
import json, os, sys
sys.path.insert(0, os.environ["LAB_SRC"] + "/tests/e2e")
from submission_variant import st_load
run, test_bin, fp = sys.argv[1:4]
cfg = json.load(open(run + "/config.json"))
assert cfg["data"]["dataset"] == "cifar-100" and cfg["data"]["num_classes"] == 100, cfg["data"]
fz = json.load(open(run + "/metrics.json"))["models"]["frozen"]
assert fz["pretrained"]["backbone_sha256"] == fp, fz["pretrained"]
t, _ = st_load(run + "/models/frozen/model.safetensors")
assert tuple(t["classifier.1.weight"].shape) == (100, 1280), tuple(t["classifier.1.weight"].shape)
p, _ = st_load(run + "/models/frozen/predictions.safetensors")
raw = open(test_bin, "rb").read()
fine = [raw[i * 3074 + 1] for i in range(len(raw) // 3074)]
idx = p["indices"].tolist()
assert len(idx) == 32 and len(set(idx)) == 32, idx
logits = p["logits"]
assert tuple(logits.shape) == (32, 100), tuple(logits.shape)
acc = sum(int(logits[k].argmax()) == fine[i] for k, i in enumerate(idx)) / 32
assert abs(acc - fz["test_accuracy"]) < 1e-6, (acc, fz["test_accuracy"])
PYEOF
  # the grader holds the mode's evaluation to the whole test split, whatever the run's eval_subset
  expect_match "$out" '\[FAIL\] shape.logits .*expected 10000 \(the eval images of the lab.s mode\)'

  # 3. The run's own download (nothing cached, online): both files from the
  # served layout, the token sent and never shown; a second run asks nothing.
  export HF_HUB_CACHE=$TEST_TMP/hub-run
  n0=$(log_lines)
  rc=0; HF_TOKEN=hf_e2e_secret_222 HF_ENDPOINT=$BASE/hf "$LAB_BIN" run 2.2.2 "${TINY[@]}" --out "$TEST_TMP/run-dl" \
    >"$TEST_TMP/out-dl" 2>&1 || rc=$?
  out=$(cat "$TEST_TMP/out-dl")
  [ -s "$TEST_TMP/run-dl/metrics.json" ] || fail "the downloading run (exit $rc) wrote no metrics.json: $out"
  grep -q hf_e2e_secret_222 <<<"$out" && fail "the token was printed"
  tail -n +$((n0 + 1)) "$ACCESS_LOG" | cut -d' ' -f1-3,5- | sort >"$TEST_TMP/log-dl"
  printf '%s\n' "200 GET /hf/$REPO_ID/resolve/main/config.json auth=Bearer hf_e2e_secret_222" \
    "200 GET /hf/$REPO_ID/resolve/main/model.safetensors auth=Bearer hf_e2e_secret_222" | diff - "$TEST_TMP/log-dl" ||
    fail "the run did not download exactly the two files with the token"
  "$PY" - "$TEST_TMP/run-dl" "$FP" <<'PYEOF' || fail "the downloading run recorded another backbone"
import json, sys
m = json.load(open(sys.argv[1] + "/metrics.json"))["models"]["frozen"]
assert m["pretrained"]["backbone_sha256"] == sys.argv[2], m["pretrained"]
PYEOF
  cmp -s "$HF_HUB_CACHE/models--timm--efficientnet_b0.ra_in1k/snapshots/$HF_COMMIT/model.safetensors" \
    "$SERVED/model.safetensors" || fail "the run's download is not the served file"
  n0=$(log_lines)
  HF_ENDPOINT=$BASE/hf expect_exit 0 "$LAB_BIN" fetch efficientnet-b0
  [ "$(log_lines)" -eq "$n0" ] || fail "lab fetch downloaded what the run had cached"

  # 4. Wrong revision, online: the Hub's 404 names the revision and the fix,
  # the run stops before training, and the cache is as it was.
  export HF_HUB_CACHE=$TEST_TMP/hub
  before=$(tree "$HF_HUB_CACHE")
  n0=$(log_lines)
  HF_ENDPOINT=$BASE/hf expect_exit 3 "$LAB_BIN" run 2.2.2 "${TINY[@]}" --set weights.revision=no-such-rev --out "$TEST_TMP/run-rev"
  expect_match "$LAST_ERR" "$REPO_ID has no model.safetensors at revision 'no-such-rev' \(HTTP 404"
  expect_match "$LAST_ERR" 'fix: .*--set weights.revision=main'
  grep -q 'TS-NETWORK' <<<"$LAST_ERR" && fail "a missing revision was explained as a network problem: $LAST_ERR"
  [ "$(tail -n +$((n0 + 1)) "$ACCESS_LOG" | cut -d' ' -f1-3)" = "404 GET /hf/$REPO_ID/resolve/no-such-rev/model.safetensors" ] ||
    fail "expected one 404 request: $(tail -n +$((n0 + 1)) "$ACCESS_LOG")"
  [ "$(tree "$HF_HUB_CACHE")" = "$before" ] || fail "the failed revision changed the cache: $(diff <(echo "$before") <(tree "$HF_HUB_CACHE"))"
  [ ! -e "$TEST_TMP/run-rev/metrics.json" ] && [ ! -e "$TEST_TMP/run-rev/models" ] || fail "the failed run wrote results"
fi

# 5. Offline with an empty cache: exit 3 before any request, naming the snapshot path it looked for.
export HF_HUB_CACHE=$TEST_TMP/hub-empty
n0=$(log_lines)
HF_HUB_OFFLINE=1 HF_ENDPOINT=$BASE/hf expect_exit 3 "$LAB_BIN" run 2.2.2 "${TINY[@]}" --out "$TEST_TMP/run-off"
expect_match "$LAST_ERR" "offline: model.safetensors of $REPO_ID \(revision main\) is not in the Hugging Face cache: no $HF_HUB_CACHE/models--timm--efficientnet_b0.ra_in1k/snapshots/<commit>/model.safetensors"
expect_match "$LAST_ERR" 'TS-OFFLINE'
[ "$(log_lines)" -eq "$n0" ] || fail "offline made a request"
[ ! -e "$HF_HUB_CACHE" ] || fail "offline wrote into the cache: $(tree "$HF_HUB_CACHE")"

# 6. 401 and 403 on the run's own download: no retry, HF_TOKEN and TS-HTTP-AUTH named, nothing left in the cache.
for what in forbidden:403 unauthorized:401; do
  export HF_HUB_CACHE=$TEST_TMP/hub-${what%%:*}
  n0=$(log_lines)
  HF_ENDPOINT=$BASE/${what%%:*} expect_exit 3 "$LAB_BIN" run 2.2.2 "${TINY[@]}" --out "$TEST_TMP/run-${what%%:*}"
  expect_match "$LAST_ERR" "access denied downloading model.safetensors \(HTTP ${what##*:} from $BASE/${what%%:*}/$REPO_ID/resolve/main/model.safetensors\)"
  expect_match "$LAST_ERR" 'HF_TOKEN'
  expect_match "$LAST_ERR" 'TS-HTTP-AUTH'
  [ "$(( $(log_lines) - n0 ))" -eq 1 ] || fail "${what##*:} was retried: $(tail -n +$((n0 + 1)) "$ACCESS_LOG")"
  left=$(cd "$HF_HUB_CACHE" 2>/dev/null && find . -type f) || true
  [ -z "$left" ] || fail "${what##*:} left files in the cache: $left"
done

echo ok
