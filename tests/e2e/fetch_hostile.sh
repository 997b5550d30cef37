#!/usr/bin/env bash
# lab fetch against a server that misbehaves on purpose (hostile_http.py on
# 127.0.0.1): endless bodies, a Content-Length of 10^15, a trickle, headers
# and no body, a deadline, a Range answered with 200, a redirect to file://,
# links planted at <out>.part and <out>.lock, and a host that does not resolve.
set -euo pipefail
source tests/e2e/lib.bash
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
unset LAB_OFFLINE HF_HUB_OFFLINE TRANSFORMERS_OFFLINE LAB_MIRROR HF_TOKEN HUGGING_FACE_HUB_TOKEN
export LAB_FETCH_BACKOFF_MS=10 LAB_FETCH_RETRIES=2 NO_COLOR=1

SRV=$TEST_TMP/hostile
mkdir -p "$SRV/www"
head -c 2000000 /dev/urandom >"$SRV/www/data.bin"
SHA=$(sha256sum "$SRV/www/data.bin" | cut -d' ' -f1)
LOG=$SRV/requests.log
: >"$LOG"
/usr/bin/python3 tests/e2e/hostile_http.py "$SRV/www" "$SRV/port" "$LOG" 2>"$SRV/server.err" &
SRV_PID=$!
trap 'kill $SRV_PID 2>/dev/null; wait $SRV_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$SRV/port" ] && break; sleep 0.1; done
[ -s "$SRV/port" ] || { cat "$SRV/server.err"; skip "the test server did not start"; }
BASE=http://127.0.0.1:$(cat "$SRV/port")
OUT=$TEST_TMP/out
mkdir -p "$OUT"
requests() { grep -c "^$1 " "$LOG" || true; }

# 0. the good path works (so the failures below are the server's doing)
expect_exit 0 "$LAB_BIN" fetch --url "$BASE/ok/data.bin" --sha256 "$SHA" -o "$OUT/ok.bin"
cmp -s "$OUT/ok.bin" "$SRV/www/data.bin" || fail "good download differs"

# 1. an endless body stops at the cap; nothing is left on disk
expect_exit 3 "$LAB_BIN" fetch --url "$BASE/endless" --sha256 "$SHA" --max-size 5M -o "$OUT/endless.bin"
expect_match "$LAST_ERR" 'more than 5242880 bytes'
expect_match "$LAST_ERR" 'deleted'
expect_match "$LAST_ERR" '--max-size'
[ ! -e "$OUT/endless.bin" ] && [ ! -e "$OUT/endless.bin.part" ] || fail "an over-size download was kept"
[ "$(requests /endless)" -eq 1 ] || fail "an over-size body was asked for again"
# ... and a mirror that sends too much is dropped for the next one
: >"$LOG"
expect_exit 0 "$LAB_BIN" fetch --url "$BASE/endless" --url "$BASE/ok/data.bin" --sha256 "$SHA" --max-size 5M \
  -o "$OUT/next.bin"
cmp -s "$OUT/next.bin" "$SRV/www/data.bin" || fail "the next mirror's file differs"
[ "$(requests /endless)" -eq 1 ] || fail "the over-size mirror was retried"

# 1b. a manifest entry's cap is its size (yolov8n: about 6.5 MB, so with a
# quarter and 1 MiB of room), here from a mirror whose body never ends
cap=$(/usr/bin/python3 -c 'import json; f = json.load(open("datasets/yolov8-weights.json"))["files"][0]
n = f["size"]; print(n + n // 4 + (1 << 20) if f.get("size_approx") else n)')
LAB_MIRROR="$BASE/mirror" expect_exit 3 "$LAB_BIN" fetch yolov8-weights
expect_match "$LAST_ERR" "more than $cap bytes"
[ -z "$(ls "$LAB_CACHE/weights/yolov8-weights" 2>/dev/null)" ] || fail "an over-size weight file was kept"

# 2. Content-Length: 10^15 is refused before a byte is written
expect_exit 3 "$LAB_BIN" fetch --url "$BASE/huge-length" --sha256 "$SHA" -o "$OUT/huge.bin"
expect_match "$LAST_ERR" 'sends more than 8589934592 bytes'
[ ! -e "$OUT/huge.bin.part" ] || fail "a .part was left for a refused size"

# 3. a 1-byte trickle is a stall: given up, bounded by retries (2 here), not forever
start=$SECONDS
LAB_FETCH_STALL_TIMEOUT=1 expect_exit 3 "$LAB_BIN" fetch --url "$BASE/trickle" --sha256 "$SHA" -o "$OUT/trickle.bin"
[ $((SECONDS - start)) -le 15 ] || fail "the trickle took $((SECONDS - start)) s"
expect_match "$LAST_ERR" 'cannot download'
expect_match "$LAST_ERR" 'kept in the .part file'

# 4. headers and no body: two silent stalls end it for that URL, without the
# other retries
: >"$LOG"
start=$SECONDS
LAB_FETCH_STALL_TIMEOUT=1 LAB_FETCH_RETRIES=4 expect_exit 3 "$LAB_BIN" fetch --url "$BASE/silent" --sha256 "$SHA" \
  -o "$OUT/silent.bin"
[ "$(requests /silent)" -eq 2 ] || fail "a silent server was asked $(requests /silent) times, expected 2"
[ $((SECONDS - start)) -le 10 ] || fail "the silent server took $((SECONDS - start)) s"
[ ! -e "$OUT/silent.bin.part" ] || fail "an empty .part was left"
case "$LAST_ERR" in *"kept in the .part"*) fail "claims partial data with nothing downloaded: $LAST_ERR" ;; esac

# 5. the whole download has a deadline, retries and all
start=$SECONDS
LAB_FETCH_MIN_SPEED=1 expect_exit 3 "$LAB_BIN" fetch --url "$BASE/slow/data.bin" --sha256 "$SHA" --timeout 2 \
  -o "$OUT/slow.bin"
[ $((SECONDS - start)) -le 6 ] || fail "a 2 s deadline took $((SECONDS - start)) s"
expect_match "$LAST_ERR" 'gave up downloading .* after 2 s'
expect_match "$LAST_ERR" '--timeout'
expect_exit 2 "$LAB_BIN" fetch --url "$BASE/slow/data.bin" --sha256 "$SHA" --timeout 0 -o "$OUT/slow.bin"
expect_match "$LAST_ERR" '--timeout'
expect_exit 2 "$LAB_BIN" fetch --url "$BASE/slow/data.bin" --sha256 "$SHA" --max-size lots -o "$OUT/slow.bin"
expect_match "$LAST_ERR" '--max-size'

# 6. a Range answered with 200 restarts from zero (once), not "Cannot resume" forever
head -c 700000 /dev/urandom >"$OUT/norange.bin.part"
: >"$LOG"
expect_exit 0 "$LAB_BIN" fetch --url "$BASE/norange/data.bin" --sha256 "$SHA" -o "$OUT/norange.bin"
cmp -s "$OUT/norange.bin" "$SRV/www/data.bin" || fail "a restarted download differs"
[ "$(cat "$LOG")" = "/norange/data.bin range=bytes=700000-" ] || fail "unexpected requests: $(cat "$LOG")"

# 7. a redirect to file:// is not followed
expect_exit 3 "$LAB_BIN" fetch --url "$BASE/to-file" --sha256 "$SHA" -o "$OUT/redirect.bin"
[ ! -e "$OUT/redirect.bin" ] || fail "a redirect to file:// was followed"
expect_match "$LAST_ERR" '[Pp]rotocol'

# 8. links planted at <out>.part and <out>.lock are never written through
echo precious >"$TEST_TMP/victim"
ln -s "$TEST_TMP/victim" "$OUT/linked.bin.part"
expect_exit 3 "$LAB_BIN" fetch --url "$BASE/ok/data.bin" --sha256 "$SHA" -o "$OUT/linked.bin"
expect_match "$LAST_ERR" 'linked.bin.part is a symbolic link'
[ "$(cat "$TEST_TMP/victim")" = precious ] || fail "wrote through a link at .part"
rm "$OUT/linked.bin.part"
ln -s "$TEST_TMP/victim" "$OUT/linked.bin.lock"
expect_exit 3 "$LAB_BIN" fetch --url "$BASE/ok/data.bin" --sha256 "$SHA" -o "$OUT/linked.bin"
expect_match "$LAST_ERR" 'linked.bin.lock is a symbolic link'
[ "$(cat "$TEST_TMP/victim")" = precious ] || fail "wrote through a link at .lock"
[ -L "$OUT/linked.bin.lock" ] || fail "the user's link was removed"

# 9. a host that does not resolve: no retries, a DNS fix, no claim of partial data
expect_exit 3 "$LAB_BIN" fetch --url "http://lab-no-such-host.invalid/x.bin" --sha256 "$SHA" -o "$OUT/dns.bin"
expect_match "$LAST_ERR" 'resolve'
expect_match "$LAST_ERR" 'DNS'
expect_match "$LAST_ERR" 'TS-NETWORK'
case "$LAST_ERR" in *retrying*|*"kept in the .part"*) fail "DNS failure: $LAST_ERR" ;; esac
[ ! -e "$OUT/dns.bin.part" ] || fail "an empty .part was left after a DNS failure"
echo ok
