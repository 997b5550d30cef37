#!/usr/bin/env bash
# Datasets benchmark: loader throughput with augmentation on 2 threads
# (Fashion-MNIST and CIFAR-format data), and `lab fetch` against the curl
# command line on the same file served by a local nginx over loopback.
# Usage: scripts/bench/datasets.sh [BUILD_DIR]   (results: docs/perf.md)
set -euo pipefail
BUILD=${1:-build}
LAB=$BUILD/lab
[ -x "$LAB" ] || { echo "build first: make"; exit 1; }
TMP=$(mktemp -d)
NGINX_PID=
cleanup() { [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

echo "== loader throughput (batch 128, one epoch) =="
cc -std=c11 -D_GNU_SOURCE -O2 -I. -o "$TMP/bench_loader" tests/bench/bench_loader.c "$BUILD/liblab.a" \
  $(pkg-config --cflags --libs jansson libarchive libcurl libcrypto libpng libjpeg zlib) -lpthread -lm
"$TMP/bench_loader" fashion 2
# 50,000 random records in the CIFAR-10 binary format (5 files, like the real set)
mkdir -p "$TMP/cifar"
/usr/bin/python3 -c '
import os, sys
import numpy as np
rng = np.random.default_rng(0)
for b in range(1, 6):
    rec = rng.integers(0, 256, size=(10000, 3073), dtype=np.uint8)
    rec[:, 0] %= 10
    rec.tofile(os.path.join(sys.argv[1], "data_batch_%d.bin" % b))' "$TMP/cifar"
"$TMP/bench_loader" cifar "$TMP/cifar" 2
"$TMP/bench_loader" cifar "$TMP/cifar" 2 vit
"$TMP/bench_loader" fashion 1

echo "== lab fetch vs curl (loopback nginx, 512 MB file) =="
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ] || ! command -v curl >/dev/null; then echo "nginx or curl missing: skipped"; exit 0; fi
mkdir -p "$TMP/www" "$TMP/ng"
head -c $((512 << 20)) /dev/urandom >"$TMP/www/big.bin"
SHA=$(sha256sum "$TMP/www/big.bin" | cut -d' ' -f1)
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$TMP/ng/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1; pid $TMP/ng/pid; error_log $TMP/ng/error.log;
events {}
http { access_log off; client_body_temp_path $TMP/ng; proxy_temp_path $TMP/ng; fastcgi_temp_path $TMP/ng;
  uwsgi_temp_path $TMP/ng; scgi_temp_path $TMP/ng; sendfile on;
  server { listen 127.0.0.1:$PORT; root $TMP/www; } }
CONF
"$NGINX" -c "$TMP/ng/nginx.conf" -p "$TMP/ng" &
NGINX_PID=$!
sleep 0.5
URL=http://127.0.0.1:$PORT/big.bin
best() { # best of 3 wall-clock seconds of "$@"
  local b=999999 t
  for _ in 1 2 3; do
    rm -f "$TMP/out.bin"
    /usr/bin/time -f %e -o "$TMP/time" "$@" >/dev/null 2>&1
    t=$(tail -1 "$TMP/time")
    b=$(echo "$t $b" | awk '{print ($1 < $2) ? $1 : $2}')
  done
  echo "$b"
}
t_curl=$(best curl -s -o "$TMP/out.bin" "$URL")
t_curl_sha=$(best sh -c "curl -s -o '$TMP/out.bin' '$URL' && sha256sum '$TMP/out.bin'")
t_curl_sync=$(best sh -c "curl -s -o '$TMP/out.bin' '$URL' && sha256sum '$TMP/out.bin' && sync '$TMP/out.bin'")
t_lab=$(best env NO_COLOR=1 "$LAB" fetch --url "$URL" --sha256 "$SHA" -o "$TMP/out.bin")
t_start=$(best "$LAB" datasets)
awk -v c="$t_curl" -v cs="$t_curl_sha" -v cy="$t_curl_sync" -v l="$t_lab" -v st="$t_start" 'BEGIN {
  mb = 512 * 1.048576;
  printf "curl -o                              %6.2f s  %7.0f MB/s\n", c, mb / c;
  printf "curl -o && sha256sum                 %6.2f s  %7.0f MB/s\n", cs, mb / cs;
  printf "curl -o && sha256sum && sync FILE    %6.2f s  %7.0f MB/s\n", cy, mb / cy;
  printf "lab fetch (sha256 + fsync + rename)  %6.2f s  %7.0f MB/s\n", l, mb / l;
  printf "lab startup alone (lab datasets)     %6.2f s\n", st;
  printf "lab fetch throughput vs curl: %.0f%% end to end, %.0f%% without lab startup;\n", 100 * c / l, 100 * c / (l - st);
  printf "  vs curl+sha256sum+sync (same work): %.0f%% end to end, %.0f%% without lab startup\n", 100 * cy / l, 100 * cy / (l - st) }'
