#!/usr/bin/env python3
"""Streaming load for bench/run.sh (asyncio, raw HTTP/1.1 keep-alive; no HTTP library in the way).

  stream_client.py stream URL CONNS ROUNDS
      CONNS connections, each running ROUNDS streams one after another. Measures, per stream, the
      time to first byte (request written -> first event read) and, per event, its delay (read
      time minus the `t` stamp the mock wrote it with, both CLOCK_MONOTONIC) and the gap since
      the previous event. Prints one RESULT line (microseconds).
  stream_client.py open URL COUNT PID
      Opens COUNT streams of model hold-mini (one event, then held open), then reads PID's
      resident memory before, with all open, and after they are closed. Prints one RESULT line.
Key: $BENCH_KEY.
"""

import asyncio
import json
import os
import sys
import time
from urllib.parse import urlsplit

KEY = os.environ.get("BENCH_KEY", "tg-bench-key-0001")


def request(host, model):
    body = json.dumps({"model": model, "stream": True, "messages": [{"role": "user", "content": "Stream a story."}]}).encode()
    return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def read_stream(reader, on_data):
    """Reads one chunked response; calls on_data(bytes, read_ns) per chunk; returns the status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"chunked" not in head.lower():
        length = next(int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:"))
        on_data(await reader.readexactly(length), time.monotonic_ns())
        return status
    while True:
        size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return status
        data = await reader.readexactly(size + 2)
        on_data(data[:-2], time.monotonic_ns())


def pct(values, p):
    if not values:
        return 0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


async def stream_mode(url, conns, rounds):
    parts = urlsplit(url)
    ttfb, delay, gap, errors, events_seen = [], [], [], 0, 0

    async def worker():
        nonlocal errors, events_seen
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        for _ in range(rounds):
            state = {"first": None, "last": None, "buffer": b""}
            sent = time.monotonic_ns()
            writer.write(request(parts.hostname, "stream-mini"))

            def on_data(data, now):
                nonlocal events_seen
                if state["first"] is None:
                    state["first"] = now
                    ttfb.append((now - sent) / 1000)
                state["buffer"] += data
                while b"\n\n" in state["buffer"]:
                    event, _, state["buffer"] = state["buffer"].partition(b"\n\n")
                    if not event.startswith(b"data: {"):
                        continue
                    stamp = json.loads(event[6:]).get("t")
                    if stamp is None:
                        continue
                    events_seen += 1
                    delay.append((now - stamp) / 1000)
                    if state["last"] is not None:
                        gap.append((now - state["last"]) / 1000)
                    state["last"] = now

            if await read_stream(reader, on_data) != 200:
                errors += 1
        writer.close()

    await asyncio.gather(*(worker() for _ in range(conns)))
    print(f"RESULT streams={conns * rounds} events={events_seen} errors={errors} "
          f"ttfb_p50_us={pct(ttfb, 50):.0f} ttfb_p99_us={pct(ttfb, 99):.0f} "
          f"delay_p50_us={pct(delay, 50):.0f} delay_p99_us={pct(delay, 99):.0f} "
          f"gap_p50_us={pct(gap, 50):.0f} gap_p99_us={pct(gap, 99):.0f}")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


async def open_mode(url, count, pid):
    parts = urlsplit(url)
    before = rss_kib(pid)
    opened, writers = 0, []

    async def one():
        nonlocal opened
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        writers.append(writer)
        writer.write(request(parts.hostname, "hold-mini"))
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n")[0] + b" ":
            raise RuntimeError(head[:200])
        await reader.readuntil(b"\n\n")  # the first event
        opened += 1

    # Opened in batches so the listen backlog and the mock keep up.
    for start in range(0, count, 100):
        await asyncio.gather(*(one() for _ in range(min(100, count - start))))
    await asyncio.sleep(1.0)
    with_open = rss_kib(pid)
    for writer in writers:
        writer.close()
    await asyncio.sleep(1.5)
    after = rss_kib(pid)
    per_stream = (with_open - before) * 1024 / max(opened, 1)
    print(f"RESULT open={opened} rss_before_kib={before} rss_open_kib={with_open} rss_after_kib={after} "
          f"per_stream_bytes={per_stream:.0f}")


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "stream":
        asyncio.run(stream_mode(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    else:
        asyncio.run(open_mode(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
