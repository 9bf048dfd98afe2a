"""Hostile clients and upstreams: oversized headers and bodies, slowloris, invalid UTF-8, deeply
nested JSON, floods of SSE events and oversized events. Each gets a clear 4xx (or a clear stream
error) and none grows the gateway's memory without bound. Bounded in time (about 20 s)."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from conftest import CLIENT_KEY, _stop_gateway
from fault_support import (MAX_BODY_BYTES, chat_body, post_head, raw_request, read_response, rss_kib,
                           start_fault_gateway)
from mock_faults import MockFaults
from support import assert_openai_error, parse_sse


@pytest.fixture(scope="module")
def faults():
    mock = MockFaults().start()
    yield mock
    mock.stop()


@pytest.fixture(scope="module")
def hostile_gateway(faults, tmp_path_factory):
    gateway = start_fault_gateway(tmp_path_factory.mktemp("tollgate-hostile"), faults)
    yield gateway
    _stop_gateway(gateway)


@pytest.fixture
def client(hostile_gateway):
    assert hostile_gateway.alive()
    with httpx.Client(base_url=hostile_gateway.url, timeout=30,
                      headers={"Authorization": f"Bearer {CLIENT_KEY}"}) as c:
        yield c
    assert hostile_gateway.alive(), f"the gateway exited (status {hostile_gateway.process.returncode})"


# --- sizes -----------------------------------------------------------------------------------

def test_oversized_header_gets_431(hostile_gateway):
    status, headers, body = raw_request(hostile_gateway, post_head("/v1/chat/completions", 2, "X-Big: " + "a" * 100_000 + "\r\n") + b"{}")
    assert status == 431, body
    assert json.loads(body)["error"]["code"] == "headers_too_large"
    assert headers.get("connection") == "close"


def test_too_many_header_bytes_in_many_headers_gets_431(hostile_gateway):
    many = "".join(f"X-H{i}: {'v' * 100}\r\n" for i in range(1000))
    status, _, _ = raw_request(hostile_gateway, post_head("/v1/chat/completions", 2, many) + b"{}")
    assert status == 431


def test_malformed_request_line_gets_400(hostile_gateway):
    status, _, body = raw_request(hostile_gateway, b"GARBAGE\x00\x01 / HTTP/9.9\r\n\r\n")
    assert status == 400, body


def test_oversized_body_by_content_length_gets_413(hostile_gateway):
    status, _, body = raw_request(hostile_gateway, post_head("/v1/chat/completions", 10 * MAX_BODY_BYTES))
    assert status == 413
    assert json.loads(body)["error"]["code"] == "request_too_large"


def test_oversized_chunked_body_gets_413(client):
    def chunks():
        for _ in range(20):
            yield b"x" * 8192
    response = client.post("/v1/chat/completions", content=chunks())
    assert_openai_error(response, 413, "request_too_large")


# --- slow clients ----------------------------------------------------------------------------

def _closed_within(s: socket.socket, seconds: float, dribble: bytes | None) -> tuple[bool, bytes]:
    """Dribbles a byte every 0.2 s (when given) until the server closes; returns (closed, bytes read)."""
    s.settimeout(0.2)
    deadline = time.monotonic() + seconds
    received = b""
    while time.monotonic() < deadline:
        try:
            if dribble:
                s.send(dribble)
            data = s.recv(65536)
            if not data:
                return True, received
            received += data
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True, received
    return False, received


def _connect(gateway) -> socket.socket:
    host, port = gateway.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def test_slowloris_headers_are_cut_off(hostile_gateway):
    with _connect(hostile_gateway) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\n")
        closed, _ = _closed_within(s, 6, b"X")  # an endless header, one byte at a time
    assert closed, "a client dribbling its headers kept the connection for 6 s (request_timeout is 1 s)"


def test_slow_body_gets_408(hostile_gateway):
    with _connect(hostile_gateway) as s:
        s.sendall(post_head("/v1/chat/completions", 1000))
        closed, received = _closed_within(s, 6, b" ")
    assert closed
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert b"request_timeout" in received


def test_silent_connection_is_closed(hostile_gateway):
    with _connect(hostile_gateway) as s:
        closed, received = _closed_within(s, 6, None)
    assert closed and received == b""


def test_keep_alive_connection_serves_requests_spaced_under_the_timeout(client):
    for _ in range(3):
        response = client.post("/v1/chat/completions", content=chat_body("fault-ok"))
        assert response.status_code == 200
        time.sleep(0.5)


# --- bad bytes -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_invalid_utf8_in_json_gets_400(client, path):
    body = b'{"model":"fault-ok","max_tokens":5,"messages":[{"role":"user","content":"bad \xff\xfe bytes"}]}'
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert "UTF-8" in response.text or "utf-8" in response.text.lower()


def test_invalid_utf8_in_a_header_is_refused_cleanly(hostile_gateway):
    status, _, _ = raw_request(hostile_gateway, b"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \xff\xfe\r\n"
                                                b"Content-Length: 2\r\n\r\n{}")
    assert status in (400, 401)


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_deeply_nested_json_gets_400(client, path):
    depth = 30_000  # as deep as fits under max_body_bytes
    body = b'{"model":"fault-ok","max_tokens":5,"messages":[],"x":' + b"[" * depth + b"]" * depth + b"}"
    assert len(body) < MAX_BODY_BYTES
    response = client.post(path, content=body)
    assert response.status_code == 400, response.text[:300]


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_nesting_past_the_parser_depth_gets_400(client, path):
    body = b'{"model":"fault-ok","max_tokens":5,"messages":[],"x":' + b"[" * 200 + b"]" * 200 + b"}"
    response = client.post(path, content=body)
    assert response.status_code == 400, response.text[:300]
    assert "deep" in response.text.lower() or "depth" in response.text.lower() or "nest" in response.text.lower()


# --- floods from the upstream ----------------------------------------------------------------

def _stream(client, text: str, model: str = "fault-flood") -> tuple[int, bytes]:
    with client.stream("POST", "/v1/chat/completions", content=chat_body(model, text, stream=True)) as response:
        return response.status_code, b"".join(response.iter_raw())


def test_a_flood_of_sse_events_is_relayed_with_bounded_memory(client, hostile_gateway):
    _stream(client, "[n:1000]")  # warm up
    before = rss_kib(hostile_gateway.process.pid)
    status, raw = _stream(client, "[n:200000]")
    after = rss_kib(hostile_gateway.process.pid)
    assert status == 200
    events = parse_sse(raw)
    assert events[-1] == b"[DONE]"
    assert len(events) == 200_000 + 2, len(events)  # every event, the finish chunk and [DONE]
    # 200k events are about 20 MB through the gateway; its memory must not grow by anywhere near that.
    assert after - before < 16 * 1024, f"RSS grew from {before} KiB to {after} KiB"


def test_an_event_over_the_limit_ends_the_stream_with_an_error(client, hostile_gateway):
    before = rss_kib(hostile_gateway.process.pid)
    status, raw = _stream(client, "[size:20000000]", model="fault-bigevent")
    after = rss_kib(hostile_gateway.process.pid)
    assert status == 200
    tail = raw[-2000:]
    assert b'"error"' in tail and b"[DONE]" not in tail, tail[-500:]
    assert after - before < 64 * 1024, f"RSS grew from {before} KiB to {after} KiB"
