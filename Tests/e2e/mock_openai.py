"""A mock OpenAI-compatible upstream for Tollgate's end-to-end tests.

Speaks OpenAI's wire format over real HTTP/1.1 (keep-alive, Content-Length for complete
answers, chunked transfer encoding for event streams) on 127.0.0.1 with a random port.

Routes:
  POST /v1/chat/completions   chat.completion, or a text/event-stream of chat.completion.chunk
  POST /v1/embeddings         float or base64 embeddings
  POST /v1/responses          a Response object, or its event stream (see mock_openai_responses.py)
  POST /v1/completions        a text_completion (legacy), or its stream (`completion_text`, `completion_usage`)

Every request is recorded (method, path, headers, raw body bytes) together with the exact bytes
of the answer body, so tests can assert byte-for-byte passthrough in both directions.

Behaviours are selected by the request's model name:
  hold-back   stream the first event, then block until the test releases the `Hold` registered
              for the request's last user message (see `MockOpenAI.hold`)
  fail-500    answer 500 with an OpenAI error body
  small-context  answer 400 `context_length_exceeded`, as OpenAI does for a prompt over the window
  cut-stream  send two events, then close the socket without ending the chunked body
  slow-stream a normal stream with a pause of SLOW_EVENT_SECONDS before each event
Any other model gets a normal answer (see `reply_text`, `chat_usage`, `embedding_vector`).

Markers in the last user message change how a stream (or an answer) is written:
  [split]     the whole event stream is written in 5-byte HTTP chunks (events split anywhere)
  [crlf]      SSE lines end with CRLF instead of LF
  [big:N]     the answer has N extra words (a large body, or N extra events)
  [hold]      a stream is held as for the `hold-back` model (so a priced model can be held)
A `hold-back` stream whose client goes away while held ends with the hold's state "closed-by-peer"
(the gateway closed the upstream connection).
"""

from __future__ import annotations

import base64
import json
import re
import select
import socket
import time
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import mock_openai_responses as responses_api

HOLD_TIMEOUT_SECONDS = 10.0
SLOW_EVENT_SECONDS = 0.02
CREATED = 1_717_000_000


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    status: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    # The complete answer body (for streams: every byte of every chunk, in order).
    response_body: bytes = b""
    # Set once the whole answer was written (a stream: its terminating chunk); never for a cut.
    answered: bool = False

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]

    def json(self):
        return json.loads(self.body)


class Hold:
    """Holds a `hold-back` stream after its first event until `release` is set.

    `state` moves "registered" -> "holding" (set *before* the first event is written, so a client
    that sees the first event can only observe "holding" or later) -> "released" or "timed-out".
    """

    def __init__(self) -> None:
        self.release = threading.Event()
        self.finished = threading.Event()
        self.state = "registered"


# --- the answers -----------------------------------------------------------------------------

def last_user_text(request: dict) -> str:
    for message in reversed(request.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def reply_text(request: dict) -> str:
    """The mock's answer to a chat request (after a tool result: what the tool said)."""
    messages = request.get("messages") or []
    if messages and messages[-1].get("role") == "tool":
        return f"Tool said: {messages[-1].get('content')}"
    text = f"Mock reply to: {last_user_text(request)}"
    big = re.search(r"\[big:(\d+)\]", last_user_text(request))
    if big:
        text += " lorem" * int(big.group(1))
    return text


def reply_words(request: dict) -> list[str]:
    """The answer as streamed: one content delta per word (spaces kept on the later words)."""
    words = reply_text(request).split(" ")
    return [words[0]] + [" " + w for w in words[1:]]


def wants_tool_call(request: dict) -> bool:
    """With tools offered and no tool result yet, the mock calls the first tool."""
    messages = request.get("messages") or []
    return bool(request.get("tools")) and not (messages and messages[-1].get("role") == "tool")


TOOL_ARGUMENTS = '{"city": "Paris"}'


def tool_call(request: dict) -> dict:
    name = request["tools"][0]["function"]["name"]
    return {"id": "call_mock_1", "type": "function", "function": {"name": name, "arguments": TOOL_ARGUMENTS}}


def chat_usage(request: dict) -> dict:
    prompt = sum(len(str(m.get("content", "")).split()) for m in request.get("messages") or []) + 7
    completion = len(reply_text(request).split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 3, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
        },
    }


def completion_text(prompt: str) -> str:
    return f"Mock completion of: {prompt}"


def completion_usage(prompt: str) -> dict:
    prompt_tokens, completion_tokens = len(prompt.split()) + 2, len(completion_text(prompt).split())
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}


def embedding_vector(text: str, index: int) -> list[float]:
    """Deterministic, exactly representable in float32 (multiples of 1/8)."""
    seed = sum(text.encode()) + index
    return [((seed * (i + 3)) % 17 - 8) / 8 for i in range(8)]


def embedding_usage(inputs: list[str]) -> dict:
    tokens = sum(len(t.split()) for t in inputs)
    return {"prompt_tokens": tokens, "total_tokens": tokens}


def openai_error(message: str, type_: str, code: str | None, param: str | None = None) -> bytes:
    return json.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}}, indent=2).encode()


FAIL_500_BODY = openai_error("The server had an error while processing your request. Sorry about that!",
                             "server_error", None)


# --- the server ------------------------------------------------------------------------------

def read_request_body(handler: BaseHTTPRequestHandler) -> bytes:
    """A request's body, sent with Content-Length or chunked (shared by every mock)."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        body = b""
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return body
            body += handler.rfile.read(size)
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"
    crlf = False

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    # Reading

    def _read_body(self) -> bytes:
        return read_request_body(self)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def setup(self):
        super().setup()
        self.busy = False
        self.server.mock._connection_opened(self)

    def finish(self):
        self.server.mock._connection_closed(self)
        super().finish()

    def _serve(self, method: str) -> None:
        self.busy = True
        try:
            self._serve_request(method)
        finally:
            self.busy = False

    def _serve_request(self, method: str) -> None:
        mock = self.server.mock
        body = self._read_body()
        record = RecordedRequest(method=method, path=self.path, headers=list(self.headers.items()), body=body)
        mock._record(record)
        self.record = record
        self.request_id = f"req_mock_{mock._next_id()}"

        if self.headers.get("Authorization") != f"Bearer {mock.api_key}":
            return self._complete(401, openai_error(
                "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
                "invalid_request_error", "invalid_api_key"))
        if method != "POST" or self.path not in ("/v1/chat/completions", "/v1/embeddings", "/v1/responses", "/v1/completions"):
            return self._complete(404, openai_error(f"Unknown request URL: {method} {self.path}.",
                                                    "invalid_request_error", "unknown_url"))
        try:
            request = json.loads(body)
            assert isinstance(request, dict)
        except Exception:
            return self._complete(400, openai_error("We could not parse the JSON body of your request.",
                                                    "invalid_request_error", None))
        if self.path == "/v1/embeddings":
            return self._embeddings(request)
        if self.path == "/v1/responses":
            return self._responses(request)
        if self.path == "/v1/completions":
            return self._completions(request)
        return self._chat(request)

    # Writing

    def _complete(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body))),
                   ("x-request-id", self.request_id), ("openai-processing-ms", "7"), ("openai-version", "2020-10-01")]
        # Record before writing: the client may assert on the record as soon as the bytes arrive.
        self.record.status = status
        self.record.response_headers = headers
        self.record.response_body = body
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.record.answered = True

    def _start_stream(self) -> None:
        headers = [("Content-Type", "text/event-stream; charset=utf-8"), ("Transfer-Encoding", "chunked"),
                   ("Cache-Control", "no-cache"), ("x-request-id", self.request_id), ("openai-processing-ms", "3")]
        self.send_response(200)
        for name, value in headers:
            self.send_header(name, value)
        self.record.status = 200
        self.record.response_headers = headers
        self.end_headers()

    def _event_bytes(self, data: bytes) -> bytes:
        newline = b"\r\n" if self.crlf else b"\n"
        return b"data: " + data + newline + newline

    def _write_chunk(self, payload: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
        self.wfile.flush()

    def _send_event(self, data: bytes) -> None:
        """One SSE event as one HTTP chunk, flushed at once."""
        event = self._event_bytes(data)
        self.record.response_body += event
        self._write_chunk(event)

    def _send_split(self, events: list[bytes]) -> None:
        """Every event, written in 5-byte chunks that ignore event boundaries."""
        stream = b"".join(self._event_bytes(e) for e in events)
        self.record.response_body += stream
        for i in range(0, len(stream), 5):
            self._write_chunk(stream[i:i + 5])

    def _peer_closed(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _wait_for_release(self, hold: "Hold") -> bool:
        """Waits for the test's release; False (and the socket closed) on timeout or peer close."""
        deadline = time.monotonic() + HOLD_TIMEOUT_SECONDS
        while not hold.release.wait(0.02):
            if self._peer_closed():
                hold.state = "closed-by-peer"
            elif time.monotonic() > deadline:
                hold.state = "timed-out"
            else:
                continue
            hold.finished.set()
            self._cut()
            return False
        return True

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.record.answered = True

    def _cut(self) -> None:
        """Closes the socket in the middle of the chunked body (no terminating chunk)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()

    # Chat

    def _chat(self, request: dict) -> None:
        model = request.get("model")
        if model == "fail-500":
            return self._complete(500, FAIL_500_BODY)
        if model == "small-context":
            return self._complete(400, openai_error(
                "This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens. "
                "Please reduce the length of the messages.", "invalid_request_error", "context_length_exceeded", "messages"))
        if request.get("stream"):
            return self._chat_stream(request)
        calling = wants_tool_call(request)
        message = {"role": "assistant", "content": None if calling else reply_text(request), "refusal": None, "annotations": []}
        if calling:
            message["tool_calls"] = [tool_call(request)]
        answer = {
            "id": f"chatcmpl-{self.request_id}",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if calling else "stop",
            }],
            "usage": chat_usage(request),
            "service_tier": "default",
            "system_fingerprint": "fp_mock",
        }
        # Deliberately not compact (indent, spaces, non-ASCII kept) so byte-for-byte passthrough shows.
        self._complete(200, json.dumps(answer, indent=1, ensure_ascii=False).encode())

    def _chunk(self, request: dict, delta: dict | None, finish: str | None = None, usage_chunk: bool = False) -> bytes:
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        chunk = {
            "id": f"chatcmpl-{self.request_id}",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": request.get("model"),
            "service_tier": "default",
            "system_fingerprint": "fp_mock",
            "choices": [] if usage_chunk else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if usage_chunk:
            chunk["usage"] = chat_usage(request)
        elif include_usage:
            chunk["usage"] = None  # as OpenAI does on every chunk when usage was asked for
        return json.dumps(chunk, separators=(",", ":"), ensure_ascii=False).encode()

    def _chat_stream(self, request: dict) -> None:
        model = request.get("model")
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        events = [self._chunk(request, {"role": "assistant", "content": "", "refusal": None})]
        if wants_tool_call(request):
            call = tool_call(request)
            half = len(TOOL_ARGUMENTS) // 2
            events.append(self._chunk(request, {"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                                                "function": {"name": call["function"]["name"], "arguments": ""}}]}))
            for piece in (TOOL_ARGUMENTS[:half], TOOL_ARGUMENTS[half:]):
                events.append(self._chunk(request, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
            events.append(self._chunk(request, {}, finish="tool_calls"))
        else:
            events += [self._chunk(request, {"content": word}) for word in reply_words(request)]
            events.append(self._chunk(request, {}, finish="stop"))
        if include_usage:
            events.append(self._chunk(request, None, usage_chunk=True))
        events.append(b"[DONE]")

        text = last_user_text(request)
        self.crlf = "[crlf]" in text
        self._start_stream()
        if "[split]" in text:
            self._send_split(events)
            return self._end_stream()
        if model == "cut-stream":
            for event in events[:2]:
                self._send_event(event)
            return self._cut()
        if model == "hold-back" or "[hold]" in text:
            hold = self.server.mock._hold_for(last_user_text(request))
            hold.state = "holding"
            self._send_event(events[0])
            if not self._wait_for_release(hold):
                return
            hold.state = "released"
            events = events[1:]
            try:
                for event in events:
                    self._send_event(event)
                self._end_stream()
            finally:
                hold.finished.set()
            return
        for event in events:
            if model == "slow-stream":
                time.sleep(SLOW_EVENT_SECONDS)
            self._send_event(event)
        self._end_stream()

    # Legacy completions

    def _completions(self, request: dict) -> None:
        prompt = request.get("prompt")
        if not isinstance(prompt, str) or not isinstance(request.get("model"), str):
            return self._complete(400, openai_error("'prompt' must be a string and 'model' is required",
                                                    "invalid_request_error", None, "prompt"))
        base = {"id": f"cmpl-{self.request_id}", "object": "text_completion", "created": CREATED, "model": request["model"]}
        usage = completion_usage(prompt)
        if not request.get("stream"):
            answer = {**base, "choices": [{"text": completion_text(prompt), "index": 0, "logprobs": None, "finish_reason": "stop"}],
                      "usage": usage}
            return self._complete(200, json.dumps(answer, indent=1).encode())
        words = completion_text(prompt).split(" ")
        events = [json.dumps({**base, "choices": [{"text": w if i == 0 else " " + w, "index": 0, "logprobs": None,
                                                    "finish_reason": "stop" if i == len(words) - 1 else None}]}).encode()
                  for i, w in enumerate(words)]
        if (request.get("stream_options") or {}).get("include_usage"):
            events.append(json.dumps({**base, "choices": [], "usage": usage}).encode())
        events.append(b"[DONE]")
        self.crlf = False
        self._start_stream()
        for event in events:
            self._send_event(event)
        self._end_stream()

    # Responses

    def _responses(self, request: dict) -> None:
        try:
            responses_api.validate(request)
        except responses_api.BadRequest as bad:
            return self._complete(400, openai_error(str(bad), "invalid_request_error", None, bad.param))
        n = self.server.mock._next_id()
        if not request.get("stream"):
            return self._complete(200, responses_api.complete(request, n))
        self._start_stream()
        for event in responses_api.stream_events(request, n):
            event += b"\n\n"
            self.record.response_body += event
            self._write_chunk(event)
        self._end_stream()

    # Embeddings

    def _embeddings(self, request: dict) -> None:
        raw = request.get("input")
        inputs = [raw] if isinstance(raw, str) else raw
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            return self._complete(400, openai_error("'input' must be a string or an array of strings",
                                                    "invalid_request_error", None, "input"))
        encoding = request.get("encoding_format") or "float"
        data = []
        for index, text in enumerate(inputs):
            vector = embedding_vector(text, index)
            if encoding == "base64":
                value = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            else:
                value = vector
            data.append({"object": "embedding", "index": index, "embedding": value})
        answer = {"object": "list", "data": data, "model": request.get("model"), "usage": embedding_usage(inputs)}
        self._complete(200, json.dumps(answer).encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # bursts of new connections (the load tests) are not dropped
    mock: "MockOpenAI"


class MockOpenAI:
    """The mock upstream. `start()` it, point a channel at `base_url`, read `requests`."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._holds: dict[str, Hold] = {}
        self._connections: set[_Handler] = set()
        self.connections_accepted = 0
        self._ids = 0
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.mock = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="mock-openai", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "MockOpenAI":
        self._thread.start()
        return self

    def stop(self) -> None:
        for hold in list(self._holds.values()):
            hold.release.set()
        self._server.shutdown()
        self._server.server_close()

    # Recording

    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(record)

    def _next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def only(self, path: str | None = None) -> RecordedRequest:
        """The one request received since `clear()` (on `path`, if given); fails otherwise."""
        found = [r for r in self.requests if path is None or r.path == path]
        assert len(found) == 1, f"expected exactly one upstream request{' on ' + path if path else ''}, got {len(found)}: " \
                                f"{[(r.path, r.body[:200]) for r in found]}"
        return found[0]

    # Connections

    def _connection_opened(self, handler: _Handler) -> None:
        with self._lock:
            self._connections.add(handler)
            self.connections_accepted += 1

    def _connection_closed(self, handler: _Handler) -> None:
        with self._lock:
            self._connections.discard(handler)

    def close_idle_connections(self) -> int:
        """Closes every keep-alive connection that is between requests (as an upstream's idle
        timeout would); returns how many were closed."""
        with self._lock:
            idle = [h for h in self._connections if not h.busy]
        for handler in idle:
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return len(idle)

    # Holding

    def hold(self, key: str) -> Hold:
        """Registers a hold for the `hold-back` request whose last user message is `key`."""
        with self._lock:
            hold = self._holds[key] = Hold()
            return hold

    def _hold_for(self, key: str) -> Hold:
        with self._lock:
            hold = self._holds.get(key)
            if hold is None:  # nobody registered it: hold anyway, the timeout ends it
                hold = self._holds[key] = Hold()
            return hold


if __name__ == "__main__":  # manual use: python mock_openai.py [api-key]
    import sys

    mock = MockOpenAI(sys.argv[1] if len(sys.argv) > 1 else "sk-mock").start()
    print(f"mock OpenAI upstream on {mock.base_url} (key {mock.api_key})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        mock.stop()
