# Sourced by ab.sh, counts.sh, cpu_split.sh, instructions.sh and wakes.sh: a temp dir ($W), an nginx mock
# on CPU 0 answering OpenAI and Anthropic requests with fixed bodies, wrk's request script, a
# gateway started from a build directory, and a plain nginx reverse proxy to compare it with.
# MODEL, PATH_ (the gateway's route) and NGINX_PATH (the proxy's) follow WHAT (chat | convert).
set -euo pipefail
for tool in nginx wrk taskset; do command -v $tool >/dev/null || { echo "$0 needs $tool (apt-get install nginx wrk util-linux)" >&2; exit 1; }; done
W=$(mktemp -d); chmod 755 "$W"; mkdir -p "$W/tmp" "$W/data"
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"' EXIT
MOCK_PORT=18191; GW_PORT=18192; NGINX_PORT=18193
KEY=tg-bench-key-000000001
CHAT='{"id":"chatcmpl-bench0001","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! Nice to meet you."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":7,"total_tokens":31},"system_fingerprint":"fp_bench"}'
MESSAGE='{"id":"msg_bench0001","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello! Nice to meet you."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":24,"output_tokens":7}}'
NGINX_HTTP="access_log off; keepalive_requests 1000000; keepalive_timeout 300s;"
cat > "$W/mock.conf" <<C
worker_processes 1; daemon off; pid $W/mock.pid; error_log $W/mock-error.log warn;
events { worker_connections 4096; }
http { $NGINX_HTTP client_body_temp_path $W/tmp/b; proxy_temp_path $W/tmp/p; fastcgi_temp_path $W/tmp/f; uwsgi_temp_path $W/tmp/u; scgi_temp_path $W/tmp/s;
 server { listen 127.0.0.1:$MOCK_PORT;
  location = /v1/chat/completions { default_type application/json; return 200 '$CHAT'; }
  location = /v1/messages { default_type application/json; return 200 '$MESSAGE'; } } }
C
MODEL=gpt-4o-mini; [[ ${WHAT:-chat} == convert ]] && MODEL=claude-bench
PATH_=/v1/chat/completions
# For the conversion nginx forwards to the Anthropic route (the mock ignores request bodies).
NGINX_PATH=$PATH_; [[ ${WHAT:-chat} == convert ]] && NGINX_PATH=/v1/messages
cat > "$W/req.lua" <<L
wrk.method = "POST"; wrk.body = '{"model":"$MODEL","messages":[{"role":"user","content":"Say hello."}]}'
wrk.headers["Content-Type"] = "application/json"; wrk.headers["Authorization"] = "Bearer $KEY"
L
taskset -c 0 nginx -p "$W" -c "$W/mock.conf" &

# start_gateway DIR: the build in DIR (tollgate with libtollgate-billing.so and
# libtollgate-claude.so beside it) on CPU 1, once it answers; sets GW_PID. GW_WRAP runs it
# under a tool (valgrind), GW_WAIT tenths of a second are allowed for it to answer.
start_gateway() {
  local dir=$1 plugins="$W/plugins-$RANDOM"
  mkdir -p "$plugins"; cp "$dir/libtollgate-billing.so" "$dir/libtollgate-claude.so" "$plugins/"
  rm -rf "$W/data"/*
  cat > "$W/tollgate.yaml" <<Y
listen: 127.0.0.1:$GW_PORT
data_dir: $W/data
plugins: {dir: $plugins}
keys:
  - {name: bench, key: $KEY, models: [gpt-4o-mini, claude-bench]}
channels:
  - {name: mock, provider: openai, base_url: "http://127.0.0.1:$MOCK_PORT/v1", credentials: {api_key: sk-up}, models: [gpt-4o-mini]}
  - {name: anthropic-mock, provider: claude, base_url: "http://127.0.0.1:$MOCK_PORT", credentials: {api_key: sk-up}, models: [claude-bench], model_map: {claude-bench: claude-sonnet-4-5}}
Y
  taskset -c 1 ${GW_WRAP:-} "$dir/tollgate" serve --config "$W/tollgate.yaml" > "$W/gateway.log" 2>&1 &
  GW_PID=$!
  for _ in $(seq "${GW_WAIT:-100}"); do curl -sf -o /dev/null -H "Authorization: Bearer $KEY" \
      -d "{\"model\":\"$MODEL\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" "http://127.0.0.1:$GW_PORT$PATH_" && return; sleep 0.1; done
  echo "the gateway in $dir did not answer; its log:" >&2; cat "$W/gateway.log" >&2; exit 1
}

# start_nginx_proxy: a plain nginx reverse proxy to the mock on CPU 1, one process (master_process
# off), under NGINX_WRAP if set (valgrind), once it answers; sets NGINX_PID.
start_nginx_proxy() {
  cat > "$W/proxy.conf" <<C
worker_processes 1; daemon off; master_process off; pid $W/proxy.pid; error_log $W/proxy-error.log warn;
events { worker_connections 4096; }
http { $NGINX_HTTP client_body_temp_path $W/tmp/b2; proxy_temp_path $W/tmp/p2; fastcgi_temp_path $W/tmp/f2; uwsgi_temp_path $W/tmp/u2; scgi_temp_path $W/tmp/s2;
 upstream mock { server 127.0.0.1:$MOCK_PORT; keepalive 64; }
 server { listen 127.0.0.1:$NGINX_PORT; location / { proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
C
  taskset -c 1 ${NGINX_WRAP:-} nginx -p "$W" -c "$W/proxy.conf" > "$W/proxy.log" 2>&1 &
  NGINX_PID=$!
  for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT$NGINX_PATH" -d '{}' && return; sleep 0.1; done
  echo "the nginx proxy did not answer; its log:" >&2; cat "$W/proxy.log" "$W/proxy-error.log" >&2; exit 1
}

# load PORT PATH SECONDS OUT: wrk from CPU 0 with $C connections; prints the requests completed.
load() {
  taskset -c 0 wrk -t1 -c"$C" -d"$3s" -s "$W/req.lua" "http://127.0.0.1:$1$2" > "$4"
  grep -q "Non-2xx" "$4" && echo "(errors) $(grep Non-2xx "$4")" >&2
  grep -o "[0-9]* requests" "$4" | cut -d' ' -f1
}
