#!/bin/bash
# CPU time the gateway process spends per request (all its threads, from `perf stat -e task-clock`),
# for two builds side by side: alternating runs, each N keep-alive chat requests passed through to
# a loopback mock after a warm-up. Used to check that a change costs nothing on the request path
# (e.g. tracing off). Hardware instruction counters are often unavailable in VMs; CPU time is not.
#
#   bench/cpu_per_request.sh BEFORE_BIN AFTER_BIN [rounds=6] [requests=2000]
#   TRACE_ENDPOINT=http://127.0.0.1:4318 ...   sets OTEL_EXPORTER_OTLP_ENDPOINT for the AFTER build
set -euo pipefail
BEFORE=$1; AFTER=$2; ROUNDS=${3:-6}; N=${4:-2000}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

cat > "$WORK/mock.py" <<'PY'
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
BODY = (b'{"id":"c1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,'
        b'"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],'
        b'"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}')
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        # One write: a head and body written apart meet delayed ACKs (40 ms a request).
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY)
    def log_message(self, *args): pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler); print(server.server_address[1], flush=True); server.serve_forever()
PY
cat > "$WORK/drive.py" <<'PY'
import http.client, json, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
connection = http.client.HTTPConnection("127.0.0.1", port)
body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
for _ in range(n):
    connection.request("POST", "/v1/chat/completions", body, {"Authorization": "Bearer tg-bench-key-0001", "Content-Type": "application/json"})
    response = connection.getresponse(); response.read()
    assert response.status == 200, response.status
PY
python3 "$WORK/mock.py" > "$WORK/mockport" &
while [ ! -s "$WORK/mockport" ]; do sleep 0.1; done
mkdir -p "$WORK/plugins"
cat > "$WORK/tollgate.yaml" <<YAML
listen: 127.0.0.1:0
data_dir: $WORK/data
threads: 1
plugins: { dir: $WORK/plugins }
pricing: { sync_url: off }
health: { probes: false }
keys: [{ name: bench, key: tg-bench-key-0001 }]
channels: [{ name: up, provider: openai, base_url: "http://127.0.0.1:$(cat "$WORK/mockport")/v1", credentials: { api_key: sk-up }, models: [gpt-4o-mini] }]
YAML

run() {  # run LABEL BIN [endpoint]: prints LABEL and the CPU microseconds per request
    local out="$WORK/out.$RANDOM"
    env -u OTEL_EXPORTER_OTLP_ENDPOINT -u OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ${3:+OTEL_EXPORTER_OTLP_ENDPOINT=$3} \
        "$2" serve --config "$WORK/tollgate.yaml" > "$out" 2>/dev/null &
    local pid=$! port=""
    for _ in $(seq 240); do port=$(grep -o "http://127.0.0.1:[0-9]*" "$out" | head -1 | grep -o "[0-9]*$" || true); [ -n "$port" ] && break; sleep 0.5; done
    python3 "$WORK/drive.py" "$port" 200
    perf stat -x, -e task-clock -p "$pid" -o "$out.perf" python3 "$WORK/drive.py" "$port" "$N"
    kill -TERM "$pid"; wait "$pid" || true
    awk -F, -v n="$N" -v label="$1" '/task-clock/ {printf "%s %.1f\n", label, $1 * 1000 / n}' "$out.perf"
}

for round in $(seq "$ROUNDS"); do  # alternate which goes first
    if (( round % 2 )); then run before "$BEFORE"; run after "$AFTER" "${TRACE_ENDPOINT:-}"
    else run after "$AFTER" "${TRACE_ENDPOINT:-}"; run before "$BEFORE"; fi
done | tee "$WORK/results"
python3 - "$WORK/results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    label, value = line.split(); runs.setdefault(label, []).append(float(value))
for label in ("before", "after"):
    values = runs[label]
    print(f"{label}: median {statistics.median(values):.1f} us CPU/request, min {min(values):.1f}, max {max(values):.1f} ({len(values)} runs)")
PY
