#!/bin/bash
# Instructions per request (valgrind --tool=callgrind) of a gateway build and of a plain nginx
# reverse proxy over the same nginx mock. Unlike CPU time, the counts repeat run to run however
# loaded the machine is, so the ratio between the two can be read on a shared machine.
#
#   bench/instructions.sh DIR [chat|convert] [connections=32] [seconds=20]
#   PROFILES=dir                 keeps each process's counts there, for callgrind_annotate
#   VALGRIND=/path/to/valgrind   valgrind 3.20 or later (Debian 12's 3.19 cannot read the DWARF 5
#                                Swift 6.3 writes; trixie's package unpacks anywhere: `apt-get
#                                download valgrind` with a trixie source, then `dpkg -x`)
#
# DIR holds a release `tollgate` with libtollgate-billing.so and libtollgate-claude.so beside it.
# Counting starts after a warm-up (callgrind_control -z) and is read after the measured run
# (callgrind_control -d): all of each process's threads, user space only (the kernel's share,
# about a quarter of the gateway's CPU time and more of nginx's, is not counted).
DIR=$1; WHAT=${2:-chat}; C=${3:-32}; SECS=${4:-20}
VALGRIND=$(command -v "${VALGRIND:-valgrind}") || { echo "instructions.sh needs valgrind (VALGRIND=...)" >&2; exit 1; }
# An unpacked valgrind finds its tools beside it, not in /usr/libexec.
[[ -z ${VALGRIND_LIB:-} && -d $(dirname "$VALGRIND")/../libexec/valgrind ]] && export VALGRIND_LIB=$(cd "$(dirname "$VALGRIND")/../libexec/valgrind" && pwd)
CONTROL=${CALLGRIND_CONTROL:-$(dirname "$VALGRIND")/callgrind_control}
[[ -x $CONTROL ]] || { echo "no callgrind_control beside $VALGRIND" >&2; exit 1; }
[[ $("$VALGRIND" --version) =~ valgrind-3\.(1[0-9])\. ]] && { echo "valgrind 3.20 or later is needed (see the header of $0)" >&2; exit 1; }
source "$(dirname "$0")/lib/loopback.sh"

# libdispatch parks the gateway's main thread in sigsuspend() with a mask in its own static data,
# which valgrind faults reading (an internal error, not the program's): hand it a copy on the stack.
cat > "$W/sigsuspend.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
int sigsuspend(const sigset_t *mask) { sigset_t copy = *mask; return syscall(SYS_rt_sigsuspend, &copy, 8); }
C
gcc -O2 -shared -fPIC -o "$W/sigsuspend.so" "$W/sigsuspend.c"
CALLGRIND="$VALGRIND --tool=callgrind --callgrind-out-file=$W/%p.callgrind"


# count NAME PID PORT PATH: instructions per request over a measured run after a warm-up.
count() {
  local name=$1 pid=$2 port=$3 path=$4 n total
  load "$port" "$path" 3 "$W/warm-$name.txt" > /dev/null
  "$CONTROL" -z "$pid" > /dev/null
  n=$(load "$port" "$path" "$SECS" "$W/wrk-$name.txt")
  "$CONTROL" -d "$pid" > /dev/null
  total=$(awk '/^totals:/ { print $2 }' "$W/$pid.callgrind".*)
  awk -v t="$total" -v n="$n" -v name="$name" 'BEGIN { printf "  %-9s %8d requests  %9.0f instructions a request\n", name, n, t / n }'
  echo "$total $n" > "$W/$name.count"
  if [[ -n ${PROFILES:-} ]]; then mkdir -p "$PROFILES"; cp "$W/$pid.callgrind".* "$PROFILES/$name.callgrind"; fi
}

echo "instructions per request (callgrind), $WHAT, c=$C, ${SECS}s a run"
GW_WRAP="env LD_PRELOAD=$W/sigsuspend.so $CALLGRIND" GW_WAIT=1200 start_gateway "$DIR"
count tollgate $GW_PID $GW_PORT $PATH_
kill $GW_PID; wait $GW_PID 2>/dev/null || true
NGINX_WRAP=$CALLGRIND start_nginx_proxy
count nginx $NGINX_PID $NGINX_PORT $NGINX_PATH
read -r tg_total tg_n < "$W/tollgate.count"; read -r ng_total ng_n < "$W/nginx.count"
awk -v a="$tg_total" -v an="$tg_n" -v b="$ng_total" -v bn="$ng_n" 'BEGIN { printf "  tollgate/nginx = %.2f\n", (a / an) / (b / bn) }'
