"""The official `openai` Python SDK against Tollgate, with the mock OpenAI upstream behind it."""

from __future__ import annotations

import base64
import json
import struct

import openai
import pytest

from conftest import (CHANNEL_KEY, CLIENT_KEY, DEAD_MODEL, MAPPED_MODEL, MAPPED_UPSTREAM_MODEL, MOCK_CHANNEL,
                      OPENAI_CHANNEL, RESTRICTED_KEY)
from mock_openai import chat_usage, embedding_usage, embedding_vector, reply_text, reply_words

MESSAGES = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Say hello to Tollgate, café ✓"},
]


def assert_upstream_auth(upstream) -> None:
    """The upstream got the channel's key, and the client's key never left the gateway."""
    assert upstream.header_values("authorization") == [f"Bearer {CHANNEL_KEY}"]
    for name, value in upstream.headers:
        assert CLIENT_KEY not in value, f"client key leaked upstream in header {name}"


def test_chat_completion(sdk, mock_upstream):
    raw = sdk.client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0,
                                                                max_tokens=50)
    completion = raw.parse()
    upstream = mock_upstream.only("/v1/chat/completions")
    request = upstream.json()

    # The request reached the upstream byte for byte as the SDK sent it.
    assert upstream.body == sdk.last_sent().content
    assert upstream.method == "POST"
    assert upstream.header("content-type") == "application/json"
    assert_upstream_auth(upstream)

    # The answer and its usage are the upstream's.
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == reply_text(request)
    assert completion.choices[0].finish_reason == "stop"
    expected = chat_usage(request)
    assert completion.usage.prompt_tokens == expected["prompt_tokens"]
    assert completion.usage.completion_tokens == expected["completion_tokens"]
    assert completion.usage.total_tokens == expected["total_tokens"]
    assert completion.usage.prompt_tokens_details.cached_tokens == 3
    assert completion.usage.model_dump(exclude_none=True) == expected

    # The response body is the upstream's, byte for byte, with the gateway's headers added.
    assert raw.http_response.content == upstream.response_body
    assert raw.headers["x-tollgate-channel"] == OPENAI_CHANNEL
    assert raw.headers["x-request-id"]
    upstream_id = dict(upstream.response_headers)["x-request-id"]
    assert raw.headers["x-upstream-request-id"] == upstream_id
    assert raw.headers["x-request-id"] != upstream_id


def test_chat_stream_with_include_usage(sdk, mock_upstream):
    stream = sdk.client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True,
                                                stream_options={"include_usage": True})
    chunks = list(stream)
    upstream = mock_upstream.only("/v1/chat/completions")
    request = upstream.json()

    # Usage was asked for by the client: the body goes through untouched.
    assert upstream.body == sdk.last_sent().content
    assert_upstream_auth(upstream)

    content_chunks = [c for c in chunks if c.choices]
    assert [c.choices[0].delta.content for c in content_chunks if c.choices[0].delta.content] == reply_words(request)
    assert content_chunks[-1].choices[0].finish_reason == "stop"
    # The usage chunk arrives last, with no choices, and matches the upstream's count.
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert usage_chunk.usage.model_dump(exclude_none=True) == chat_usage(request)
    assert usage_chunk.usage.prompt_tokens_details.cached_tokens == 3
    assert [c for c in chunks if c.usage is not None] == [usage_chunk]


def test_chat_stream_without_include_usage(sdk, mock_upstream):
    stream = sdk.client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    chunks = list(stream)
    upstream = mock_upstream.only("/v1/chat/completions")
    request = upstream.json()

    # The gateway asked the upstream for usage on the client's behalf...
    sent = json.loads(sdk.last_sent().content)
    assert "stream_options" not in sent
    assert request["stream_options"] == {"include_usage": True}
    assert {k: v for k, v in request.items() if k != "stream_options"} == sent
    # ...and the client does not see the usage chunk.
    assert all(c.choices for c in chunks), [c.model_dump() for c in chunks if not c.choices]
    assert all(c.usage is None for c in chunks)
    # Every content chunk, in order.
    assert [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content] == reply_words(request)
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.parametrize("encoding_format", [None, "float", "base64"])
def test_embeddings(sdk, mock_upstream, encoding_format):
    inputs = ["The food was delicious", "and the waiter was kind"]
    kwargs = {"encoding_format": encoding_format} if encoding_format else {}
    raw = sdk.client.embeddings.with_raw_response.create(model="text-embedding-3-small", input=inputs, **kwargs)
    result = raw.parse()
    upstream = mock_upstream.only("/v1/embeddings")

    assert upstream.body == sdk.last_sent().content
    assert_upstream_auth(upstream)
    assert raw.http_response.content == upstream.response_body
    assert raw.headers["x-tollgate-channel"] == OPENAI_CHANNEL
    assert result.model == "text-embedding-3-small"
    assert [d.index for d in result.data] == [0, 1]
    vectors = [d.embedding for d in result.data]
    if encoding_format == "base64":  # asked for explicitly: the SDK hands the base64 text back as is
        vectors = [list(struct.unpack(f"<{len(base64.b64decode(v)) // 4}f", base64.b64decode(v))) for v in vectors]
    assert vectors == [embedding_vector(t, i) for i, t in enumerate(inputs)]
    assert result.usage.prompt_tokens == embedding_usage(inputs)["prompt_tokens"]
    assert result.usage.total_tokens == embedding_usage(inputs)["total_tokens"]


def test_model_map_renames_upstream_model(sdk, mock_upstream):
    completion = sdk.client.chat.completions.create(model=MAPPED_MODEL, messages=MESSAGES)
    upstream = mock_upstream.only("/v1/chat/completions")
    sent = sdk.last_sent().content

    assert upstream.json()["model"] == MAPPED_UPSTREAM_MODEL
    # Only the model's string changed; every other byte is the SDK's.
    assert sent.count(f'"{MAPPED_MODEL}"'.encode()) == 1
    assert upstream.body == sent.replace(f'"{MAPPED_MODEL}"'.encode(), f'"{MAPPED_UPSTREAM_MODEL}"'.encode())
    assert completion.choices[0].message.content == reply_text(upstream.json())


def test_model_map_renames_upstream_model_in_stream(sdk, mock_upstream):
    chunks = list(sdk.client.chat.completions.create(model=MAPPED_MODEL, messages=MESSAGES, stream=True))
    request = mock_upstream.only("/v1/chat/completions").json()
    assert request["model"] == MAPPED_UPSTREAM_MODEL
    assert request["stream_options"] == {"include_usage": True}
    assert [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content] == reply_words(request)
    assert all(c.usage is None for c in chunks)


def test_models_list(sdk, mock_upstream):
    models = list(sdk.client.models.list())
    ids = [m.id for m in models]
    assert len(ids) == len(set(ids)), f"duplicate model ids: {ids}"
    assert {"hold-back", "fail-500", "cut-stream", MAPPED_MODEL, "mock-echo", DEAD_MODEL} <= set(ids), ids
    assert not [i for i in ids if "*" in i], f"wildcard patterns listed as models: {ids}"
    assert all(m.object == "model" for m in models)
    assert mock_upstream.requests == []


def test_models_list_respects_key_models(make_sdk):
    restricted = make_sdk(api_key=RESTRICTED_KEY)
    assert [m.id for m in restricted.client.models.list()] == ["mock-echo"]


def test_mock_echo(sdk, mock_upstream):
    raw = sdk.client.chat.completions.with_raw_response.create(
        model="mock-echo", messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}])
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hello there"
    assert completion.model == "mock-echo"
    assert completion.usage.prompt_tokens == 4
    assert completion.usage.completion_tokens == 3
    assert completion.usage.total_tokens == 7
    assert raw.headers["x-tollgate-channel"] == MOCK_CHANNEL
    assert raw.headers["x-request-id"]
    assert mock_upstream.requests == []


@pytest.mark.parametrize("include_usage", [False, True])
def test_mock_echo_stream(sdk, mock_upstream, include_usage):
    kwargs = {"stream_options": {"include_usage": True}} if include_usage else {}
    chunks = list(sdk.client.chat.completions.create(
        model="mock-echo", messages=[{"role": "user", "content": "one two three"}], stream=True, **kwargs))
    content = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert content == ["echo:", " one", " two", " three"]
    finished = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finished] == ["stop"]
    usage_chunks = [c for c in chunks if c.usage is not None]
    if include_usage:
        assert usage_chunks == [chunks[-1]] and chunks[-1].choices == []
        assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens, chunks[-1].usage.total_tokens) == (3, 4, 7)
    else:
        assert usage_chunks == []
    assert mock_upstream.requests == []


def test_openai_headers_forwarded(make_sdk, mock_upstream):
    client = make_sdk(organization="org-e2e", project="proj-e2e")
    client.client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    upstream = mock_upstream.only("/v1/chat/completions")
    assert upstream.header("openai-organization") == "org-e2e"
    assert upstream.header("openai-project") == "proj-e2e"
    assert_upstream_auth(upstream)


@pytest.mark.parametrize("model, api_key, exception, status", [
    ("gpt-4o", "tg-wrong-key-000000000", openai.AuthenticationError, 401),
    ("no-such-model", None, openai.NotFoundError, 404),
    ("gpt-4o", RESTRICTED_KEY, openai.PermissionDeniedError, 403),
    ("fail-500", None, openai.InternalServerError, 500),
    (DEAD_MODEL, None, openai.APIStatusError, 502),
])
def test_errors_surface_as_sdk_exceptions(make_sdk, model, api_key, exception, status):
    client = make_sdk(api_key=api_key) if api_key else make_sdk()
    with pytest.raises(exception) as caught:
        client.client.chat.completions.create(model=model, messages=MESSAGES)
    assert caught.value.status_code == status
    assert isinstance(caught.value.body, dict) and caught.value.body.get("message"), caught.value.body
    assert caught.value.response.headers.get("x-request-id")


def test_sdk_stream_cut_by_upstream_raises(sdk):
    stream = sdk.client.chat.completions.create(model="cut-stream", messages=MESSAGES, stream=True)
    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 2 and received[0].choices[0].delta.role == "assistant"
    assert caught.value.message
