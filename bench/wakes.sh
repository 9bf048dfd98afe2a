#!/bin/bash
# How often the proxy's sends wake the upstream it talks to: the voluntary context switches (a
# sleep, then a wake-up) of the mock upstream per request, for a gateway build and for
# a plain nginx reverse proxy over the same nginx mock. On loopback a send that finds its reader
# asleep wakes it on the sender's CPU time (an interprocessor interrupt, dear in a VM), so fewer
# wakes a request is less system time for the proxy. Counts, not speed: steady on a busy machine.
#
#   bench/wakes.sh DIR [chat|convert] [connections=32] [seconds=6]
DIR=$1; WHAT=${2:-chat}; C=${3:-32}; SECS=${4:-6}
source "$(dirname "$0")/lib/loopback.sh"

switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ { n += $2 } END { print n + 0 }'; }
# The mock's worker: the nginx process whose parent runs the mock's config.
mock_worker() {
  local pid
  for pid in $(pgrep -f "nginx: worker"); do
    grep -qF "$W/mock.conf" /proc/"$(awk '{ print $4 }' /proc/"$pid"/stat)"/cmdline 2>/dev/null && { echo "$pid"; return; }
  done
}

# measure NAME PORT PATH: a warm-up, then the mock's wakes over the counted run.
measure() {
  local name=$1 port=$2 path=$3 mock m0 n
  load "$port" "$path" 2 "$W/warm.txt" > /dev/null
  mock=$(mock_worker); m0=$(switches "$mock")
  n=$(load "$port" "$path" "$SECS" "$W/wrk.txt")
  awk -v name="$name" -v n="$n" -v m=$(($(switches "$mock") - m0)) 'BEGIN {
    printf "  %-9s %8d requests  mock woken %.3f a request\n", name, n, m / n }'
}

echo "Wake-ups of the mock upstream a request, $WHAT, c=$C, ${SECS}s a run"
start_gateway "$DIR"
measure tollgate $GW_PORT $PATH_
kill $GW_PID; wait $GW_PID 2>/dev/null || true
start_nginx_proxy
measure nginx $NGINX_PORT $NGINX_PATH
