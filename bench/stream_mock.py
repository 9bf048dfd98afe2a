#!/usr/bin/env python3
"""Streaming mock upstream for bench/run.sh (asyncio, raw HTTP/1.1 keep-alive, chunked SSE).

POST any path with a JSON body. `"stream": true` answers EVENTS chat.completion.chunk events
GAP_MS apart, each stamped with the monotonic time it was written (`"t": ns`), so a client on
the same machine can tell how long each event took to reach it; then a usage chunk when asked
(`stream_options.include_usage`) and `[DONE]`. Model `hold-*`: one event, then the stream is held
open until the client goes away (for counting the memory of idle open streams). Non-streaming
requests get a small chat.completion.

Usage: stream_mock.py PORT [EVENTS=64] [GAP_MS=20]
"""

import asyncio
import json
import sys
import time

PORT = int(sys.argv[1])
EVENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 64
GAP = (int(sys.argv[3]) if len(sys.argv) > 3 else 20) / 1000
USAGE = {"prompt_tokens": 12, "completion_tokens": EVENTS, "total_tokens": 12 + EVENTS}
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def chunk(model, content=None, finish=None, usage=None):
    body = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1717000000, "model": model,
            "choices": [] if usage else [{"index": 0, "delta": {"content": content} if content else {}, "finish_reason": finish}],
            "t": time.monotonic_ns()}
    if usage:
        body["usage"] = usage
    data = b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            request = json.loads(await reader.readexactly(length) or b"{}")
            model = request.get("model", "m")
            if not request.get("stream"):
                body = json.dumps({"id": "chatcmpl-bench", "object": "chat.completion", "created": 1717000000, "model": model,
                                   "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
                                   "usage": USAGE}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
                continue
            writer.write(HEAD + chunk(model, "w"))
            await writer.drain()
            if model.startswith("hold"):
                await reader.read()
                return
            for _ in range(EVENTS - 1):
                await asyncio.sleep(GAP)
                writer.write(chunk(model, "w"))
                await writer.drain()
            tail = chunk(model, finish="stop")
            if (request.get("stream_options") or {}).get("include_usage"):
                tail += chunk(model, usage=USAGE)
            data = b"data: [DONE]\n\n"
            writer.write(tail + b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", PORT, backlog=4096)
    async with server:
        await server.serve_forever()


asyncio.run(main())
