#!/bin/bash
# Counts per request that do not depend on the machine's speed, for a gateway build and for a
# plain nginx reverse proxy over the same nginx mock: system calls (strace -c), malloc calls
# (a perf uprobe on libc's malloc), or a perf profile to read with `perf report`. On a shared
# machine whose speed drifts, these show what a change removed when CPU time per request cannot.
# `profile` also prints the claude and billing plugins' busiest functions (bench/plugin_frames.py).
#
#   bench/counts.sh DIR [syscalls|mallocs|profile] [chat|convert] [connections=32] [seconds=4]
#
# DIR holds a release `tollgate` with libtollgate-billing.so and libtollgate-claude.so beside
# it. `profile` keeps its perf.data files and prints where. Needs strace or perf (linux-perf).
DIR=$1; MODE=${2:-syscalls}; WHAT=${3:-chat}; C=${4:-32}; SECS=${5:-4}
source "$(dirname "$0")/lib/loopback.sh"
case $MODE in
  syscalls) command -v strace >/dev/null || { echo "counts.sh syscalls needs strace" >&2; exit 1; } ;;
  mallocs|profile) command -v perf >/dev/null || { echo "counts.sh $MODE needs perf (apt-get install linux-perf)" >&2; exit 1; }
    [[ $MODE == profile ]] || perf probe -l 2>/dev/null | grep -q "probe_libc:malloc" \
      || perf probe -q -x "$(ldd "$(command -v nginx)" | awk '/libc.so/ { print $3 }')" malloc ;;
  *) echo "mode: syscalls, mallocs or profile" >&2; exit 1 ;;
esac
start_nginx_proxy
start_gateway "$DIR"
OUT=$(mktemp -d)

# measure NAME PID PORT PATH: a warm-up, then the counted run.
measure() {
  local name=$1 pid=$2 port=$3 path=$4 probe n
  load "$port" "$path" 2 "$W/warm.txt" > /dev/null
  case $MODE in
    syscalls) strace -c -f -p "$pid" -o "$OUT/$name.txt" 2>/dev/null & probe=$! ;;
    mallocs) perf stat -e probe_libc:malloc -p "$pid" -o "$OUT/$name.txt" 2>/dev/null & probe=$! ;;
    profile) perf record -F 4999 -g -p "$pid" -o "$OUT/$name.data" 2>/dev/null & probe=$! ;;
  esac
  sleep 0.5
  n=$(load "$port" "$path" "$SECS" "$W/wrk-$name.txt")
  kill -INT $probe; wait $probe 2>/dev/null || true
  echo "== $name: $n requests"
  case $MODE in
    syscalls) awk -v n="$n" 'NR > 2 && $4 ~ /^[0-9]+$/ { printf "  %-16s %7.3f\n", $NF, $4 / n }' "$OUT/$name.txt" | sort -k2 -nr | head -12 ;;
    mallocs) awk -v n="$n" '/probe_libc:malloc/ { gsub(",", "", $1); printf "  malloc calls per request: %.1f\n", $1 / n }' "$OUT/$name.txt" ;;
    profile) echo "  perf report -i $OUT/$name.data"
      # perf cannot name plugin frames (the loader maps deleted copies): look them up by offset.
      if [[ $name == tollgate ]]; then for lib in claude billing; do
        python3 "$(dirname "$0")/plugin_frames.py" "$OUT/$name.data" "$DIR/libtollgate-$lib.so" 8 | sed 's/^/  /' || true
      done; fi ;;
  esac
}
echo "$MODE per request, $WHAT, c=$C, ${SECS}s a run (strace and perf slow the process: compare counts, not speed)"
measure tollgate $GW_PID $GW_PORT $PATH_
measure nginx $NGINX_PID $NGINX_PORT $NGINX_PATH
[[ $MODE == profile ]] || rm -rf "$OUT"
