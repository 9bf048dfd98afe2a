"""Helpers for the fault, hostile-input and shutdown suites: a gateway of their own on the
misbehaving mock (`mock_faults.py`), its memory, raw HTTP over a socket, and its usage ledger."""

from __future__ import annotations

import json
import socket
import sqlite3
import textwrap
import time
from pathlib import Path

from conftest import CLIENT_KEY, Gateway, _gateway_binary, _start_gateway
from mock_faults import MockFaults

MAX_BODY_BYTES = 65536


def start_fault_gateway(directory: Path, mock: MockFaults, extra: str = "") -> Gateway:
    """A gateway whose `fault-*` models go to `mock`, with short timeouts (1 s to the upstream's
    head and between stream chunks, 1 s for a client to send its request)."""
    config = textwrap.dedent(f"""\
        listen: 127.0.0.1:0
        data_dir: {directory / "data"}
        limits:
          max_body_bytes: {MAX_BODY_BYTES}
          request_timeout: 1s
        upstream:
          connect_timeout: 2s
          response_timeout: 1s
          read_timeout: 1s
        pricing: {{ sync_url: off }}
        # Every scenario must reach the faulty upstream to see its own failure: breakers stay
        # closed here (their opening under failures is covered by the traffic-control suites).
        health: {{ breaker_failures: 1000, probes: false }}
        keys:
          - name: faults
            key: {CLIENT_KEY}
        channels:
          - name: faulty
            provider: openai
            base_url: {mock.base_url}
            credentials: {{api_key: sk-fault}}
            models: ["fault-*"]
        """) + extra
    path = directory / "tollgate.yaml"
    path.write_text(config)
    return _start_gateway(_gateway_binary(), path, directory / "tollgate.stderr.log")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class OpenAIUpstream:
    """An OpenAI-shaped upstream of a test's own, answering every chat request with `usage`;
    with `hold`, each request waits until the test sets `release`."""

    def __init__(self, usage: dict | None = None, hold: bool = False) -> None:
        import http.server
        import threading
        self.received = threading.Semaphore(0)
        self.release = threading.Event()
        if not hold:
            self.release.set()
        answer = {"id": "chatcmpl-own", "object": "chat.completion", "created": 1, "model": "own",
                  "choices": [{"index": 0, "message": {"role": "assistant", "content": "released"}, "finish_reason": "stop"}],
                  "usage": usage or {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                upstream.received.release()
                upstream.release.wait(30)
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def channel(self, name: str, model: str) -> str:
        """The config line of a channel serving `model` from this upstream."""
        return (f'  - {{ name: {name}, provider: openai, base_url: "http://127.0.0.1:{self.server.server_port}/v1", '
                f'credentials: {{ api_key: sk-{name} }}, models: [{model}] }}\n')

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


def ledger_ids(directory: Path) -> set[str]:
    """Request ids in the usage ledger (read after the gateway exited, so every batch is written)."""
    with sqlite3.connect(f"file:{directory / 'data' / 'tollgate.db'}?mode=ro", uri=True) as db:
        return {row[0] for row in db.execute("SELECT request_id FROM usage_ledger")}


def ledger_rows(directory: Path) -> dict[str, dict]:
    with sqlite3.connect(f"file:{directory / 'data' / 'tollgate.db'}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        return {row["request_id"]: dict(row) for row in db.execute("SELECT * FROM usage_ledger")}


def chat_body(model: str, text: str = "hi", stream: bool = False) -> bytes:
    return json.dumps({"model": model, "stream": stream, "messages": [{"role": "user", "content": text}]}).encode()


def raw_request(gateway: Gateway, data: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Sends raw bytes, reads one answer until the server closes or its Content-Length is read."""
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        return read_response(s)


def read_response(s: socket.socket) -> tuple[int, dict[str, str], bytes]:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response head; got {buffer!r}")
        buffer += chunk
    head, _, body = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def post_head(path: str, length: int, extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {CLIENT_KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n{extra}\r\n").encode()


def wait_exit(gateway: Gateway, timeout: float) -> float:
    """Seconds until the process exited (raises if it did not within `timeout`)."""
    start = time.monotonic()
    gateway.process.wait(timeout=timeout)
    return time.monotonic() - start
