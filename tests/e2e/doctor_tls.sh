#!/usr/bin/env bash
# network.reach's TLS step against a local openssl s_server on 127.0.0.1:
# a trusted certificate passes, an untrusted one is named as such.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
command -v openssl >/dev/null || skip "openssl is not installed: no local TLS server"
unset HF_HUB_OFFLINE TRANSFORMERS_OFFLINE LAB_OFFLINE 2>/dev/null || true
cd "$TEST_TMP"
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 || skip "openssl cannot make a certificate here"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
openssl s_server -accept "127.0.0.1:$port" -cert cert.pem -key key.pem -quiet </dev/null >server.log 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
up=0
for _ in $(seq 50); do
  if /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.1).close()" 2>/dev/null; then
    up=1; break
  fi
  sleep 0.1
done
[ "$up" -eq 1 ] || skip "openssl s_server did not start: $(cat server.log)"

LAB_DOCTOR_NET_HOSTS="127.0.0.1:$port" LAB_DOCTOR_NET_CAINFO="$TEST_TMP/cert.pem" \
  expect_exit 0 "$LAB_BIN" doctor --check network.reach
expect_match "$LAST_OUT" "all 1 hosts reachable; 127\.0\.0\.1:$port: DNS ok, TCP ok, TLS ok"

# Without the CA the self-signed certificate is not trusted: told apart from a failed handshake.
LAB_DOCTOR_NET_HOSTS="127.0.0.1:$port" expect_exit 1 "$LAB_BIN" doctor --check network.reach
expect_match "$LAST_OUT" "DNS ok, TCP ok, TLS certificate not trusted"
expect_match "$LAST_OUT" 'kb: +TS-NETWORK'
echo ok
