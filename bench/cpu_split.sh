#!/bin/bash
# Where each proxy's CPU time goes: the build in DIR and then a plain nginx reverse proxy over the
# same mock, each on CPU 1 with wrk and the mock on CPU 0. For each: requests/s, the proxy
# process's user and system time a request (from /proc/PID/stat), and each CPU's user, system,
# softirq and idle shares over the run (from /proc/stat).
#
#   bench/cpu_split.sh DIR [chat|convert] [connections=32] [seconds=8]
#
# The process's system time includes the softirq work its own sends run on CPU 1 (on loopback a
# send delivers the packet, and wakes its reader, in the sender's context). That part grows with
# the idle share of CPU 0: a reader found asleep is woken by an interprocessor interrupt, which
# costs the sender far more than waking a busy one. So a slower proxy pays more kernel time per
# request for the same system calls, and saving user time saves some kernel time too.
DIR=$1; WHAT=${2:-chat}; C=${3:-32}; SECS=${4:-8}
source "$(dirname "$0")/lib/loopback.sh"

# split NAME PID PORT PATH: one measured run after a warm-up.
split() {
  local name=$1 pid=$2 port=$3 path=$4 n
  load "$port" "$path" 2 "$W/warm.txt" > /dev/null
  read -r u0 s0 < <(awk '{ print $14, $15 }' "/proc/$pid/stat"); grep '^cpu[01] ' /proc/stat > "$W/stat0"
  n=$(load "$port" "$path" "$SECS" "$W/wrk.txt")
  read -r u1 s1 < <(awk '{ print $14, $15 }' "/proc/$pid/stat"); grep '^cpu[01] ' /proc/stat > "$W/stat1"
  awk -v name="$name" -v n="$n" -v secs="$SECS" -v u=$((u1 - u0)) -v s=$((s1 - s0)) 'BEGIN {
    printf "  %-9s %7.0f requests/s  process: user %5.1f + system %5.1f = %5.1f µs a request\n", name, n / secs, u * 1e4 / n, s * 1e4 / n, (u + s) * 1e4 / n }'
  # /proc/stat: user nice system idle iowait irq softirq steal
  paste "$W/stat0" "$W/stat1" | awk '{ t = 0; for (i = 2; i <= 9; i++) { d[i] = $(i + 11) - $i; t += d[i] }
    printf "            %s: user %3.0f %%  system %3.0f %%  softirq %3.0f %%  idle %3.0f %%\n", $1, 100 * d[2] / t, 100 * d[4] / t, 100 * d[8] / t, 100 * d[5] / t }'
}

echo "CPU split, $WHAT, c=$C, ${SECS}s a run (cpu0: wrk and the mock; cpu1: the proxy)"
start_gateway "$DIR"
split tollgate $GW_PID $GW_PORT $PATH_
kill $GW_PID; wait $GW_PID 2>/dev/null || true
start_nginx_proxy
split nginx $NGINX_PID $NGINX_PORT $NGINX_PATH
