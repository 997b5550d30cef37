# Starts a private nginx on 127.0.0.1 for the fetch tests (sourced, not run).
# Sets PORT, BASE, WWW, ACCESS_LOG; the trap stops nginx when the script ends.
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || skip "nginx is not installed (apt-get install nginx-light)"

NG=$TEST_TMP/nginx
WWW=$NG/www
ACCESS_LOG=$NG/access.log
mkdir -p "$NG/tmp" "$WWW"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
HF_COMMIT=0123456789abcdef0123456789abcdef01234567

# write_nginx_conf HF_ETAG: the Hub location sends X-Repo-Commit and X-Linked-Etag
# (the latter not for .json files, as the Hub does for files kept in git).
write_nginx_conf() {
  cat >"$NG/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log;
events { worker_connections 64; }
http {
  log_format t '\$status \$request_method \$uri range=\$http_range auth=\$http_authorization';
  access_log $ACCESS_LOG t;
  client_body_temp_path $NG/tmp/body;
  proxy_temp_path $NG/tmp/proxy;
  fastcgi_temp_path $NG/tmp/fastcgi;
  uwsgi_temp_path $NG/tmp/uwsgi;
  scgi_temp_path $NG/tmp/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$PORT;
    root $WWW;
    location /forbidden/ { return 403; }
    location /unauthorized/ { return 401; }
    location /broken/ { return 503; }
    location /slow/ { limit_rate 400k; alias $WWW/; }
    location /hf/ {
      add_header X-Repo-Commit $HF_COMMIT;
      add_header X-Linked-Etag "\"$1\"";
      # small files live in git, not LFS: the Hub sends no X-Linked-Etag for them
      location ~ \.json$ { add_header X-Repo-Commit $HF_COMMIT; }
    }
  }
}
CONF
}

start_nginx() {
  write_nginx_conf "${1:-none}"
  "$NGINX" -c "$NG/nginx.conf" -p "$NG" 2>"$NG/start.err" &
  NGINX_PID=$!
  trap 'kill $NGINX_PID 2>/dev/null; wait $NGINX_PID 2>/dev/null || true' EXIT
  for _ in $(seq 50); do
    if (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  cat "$NG/start.err" "$NG/error.log" 2>/dev/null
  skip "nginx did not start on port $PORT"
}

log_lines() { if [ -f "$ACCESS_LOG" ]; then wc -l <"$ACCESS_LOG"; else echo 0; fi; }
