#!/bin/bash
# CPU time per request of two release builds, alternating runs against the same nginx mock:
# the quick A/B behind each change in RESULTS.md (alternating cancels the machine's drift).
#
#   bench/ab.sh DIR_A DIR_B [chat|convert] [connections=32] [seconds=8] [rounds=2]
#
# DIR_A and DIR_B each hold a `tollgate` binary with libtollgate-billing.so and
# libtollgate-claude.so beside it. wrk and the mock share CPU 0, the gateway runs on CPU 1; the
# figure is user + system time of the gateway process (from /proc) over the measured run,
# divided by the requests wrk completed.
set -euo pipefail
A=$1; B=$2; WHAT=${3:-chat}; C=${4:-32}; SECS=${5:-8}; ROUNDS=${6:-2}
for tool in nginx wrk taskset; do command -v $tool >/dev/null || { echo "ab.sh needs $tool (apt-get install nginx wrk util-linux)" >&2; exit 1; }; done
W=$(mktemp -d); chmod 755 "$W"; mkdir -p "$W/tmp" "$W/data"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"' EXIT
MOCK_PORT=18191; GW_PORT=18192
CHAT='{"id":"chatcmpl-bench0001","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! Nice to meet you."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":7,"total_tokens":31},"system_fingerprint":"fp_bench"}'
MESSAGE='{"id":"msg_bench0001","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello! Nice to meet you."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":24,"output_tokens":7}}'
cat > "$W/mock.conf" <<C
worker_processes 1; daemon off; pid $W/mock.pid; error_log $W/mock-error.log warn;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $W/tmp/b; proxy_temp_path $W/tmp/p; fastcgi_temp_path $W/tmp/f; uwsgi_temp_path $W/tmp/u; scgi_temp_path $W/tmp/s;
 keepalive_requests 1000000; keepalive_timeout 300s;
 server { listen 127.0.0.1:$MOCK_PORT;
  location = /v1/chat/completions { default_type application/json; return 200 '$CHAT'; }
  location = /v1/messages { default_type application/json; return 200 '$MESSAGE'; } } }
C
MODEL=gpt-4o-mini; [[ $WHAT == convert ]] && MODEL=claude-bench
cat > "$W/req.lua" <<L
wrk.method = "POST"; wrk.body = '{"model":"$MODEL","messages":[{"role":"user","content":"Say hello."}]}'
wrk.headers["Content-Type"] = "application/json"; wrk.headers["Authorization"] = "Bearer tg-bench-key-000000001"
L
taskset -c 0 nginx -p "$W" -c "$W/mock.conf" &
run() {  # dir → "µs per request"
  local dir=$1 plugins="$W/plugins-$RANDOM"
  mkdir -p "$plugins"; cp "$dir/libtollgate-billing.so" "$dir/libtollgate-claude.so" "$plugins/"
  cat > "$W/tollgate.yaml" <<Y
listen: 127.0.0.1:$GW_PORT
data_dir: $W/data
plugins: {dir: $plugins}
keys:
  - {name: bench, key: tg-bench-key-000000001, models: [gpt-4o-mini, claude-bench]}
channels:
  - {name: mock, provider: openai, base_url: "http://127.0.0.1:$MOCK_PORT/v1", credentials: {api_key: sk-up}, models: [gpt-4o-mini]}
  - {name: anthropic-mock, provider: claude, base_url: "http://127.0.0.1:$MOCK_PORT", credentials: {api_key: sk-up}, models: [claude-bench], model_map: {claude-bench: claude-sonnet-4-5}}
Y
  taskset -c 1 "$dir/tollgate" serve --config "$W/tollgate.yaml" > "$W/gateway.log" 2>&1 & local pid=$!
  for _ in $(seq 100); do curl -sf -o /dev/null -H "Authorization: Bearer tg-bench-key-000000001" \
      -d "{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" "http://127.0.0.1:$GW_PORT/v1/chat/completions" && break; sleep 0.1; done
  taskset -c 0 wrk -t1 -c"$C" -d2s -s "$W/req.lua" "http://127.0.0.1:$GW_PORT/v1/chat/completions" > /dev/null   # warm-up
  local t0 t1 n
  t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  taskset -c 0 wrk -t1 -c"$C" -d"${SECS}s" -s "$W/req.lua" "http://127.0.0.1:$GW_PORT/v1/chat/completions" > "$W/wrk.txt"
  t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  n=$(grep -o "[0-9]* requests" "$W/wrk.txt" | cut -d' ' -f1)
  kill $pid; wait $pid 2>/dev/null || true; rm -rf "$W/data"/* "$plugins"
  grep -q "Non-2xx" "$W/wrk.txt" && echo "(errors) $(grep Non-2xx "$W/wrk.txt")" >&2
  awk -v t=$((t1 - t0)) -v n="$n" 'BEGIN { printf "%.1f", t * 10000 / n }'
}
echo "CPU µs per request, $WHAT, c=$C, ${SECS}s a run"
for round in $(seq "$ROUNDS"); do
  echo "round $round: A $(run "$A")  B $(run "$B")"
done
