"""`POST /v1/messages/count_tokens` (Anthropic dialect) with the official `anthropic` SDK: the mock
Anthropic API's own counter is first shown faithful (SDK pointed straight at it); through the
gateway a Claude channel's count is the provider's, while a channel without a counter (Gemini) gets
the gateway's estimate marked `x-tollgate-estimated: true`. Counting is never billed."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

import mock_anthropic as ma
from conftest import ANTHROPIC_CHANNEL_KEY, CLAUDE_CHANNEL, CLIENT_KEY
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


@pytest.fixture
def claude(dialect_gateway):
    client = anthropic.Anthropic(base_url=dialect_gateway.url, api_key=CLIENT_KEY, max_retries=0)
    yield client
    client.close()


def test_a_claude_channel_counts_with_anthropics_counter_unbilled(claude, dialect_gateway, mock_anthropic):
    raw = claude.messages.with_raw_response.count_tokens(model=CLAUDE_MODEL, messages=MESSAGES, system="Be brief.", tools=TOOLS)
    counted = raw.parse()
    sent = mock_anthropic.only("/v1/messages/count_tokens")
    assert counted.input_tokens == ma.count_tokens(json.loads(sent.body))
    assert "x-tollgate-estimated" not in raw.headers
    assert raw.headers["x-tollgate-channel"] == CLAUDE_CHANNEL
    assert "x-tollgate-cost" not in raw.headers
    row = ledger_row(dialect_gateway, raw.headers["x-request-id"])
    assert (row["route"], row["status"], row["cost_nano"], row["prompt_tokens"]) == ("count_tokens", 200, None, None), row


def test_a_channel_without_a_counter_gets_an_estimate(claude, dialect_gateway, mock_gemini):
    raw = claude.messages.with_raw_response.count_tokens(model="gemini-2.5-flash", messages=MESSAGES)
    assert raw.headers["x-tollgate-estimated"] == "true"
    assert 5 <= raw.parse().input_tokens <= 40
    assert not mock_gemini.requests, "nothing was sent upstream"
    longer = claude.messages.count_tokens(model="gemini-2.5-flash", messages=MESSAGES * 10)
    assert longer.input_tokens > raw.parse().input_tokens * 5


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
