"""A misbehaving OpenAI-compatible upstream for the fault and hostile-input suites.

Raw asyncio sockets (not http.server) so it can do what a broken server does: hang up before
answering, answer garbage, stall, cut a stream, or stream very many or very large events.
HTTP/1.1 keep-alive; complete answers carry Content-Length, streams are chunked.

Behaviour by the request's model (markers in the last user message tune it):
  fault-ok            a normal answer with usage; streamed when asked ([n:N] events, [gap:MS] apart)
  fault-500           500 with an OpenAI error body
  fault-drop          reads the request, closes without a byte
  fault-garbage       answers bytes that are not HTTP, then closes
  fault-bad-framing   a head with two different content-lengths, and keeps the connection open
  fault-extra         a normal answer with a second one (other usage) behind it in the same write:
                      a gateway that read it as the next request's answer would bill wrong tokens
  fault-stall         reads the request and never answers (until the gateway hangs up)
  fault-cut           a stream: head and two events, then closes mid-body
  fault-stream-stall  a stream: head and one event, then silence
  fault-flood         a stream of [n:N] events written as fast as the socket takes them
  fault-bigevent      a stream whose one event is [size:N] bytes long
`stats` counts requests per model and connections the gateway closed on us.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections import Counter

USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


def _marker(text: str, name: str, default: int) -> int:
    found = re.search(rf"\[{name}:(\d+)\]", text)
    return int(found.group(1)) if found else default


def _last_user_text(request: dict) -> str:
    for message in reversed(request.get("messages") or []):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return message["content"]
    return ""


def _chunk(model: str, delta: dict | None, finish: str | None = None, usage: dict | None = None) -> bytes:
    chunk = {"id": "chatcmpl-fault", "object": "chat.completion.chunk", "created": 1717000000, "model": model,
             "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        chunk["usage"] = usage
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


STREAM_HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
               b"x-request-id: upstream-fault\r\n\r\n")


class MockFaults:
    def __init__(self) -> None:
        self.stats: Counter[str] = Counter()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mock-faults", daemon=True)
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "MockFaults":
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(timeout=10)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=2048, limit=1 << 20)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close() -> None:
            if self._server:
                self._server.close()
            # Connections still open (a gateway's pooled ones) end here, while the loop runs: left
            # to the garbage collector, their `finally` ran on a closed loop.
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._connections.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length)
                if not await self._answer(json.loads(body or b"{}"), reader, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _answer(self, request: dict, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Writes one answer; False when the connection must close."""
        model = str(request.get("model"))
        self.stats[model] += 1
        text = _last_user_text(request)
        stream = bool(request.get("stream"))
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        if model == "fault-drop":
            return False
        if model == "fault-garbage":
            writer.write(b"\x00\x01\x02 this is not HTTP \xff\xfe\r\n\r\n")
            await writer.drain()
            return False
        if model == "fault-bad-framing":
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n"
                         b"content-length: 20\r\n\r\n{}")
            await writer.drain()
            return True
        if model == "fault-extra":
            stray = {"id": "chatcmpl-stray", "object": "chat.completion", "created": 1717000000, "model": "fault-ok",
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "stray"}, "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 700, "completion_tokens": 300, "total_tokens": 1000}}
            data = json.dumps(stray).encode()
            return await self._complete(writer, 200, self._fine(model), after=(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(data) + data))
        if model == "fault-stall":
            await reader.read()  # until the gateway hangs up
            self.stats["closed-by-gateway"] += 1
            return False
        if model == "fault-500":
            return await self._complete(writer, 500, {"error": {"message": "upstream exploded", "type": "server_error",
                                                                "code": None}})
        if not stream:
            return await self._complete(writer, 200, self._fine(model))
        writer.write(STREAM_HEAD)
        if model == "fault-cut":
            writer.write(_http_chunk(_chunk(model, {"role": "assistant", "content": ""}) + _chunk(model, {"content": "half"})))
            await writer.drain()
            return False
        if model == "fault-stream-stall":
            writer.write(_http_chunk(_chunk(model, {"role": "assistant", "content": ""})))
            await writer.drain()
            await reader.read()
            self.stats["closed-by-gateway"] += 1
            return False
        if model == "fault-bigevent":
            size = _marker(text, "size", 1 << 20)
            payload = b"data: {\"pad\":\"" + b"x" * size + b"\"}\n\n"
            for start in range(0, len(payload), 1 << 16):
                writer.write(_http_chunk(payload[start:start + (1 << 16)]))
                await writer.drain()
        else:
            count = _marker(text, "n", 5)
            gap = _marker(text, "gap", 0) / 1000
            batch = bytearray()
            for i in range(count):
                batch += _chunk(model, {"content": f"w{i} "})
                if gap or len(batch) >= 1 << 16 or i == count - 1:
                    writer.write(_http_chunk(bytes(batch)))
                    batch.clear()
                    await writer.drain()
                    if gap:
                        await asyncio.sleep(gap)
        tail = _chunk(model, {}, finish="stop")
        if include_usage:
            tail += _chunk(model, None, usage=USAGE)
        writer.write(_http_chunk(tail + b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()
        return True

    @staticmethod
    def _fine(model: str) -> dict:
        return {"id": "chatcmpl-fault", "object": "chat.completion", "created": 1717000000, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"}, "finish_reason": "stop"}],
                "usage": USAGE}

    async def _complete(self, writer: asyncio.StreamWriter, status: int, body: dict, after: bytes = b"") -> bool:
        data = json.dumps(body).encode()
        reason = {200: b"OK", 500: b"Internal Server Error"}.get(status, b"Status")
        writer.write(b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % (status, reason, len(data))
                     + data + after)
        await writer.drain()
        return True
