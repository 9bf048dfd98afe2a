"""A stream is relayed event by event: the client reads the first event while the upstream is
still holding back the second. Asserted by ordering, never by timing thresholds."""

from __future__ import annotations

import contextlib
import json
import time
import uuid

import httpx
import pytest

from mock_openai import HOLD_TIMEOUT_SECONDS, reply_words
from support import json_events, parse_sse, split_complete_events


@pytest.mark.parametrize("include_usage", [False, True])
def test_first_event_arrives_before_upstream_sends_the_rest(gateway, mock_upstream, auth, include_usage):
    key = f"hold {uuid.uuid4().hex}"
    hold = mock_upstream.hold(key)
    request = {"model": "hold-back", "stream": True, "messages": [{"role": "user", "content": key}]}
    if include_usage:
        request["stream_options"] = {"include_usage": True}

    # A read timeout well beyond the mock's hold, so a gateway that buffers shows as the mock timing
    # out (state "timed-out") rather than as a client timeout.
    timeout = httpx.Timeout(HOLD_TIMEOUT_SECONDS * 3)
    with httpx.Client(base_url=gateway.url, timeout=timeout) as http:
        with http.stream("POST", "/v1/chat/completions", json=request, headers=auth) as response:
            assert response.status_code == 200, response.read()
            chunks = response.iter_raw()
            buffer = b""
            first: list[bytes] = []
            while not first:
                buffer += next(chunks)
                first, buffer = split_complete_events(buffer)
            state_when_first_event_arrived = hold.state
            hold.release.set()
            rest = buffer + b"".join(chunks)

    assert state_when_first_event_arrived == "holding", (
        f"the first event reached the client only when the upstream was '{state_when_first_event_arrived}': "
        "the gateway did not relay it while the upstream was holding back the rest")
    assert hold.finished.wait(HOLD_TIMEOUT_SECONDS) and hold.state == "released"

    payloads = parse_sse(b"".join(first) + rest)
    assert payloads[-1] == b"[DONE]"
    events = json_events(payloads)
    assert events[0]["choices"][0]["delta"]["role"] == "assistant"
    upstream = mock_upstream.only("/v1/chat/completions")
    deltas = [c["choices"][0]["delta"].get("content") for c in events if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert deltas == reply_words(upstream.json())
    assert not [c for c in events if "error" in c]
    usage_chunks = [c for c in events if isinstance(c.get("usage"), dict)]
    assert len(usage_chunks) == (1 if include_usage else 0)
    assert json.loads(parse_sse(first[0])[0])["choices"][0]["delta"]["role"] == "assistant"


def read_first_event(response) -> tuple[bytes, object]:
    """Reads until one complete event; returns it and the raw-bytes iterator for the rest."""
    chunks = response.iter_raw()
    buffer = b""
    while True:
        buffer += next(chunks)
        events, rest = split_complete_events(buffer)
        if events:
            return events[0], (rest, chunks)


def test_streams_are_relayed_concurrently(gateway, mock_upstream, auth):
    """Several held streams at once: every client gets its first event while all upstreams hold."""
    keys = [f"concurrent {i} {uuid.uuid4().hex}" for i in range(6)]
    holds = [mock_upstream.hold(key) for key in keys]
    with httpx.Client(base_url=gateway.url, timeout=httpx.Timeout(HOLD_TIMEOUT_SECONDS * 3)) as http, \
            contextlib.ExitStack() as stack:
        pending = []
        for key in keys:
            request = {"model": "hold-back", "stream": True, "messages": [{"role": "user", "content": key}]}
            response = stack.enter_context(http.stream("POST", "/v1/chat/completions", json=request, headers=auth))
            assert response.status_code == 200
            pending.append((response, read_first_event(response)))
        states = [hold.state for hold in holds]
        for hold in holds:
            hold.release.set()
        bodies = []
        for response, (first, (rest, chunks)) in pending:
            bodies.append(first + rest + b"".join(chunks))

    assert states == ["holding"] * len(keys), states
    for key, body in zip(keys, bodies):
        payloads = parse_sse(body)
        assert payloads[-1] == b"[DONE]"
        events = json_events(payloads)
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in events if c["choices"])
        assert text == f"Mock reply to: {key}", "a client received another stream's events"


def test_client_disconnect_cancels_the_upstream(gateway, mock_upstream, auth):
    """The client goes away mid-stream: by default (`limits.on_client_disconnect: cancel`) the
    gateway closes the upstream stream at once, so nobody pays for tokens nobody reads (billing:
    test_ledger.py; `drain` keeps reading, also there)."""
    key = f"disconnect {uuid.uuid4().hex}"
    hold = mock_upstream.hold(key)
    request = {"model": "hold-back", "stream": True, "messages": [{"role": "user", "content": key}]}
    with httpx.Client(base_url=gateway.url, timeout=httpx.Timeout(HOLD_TIMEOUT_SECONDS * 3)) as http:
        with http.stream("POST", "/v1/chat/completions", json=request, headers=auth) as response:
            assert response.status_code == 200
            read_first_event(response)
            assert hold.state == "holding"
    # The client connection is closed; the gateway closes the upstream one (the mock sees its peer go).
    assert hold.finished.wait(HOLD_TIMEOUT_SECONDS * 2), "the upstream stream was kept open after the client left"
    assert hold.state == "closed-by-peer", hold.state

    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        after = http.post("/v1/chat/completions", headers=auth,
                          json={"model": "gpt-4o", "messages": [{"role": "user", "content": "still there?"}]})
    assert after.status_code == 200, after.text
