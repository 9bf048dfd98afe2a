#!/usr/bin/env bash
# Keep-alive churn check (issue 13): wrk with 256 connections against the release gateway and an
# nginx mock on loopback, every 4th request with `Connection: close`. Reports wrk's socket
# errors (connect, read, write, timeout), which must be zero.
#   bench/churn.sh [seconds=60] [connections=256]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_RUN=${1:-60}
CONNECTIONS=${2:-256}
BIN=${TOLLGATE_BIN:-.build/release/tollgate}
WORK=$(mktemp -d /tmp/tollgate-churn.XXXXXX)
KEY=tg-bench-key-0001
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
MOCK_PORT=$(free_port)
BODY='{"id":"chatcmpl-churn","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}'
mkdir -p "$WORK/tmp"
cat >"$WORK/mock.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/mock.pid;
error_log $WORK/mock-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$MOCK_PORT;
    location = /v1/chat/completions { default_type application/json; return 200 '$BODY'; }
  }
}
CONF
cat >"$WORK/tollgate.yaml" <<CONF
listen: 127.0.0.1:0
data_dir: $WORK/data
pricing: { sync_url: off }
health: { probes: false }
keys: [ { name: churn, key: $KEY } ]
channels:
  - { name: mock, provider: openai, base_url: "http://127.0.0.1:$MOCK_PORT/v1", credentials: { api_key: sk-x }, models: [gpt-4o-mini] }
CONF
nginx -c "$WORK/mock.conf" -p "$WORK" >/dev/null 2>&1 & PIDS+=($!)
"$BIN" serve --config "$WORK/tollgate.yaml" >"$WORK/gateway.out" 2>"$WORK/gateway.err" & PIDS+=($!)
for _ in $(seq 1 200); do grep -q "listening on" "$WORK/gateway.out" 2>/dev/null && break; sleep 0.1; done
URL=$(grep -o 'http://[^ ]*' "$WORK/gateway.out" | head -1)
[ -n "$URL" ] || { cat "$WORK/gateway.err"; exit 1; }
curl -sf "$URL/v1/chat/completions" -H "Authorization: Bearer $KEY" -d '{"model":"gpt-4o-mini","messages":[]}' >/dev/null
echo "wrk -t2 -c$CONNECTIONS -d${SECONDS_RUN}s -s bench/churn.lua $URL (every 4th request Connection: close)"
BENCH_KEY=$KEY wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_RUN}s" --timeout 10s -s bench/churn.lua "$URL" | tee "$WORK/wrk.out"
grep -q "err_connect=0 err_read=0 err_write=0 err_status=0 err_timeout=0" "$WORK/wrk.out" || { echo "socket errors (see above)"; exit 1; }
echo "no socket errors"
