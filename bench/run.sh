#!/usr/bin/env bash
# Tollgate proxy-overhead benchmark: client -> {mock | nginx -> mock | tollgate -> mock}.
# See bench/README.md. Settings (environment):
#   SCENARIOS="chat body1m convert stream open"   which scenarios to run (all by default)
#   DURATION=10  seconds per measured run      WARMUP=2  seconds of warm-up before each run
#   CONNS="1 32" wrk connection counts (chat, convert; body1m uses "1 8")
#   STREAM_ROUNDS=5  streams per connection (stream scenario)   OPEN_STREAMS=1000  (open scenario)
#   PIN=1     pin clients / servers to separate CPUs (0 = no pinning)
#   RETRIES=3    repeats of a run disturbed by other processes (other% >= 5)
#   CPU_CLIENT=0 CPU for wrk   CPU_MOCK=0 CPU for the mock upstream   CPU_PROXY=1 CPU for the proxy under test
#   TOLLGATE_BIN=path  use this binary instead of building .build/release/tollgate
#   KEEP=1       keep the temp dir (configs, logs, raw wrk output)
set -euo pipefail

SCENARIOS=${SCENARIOS:-"chat body1m convert stream open"}
STREAM_ROUNDS=${STREAM_ROUNDS:-5}
OPEN_STREAMS=${OPEN_STREAMS:-1000}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-"1 32"}
RETRIES=${RETRIES:-3}
PIN=${PIN:-1}
CPU_CLIENT=${CPU_CLIENT:-0}
CPU_MOCK=${CPU_MOCK:-0}
CPU_PROXY=${CPU_PROXY:-1}
MOCK_PORT=${MOCK_PORT:-18081}
NGINX_PORT=${NGINX_PORT:-18082}
TOLLGATE_PORT=${TOLLGATE_PORT:-18083}
STREAM_MOCK_PORT=${STREAM_MOCK_PORT:-18084}
STREAM_NGINX_PORT=${STREAM_NGINX_PORT:-18085}
KEY=tg-bench-key-0001
UPSTREAM_KEY=sk-upstream-bench-0001
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------------------------
missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
command -v taskset >/dev/null || missing+=(util-linux)
command -v python3 >/dev/null || missing+=(python3)
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  sudo=""; [[ $EUID -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [[ $PIN == 1 && $(nproc) -lt 2 ]]; then log "fewer than 2 CPUs: pinning disabled"; PIN=0; fi
pin() { local cpu=$1; shift; if [[ $PIN == 1 ]]; then taskset -c "$cpu" "$@"; else "$@"; fi; }

if [[ -n ${TOLLGATE_BIN:-} ]]; then
  [[ -x $TOLLGATE_BIN ]] || die "TOLLGATE_BIN=$TOLLGATE_BIN is not executable"
else
  log "building tollgate and its claude and billing plugins (release; output in /tmp/tollgate-bench-build.log)"
  for product in tollgate tollgate-claude tollgate-billing; do
    "$ROOT/scripts/release-build" --product $product >>/tmp/tollgate-bench-build.log 2>&1 ||
      { tail -30 /tmp/tollgate-bench-build.log >&2; die "swift build failed"; }
  done
  TOLLGATE_BIN=$ROOT/.build/release/tollgate
fi
# The gateway bills every request (billing plugin) and converts through the claude plugin.
PLUGINS_DIR=${PLUGINS_DIR:-$(dirname "$TOLLGATE_BIN")}

# --- temp dir, cleanup -------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/tollgate-bench.XXXXXX)
chmod 755 "$WORK"   # nginx workers may run as another user
mkdir -p "$WORK/tmp" "$WORK/plugins" "$WORK/data"
PIDS=()
cleanup() {
  local rc=$?
  local pid i
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do   # up to 5 s to stop, then SIGKILL
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { log "pid $pid did not stop on SIGTERM; killing"; kill -9 "$pid" 2>/dev/null || true; }
    wait "$pid" 2>/dev/null || true
  done
  if [[ $rc -ne 0 || ${KEEP:-0} == 1 ]]; then log "logs and configs kept in $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- configs -----------------------------------------------------------------------------------
MOCK_BODY='{"id":"chatcmpl-bench0001","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! Nice to meet you."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":7,"total_tokens":31},"system_fingerprint":"fp_bench"}'
REQ_BODY='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello."}]}'
ANTHROPIC_BODY='{"id":"msg_bench0001","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello! Nice to meet you."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":24,"output_tokens":7}}'

nginx_conf() {  # name, server block
  cat <<EOF
worker_processes 1;
daemon off;
pid $WORK/$1.pid;
error_log $WORK/$1-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/tmp/$1-body;
  proxy_temp_path $WORK/tmp/$1-proxy;
  fastcgi_temp_path $WORK/tmp/$1-fastcgi;
  uwsgi_temp_path $WORK/tmp/$1-uwsgi;
  scgi_temp_path $WORK/tmp/$1-scgi;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_max_body_size 8m;
$2
}
EOF
}

nginx_conf mock "
  server {
    listen 127.0.0.1:$MOCK_PORT;
    location = /v1/chat/completions {
      default_type application/json;
      return 200 '$MOCK_BODY';
    }
    location = /v1/messages {
      default_type application/json;
      return 200 '$ANTHROPIC_BODY';
    }
  }" >"$WORK/mock.conf"

nginx_conf proxy "
  upstream mock {
    server 127.0.0.1:$MOCK_PORT;
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header Authorization \"Bearer $UPSTREAM_KEY\";
      proxy_buffering off;
    }
  }
  upstream streams {
    server 127.0.0.1:$STREAM_MOCK_PORT;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$STREAM_NGINX_PORT;
    location / {
      proxy_pass http://streams;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header Authorization \"Bearer $UPSTREAM_KEY\";
      proxy_buffering off;
      proxy_read_timeout 300s;
    }
  }" >"$WORK/proxy.conf"

cat >"$WORK/tollgate.yaml" <<EOF
listen: 127.0.0.1:$TOLLGATE_PORT
data_dir: $WORK/data
plugins: {dir: $PLUGINS_DIR}
templates: {dir: $WORK/templates}
keys:
  - {name: bench, key: $KEY, models: [gpt-4o-mini, claude-bench, stream-mini, hold-mini]}
channels:
  - name: mock
    provider: openai
    base_url: http://127.0.0.1:$MOCK_PORT/v1
    credentials: {api_key: $UPSTREAM_KEY}
    models: [gpt-4o-mini]
  - name: anthropic-mock
    provider: claude
    base_url: http://127.0.0.1:$MOCK_PORT
    credentials: {api_key: $UPSTREAM_KEY}
    models: [claude-bench]
    model_map: {claude-bench: claude-sonnet-4-5}
  - name: stream-mock
    provider: openai
    base_url: http://127.0.0.1:$STREAM_MOCK_PORT/v1
    credentials: {api_key: $UPSTREAM_KEY}
    models: [stream-mini, hold-mini]
EOF
mkdir -p "$WORK/templates"

# --- start -------------------------------------------------------------------------------------
start() {  # name, cpu, command...
  local name=$1 cpu=$2; shift 2
  if [[ $PIN == 1 ]]; then set -- taskset -c "$cpu" "$@"; fi
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &   # taskset execs, so $! is the server itself
  PIDS+=($!)
  eval "PID_$name=$!"
}

# Waits until a chat completion POST answers 200 with the mock's body (twice, on one connection).
wait_ready() {  # name, pid, url
  local name=$1 pid=$2 url=$3 i
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/$name.err" >&2; die "$name exited during start-up"; }
    if curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        -d "$REQ_BODY" "$url" 2>/dev/null; then
      local out
      out=$(curl -sS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -w '\n%{http_code} %{num_connects}\n' \
            -d "$REQ_BODY" "$url" "$url" 2>&1) || die "$name: check request failed: $out"
      # Two requests over one connection: both 200 with the usage object, and only 1 connect.
      [[ $(grep -c '"total_tokens":31' <<<"$out") == 2 ]] || die "$name: unexpected response: $out"
      grep -q '^200 0$' <<<"$out" || die "$name: second request did not reuse the connection (body not consumed?): $out"
      log "$name ready ($url)"
      return 0
    fi
    sleep 0.2
  done
  die "$name not ready after 30 s"
}

start mock "$CPU_MOCK" "$NGINX" -p "$WORK" -c "$WORK/mock.conf"
wait_ready mock "$PID_mock" "http://127.0.0.1:$MOCK_PORT/v1/chat/completions"
start nginx "$CPU_PROXY" "$NGINX" -p "$WORK" -c "$WORK/proxy.conf"
wait_ready nginx "$PID_nginx" "http://127.0.0.1:$NGINX_PORT/v1/chat/completions"
start tollgate "$CPU_PROXY" "$TOLLGATE_BIN" serve --config "$WORK/tollgate.yaml"
wait_ready tollgate "$PID_tollgate" "http://127.0.0.1:$TOLLGATE_PORT/v1/chat/completions"

start streammock "$CPU_MOCK" python3 "$HERE/stream_mock.py" "$STREAM_MOCK_PORT" 64 20
for ((i = 0; i < 50; i++)); do curl -fs -o /dev/null -d '{}' "http://127.0.0.1:$STREAM_MOCK_PORT/" && break; sleep 0.1; done

# --- measure -----------------------------------------------------------------------------------
declare -A PORT=([direct]=$MOCK_PORT [nginx]=$NGINX_PORT [tollgate]=$TOLLGATE_PORT)
declare -A STREAM_PORT=([direct]=$STREAM_MOCK_PORT [nginx]=$STREAM_NGINX_PORT [tollgate]=$TOLLGATE_PORT)
declare -A PIDOF=([direct]=$PID_mock [nginx]=$PID_nginx [tollgate]=$PID_tollgate)
declare -A R   # R[scenario,target,conns,field]
FAILED=()

# CPU ticks (1/100 s): user+nice+system+irq+softirq+steal of the whole machine; of some processes; of reaped children (wrk).
machine_ticks() { awk 'NR == 1 { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
proc_ticks() { local p n=0; for p in "$@"; do n=$((n + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo $n; }
child_ticks() {  # `times` must run in this shell, not in a $(...) subshell
  times >"$WORK/times"
  awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 100 }' "$WORK/times"
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
NGINX_WORKER=$(pgrep -P "$PID_nginx" | head -1)
declare -A SERVERS=([direct]="$(pgrep -P "$PID_mock" | tr '\n' ' ')")
SERVERS[nginx]="${SERVERS[direct]} $(pgrep -P "$PID_nginx" | tr '\n' ' ')"
SERVERS[tollgate]="${SERVERS[direct]} $PID_tollgate"
# The process whose CPU time is "the proxy's" (per request, per stream): the mock's workers for
# direct, nginx's worker(s), Tollgate's process.
declare -A PROXY=([direct]="${SERVERS[direct]}" [nginx]="$(pgrep -P "$PID_nginx" | tr '\n' ' ')" [tollgate]=$PID_tollgate)
# CPU microseconds the target's proxy process spent per unit of work: (ticks × 10,000) / units.
cpu_us() { awk -v t="$1" -v n="$2" 'BEGIN { if (n > 0) printf "%.1f", t * 10000 / n; else printf "n/a" }'; }
# Memory of the proxies: nginx's worker, Tollgate's one process.
declare -A MEMPID=([nginx]=$NGINX_WORKER [tollgate]=$PID_tollgate)
RSS_IDLE=$(rss_kib "$PID_tollgate")
RSS_PEAK=$RSS_IDLE
sample_rss() {  # in the background while a tollgate run lasts: the largest RSS seen
  local peak=0 r
  while kill -0 "$PID_tollgate" 2>/dev/null; do r=$(rss_kib "$PID_tollgate"); ((r > peak)) && peak=$r && echo $peak >"$WORK/rss-peak"; sleep 0.25; done
}

measure() {  # scenario, target, conns
  local scenario=$1 target=$2 c=$3 url t=1 raw="$WORK/wrk-$1-$2-c$3.txt" kv path=/v1/chat/completions
  [[ $scenario == convert && $target != tollgate ]] && path=/v1/messages
  url="http://127.0.0.1:${PORT[$target]}$path"
  # One wrk thread suffices on one pinned CPU; unpinned, use 2 threads for c > 1.
  [[ $PIN == 0 && $c -gt 1 ]] && t=2
  log "$scenario $target c=$c: warm-up ${WARMUP}s, measure ${DURATION}s"
  local env=(BENCH_KEY=$KEY BENCH_DIR=$HERE BENCH_TARGET=$target)
  env "${env[@]}" $(pin_cmd "$CPU_CLIENT") wrk -t$t -c"$c" -d"${WARMUP}s" -s "$HERE/$scenario.lua" "$url" >"$WORK/wrk-$1-$2-c$3-warmup.txt"
  # "other" = CPU used by anything but wrk, the mock and the proxy during the run, in % of the machine.
  local m0 s0 w0 p0 start=${EPOCHREALTIME/./} sampler=
  child_ticks >"$WORK/w0"
  m0=$(machine_ticks) s0=$(proc_ticks ${SERVERS[$target]}) w0=$(<"$WORK/w0") p0=$(proc_ticks ${PROXY[$target]})
  if [[ $target == tollgate ]]; then sample_rss & sampler=$!; fi
  env "${env[@]}" $(pin_cmd "$CPU_CLIENT") wrk -t$t -c"$c" -d"${DURATION}s" -s "$HERE/$scenario.lua" "$url" >"$raw"
  [[ -n $sampler ]] && { kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true; }
  child_ticks >"$WORK/w1"
  R[$scenario,$target,$c,other]=$(( ( $(machine_ticks) - m0 - ($(proc_ticks ${SERVERS[$target]}) - s0) - ($(<"$WORK/w1") - w0) ) \
    * 1000000 / ( (${EPOCHREALTIME/./} - start) * $(nproc) ) ))
  local proxy_ticks=$(( $(proc_ticks ${PROXY[$target]}) - p0 ))
  for kv in $(grep '^RESULT ' "$raw" | cut -d' ' -f2-); do R[$scenario,$target,$c,${kv%%=*}]=${kv#*=}; done
  R[$scenario,$target,$c,cpu_us]=$(cpu_us "$proxy_ticks" "${R[$scenario,$target,$c,requests]:-0}")
  [[ -n ${R[$scenario,$target,$c,rps]:-} ]] || { cat "$raw" >&2; die "$scenario $target c=$c: no RESULT line from wrk"; }
  local errs=0 e
  for e in connect read write status timeout; do errs=$((errs + ${R[$scenario,$target,$c,err_$e]})); done
  R[$scenario,$target,$c,errors]=$errs
  if ((errs > 0)) || ! kill -0 "${PIDOF[$target]}" 2>/dev/null; then
    FAILED+=("$scenario $target c=$c")
    { echo "=== $scenario $target c=$c: ERRORS ($errs) or process gone; wrk output:"; cat "$raw"; } >&2
    kill -0 "${PIDOF[$target]}" 2>/dev/null || { tail -20 "$WORK/$target.err" >&2 || true; die "$target process died"; }
  fi
}
pin_cmd() { if [[ $PIN == 1 ]]; then echo "taskset -c $1"; fi; }

# A run during which other processes used the CPU is repeated (up to RETRIES times).
run_wrk_scenario() {  # scenario, conns...
  local scenario=$1 c target try; shift
  for c in "$@"; do
    for target in direct nginx tollgate; do
      for ((try = 0; ; try++)); do
        measure "$scenario" "$target" "$c"
        ((${R[$scenario,$target,$c,other]} >= 5 && ${R[$scenario,$target,$c,errors]} == 0 && try < RETRIES)) || break
        log "$scenario $target c=$c: other processes used ${R[$scenario,$target,$c,other]}% of the CPUs; repeating"
      done
    done
  done
}

# Streams: 64 events 20 ms apart from the stream mock; c=1 and c=32 connections.
run_stream_scenario() {
  local target c kv raw p0
  for c in 1 32; do
    for target in direct nginx tollgate; do
      raw="$WORK/stream-$target-c$c.txt"
      log "stream $target c=$c: $STREAM_ROUNDS streams per connection"
      BENCH_KEY=$KEY $(pin_cmd "$CPU_CLIENT") python3 "$HERE/stream_client.py" stream "http://127.0.0.1:${STREAM_PORT[$target]}" 1 1 >/dev/null ||
        die "stream $target: warm-up failed"
      p0=$(proc_ticks ${PROXY[$target]})
      BENCH_KEY=$KEY $(pin_cmd "$CPU_CLIENT") python3 "$HERE/stream_client.py" stream "http://127.0.0.1:${STREAM_PORT[$target]}" "$c" "$STREAM_ROUNDS" >"$raw" ||
        { cat "$raw" >&2; die "stream $target c=$c failed"; }
      for kv in $(grep '^RESULT ' "$raw" | cut -d' ' -f2-); do R[stream,$target,$c,${kv%%=*}]=${kv#*=}; done
      R[stream,$target,$c,cpu_us]=$(cpu_us $(( $(proc_ticks ${PROXY[$target]}) - p0 )) "${R[stream,$target,$c,streams]:-0}")
      ((${R[stream,$target,$c,errors]} == 0)) || FAILED+=("stream $target c=$c")
    done
  done
}

# Open idle streams: OPEN_STREAMS held open at once through the proxy; its memory per stream.
run_open_scenario() {
  local target kv raw
  for target in nginx tollgate; do
    raw="$WORK/open-$target.txt"
    log "open $target: $OPEN_STREAMS idle streams"
    BENCH_KEY=$KEY $(pin_cmd "$CPU_CLIENT") python3 "$HERE/stream_client.py" open "http://127.0.0.1:${STREAM_PORT[$target]}" \
      "$OPEN_STREAMS" "${MEMPID[$target]}" >"$raw" 2>&1 || { cat "$raw" >&2; FAILED+=("open $target"); continue; }
    for kv in $(grep '^RESULT ' "$raw" | cut -d' ' -f2-); do R[open,$target,${kv%%=*}]=${kv#*=}; done
  done
}

for scenario in $SCENARIOS; do
  case $scenario in
    chat | convert) run_wrk_scenario "$scenario" $CONNS ;;
    body1m) run_wrk_scenario body1m 1 8 ;;
    stream) run_stream_scenario ;;
    open) run_open_scenario ;;
    *) die "unknown scenario $scenario (chat body1m convert stream open)" ;;
  esac
done
sleep 1
RSS_AFTER=$(rss_kib "$PID_tollgate")
[[ -f $WORK/rss-peak ]] && RSS_PEAK=$(<"$WORK/rss-peak")

# --- report ------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
echo
echo "Tollgate proxy benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
echo "  nginx $("$NGINX" -v 2>&1 | cut -d/ -f2), wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2), tollgate $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$( [[ -n $(git -C "$ROOT" status --porcelain -- Sources Plugins Package.swift 2>/dev/null) ]] && echo ' (modified)')"
if [[ $PIN == 1 ]]; then echo "  pinning: clients on CPU $CPU_CLIENT, mocks on CPU $CPU_MOCK, proxy on CPU $CPU_PROXY"; else echo "  pinning: none"; fi
echo "  wrk: ${DURATION}s per run after ${WARMUP}s warm-up; latencies in microseconds"
BUSY=0
for scenario in $SCENARIOS; do
  case $scenario in
    chat | convert | body1m)
      conns=$CONNS; [[ $scenario == body1m ]] && conns="1 8"
      echo
      case $scenario in
        chat) echo "== chat: non-streaming chat completion (OpenAI -> OpenAI passthrough)" ;;
        body1m) echo "== body1m: chat completion with a 1 MB request body" ;;
        convert) echo "== convert: OpenAI client -> Anthropic upstream (claude plugin); direct and nginx send the Anthropic body" ;;
      esac
      printf '%-9s %6s %9s %9s %10s %7s %8s %9s\n' target conns p50_us p99_us req/s errors other% cpu_us/req
      for c in $conns; do
        for target in direct nginx tollgate; do
          printf '%-9s %6s %9s %9s %10s %7s %8s %9s\n' "$target" "$c" "${R[$scenario,$target,$c,p50_us]}" "${R[$scenario,$target,$c,p99_us]}" \
            "${R[$scenario,$target,$c,rps]}" "${R[$scenario,$target,$c,errors]}" "${R[$scenario,$target,$c,other]}" "${R[$scenario,$target,$c,cpu_us]}"
          ((${R[$scenario,$target,$c,other]} < 5)) || BUSY=1
        done
      done
      lo=$(set -- $conns; echo "$1"); hi=$(set -- $conns; echo "${!#}")
      d=${R[$scenario,direct,$lo,p50_us]} n=${R[$scenario,nginx,$lo,p50_us]} g=${R[$scenario,tollgate,$lo,p50_us]}
      d99=${R[$scenario,direct,$lo,p99_us]} g99=${R[$scenario,tollgate,$lo,p99_us]}
      echo "Added latency over direct, c=$lo: p50 nginx +$((n - d)) us, tollgate +$((g - d)) us," \
        "tollgate/nginx = $(ratio $((g - d)) $((n - d))); p99 tollgate +$((g99 - d99)) us"
      for c in $conns; do
        echo "CPU per request, c=$c: nginx ${R[$scenario,nginx,$c,cpu_us]} us, tollgate ${R[$scenario,tollgate,$c,cpu_us]} us," \
          "tollgate/nginx = $(ratio "${R[$scenario,tollgate,$c,cpu_us]}" "${R[$scenario,nginx,$c,cpu_us]}")"
      done
      echo "Throughput, c=$hi: tollgate/nginx = $(ratio "${R[$scenario,tollgate,$hi,rps]}" "${R[$scenario,nginx,$hi,rps]}")," \
        "tollgate/direct = $(ratio "${R[$scenario,tollgate,$hi,rps]}" "${R[$scenario,direct,$hi,rps]}")"
      ;;
    stream)
      echo
      echo "== stream: 64 events 20 ms apart; ttfb = request written -> first event; delay = event written by the mock -> read by the client"
      printf '%-9s %6s %8s %9s %9s %9s %9s %9s %9s %7s\n' target conns streams ttfb_p50 ttfb_p99 delay_p50 delay_p99 gap_p50 gap_p99 errors
      for c in 1 32; do
        for target in direct nginx tollgate; do
          printf '%-9s %6s %8s %9s %9s %9s %9s %9s %9s %7s\n' "$target" "$c" "${R[stream,$target,$c,streams]}" \
            "${R[stream,$target,$c,ttfb_p50_us]}" "${R[stream,$target,$c,ttfb_p99_us]}" "${R[stream,$target,$c,delay_p50_us]}" \
            "${R[stream,$target,$c,delay_p99_us]}" "${R[stream,$target,$c,gap_p50_us]}" "${R[stream,$target,$c,gap_p99_us]}" "${R[stream,$target,$c,errors]}"
        done
        for target in nginx tollgate; do
          echo "  c=$c $target: added ttfb p50 +$((${R[stream,$target,$c,ttfb_p50_us]} - ${R[stream,direct,$c,ttfb_p50_us]})) us," \
            "added per-event delay p50 +$((${R[stream,$target,$c,delay_p50_us]} - ${R[stream,direct,$c,delay_p50_us]})) us," \
            "p99 +$((${R[stream,$target,$c,delay_p99_us]} - ${R[stream,direct,$c,delay_p99_us]})) us," \
            "CPU ${R[stream,$target,$c,cpu_us]} us per stream"
        done
      done
      ;;
    open)
      echo
      echo "== open: $OPEN_STREAMS idle streams held open at once (one event each, then silence)"
      printf '%-9s %6s %14s %12s %14s %14s\n' target open rss_before_kib rss_open_kib rss_after_kib bytes/stream
      for target in nginx tollgate; do
        printf '%-9s %6s %14s %12s %14s %14s\n' "$target" "${R[open,$target,open]:-}" "${R[open,$target,rss_before_kib]:-}" \
          "${R[open,$target,rss_open_kib]:-}" "${R[open,$target,rss_after_kib]:-}" "${R[open,$target,per_stream_bytes]:-}"
      done
      ;;
  esac
done
echo
echo "Tollgate RSS: idle $RSS_IDLE KiB, peak under load $RSS_PEAK KiB, after $RSS_AFTER KiB"

((BUSY == 0)) || echo "WARNING: other processes used >= 5% of the machine during some runs (other%); numbers are unreliable."

if ((${#FAILED[@]})); then
  echo
  echo "FAILED: errors in: ${FAILED[*]} — raw output above and in $WORK"
  KEEP=1
  exit 1
fi
