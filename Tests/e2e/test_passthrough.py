"""Byte-level passthrough to an OpenAI-compatible channel, checked with raw HTTP (httpx)."""

from __future__ import annotations

import concurrent.futures
import json

import httpx
import pytest

from conftest import CHANNEL_KEY, MAPPED_MODEL, MAPPED_UPSTREAM_MODEL, OPENAI_CHANNEL
from mock_openai import chat_usage, reply_words
from support import content_of, json_events, parse_sse, split_complete_events

# Odd but valid JSON: spacing, tabs, member order, escapes, raw UTF-8, exponents, unknown members.
ODD_CHAT_BODY = (
    b'{\n  "messages" : [ {"role":"system","content":"Be \\"brief\\"."},\t{"role" : "user", '
    b'"content":"caf\\u00e9 \xe2\x9c\x93 \\/ slash"} ],\n\t"model":"gpt-4.1-nano",  "temperature": 0.70, '
    b'"metadata": {"k": [1, 2.50e1, null, true, {}]}, "x_custom_field" : "kept"\n}'
)


def post(http, auth, body: bytes, path: str = "/v1/chat/completions"):
    return http.post(path, content=body, headers={**auth, "content-type": "application/json"})


def usage_event(raw_events: list[bytes]) -> list[bytes]:
    """The raw events that are usage-only chunks (no choices, a usage object)."""
    found = []
    for event in raw_events:
        payload = parse_sse(event)
        if payload and payload[0] != b"[DONE]":
            chunk = json.loads(payload[0])
            if chunk.get("choices") == [] and isinstance(chunk.get("usage"), dict):
                found.append(event)
    return found


def test_request_and_response_bytes_untouched(http, auth, mock_upstream):
    response = post(http, auth, ODD_CHAT_BODY)
    upstream = mock_upstream.only("/v1/chat/completions")

    assert response.status_code == 200, response.text
    assert upstream.body == ODD_CHAT_BODY
    assert upstream.header("content-length") == str(len(ODD_CHAT_BODY))
    assert upstream.header("authorization") == f"Bearer {CHANNEL_KEY}"
    assert response.content == upstream.response_body
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(upstream.response_body))
    assert response.headers["x-tollgate-channel"] == OPENAI_CHANNEL
    assert response.headers["x-request-id"]


def test_embeddings_bytes_untouched(http, auth, mock_upstream):
    body = b'{ "input" : ["one", "two three"], "model": "text-embedding-3-large", "encoding_format":"float" }'
    response = post(http, auth, body, "/v1/embeddings")
    upstream = mock_upstream.only("/v1/embeddings")
    assert response.status_code == 200, response.text
    assert upstream.body == body
    assert response.content == upstream.response_body
    assert response.headers["x-tollgate-channel"] == OPENAI_CHANNEL
    assert response.headers["x-request-id"]


def test_stream_with_include_usage_is_passed_through(http, auth, mock_upstream):
    body = (b'{"model": "gpt-4o", "stream": true, "stream_options": {"include_usage": true},'
            b' "messages": [{"role": "user", "content": "stream me please"}]}')
    with http.stream("POST", "/v1/chat/completions", content=body,
                     headers={**auth, "content-type": "application/json"}) as response:
        raw = response.read()
    upstream = mock_upstream.only("/v1/chat/completions")

    assert response.status_code == 200, raw
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-request-id"]
    assert response.headers["x-tollgate-channel"] == OPENAI_CHANNEL
    assert upstream.body == body
    assert raw == upstream.response_body

    payloads = parse_sse(raw)
    assert payloads[-1] == b"[DONE]"
    chunks = json_events(payloads)
    assert content_of(chunks) == "".join(reply_words(upstream.json()))
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == chat_usage(upstream.json())


@pytest.mark.parametrize("stream_options", [None, {"include_usage": False}, {"include_usage": None}])
def test_stream_without_include_usage_gets_it_injected_and_stripped(http, auth, mock_upstream, stream_options):
    request = {"model": "gpt-4o", "messages": [{"role": "user", "content": "count one two three four five"}],
               "stream": True, "temperature": 0.5}
    if stream_options is not None:
        request["stream_options"] = stream_options
    body = json.dumps(request).encode()
    with http.stream("POST", "/v1/chat/completions", content=body,
                     headers={**auth, "content-type": "application/json"}) as response:
        raw = response.read()
    upstream = mock_upstream.only("/v1/chat/completions")

    assert response.status_code == 200, raw
    # The upstream was asked for usage; nothing else in the request changed.
    received = upstream.json()
    assert received["stream_options"] == {"include_usage": True}
    assert {k: v for k, v in received.items() if k != "stream_options"} == \
           {k: v for k, v in request.items() if k != "stream_options"}
    assert upstream.header("content-length") == str(len(upstream.body))

    # The client gets the upstream's stream minus the usage chunk, every other byte unchanged.
    upstream_events, rest = split_complete_events(upstream.response_body)
    assert rest == b""
    stripped = usage_event(upstream_events)
    assert len(stripped) == 1, "the mock should have sent exactly one usage chunk"
    assert raw == b"".join(e for e in upstream_events if e not in stripped)

    payloads = parse_sse(raw)
    assert payloads[-1] == b"[DONE]"
    assert payloads.count(b"[DONE]") == 1
    chunks = json_events(payloads)
    assert all(c["choices"] for c in chunks)
    assert not [c for c in chunks if isinstance(c.get("usage"), dict)]
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"][0]["delta"].get("content")]
    assert deltas == reply_words(received)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_model_map_and_usage_injection_together(http, auth, mock_upstream):
    body = f'{{"stream":true,"model":"{MAPPED_MODEL}","messages":[{{"role":"user","content":"map and inject"}}]}}'.encode()
    with http.stream("POST", "/v1/chat/completions", content=body,
                     headers={**auth, "content-type": "application/json"}) as response:
        raw = response.read()
    upstream = mock_upstream.only("/v1/chat/completions")
    assert response.status_code == 200, raw
    received = upstream.json()
    assert received == {"stream": True, "model": MAPPED_UPSTREAM_MODEL, "stream_options": {"include_usage": True},
                        "messages": [{"role": "user", "content": "map and inject"}]}
    payloads = parse_sse(raw)
    assert payloads[-1] == b"[DONE]"
    chunks = json_events(payloads)
    assert content_of(chunks) == "".join(reply_words(received))
    assert all(c["choices"] for c in chunks)


def test_model_map_changes_only_the_model_bytes(http, auth, mock_upstream):
    body = f'{{ "messages": [ {{"role": "user", "content": "rename\\u0021"}} ], "model" : "{MAPPED_MODEL}" }}'.encode()
    response = post(http, auth, body)
    upstream = mock_upstream.only("/v1/chat/completions")
    assert response.status_code == 200, response.text
    assert upstream.body == body.replace(f'"{MAPPED_MODEL}"'.encode(), f'"{MAPPED_UPSTREAM_MODEL}"'.encode())
    assert upstream.header("content-length") == str(len(upstream.body))
    assert response.content == upstream.response_body


def test_keep_alive_connection_serves_many_requests(http, auth, mock_upstream):
    """Several requests on one client connection, alternating channels and stream modes."""
    for i in range(6):
        model = "mock-echo" if i % 3 == 0 else "gpt-4o"
        stream = i % 2 == 1
        body = json.dumps({"model": model, "stream": stream, "messages": [{"role": "user", "content": f"n{i}"}]})
        response = post(http, auth, body.encode())
        assert response.status_code == 200, (i, response.text)
        if stream:
            assert parse_sse(response.content)[-1] == b"[DONE]"
        else:
            assert response.json()["choices"][0]["message"]["content"].endswith(f"n{i}")
    assert len(mock_upstream.requests) == 4


def test_answers_finished_together_each_reach_their_own_client(gateway, auth, mock_upstream):
    """Many kept-alive connections asking at once: their answers often end in the same turn of
    the gateway's event loop and are flushed together at its end (TickFlush). Each client gets
    its own answer, every time, on its own connection."""
    def client(n: int) -> list[str]:
        with httpx.Client(base_url=gateway.url, timeout=30) as http:
            replies = []
            for round_ in range(4):
                body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": f"c{n} r{round_}"}]})
                response = post(http, auth, body.encode())
                assert response.status_code == 200, response.text
                replies.append(response.json()["choices"][0]["message"]["content"])
            return replies

    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(client, range(24)))
    for n, replies in enumerate(results):
        assert replies == [f"Mock reply to: c{n} r{round_}" for round_ in range(4)]
    assert len(mock_upstream.requests) == 24 * 4


@pytest.mark.parametrize("words", [20_000, 200_000])
def test_large_answer_bytes_untouched(http, auth, mock_upstream, words):
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": f"big [big:{words}]"}]}).encode()
    response = post(http, auth, body)
    upstream = mock_upstream.only("/v1/chat/completions")
    assert response.status_code == 200, response.text[:500]
    assert len(upstream.response_body) > words * 6
    assert response.content == upstream.response_body
    assert response.json()["usage"] == chat_usage(upstream.json())
    assert response.json()["usage"]["completion_tokens"] > words


@pytest.mark.parametrize("model_token", [b'"friendly\\u002dchat"', b'"gpt\\u002d4o"'])
def test_escaped_model_name(http, auth, mock_upstream, model_token):
    body = b'{"model":' + model_token + b',"messages":[{"role":"user","content":"escaped"}]}'
    response = post(http, auth, body)
    upstream = mock_upstream.only("/v1/chat/completions")
    assert response.status_code == 200, response.text
    assert upstream.json()["model"] == (MAPPED_UPSTREAM_MODEL if b"friendly" in model_token else "gpt-4o")


def test_chunked_client_upload_is_sent_with_content_length(http, auth, mock_upstream):
    parts = [b'{"model": "gpt-4o", ', b'"messages": [{"role": "user", ', b'"content": "chunked upload"}]}']
    response = http.post("/v1/chat/completions", content=iter(parts), headers={**auth, "content-type": "application/json"})
    upstream = mock_upstream.only("/v1/chat/completions")
    assert response.status_code == 200, response.text
    assert upstream.body == b"".join(parts)
    assert upstream.header("content-length") == str(len(upstream.body))
    assert upstream.header("transfer-encoding") is None


def test_upstream_connections_are_reused(http, auth, mock_upstream):
    """Requests in a row reuse the gateway's idle upstream connections: ten open at most two (a
    pool per event loop; either may hold one from an earlier test), not ten."""
    chat = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "again"}]}).encode()
    before = mock_upstream.connections_accepted
    for _ in range(10):
        response = post(http, auth, chat)
        assert response.status_code == 200, response.text
    assert mock_upstream.connections_accepted - before <= 2


def test_upstream_closing_idle_connections(http, auth, mock_upstream):
    """The upstream drops its idle keep-alive connections between two requests (as servers with a
    short idle timeout do): the next request still succeeds, and reaches the upstream once."""
    chat = {"model": "gpt-4o", "messages": [{"role": "user", "content": "before"}]}
    assert post(http, auth, json.dumps(chat).encode()).status_code == 200
    assert mock_upstream.close_idle_connections() >= 1
    mock_upstream.clear()
    chat["messages"][0]["content"] = "after"
    response = post(http, auth, json.dumps(chat).encode())
    assert response.status_code == 200, response.text
    assert mock_upstream.only("/v1/chat/completions").json() == chat
