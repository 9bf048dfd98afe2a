#!/usr/bin/env bash
# Tollgate proxy-overhead benchmark: wrk -> {mock | nginx -> mock | tollgate -> mock}.
# See bench/README.md. Settings (environment):
#   DURATION=10  seconds per measured run      WARMUP=2  seconds of warm-up before each run
#   CONNS="1 32" wrk connection counts         PIN=1     pin wrk / servers to separate CPUs (0 = no pinning)
#   RETRIES=3    repeats of a run disturbed by other processes (other% >= 5)
#   CPU_CLIENT=0 CPU for wrk   CPU_MOCK=0 CPU for the mock upstream   CPU_PROXY=1 CPU for the proxy under test
#   TOLLGATE_BIN=path  use this binary instead of building .build/release/tollgate
#   KEEP=1       keep the temp dir (configs, logs, raw wrk output)
set -euo pipefail

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
  log "building tollgate (release; output in /tmp/tollgate-bench-build.log)"
  (cd "$ROOT" && swift build -c release --product tollgate >/tmp/tollgate-bench-build.log 2>&1) ||
    { tail -30 /tmp/tollgate-bench-build.log >&2; die "swift build failed"; }
  TOLLGATE_BIN=$ROOT/.build/release/tollgate
fi

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
  }" >"$WORK/proxy.conf"

cat >"$WORK/tollgate.yaml" <<EOF
listen: 127.0.0.1:$TOLLGATE_PORT
data_dir: $WORK/data
plugins: {dir: $WORK/plugins}
keys:
  - {name: bench, key: $KEY, models: [gpt-4o-mini]}
channels:
  - name: mock
    provider: openai
    base_url: http://127.0.0.1:$MOCK_PORT/v1
    credentials: {api_key: $UPSTREAM_KEY}
    models: [gpt-4o-mini]
EOF

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

# --- measure -----------------------------------------------------------------------------------
declare -A URL=([direct]=$MOCK_PORT [nginx]=$NGINX_PORT [tollgate]=$TOLLGATE_PORT)
declare -A PIDOF=([direct]=$PID_mock [nginx]=$PID_nginx [tollgate]=$PID_tollgate)
declare -A R   # R[target,conns,field]
FAILED=()

# CPU ticks (1/100 s): user+nice+system+irq+softirq+steal of the whole machine; of some processes; of reaped children (wrk).
machine_ticks() { awk 'NR == 1 { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
proc_ticks() { local p n=0; for p in "$@"; do n=$((n + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done; echo $n; }
child_ticks() {  # `times` must run in this shell, not in a $(...) subshell
  times >"$WORK/times"
  awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d", (u[1] * 60 + u[2] + s[1] * 60 + s[2]) * 100 }' "$WORK/times"
}
declare -A SERVERS=([direct]="$(pgrep -P "$PID_mock" | tr '\n' ' ')")
SERVERS[nginx]="${SERVERS[direct]} $(pgrep -P "$PID_nginx" | tr '\n' ' ')"
SERVERS[tollgate]="${SERVERS[direct]} $PID_tollgate"

measure() {  # target, conns
  local target=$1 c=$2 url="http://127.0.0.1:${URL[$1]}/" t=1 raw="$WORK/wrk-$1-c$2.txt" kv
  # One wrk thread suffices on one pinned CPU; unpinned, use 2 threads for c > 1.
  [[ $PIN == 0 && $c -gt 1 ]] && t=2
  log "$target c=$c: warm-up ${WARMUP}s, measure ${DURATION}s"
  BENCH_KEY=$KEY pin "$CPU_CLIENT" wrk -t$t -c"$c" -d"${WARMUP}s" -s "$HERE/chat.lua" "$url" >"$WORK/wrk-$1-c$2-warmup.txt"
  # "other" = CPU used by anything but wrk, the mock and the proxy during the run, in % of the machine.
  local m0 s0 w0 start=${EPOCHREALTIME/./}
  child_ticks >"$WORK/w0"
  m0=$(machine_ticks) s0=$(proc_ticks ${SERVERS[$target]}) w0=$(<"$WORK/w0")
  BENCH_KEY=$KEY pin "$CPU_CLIENT" wrk -t$t -c"$c" -d"${DURATION}s" -s "$HERE/chat.lua" "$url" >"$raw"
  child_ticks >"$WORK/w1"
  R[$target,$c,other]=$(( ( $(machine_ticks) - m0 - ($(proc_ticks ${SERVERS[$target]}) - s0) - ($(<"$WORK/w1") - w0) ) \
    * 1000000 / ( (${EPOCHREALTIME/./} - start) * $(nproc) ) ))
  for kv in $(grep '^RESULT ' "$raw" | cut -d' ' -f2-); do R[$target,$c,${kv%%=*}]=${kv#*=}; done
  [[ -n ${R[$target,$c,rps]:-} ]] || { cat "$raw" >&2; die "$target c=$c: no RESULT line from wrk"; }
  local errs=0 e
  for e in connect read write status timeout; do errs=$((errs + ${R[$target,$c,err_$e]})); done
  R[$target,$c,errors]=$errs
  if ((errs > 0)) || ! kill -0 "${PIDOF[$target]}" 2>/dev/null; then
    FAILED+=("$target c=$c")
    { echo "=== $target c=$c: ERRORS ($errs) or process gone; wrk output:"; cat "$raw"; } >&2
    kill -0 "${PIDOF[$target]}" 2>/dev/null || { tail -20 "$WORK/$target.err" >&2 || true; die "$target process died"; }
  fi
}

# A run during which other processes used the CPU is repeated (up to RETRIES times).
for c in $CONNS; do
  for target in direct nginx tollgate; do
    for ((try = 0; ; try++)); do
      measure "$target" "$c"
      ((${R[$target,$c,other]} >= 5 && ${R[$target,$c,errors]} == 0 && try < RETRIES)) || break
      log "$target c=$c: other processes used ${R[$target,$c,other]}% of the CPUs; repeating"
    done
  done
done

# --- report ------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
echo
echo "Tollgate proxy benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
echo "  nginx $("$NGINX" -v 2>&1 | cut -d/ -f2), wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2), tollgate $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$( [[ -n $(git -C "$ROOT" status --porcelain -- Sources Package.swift 2>/dev/null) ]] && echo ' (modified)')"
if [[ $PIN == 1 ]]; then echo "  pinning: wrk on CPU $CPU_CLIENT, mock on CPU $CPU_MOCK, proxy on CPU $CPU_PROXY"; else echo "  pinning: none"; fi
echo "  ${DURATION}s per run after ${WARMUP}s warm-up; latencies in microseconds"
echo
printf '%-9s %6s %9s %9s %10s %7s %8s\n' target conns p50_us p99_us req/s errors other%
BUSY=0
for c in $CONNS; do
  for target in direct nginx tollgate; do
    printf '%-9s %6s %9s %9s %10s %7s %8s\n' "$target" "$c" "${R[$target,$c,p50_us]}" "${R[$target,$c,p99_us]}" \
      "${R[$target,$c,rps]}" "${R[$target,$c,errors]}" "${R[$target,$c,other]}"
    ((${R[$target,$c,other]} < 5)) || BUSY=1
  done
done
echo
lo=$(set -- $CONNS; echo "$1"); hi=$(set -- $CONNS; echo "${!#}")
d=${R[direct,$lo,p50_us]} n=${R[nginx,$lo,p50_us]} g=${R[tollgate,$lo,p50_us]}
echo "Added latency over direct, p50, c=$lo: nginx +$((n - d)) us, tollgate +$((g - d)) us," \
  "tollgate/nginx = $(ratio $((g - d)) $((n - d)))"
echo "Throughput, c=$hi: tollgate/nginx = $(ratio "${R[tollgate,$hi,rps]}" "${R[nginx,$hi,rps]}")," \
  "tollgate/direct = $(ratio "${R[tollgate,$hi,rps]}" "${R[direct,$hi,rps]}")"

((BUSY == 0)) || echo "WARNING: other processes used >= 5% of the machine during some runs (other%); numbers are unreliable."

if ((${#FAILED[@]})); then
  echo
  echo "FAILED: errors (socket errors or HTTP >= 400) in: ${FAILED[*]} — raw wrk output above and in $WORK"
  exit 1
fi
