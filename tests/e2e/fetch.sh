#!/usr/bin/env bash
# lab fetch against a real nginx on 127.0.0.1: resume (206), mirrors, 403/404,
# 5xx retries, wrong checksums, offline mode, LAB_MIRROR, proxies, the
# Hugging Face cache layout, and flock between two processes.
set -euo pipefail
source tests/e2e/lib.bash
source tests/e2e/fetch_nginx.bash
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
unset LAB_OFFLINE HF_HUB_OFFLINE TRANSFORMERS_OFFLINE LAB_MIRROR HF_TOKEN HUGGING_FACE_HUB_TOKEN
export LAB_FETCH_BACKOFF_MS=10 LAB_FETCH_RETRIES=2 NO_COLOR=1

# Fixtures: a 3 MB file, and a fake model for the Hub location.
head -c 3000000 /dev/urandom >"$WWW/data.bin"
SHA=$(sha256sum "$WWW/data.bin" | cut -d' ' -f1)
mkdir -p "$WWW/hf/timm/efficientnet_b0.ra_in1k/resolve/main"
head -c 200000 /dev/urandom >"$WWW/hf/timm/efficientnet_b0.ra_in1k/resolve/main/model.safetensors"
HF_SHA=$(sha256sum "$WWW/hf/timm/efficientnet_b0.ra_in1k/resolve/main/model.safetensors" | cut -d' ' -f1)
printf '{"architecture": "efficientnet_b0", "num_classes": 1000, "pretrained_cfg": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}}\n' \
  >"$WWW/hf/timm/efficientnet_b0.ra_in1k/resolve/main/config.json"
start_nginx "$HF_SHA"
OUT=$TEST_TMP/out

# 1. plain download, verified, nothing left beside it
expect_exit 0 "$LAB_BIN" fetch --url "$BASE/data.bin" --sha256 "$SHA" -o "$OUT/plain.bin"
[ "$(sha256sum <"$OUT/plain.bin" | cut -d' ' -f1)" = "$SHA" ] || fail "plain download differs"
[ ! -e "$OUT/plain.bin.part" ] && [ ! -e "$OUT/plain.bin.lock" ] || fail "temporary files left"

# 2. a transfer cut mid-way resumes with a Range request (206 in nginx's log)
n0=$(log_lines)
LAB_TEST_FETCH_MAX_BYTES=1000000 expect_exit 0 "$LAB_BIN" fetch --url "$BASE/data.bin" --sha256 "$SHA" -o "$OUT/cut.bin"
cmp -s "$OUT/cut.bin" "$WWW/data.bin" || fail "resumed download differs"
tail -n +$((n0 + 1)) "$ACCESS_LOG" >"$TEST_TMP/log2"
grep -Eq '^200 GET /data.bin range=-' "$TEST_TMP/log2" || fail "no first request: $(cat "$TEST_TMP/log2")"
grep -Eq '^206 GET /data.bin range=bytes=1000000-' "$TEST_TMP/log2" || fail "no 206 resume: $(cat "$TEST_TMP/log2")"
expect_match "$LAST_ERR" 'retrying in'

# 2b. a .part left by an earlier run is resumed, not restarted
head -c 1234567 "$WWW/data.bin" >"$OUT/planted.bin.part"
n0=$(log_lines)
expect_exit 0 "$LAB_BIN" fetch --url "$BASE/data.bin" --sha256 "$SHA" -o "$OUT/planted.bin"
cmp -s "$OUT/planted.bin" "$WWW/data.bin" || fail "planted resume differs"
[ "$(tail -n +$((n0 + 1)) "$ACCESS_LOG")" = "206 GET /data.bin range=bytes=1234567- auth=-" ] ||
  fail "expected one 206: $(tail -n +$((n0 + 1)) "$ACCESS_LOG")"

# 3. wrong checksum: the file is deleted and the error says so
BAD=0000000000000000000000000000000000000000000000000000000000000000
expect_exit 3 "$LAB_BIN" fetch --url "$BASE/data.bin" --sha256 "$BAD" -o "$OUT/bad.bin"
expect_match "$LAST_ERR" 'checksum mismatch'
expect_match "$LAST_ERR" 'deleted'
expect_match "$LAST_ERR" 'TS-CHECKSUM'
[ ! -e "$OUT/bad.bin" ] && [ ! -e "$OUT/bad.bin.part" ] || fail "a file with a wrong checksum was left"

# 4. 403 and 401: no retry, and an explanation naming HF_TOKEN and TS-HTTP-AUTH
for what in forbidden:403 unauthorized:401; do
  n0=$(log_lines)
  expect_exit 3 "$LAB_BIN" fetch --url "$BASE/${what%%:*}/x.bin" --sha256 "$SHA" -o "$OUT/auth.bin"
  expect_match "$LAST_ERR" "HTTP ${what##*:}"
  expect_match "$LAST_ERR" 'HF_TOKEN'
  expect_match "$LAST_ERR" 'TS-HTTP-AUTH'
  [ "$(( $(log_lines) - n0 ))" -eq 1 ] || fail "${what##*:} was retried"
done

# 5. 404 moves to the next mirror at once; 5xx is retried with backoff
n0=$(log_lines)
expect_exit 0 "$LAB_BIN" fetch --url "$BASE/missing.bin" --url "$BASE/broken/x" --url "$BASE/data.bin" \
  --sha256 "$SHA" -o "$OUT/mirror.bin"
tail -n +$((n0 + 1)) "$ACCESS_LOG" | cut -d' ' -f1,3 >"$TEST_TMP/log5"
printf '404 /missing.bin\n503 /broken/x\n503 /broken/x\n503 /broken/x\n200 /data.bin\n' | diff - "$TEST_TMP/log5" ||
  fail "unexpected request sequence"

# 6. offline: no connection at all, whatever the spelling
for var in LAB_OFFLINE=1 HF_HUB_OFFLINE=TRUE TRANSFORMERS_OFFLINE=yes LAB_OFFLINE=On; do
  n0=$(log_lines)
  expect_exit 3 env "$var" "$LAB_BIN" fetch --url "$BASE/data.bin" --sha256 "$SHA" -o "$OUT/offline.bin"
  expect_match "$LAST_ERR" 'offline'
  expect_exit 3 env "$var" LAB_MIRROR="$BASE/mirror" "$LAB_BIN" fetch cifar-10
  expect_match "$LAST_ERR" 'cifar-10-binary.tar.gz'
  expect_match "$LAST_ERR" '170.1 MB'
  expect_match "$LAST_ERR" 'lab fetch cifar-10'
  expect_exit 3 env "$var" HF_ENDPOINT="$BASE/hf" HF_HUB_CACHE="$TEST_TMP/hub-offline" "$LAB_BIN" fetch efficientnet-b0
  [ "$(log_lines)" -eq "$n0" ] || fail "$var: a connection was made"
  [ ! -e "$OUT/offline.bin" ] || fail "offline wrote a file"
done
# a falsy value is not offline
expect_exit 0 env LAB_OFFLINE=0 "$LAB_BIN" fetch --url "$BASE/data.bin" --sha256 "$SHA" -o "$OUT/online.bin"

# 7. LAB_MIRROR is asked first, the manifest's URLs (Ultralytics' GitHub release) after it
mkdir -p "$WWW/mirror/yolov8-weights" "$WWW/mirror/ultralytics-samples" "$WWW/mirror/cifar-10"
for m in n s m; do head -c 1000 /dev/urandom >"$WWW/mirror/yolov8-weights/yolov8$m.pt"; done
for f in bus zidane; do head -c 1000 /dev/urandom >"$WWW/mirror/ultralytics-samples/$f.jpg"; done
# no mirror: the release URL, here behind a dead proxy so that no test reaches the internet
https_proxy=http://127.0.0.1:9 expect_exit 3 "$LAB_BIN" fetch yolov8-weights
expect_match "$LAST_ERR" 'github.com/ultralytics/assets/releases/download/v8.2.0/yolov8n.pt'
expect_match "$LAST_ERR" 'LAB_MIRROR'
n0=$(log_lines)
LAB_MIRROR="$BASE/mirror/" expect_exit 0 "$LAB_BIN" fetch 2.2.3
for m in n s m; do
  cmp -s "$LAB_CACHE/weights/yolov8-weights/yolov8$m.pt" "$WWW/mirror/yolov8-weights/yolov8$m.pt" ||
    fail "yolov8$m not fetched from the mirror"
done
for f in bus zidane; do
  cmp -s "$LAB_CACHE/datasets/ultralytics-samples/$f.jpg" "$WWW/mirror/ultralytics-samples/$f.jpg" ||
    fail "$f.jpg not fetched from the mirror"
done
# cifar-10: the mirror goes first; its (fake) file fails the published md5
# and is deleted; the real host is unreachable here (dead proxy).
head -c 5000 /dev/urandom >"$WWW/mirror/cifar-10/cifar-10-binary.tar.gz"
n0=$(log_lines)
LAB_MIRROR="$BASE/mirror" https_proxy=http://127.0.0.1:9 expect_exit 3 "$LAB_BIN" fetch cifar-10
[ "$(tail -n +$((n0 + 1)) "$ACCESS_LOG" | head -1 | cut -d' ' -f1-3)" = "200 GET /mirror/cifar-10/cifar-10-binary.tar.gz" ] ||
  fail "mirror not asked first: $(tail -n +$((n0 + 1)) "$ACCESS_LOG")"
expect_match "$LAST_ERR" 'md5'
[ ! -e "$LAB_CACHE/datasets/cifar-10/cifar-10-binary.tar.gz" ] || fail "a wrong cifar file was kept"

# 8. proxies from the environment are honoured (libcurl reads http_proxy)
n0=$(log_lines)
http_proxy="$BASE" expect_exit 0 "$LAB_BIN" fetch --url "http://lab-proxy-test.invalid/data.bin" --sha256 "$SHA" \
  -o "$OUT/proxied.bin"
[ "$(( $(log_lines) - n0 ))" -eq 1 ] || fail "the proxy was not used"

# 9. Hugging Face: lands in the huggingface_hub layout; the token is sent, never shown
export HF_ENDPOINT="$BASE/hf" HF_HUB_CACHE="$TEST_TMP/hub"
HF_TOKEN=hf_secret_token_123 expect_exit 0 "$LAB_BIN" fetch efficientnet-b0
grep -q hf_secret_token_123 <<<"$LAST_OUT$LAST_ERR" && fail "the token was printed"
grep -q 'auth=Bearer hf_secret_token_123' "$ACCESS_LOG" || fail "the token was not sent"
REPO=$HF_HUB_CACHE/models--timm--efficientnet_b0.ra_in1k
[ "$(cat "$REPO/refs/main")" = "$HF_COMMIT" ] || fail "refs/main is wrong"
[ "$(readlink "$REPO/snapshots/$HF_COMMIT/model.safetensors")" = "../../blobs/$HF_SHA" ] || fail "snapshot link is wrong"
[ "$(sha256sum <"$REPO/blobs/$HF_SHA" | cut -d' ' -f1)" = "$HF_SHA" ] || fail "blob content is wrong"
cmp -s "$REPO/snapshots/$HF_COMMIT/config.json" "$WWW/hf/timm/efficientnet_b0.ra_in1k/resolve/main/config.json" ||
  fail "config.json did not land in the snapshot"
expect_exit 0 "$LAB_BIN" datasets
expect_match "$LAST_OUT" "^efficientnet-b0 .*present .*$REPO/snapshots/$HF_COMMIT"
# an existing cache entry is used without a request (e.g. one Python made)
n0=$(log_lines)
expect_exit 0 "$LAB_BIN" fetch efficientnet-b0
[ "$(log_lines)" -eq "$n0" ] || fail "cached Hub file downloaded again"
# model.safetensors is checked against the Hub's etag; config.json has no
# checksum anywhere (it lives in git on the Hub), so the entry stays "present"
expect_exit 0 "$LAB_BIN" datasets --verify --json
/usr/bin/python3 -c '
import json, sys
e = [d for d in json.loads(sys.argv[1]) if d["name"] == "efficientnet-b0"][0]
st = {f["name"]: f["status"] for f in e["files"]}
assert st == {"model.safetensors": "verified", "config.json": "present"}, st' "$LAST_OUT"
if /usr/bin/python3 -c 'import huggingface_hub' 2>/dev/null; then
  found=$(/usr/bin/python3 -c "from huggingface_hub import try_to_load_from_cache as t; print(t('timm/efficientnet_b0.ra_in1k', 'model.safetensors', cache_dir='$HF_HUB_CACHE'))")
  [ "$found" = "$REPO/snapshots/$HF_COMMIT/model.safetensors" ] || fail "huggingface_hub does not find it: $found"
fi
# a file the Hub does not have is a 404 (its URL holds "/resolve/"), not a DNS failure
HF_ENDPOINT="$BASE/no-hub" HF_HUB_CACHE="$TEST_TMP/hub-404" expect_exit 3 "$LAB_BIN" fetch efficientnet-b0
expect_match "$LAST_ERR" 'HTTP 404'
grep -q 'did not resolve' <<<"$LAST_ERR" && fail "a 404 was explained as DNS: $LAST_ERR"
unset HF_ENDPOINT HF_HUB_CACHE

# 10. two processes, one file: flock lets only one download it
n0=$(log_lines)
"$LAB_BIN" fetch --url "$BASE/slow/data.bin" --sha256 "$SHA" -o "$OUT/shared.bin" >"$TEST_TMP/a.out" 2>&1 &
pa=$!
sleep 0.3
"$LAB_BIN" fetch --url "$BASE/slow/data.bin" --sha256 "$SHA" -o "$OUT/shared.bin" >"$TEST_TMP/b.out" 2>&1 &
pb=$!
wait $pa || fail "first fetch failed: $(cat "$TEST_TMP/a.out")"
wait $pb || fail "second fetch failed: $(cat "$TEST_TMP/b.out")"
cmp -s "$OUT/shared.bin" "$WWW/data.bin" || fail "shared file differs"
[ "$(tail -n +$((n0 + 1)) "$ACCESS_LOG" | grep -c 'GET /slow/data.bin')" -eq 1 ] || fail "downloaded twice"
# whichever got the lock first, the other one waited for it
cat "$TEST_TMP/a.out" "$TEST_TMP/b.out" | grep -q 'waiting for another lab' ||
  fail "neither process waited: $(cat "$TEST_TMP/a.out" "$TEST_TMP/b.out")"

# 11. file:// (a course mirror on a shared disk): no HTTP status, still a success;
# a missing file moves on at once instead of retrying
expect_exit 0 "$LAB_BIN" fetch --url "file://$WWW/data.bin" --sha256 "$SHA" -o "$OUT/file.bin"
cmp -s "$OUT/file.bin" "$WWW/data.bin" || fail "file:// download differs"
expect_exit 3 "$LAB_BIN" fetch --url "file://$WWW/no-such.bin" --sha256 "$SHA" -o "$OUT/nofile.bin"
case "$LAST_ERR" in *retrying*) fail "a missing file:// source was retried: $LAST_ERR" ;; esac

# 12. bad usage
expect_exit 2 "$LAB_BIN" fetch --url "$BASE/data.bin" --sha256 abc -o "$OUT/x"
expect_exit 2 "$LAB_BIN" fetch --url "$BASE/data.bin" -o "$OUT/x"
expect_exit 2 "$LAB_BIN" fetch no-such-thing
echo ok
