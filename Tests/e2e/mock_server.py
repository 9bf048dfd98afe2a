"""The HTTP plumbing shared by the provider mocks (`mock_anthropic.py`, `mock_gemini.py`).

A stdlib `ThreadingHTTPServer` on 127.0.0.1 with a random port, speaking HTTP/1.1 with keep-alive:
complete answers carry Content-Length, event streams use chunked transfer encoding. Every request
is recorded (method, path with query, headers, raw body) before its answer is written, together
with the exact bytes of the answer, so tests can assert byte-for-byte passthrough both ways.

A subclass of `MockHandler` implements `handle(method, body)` and answers with `complete`, or with
`start_stream` + `send_event`/`send_split` + `end_stream` (or `cut` to drop the connection in the
middle of the chunked body). An exception in `handle` is a bug in the mock: it is answered with
500 and kept in `MockServer.failures`, so the test that caused it can show it.
"""

from __future__ import annotations

import json
import socket
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from mock_openai import RecordedRequest, read_request_body

__all__ = ["MockHandler", "MockServer", "RecordedRequest"]


class MockHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"
    record: RecordedRequest
    request_id: str

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    # --- reading ---------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        return read_request_body(self)

    @property
    def route(self) -> str:
        """The path without its query."""
        return urlsplit(self.path).path

    def query(self, name: str) -> str | None:
        values = parse_qs(urlsplit(self.path).query).get(name)
        return values[0] if values else None

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def _serve(self, method: str) -> None:
        mock = self.server.mock
        body = self._read_body()
        self.record = RecordedRequest(method=method, path=self.path, headers=list(self.headers.items()), body=body)
        mock._record(self.record)
        self.request_id = mock._next_request_id()
        self.headers_sent = False
        try:
            self.handle_request(method, body)
        except (ConnectionResetError, BrokenPipeError):
            return  # the client hung up (e.g. an SDK giving up on a corrupt frame): not a mock bug
        except Exception:  # a bug in the mock: say so loudly
            failure = traceback.format_exc()
            mock.failures.append(failure)
            if not self.headers_sent:
                self.complete(500, json.dumps({"mock_failure": failure}).encode())
            else:
                self.cut()

    def handle_request(self, method: str, body: bytes) -> None:
        raise NotImplementedError

    # --- writing ---------------------------------------------------------------------------

    def provider_headers(self) -> list[tuple[str, str]]:
        """Headers the provider adds to every answer (request ids and the like)."""
        return []

    def complete(self, status: int, body: bytes, content_type: str = "application/json",
                 extra: list[tuple[str, str]] | None = None) -> None:
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body))),
                   *self.provider_headers(), *(extra or [])]
        # Record before writing: the client may assert on the record as soon as the bytes arrive.
        self.record.status = status
        self.record.response_headers = headers
        self.record.response_body = body
        self.headers_sent = True
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def start_stream(self, content_type: str, extra: list[tuple[str, str]] | None = None) -> None:
        headers = [("Content-Type", content_type), ("Transfer-Encoding", "chunked"), ("Cache-Control", "no-cache"),
                   *self.provider_headers(), *(extra or [])]
        self.record.status = 200
        self.record.response_headers = headers
        self.headers_sent = True
        self.send_response(200)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()

    def _write_chunk(self, payload: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
        self.wfile.flush()

    def send_event(self, raw: bytes) -> None:
        """One complete SSE event (already framed) as one HTTP chunk, flushed at once."""
        self.record.response_body += raw
        self._write_chunk(raw)

    def send_split(self, raw: bytes, size: int = 7) -> None:
        """Bytes written in `size`-byte chunks that ignore event boundaries."""
        self.record.response_body += raw
        for i in range(0, len(raw), size):
            self._write_chunk(raw[i:i + size])

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def cut(self) -> None:
        """Closes the socket in the middle of the chunked body (no terminating chunk)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    mock: "MockServer"


class MockServer:
    """A mock upstream. `start()` it, point a channel at `url`, read `requests`."""

    handler: type[MockHandler] = MockHandler
    request_id_prefix = "req_mock_"

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._ids = 0
        self._server = _Server(("127.0.0.1", 0), self.handler)
        self._server.mock = self
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Scheme, host and port (the providers' base URLs carry no path)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(record)

    def _next_request_id(self) -> str:
        with self._lock:
            self._ids += 1
            return f"{self.request_id_prefix}{self._ids:04d}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self.failures.clear()

    def only(self, path: str | None = None) -> RecordedRequest:
        """The one request received since `clear()` (whose path without query is `path`, if given)."""
        found = [r for r in self.requests if path is None or urlsplit(r.path).path == path]
        assert len(found) == 1, f"expected exactly one upstream request{' on ' + path if path else ''}, got {len(found)}: " \
                                f"{[(r.path, r.body[:300]) for r in self.requests]}"
        return found[0]
