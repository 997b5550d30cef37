#!/usr/bin/env python3
"""A web server that misbehaves on purpose, for tests/e2e/fetch_hostile.sh.

usage: hostile_http.py ROOT PORTFILE LOGFILE

Serves ROOT/data.bin under several paths, each broken in one way. Binds
127.0.0.1 on a free port and writes the port to PORTFILE; every request
is logged to LOGFILE as "PATH range=RANGE".
"""
import http.server
import os
import socketserver
import sys
import time

ROOT, PORTFILE, LOGFILE = sys.argv[1], sys.argv[2], sys.argv[3]


def data():
    with open(os.path.join(ROOT, "data.bin"), "rb") as f:
        return f.read()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def head(self, code, length=None, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        if length is not None:
            self.send_header("Content-Length", str(length))
        else:
            self.send_header("Connection", "close")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()

    def dribble(self, body, chunk, pause, limit_s=30):
        """Sends body in chunks with a pause between; stops when the client goes."""
        end = time.monotonic() + limit_s
        try:
            for i in range(0, len(body), chunk):
                self.wfile.write(body[i:i + chunk])
                self.wfile.flush()
                if time.monotonic() > end:
                    return
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        with open(LOGFILE, "a") as log:
            log.write("%s range=%s\n" % (self.path, self.headers.get("Range", "-")))
        p = self.path
        if p == "/ok/data.bin":  # honours Range, like any good server
            body = data()
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
                self.head(206, len(body) - start, [("Content-Range", "bytes %d-%d/%d" % (start, len(body) - 1, len(body)))])
                self.wfile.write(body[start:])
            else:
                self.head(200, len(body))
                self.wfile.write(body)
        elif p == "/norange/data.bin":  # ignores Range: always the whole file, 200
            body = data()
            self.head(200, len(body))
            self.wfile.write(body)
        elif p == "/endless" or p.startswith("/mirror/"):  # no length, a body that never ends
            self.head(200)
            block = b"\0" * 65536
            try:
                for _ in range(1 << 20):
                    self.wfile.write(block)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
        elif p == "/huge-length":  # announces 10^15 bytes
            self.head(200, 10**15)
            self.dribble(b"\0" * (1 << 20), 65536, 0.01, 5)
            self.close_connection = True
        elif p == "/trickle":  # one byte every 0.2 s
            body = data()
            self.head(200, len(body))
            self.dribble(body, 1, 0.2)
            self.close_connection = True
        elif p == "/silent":  # headers, then nothing
            self.head(200, 1000)
            self.wfile.flush()
            time.sleep(20)
            self.close_connection = True
        elif p == "/slow/data.bin":  # steady 160 kB/s: above any stall limit, under a short deadline
            body = data()
            self.head(200, len(body))
            self.dribble(body, 16384, 0.1)
            self.close_connection = True
        elif p == "/to-file":  # redirects to a local file
            self.head(302, 0, [("Location", "file://" + os.path.join(ROOT, "data.bin"))])
        else:
            self.head(404, 0)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
