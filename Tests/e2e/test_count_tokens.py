"""`POST /v1/messages/count_tokens` (Anthropic dialect) with the official `anthropic` SDK: the mock
Anthropic API's own counter is first shown faithful (SDK pointed straight at it); through the
gateway a Claude channel's count is the provider's, so is a Gemini channel's (Google's countTokens,
the request converted) and a Bedrock channel's (its CountTokens API, with the Converse or the
InvokeModel input the channel would send), while a channel without a counter (`mock`) gets the
gateway's estimate marked `x-tollgate-estimated: true`. Counting is never billed."""

from __future__ import annotations

import base64
import json

import anthropic
import httpx
import pytest

import mock_anthropic as ma
import mock_bedrock as mb
import mock_gemini as mg
from conftest import (ANTHROPIC_CHANNEL_KEY, BEDROCK_CHANNEL, BEDROCK_INVOKE_CHANNEL, BEDROCK_INVOKE_MODEL, BEDROCK_MAPPED_MODEL,
                      CLAUDE_CHANNEL, CLIENT_KEY, GEMINI_CHANNEL, GEMINI_CHANNEL_KEY, SAGEMAKER_ENDPOINT)
from test_ledger import ledger_row

CLAUDE_MODEL = "claude-sonnet-4-5-20250929"
MESSAGES = [{"role": "user", "content": "how many tokens are in this sentence?"}]
TOOLS = [{"name": "get_weather", "description": "Weather for a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]


def test_anthropic_sdk_counts_tokens_on_the_mock(mock_anthropic):
    direct = anthropic.Anthropic(base_url=mock_anthropic.url, api_key=ANTHROPIC_CHANNEL_KEY, max_retries=0)
    counted = direct.messages.count_tokens(model=CLAUDE_MODEL, messages=MESSAGES, system="Be brief.", tools=TOOLS)
    sent = json.loads(mock_anthropic.requests[-1].body)
    assert mock_anthropic.requests[-1].path == "/v1/messages/count_tokens"
    assert counted.input_tokens == ma.count_tokens(sent) > 0
    with pytest.raises(anthropic.BadRequestError):
        direct.messages.count_tokens(model=CLAUDE_MODEL, messages=MESSAGES, extra_body={"max_tokens": 5})


def assert_counted_unbilled(gateway, raw, channel):
    """Counted by the provider (not estimated), on `channel`, and never billed."""
    assert "x-tollgate-estimated" not in raw.headers
    assert raw.headers["x-tollgate-channel"] == channel
    assert "x-tollgate-cost" not in raw.headers
    row = ledger_row(gateway, raw.headers["x-request-id"])
    assert (row["route"], row["status"], row["cost_nano"], row["prompt_tokens"]) == ("count_tokens", 200, None, None), row


def sdk(gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=CLIENT_KEY, max_retries=0)


@pytest.fixture
def claude(dialect_gateway):
    with sdk(dialect_gateway) as client:
        yield client


def test_a_claude_channel_counts_with_anthropics_counter_unbilled(claude, dialect_gateway, mock_anthropic):
    raw = claude.messages.with_raw_response.count_tokens(model=CLAUDE_MODEL, messages=MESSAGES, system="Be brief.", tools=TOOLS)
    counted = raw.parse()
    sent = mock_anthropic.only("/v1/messages/count_tokens")
    assert counted.input_tokens == ma.count_tokens(json.loads(sent.body))
    assert_counted_unbilled(dialect_gateway, raw, CLAUDE_CHANNEL)


def test_a_gemini_channel_counts_with_googles_counter(claude, dialect_gateway, mock_gemini):
    raw = claude.messages.with_raw_response.count_tokens(model="gemini-2.5-flash", messages=MESSAGES, system="Be brief.", tools=TOOLS)
    sent = mock_gemini.only("/v1beta/models/gemini-2.5-flash:countTokens")
    assert sent.header("x-goog-api-key") == GEMINI_CHANNEL_KEY
    generate = json.loads(sent.body)["generateContentRequest"]
    assert generate["model"] == "models/gemini-2.5-flash"
    assert generate["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert generate["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    assert raw.parse().input_tokens == mg.usage_metadata(generate)["promptTokenCount"] > 0
    assert_counted_unbilled(dialect_gateway, raw, GEMINI_CHANNEL)


def test_gemini_refusals_are_anthropic_errors(claude, mock_gemini):
    # A model of this test's own: the 404 opens its circuit in the shared gateway.
    with pytest.raises(anthropic.NotFoundError) as refused:
        claude.messages.count_tokens(model="gemini-missing-count", messages=MESSAGES)
    assert refused.value.body["type"] == "error" and "is not found" in refused.value.body["error"]["message"]
    assert mock_gemini.only().path == "/v1beta/models/gemini-missing-count:countTokens"


def test_a_channel_without_a_counter_gets_an_estimate(gateway, mock_upstream):
    with sdk(gateway) as client:
        raw = client.messages.with_raw_response.count_tokens(model="mock-echo", messages=MESSAGES)
        assert raw.headers["x-tollgate-estimated"] == "true"
        assert 5 <= raw.parse().input_tokens <= 40
        longer = client.messages.count_tokens(model="mock-echo", messages=MESSAGES * 10)
    assert longer.input_tokens > raw.parse().input_tokens * 5
    assert not mock_upstream.requests, "nothing was sent upstream"


def test_bad_count_requests_get_anthropic_errors(claude, dialect_gateway, mock_anthropic):
    with httpx.Client(base_url=dialect_gateway.url, timeout=30) as http:
        for body, status in [(b"{not json", 400), (json.dumps({"model": CLAUDE_MODEL}).encode(), 400),
                             (json.dumps({"model": "no-such-model", "messages": MESSAGES}).encode(), 404)]:
            response = http.post("/v1/messages/count_tokens", content=body,
                                 headers={"x-api-key": CLIENT_KEY, "content-type": "application/json"})
            assert response.status_code == status, response.text
            assert response.json()["type"] == "error" and response.json()["error"]["message"], response.text
    assert not mock_anthropic.requests
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=dialect_gateway.url, api_key="wrong", max_retries=0).messages.count_tokens(
            model=CLAUDE_MODEL, messages=MESSAGES)


COUNT_PATH = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/count-tokens"


@pytest.fixture
def claude_on_bedrock(bedrock_gateway):
    with sdk(bedrock_gateway) as client:
        yield client


def test_a_bedrock_converse_channel_counts_with_bedrocks_counter(claude_on_bedrock, bedrock_gateway, mock_bedrock):
    raw = claude_on_bedrock.messages.with_raw_response.count_tokens(
        model=BEDROCK_MAPPED_MODEL, messages=MESSAGES, system="Be brief.", tools=TOOLS)
    converse = json.loads(mock_bedrock.only(COUNT_PATH).body)["input"]["converse"]
    assert not mock_bedrock.signature_failures
    assert converse["system"] == [{"text": "Be brief."}]
    assert converse["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"
    assert raw.parse().input_tokens == mb.count_tokens(converse, "converse") > 0
    assert_counted_unbilled(bedrock_gateway, raw, BEDROCK_CHANNEL)


def test_a_bedrock_invoke_channel_counts_the_invoke_model_body(claude_on_bedrock, bedrock_gateway, mock_bedrock):
    raw = claude_on_bedrock.messages.with_raw_response.count_tokens(
        model=BEDROCK_INVOKE_MODEL, messages=MESSAGES, system="Be brief.", tools=TOOLS)
    sent = json.loads(mock_bedrock.only(COUNT_PATH).body)["input"]["invokeModel"]["body"]
    body = json.loads(base64.b64decode(sent))
    assert not mock_bedrock.signature_failures
    assert body["anthropic_version"] == mb.BEDROCK_ANTHROPIC_VERSION and "model" not in body and body["max_tokens"] > 0
    assert body["system"] == "Be brief." and body["tools"] == TOOLS
    assert raw.parse().input_tokens == mb.count_tokens(body, "invokeModel") > 0
    assert_counted_unbilled(bedrock_gateway, raw, BEDROCK_INVOKE_CHANNEL)


def test_bedrock_refusals_are_anthropic_errors_and_sagemaker_estimates(claude_on_bedrock, mock_bedrock, mock_sagemaker):
    with pytest.raises(anthropic.BadRequestError) as refused:
        claude_on_bedrock.messages.count_tokens(model="mock.no-counter", messages=MESSAGES)
    assert "doesn't support counting tokens" in refused.value.message, refused.value.message
    assert refused.value.body["type"] == "error"
    assert mock_bedrock.only().path == "/model/mock.no-counter/count-tokens"
    raw = claude_on_bedrock.messages.with_raw_response.count_tokens(model=SAGEMAKER_ENDPOINT, messages=MESSAGES)
    assert raw.headers["x-tollgate-estimated"] == "true"
    assert not mock_sagemaker.requests, "an endpoint has no counter: nothing is run"
