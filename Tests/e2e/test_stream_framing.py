"""Streams whose bytes do not line up with events: events split across HTTP chunks anywhere, and
CRLF line ends. The relay must keep every event (and drop only the usage chunk it asked for)."""

from __future__ import annotations

import json

import pytest

from mock_openai import chat_usage, reply_words
from support import json_events, parse_sse, split_complete_events


def is_usage_event(raw_event: bytes) -> bool:
    payload = parse_sse(raw_event)
    if not payload or payload[0] == b"[DONE]":
        return False
    chunk = json.loads(payload[0])
    return chunk.get("choices") == [] and isinstance(chunk.get("usage"), dict)


@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize("marker", ["[split]", "[crlf]", "[split] [crlf]", "[split] [big:300]"])
def test_stream_framing(http, auth, mock_upstream, marker, include_usage):
    request = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": f"framing {marker}"}]}
    if include_usage:
        request["stream_options"] = {"include_usage": True}
    with http.stream("POST", "/v1/chat/completions", json=request, headers=auth) as response:
        raw = response.read()
    upstream = mock_upstream.only("/v1/chat/completions")
    received = upstream.json()
    assert response.status_code == 200, raw
    assert received["stream_options"] == {"include_usage": True}

    upstream_events, rest = split_complete_events(upstream.response_body)
    assert rest == b""
    if include_usage:
        assert raw == upstream.response_body
    else:
        assert raw == b"".join(e for e in upstream_events if not is_usage_event(e))

    payloads = parse_sse(raw)
    assert payloads[-1] == b"[DONE]"
    chunks = json_events(payloads)
    deltas = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert deltas == reply_words(received)
    usage = [c for c in chunks if isinstance(c.get("usage"), dict)]
    if include_usage:
        assert usage == [chunks[-1]] and usage[0]["usage"] == chat_usage(received)
    else:
        assert usage == []
