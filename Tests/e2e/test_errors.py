"""Error answers, checked with raw HTTP: OpenAI-style JSON bodies, statuses, codes and headers."""

from __future__ import annotations

import json

import httpx
import pytest

from conftest import DEAD_CHANNEL, DEAD_MODEL, MAX_BODY_BYTES, OPENAI_CHANNEL, RESTRICTED_KEY
from mock_openai import FAIL_500_BODY
from support import assert_openai_error, json_events, parse_sse

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def test_no_key(http, mock_upstream):
    response = http.post("/v1/chat/completions", json=CHAT)
    error = assert_openai_error(response, 401, "invalid_api_key")
    assert error["type"] == "authentication_error"
    assert mock_upstream.requests == []


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer tg-not-a-real-key-123456"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"x-api-key": "tg-not-a-real-key-123456"},
])
def test_wrong_key(http, mock_upstream, headers):
    response = http.post("/v1/chat/completions", json=CHAT, headers=headers)
    assert_openai_error(response, 401, "invalid_api_key")
    assert mock_upstream.requests == []


def test_no_key_on_models_list(http):
    assert_openai_error(http.get("/v1/models"), 401, "invalid_api_key")


def test_unknown_model(http, auth, mock_upstream):
    response = http.post("/v1/chat/completions", json={**CHAT, "model": "claude-nonexistent"}, headers=auth)
    error = assert_openai_error(response, 404, "model_not_found")
    assert "claude-nonexistent" in error["message"]
    assert mock_upstream.requests == []


def test_model_not_allowed_for_key(http, mock_upstream):
    response = http.post("/v1/chat/completions", json=CHAT, headers={"Authorization": f"Bearer {RESTRICTED_KEY}"})
    assert_openai_error(response, 403, "model_not_allowed")
    assert mock_upstream.requests == []


@pytest.mark.parametrize("body", [
    b'{"model": "gpt-4o", "messages": [',
    b'{"model": "gpt-4o",}',
    b"not json at all",
    b"",
    b'["model", "gpt-4o"]',
    b'{"model": "gpt-4o"} trailing',
])
def test_malformed_json(http, auth, mock_upstream, body):
    response = http.post("/v1/chat/completions", content=body, headers={**auth, "content-type": "application/json"})
    assert_openai_error(response, 400)
    assert mock_upstream.requests == []


def test_malformed_json_code(http, auth):
    response = http.post("/v1/chat/completions", content=b'{"model": "gpt-4o", "messages": [',
                         headers={**auth, "content-type": "application/json"})
    assert_openai_error(response, 400, "invalid_json")


@pytest.mark.parametrize("body", [
    {"messages": [{"role": "user", "content": "no model"}]},
    {"model": "", "messages": [{"role": "user", "content": "empty model"}]},
])
def test_missing_model(http, auth, mock_upstream, body):
    response = http.post("/v1/chat/completions", json=body, headers=auth)
    assert_openai_error(response, 400, "missing_model")
    assert mock_upstream.requests == []


def test_missing_model_embeddings(http, auth, mock_upstream):
    response = http.post("/v1/embeddings", json={"input": "x"}, headers=auth)
    assert_openai_error(response, 400, "missing_model")
    assert mock_upstream.requests == []


def test_body_over_limit_with_content_length(http, auth, mock_upstream):
    padding = "x" * (MAX_BODY_BYTES + 1024)
    body = json.dumps({**CHAT, "messages": [{"role": "user", "content": padding}]}).encode()
    assert len(body) > MAX_BODY_BYTES
    response = http.post("/v1/chat/completions", content=body, headers={**auth, "content-type": "application/json"})
    assert_openai_error(response, 413, "request_too_large")
    assert mock_upstream.requests == []


def test_body_over_limit_chunked_upload(http, auth, mock_upstream):
    """No content-length: the limit must hold while the body streams in."""
    def body():
        yield b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "'
        for _ in range(MAX_BODY_BYTES // 4096 + 2):
            yield b"y" * 4096
        yield b'"}]}'

    response = http.post("/v1/chat/completions", content=body(), headers={**auth, "content-type": "application/json"})
    assert_openai_error(response, 413, "request_too_large")
    assert mock_upstream.requests == []


def test_body_just_under_limit_is_accepted(http, auth, mock_upstream):
    skeleton = json.dumps({**CHAT, "messages": [{"role": "user", "content": ""}]}).encode()
    padding = "z" * (MAX_BODY_BYTES - len(skeleton))
    body = json.dumps({**CHAT, "messages": [{"role": "user", "content": padding}]}).encode()
    assert len(body) == MAX_BODY_BYTES
    response = http.post("/v1/chat/completions", content=body, headers={**auth, "content-type": "application/json"})
    assert response.status_code == 200, response.text[:500]
    assert mock_upstream.only("/v1/chat/completions").body == body


@pytest.mark.parametrize("stream", [False, True])
def test_dead_upstream(http, auth, stream):
    response = http.post("/v1/chat/completions", json={**CHAT, "model": DEAD_MODEL, "stream": stream}, headers=auth)
    error = assert_openai_error(response, 502, "upstream_unreachable")
    assert DEAD_CHANNEL in error["message"], error
    assert "connect" in error["message"], error


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_500_passes_through(http, auth, mock_upstream, stream):
    response = http.post("/v1/chat/completions", json={**CHAT, "model": "fail-500", "stream": stream}, headers=auth)
    upstream = mock_upstream.only("/v1/chat/completions")
    assert response.status_code == 500, response.text
    assert response.content == upstream.response_body == FAIL_500_BODY
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-request-id"]
    assert response.headers["x-tollgate-channel"] == OPENAI_CHANNEL
    assert response.json()["error"]["type"] == "server_error"


@pytest.mark.parametrize("include_usage", [False, True])
def test_upstream_cut_mid_stream(http, auth, mock_upstream, include_usage):
    request = {"model": "cut-stream", "stream": True, "messages": [{"role": "user", "content": "cut me off"}]}
    if include_usage:
        request["stream_options"] = {"include_usage": True}
    with http.stream("POST", "/v1/chat/completions", json=request, headers=auth) as response:
        raw = response.read()  # raises if the gateway breaks the client's response instead of ending it

    assert response.status_code == 200
    assert response.headers["x-request-id"]
    assert response.headers["content-type"].startswith("text/event-stream")
    payloads = parse_sse(raw)
    assert raw.endswith(b"\n\n"), raw[-200:]
    assert b"[DONE]" not in payloads
    events = json_events(payloads)
    # The two events the upstream sent, in order, then one error event, and nothing after it.
    upstream = mock_upstream.only("/v1/chat/completions")
    sent = json_events(parse_sse(upstream.response_body))
    assert len(sent) == 2
    assert events[:2] == sent, raw
    assert len(events) == 3, raw
    error = events[2].get("error")
    assert isinstance(error, dict), events[2]
    assert error.get("message") and error.get("type") and "code" in error, error

    # The gateway stays usable for the next request on the same channel.
    after = http.post("/v1/chat/completions", json=CHAT, headers=auth)
    assert after.status_code == 200, after.text


def test_wrong_method(http, auth):
    assert_openai_error(http.get("/v1/chat/completions", headers=auth), 405, "method_not_allowed")


def test_unknown_route(http, auth):
    assert_openai_error(http.post("/v1/does-not-exist", json=CHAT, headers=auth), 404, "unknown_route")


def test_health(http):
    response = http.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]


def test_request_ids_are_unique(http, auth):
    ids = [http.post("/v1/chat/completions", json={**CHAT, "model": "mock-echo"}, headers=auth).headers["x-request-id"]
           for _ in range(5)]
    ids.append(http.get("/v1/models").headers["x-request-id"])
    assert len(set(ids)) == len(ids), ids


def test_mock_upstream_checks_channel_key(mock_upstream):
    """The mock itself refuses a wrong channel key, so passing requests prove the gateway sent the right one."""
    response = httpx.post(mock_upstream.base_url + "/chat/completions", json=CHAT,
                          headers={"Authorization": "Bearer sk-wrong"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
