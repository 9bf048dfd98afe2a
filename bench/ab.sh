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
A=$1; B=$2; WHAT=${3:-chat}; C=${4:-32}; SECS=${5:-8}; ROUNDS=${6:-2}
source "$(dirname "$0")/lib/loopback.sh"

run() {  # dir → "µs per request"
  start_gateway "$1"
  load $GW_PORT $PATH_ 2 "$W/warm.txt" > /dev/null   # warm-up
  local t0 t1 n
  t0=$(awk '{print $14 + $15}' "/proc/$GW_PID/stat")
  n=$(load $GW_PORT $PATH_ "$SECS" "$W/wrk.txt")
  t1=$(awk '{print $14 + $15}' "/proc/$GW_PID/stat")
  kill $GW_PID; wait $GW_PID 2>/dev/null || true
  awk -v t=$((t1 - t0)) -v n="$n" 'BEGIN { printf "%.1f", t * 10000 / n }'
}
echo "CPU µs per request, $WHAT, c=$C, ${SECS}s a run"
for round in $(seq "$ROUNDS"); do
  echo "round $round: A $(run "$A")  B $(run "$B")"
done
