"""Billing end to end (issue 4): the usage ledger in `<data_dir>/tollgate.db` through the real
gateway. For every provider, streamed and not, the ledger row of a request (found by its
`x-request-id`) has exactly the tokens the mock upstream reported (computed with the mock's own
usage functions on the request it received), and the cost computed here, independently, from the
bundled LiteLLM price list with `decimal`; a client that hangs up mid-stream is billed (499) for
what the upstream reported at the end of its stream; a cut stream is billed for what was reported
before the cut; SIGTERM under load loses no record of an answered request; budgets give 402 in the
route's dialect; an unpriced model is recorded without a cost and notified (`price_missing`);
`tollgate usage`, `/admin/usage` and `tollgate prices sync` (malformed data refused, entry named,
prices in force kept); a ledger of the old shape rebuilt in start-time order with every row kept."""

from __future__ import annotations

import contextlib
import json
import random
import re
import signal
import sqlite3
import subprocess
import textwrap
import threading
import time
import uuid
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

import mock_anthropic as ma
import mock_bedrock as mb
import mock_gemini as mg
import mock_openai as mo
import mock_sagemaker as ms
from conftest import (
    BEDROCK_CHANNEL, BEDROCK_INVOKE_CHANNEL, BEDROCK_INVOKE_MODEL, BEDROCK_MAPPED_MODEL, BEDROCK_MODEL_ID, CHANNEL_KEY,
    CLAUDE_CHANNEL, CLAUDE_MAPPED_MODEL, CLAUDE_MAPPED_UPSTREAM_MODEL, CLIENT_KEY, GEMINI_CHANNEL, MAPPED_MODEL,
    MAPPED_UPSTREAM_MODEL, MOCK_CHANNEL, OPENAI_CHANNEL, REPO, SAGEMAKER_CHANNEL, SAGEMAKER_ENDPOINT, VERTEX_CHANNEL,
    VERTEX_CLAUDE_MAPPED_MODEL, VERTEX_CLAUDE_UPSTREAM_MODEL, VERTEX_MAPPED_MODEL, VERTEX_MAPPED_UPSTREAM_MODEL,
    Gateway, _gateway_binary, start_dedicated_gateway, stop_gateway, write_gateway_config,
)
from fault_support import OpenAIUpstream, ledger_rows
from mock_openai import HOLD_TIMEOUT_SECONDS
from support import assert_openai_error, json_events, parse_sse, split_complete_events

BUNDLED_PRICES = REPO / "Sources" / "TollgateCore" / "Resources" / "model_prices_and_context_window.json"
# The gateway's builtin price for the `mock` provider's model (PriceService.builtin).
BUILTIN_PRICES = {"mock-echo": {"input_cost_per_token": Decimal("1e-06"), "output_cost_per_token": Decimal("2e-06")}}
# How LiteLLM names a provider's entries (`<prefix>/<model>` first, then the bare model name).
PRICE_PREFIXES = {"claude": ["anthropic"], "vertex": ["vertex_ai"], "bedrock": ["bedrock", "bedrock_converse"],
                  "gemini": ["gemini"], "openai": ["openai"], "sagemaker": ["sagemaker"], "mock": []}
LEDGER_WAIT_SECONDS = 3.0
ADMIN_KEY = "tg-e2e-admin-key-0123456789abcdef"
BUDGET_KEY = "tg-e2e-budget-key-0123456789abcd"
ANTHROPIC_HEADERS = {"x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01"}
USAGE_COLUMNS = ("prompt_tokens", "completion_tokens", "cache_read_tokens", "cache_creation_tokens", "reasoning_tokens")


# --- prices, computed here ---------------------------------------------------------------------

@lru_cache(maxsize=None)
def bundled_prices() -> dict:
    """The bundled LiteLLM list, every price kept as the exact decimal of its JSON literal."""
    with open(BUNDLED_PRICES) as f:
        return json.load(f, parse_float=Decimal)


def price_entry(model: str, provider: str, prices: dict | None = None) -> tuple[str, dict] | None:
    """The entry the gateway should price `model` (the upstream's name) on a `provider` channel with."""
    book = {**(prices if prices is not None else bundled_prices()), **BUILTIN_PRICES}
    for prefix in PRICE_PREFIXES.get(provider, [provider]):
        if f"{prefix}/{model}" in book:
            return f"{prefix}/{model}", book[f"{prefix}/{model}"]
    return (model, book[model]) if model in book else None


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def expected_cost_nano(entry: dict, usage: dict) -> int:
    """The standard rule with cache pricing (docs/billing.md): uncached prompt x input + cache reads
    x cache_read (default 10% of input) + cache writes x cache_creation (default 125%) + plain
    output x output + reasoning x reasoning (default output); each price made nano per 1M tokens
    (half up), the exact sum divided by 1e6 once, half up. Only for small prompts (no tiers)."""
    assert "tiered_pricing" not in entry, "this test's cost rule has no tiers"
    per_1m = lambda literal: half_up(Decimal(literal) * Decimal(10) ** 15)  # noqa: E731
    input_price = per_1m(entry["input_cost_per_token"])
    output_price = per_1m(entry["output_cost_per_token"])
    cache_read_price = per_1m(entry["cache_read_input_token_cost"]) if "cache_read_input_token_cost" in entry \
        else half_up(Decimal(input_price) * Decimal("0.10"))
    cache_creation_price = per_1m(entry["cache_creation_input_token_cost"]) if "cache_creation_input_token_cost" in entry \
        else half_up(Decimal(input_price) * Decimal("1.25"))
    reasoning_price = per_1m(entry["output_cost_per_reasoning_token"]) if "output_cost_per_reasoning_token" in entry \
        else output_price
    cache_read, cache_creation = usage.get("cache_read_tokens") or 0, usage.get("cache_creation_tokens") or 0
    reasoning = usage.get("reasoning_tokens") or 0
    total = ((usage["prompt_tokens"] - cache_read - cache_creation) * input_price + cache_read * cache_read_price
             + cache_creation * cache_creation_price + (usage["completion_tokens"] - reasoning) * output_price
             + reasoning * reasoning_price)
    return half_up(Decimal(total) / Decimal(10) ** 6)


def nano_text(nano: int) -> str:
    """`x-tollgate-cost`'s format: every nano digit kept (`0.000915000`)."""
    return f"{nano // 10**9}.{nano % 10**9:09d}"


# --- the ledger ----------------------------------------------------------------------------------

def query_ledger(gateway: Gateway, sql: str = "SELECT * FROM usage_ledger", params: tuple = ()) -> list[dict]:
    if not gateway.db_path.exists():
        return []
    with contextlib.closing(sqlite3.connect(gateway.db_path, timeout=10)) as db:
        db.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in db.execute(sql, params)]
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return []
            raise


def ledger_row(gateway: Gateway, request_id: str, timeout: float = LEDGER_WAIT_SECONDS) -> dict:
    """The ledger row of `request_id`, polled until the batched writer has written it."""
    assert request_id, "the response has no x-request-id"
    deadline = time.monotonic() + timeout
    while True:
        rows = query_ledger(gateway, "SELECT * FROM usage_ledger WHERE request_id = ?", (request_id,))
        if rows:
            return rows[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no usage_ledger row for {request_id} after {timeout} s")
        time.sleep(0.05)


def tokens(row: dict) -> dict:
    """The row's token counts; an absent cache/reasoning count reads as 0 (the upstream reported none)."""
    counts = {column: row[column] for column in USAGE_COLUMNS}
    for column in ("cache_read_tokens", "cache_creation_tokens", "reasoning_tokens"):
        counts[column] = counts[column] or 0
    return counts


def usage(prompt: int, completion: int, cache_read: int = 0, cache_creation: int = 0, reasoning: int = 0) -> dict:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "cache_read_tokens": cache_read,
            "cache_creation_tokens": cache_creation, "reasoning_tokens": reasoning}


# What each mock reported, in the ledger's convention (prompt counts cache reads and writes,
# completion counts reasoning), from the request the mock received.

def openai_reported(request: dict) -> dict:
    u = mo.chat_usage(request)
    return usage(u["prompt_tokens"], u["completion_tokens"], u["prompt_tokens_details"]["cached_tokens"], 0,
                 u["completion_tokens_details"]["reasoning_tokens"])


def anthropic_reported(request: dict) -> dict:
    u = ma.message_usage(request)
    return usage(u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"], u["output_tokens"],
                 u["cache_read_input_tokens"], u["cache_creation_input_tokens"])


def gemini_reported(request: dict) -> dict:
    u = mg.usage_metadata(request)
    return usage(u["promptTokenCount"], u["candidatesTokenCount"] + u["thoughtsTokenCount"], u["cachedContentTokenCount"],
                 0, u["thoughtsTokenCount"])


def converse_reported(request: dict) -> dict:
    u = mb.converse_usage(request)
    return usage(u["inputTokens"] + u["cacheReadInputTokens"] + u["cacheWriteInputTokens"], u["outputTokens"],
                 u["cacheReadInputTokens"], u["cacheWriteInputTokens"])


def sagemaker_reported(request: dict) -> dict:
    u = ms.chat_usage(request)
    return usage(u["prompt_tokens"], u["completion_tokens"])


def builtin_reported(answer_usage: dict) -> dict:
    return usage(answer_usage["prompt_tokens"], answer_usage["completion_tokens"])


# --- sending -----------------------------------------------------------------------------------

def chat(gateway: Gateway, model: str, stream: bool, text: str | None = None) -> httpx.Response:
    """An OpenAI chat request (a stream without `include_usage`: the gateway must still meter it)."""
    body = {"model": model, "messages": [{"role": "system", "content": "Be brief."},
                                          {"role": "user", "content": text or f"ledger check {uuid.uuid4().hex[:8]}"}]}
    if stream:
        body["stream"] = True
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        response = http.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {CLIENT_KEY}"})
    assert response.status_code == 200, response.text
    if stream:
        payloads = parse_sse(response.content)
        assert payloads[-1] == b"[DONE]", response.text
        assert not [e for e in json_events(payloads) if "error" in e], response.text
        assert not [e for e in json_events(payloads) if e.get("usage")], "usage relayed though not asked for"
    return response


def check_row(gateway: Gateway, response: httpx.Response, *, reported: dict, model: str, channel: str, provider: str,
              upstream_model: str, dialect: str = "openai", stream: bool, status: int = 200) -> dict:
    """The response's ledger row has the reported tokens, the identity, and the cost computed here;
    a complete answer carries that cost in its headers."""
    row = ledger_row(gateway, response.headers.get("x-request-id"))
    assert tokens(row) == reported, f"ledger {tokens(row)} != reported by the upstream {reported}"
    assert (row["status"], row["estimated"]) == (status, 0), row
    assert (row["model"], row["channel"], row["provider"], row["dialect"], row["key_name"]) == \
        (model, channel, provider, dialect, "e2e"), row
    assert row["latency_us"] > 0 and row["ended_at"] >= row["started_at"] > 0, row
    assert row["ttfb_us"] is None or 0 < row["ttfb_us"] <= row["latency_us"], row
    priced = price_entry(upstream_model, provider)
    if priced is None:
        assert row["cost_nano"] is None and row["price_problem"], row
        if not stream:
            assert response.headers.get("x-tollgate-cost-status") == "unpriced", dict(response.headers)
            assert "x-tollgate-cost" not in response.headers
        return row
    name, entry = priced
    expected = expected_cost_nano(entry, reported)
    assert expected > 0
    assert (row["cost_nano"], row["currency"], row["price_name"], row["price_problem"]) == (expected, "USD", name, None), \
        f"cost {row['cost_nano']} (price {row['price_name']}), computed here {expected} with {name}"
    if stream:
        assert "x-tollgate-cost" not in response.headers
    else:
        assert response.headers.get("x-tollgate-cost") == nano_text(expected), dict(response.headers)
        assert response.headers.get("x-tollgate-cost-currency") == "USD"
        assert "x-tollgate-cost-status" not in response.headers
    return row


def upstream_json(mock, skip_token: bool = False) -> dict:
    """The one provider request the mock received (the Vertex mock's token requests aside)."""
    found = [r for r in mock.requests if not (skip_token and r.path == "/token")]
    assert len(found) == 1, [(r.path, r.body[:200]) for r in found]
    return found[0].json()


# --- 1. every provider, streamed and not ---------------------------------------------------------

STREAMS = pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])


@STREAMS
@pytest.mark.parametrize("model,upstream_model", [("gpt-4o", "gpt-4o"), (MAPPED_MODEL, MAPPED_UPSTREAM_MODEL)])
def test_openai_passthrough_is_metered(gateway, mock_upstream, model, upstream_model, stream):
    response = chat(gateway, model, stream)
    request = mock_upstream.only("/v1/chat/completions").json()
    if stream:
        assert request["stream_options"] == {"include_usage": True}, "the gateway did not ask the upstream for usage"
    check_row(gateway, response, reported=openai_reported(request), model=model, channel=OPENAI_CHANNEL,
              provider="openai", upstream_model=upstream_model, stream=stream)


def stream_without_asking_for_usage(tmp_path, mock_upstream, provider: str, model: str, settings: str = "") -> tuple[dict, dict]:
    """A stream through a dedicated gateway whose `provider` channel on `mock_upstream` has
    `options.include_usage: "false"`: the body the mock got, and the request's ledger row."""
    channels = textwrap.dedent(f"""\
        - name: plain-{provider}
          provider: {provider}
          base_url: {mock_upstream.base_url}
          credentials: {{ api_key: {CHANNEL_KEY} }}
          options: {{ include_usage: "false" }}
          models: ["{model}"]
        """)
    gw = start_dedicated_gateway(write_gateway_config(tmp_path, f"{provider} without include_usage", channels, settings=settings))
    try:
        response = chat(gw, model, True)
        return mock_upstream.only("/v1/chat/completions").json(), ledger_row(gw, response.headers["x-request-id"])
    finally:
        stop_gateway(gw)


def test_a_channel_can_leave_a_streams_body_untouched(mock_upstream, tmp_path):
    """`options.include_usage: "false"` on an openai channel (a server that refuses
    `stream_options`, such as an Azure deployment on an old api-version): a stream's body goes up
    as it came and its usage is estimated, marked so."""
    request, row = stream_without_asking_for_usage(tmp_path, mock_upstream, "openai", "gpt-4o")
    assert "stream_options" not in request, request
    assert row["estimated"] == 1 and row["prompt_tokens"] > 0 and row["completion_tokens"] > 0, row


def test_openai_cost_by_hand(gateway, mock_upstream):
    """One worked example, spelled out: gpt-4o at $2.50 in, $1.25 cached, $10 out per 1M."""
    response = chat(gateway, "gpt-4o", False, text="one two three")
    # system "Be brief." (2 words) + user (3 words) + 7 = 12 prompt tokens, 3 of them cached;
    # "Mock reply to: one two three" = 6 completion tokens.
    assert openai_reported(mock_upstream.only().json()) == usage(12, 6, 3)
    # 9 x 2.5e-6 + 3 x 1.25e-6 + 6 x 1e-5 = 0.0000225 + 0.00000375 + 0.00006 = 0.00008625
    assert response.headers["x-tollgate-cost"] == "0.000086250"
    assert ledger_row(gateway, response.headers["x-request-id"])["cost_nano"] == 86_250


@STREAMS
def test_builtin_mock_is_metered(gateway, stream):
    if stream:
        with httpx.Client(base_url=gateway.url, timeout=30) as http:
            response = http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {CLIENT_KEY}"}, json={
                "model": "mock-echo", "stream": True, "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "count these five words"}]})
        assert response.status_code == 200
        reported = [e["usage"] for e in json_events(parse_sse(response.content)) if e.get("usage")]
        assert len(reported) == 1
        answer_usage = reported[0]
    else:
        response = chat(gateway, "mock-echo", False, text="count these five words")
        answer_usage = response.json()["usage"]
    check_row(gateway, response, reported=builtin_reported(answer_usage), model="mock-echo", channel=MOCK_CHANNEL,
              provider="mock", upstream_model="mock-echo", stream=stream)


@STREAMS
@pytest.mark.parametrize("model,upstream_model", [("claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"),
                                                  (CLAUDE_MAPPED_MODEL, CLAUDE_MAPPED_UPSTREAM_MODEL)])
def test_claude_is_metered_with_cache_tokens(dialect_gateway, mock_anthropic, model, upstream_model, stream):
    response = chat(dialect_gateway, model, stream)
    reported = anthropic_reported(mock_anthropic.only("/v1/messages").json())
    assert reported["cache_read_tokens"] and reported["cache_creation_tokens"]
    check_row(dialect_gateway, response, reported=reported, model=model, channel=CLAUDE_CHANNEL, provider="claude",
              upstream_model=upstream_model, stream=stream)


def test_claude_cost_by_hand(dialect_gateway, mock_anthropic):
    """Claude Sonnet 4.5: $3 in, $0.30 cache read, $3.75 cache write, $15 out per 1M."""
    response = chat(dialect_gateway, "claude-sonnet-4-5-20250929", False, text="one two three")
    # input = 2 + 3 words + 5 = 10 (uncached), cache read 11, cache write 4, output 6
    assert anthropic_reported(mock_anthropic.only().json()) == usage(25, 6, 11, 4)
    # 10 x 3e-6 + 11 x 3e-7 + 4 x 3.75e-6 + 6 x 1.5e-5 = 0.00003 + 0.0000033 + 0.000015 + 0.00009
    assert response.headers["x-tollgate-cost"] == "0.000138300"


@STREAMS
def test_gemini_is_metered_with_cached_and_thought_tokens(dialect_gateway, mock_gemini, stream):
    response = chat(dialect_gateway, "gemini-2.5-flash", stream)
    reported = gemini_reported(upstream_json(mock_gemini))
    assert reported["cache_read_tokens"] and reported["reasoning_tokens"]
    check_row(dialect_gateway, response, reported=reported, model="gemini-2.5-flash", channel=GEMINI_CHANNEL,
              provider="gemini", upstream_model="gemini-2.5-flash", stream=stream)


@STREAMS
@pytest.mark.parametrize("model,upstream_model,reported_by", [
    (VERTEX_MAPPED_MODEL, VERTEX_MAPPED_UPSTREAM_MODEL, gemini_reported),
    (VERTEX_CLAUDE_MAPPED_MODEL, VERTEX_CLAUDE_UPSTREAM_MODEL, anthropic_reported),
], ids=["gemini", "claude"])
def test_vertex_is_metered(vertex_gateway, mock_vertex, model, upstream_model, reported_by, stream):
    response = chat(vertex_gateway, model, stream)
    check_row(vertex_gateway, response, reported=reported_by(upstream_json(mock_vertex, skip_token=True)), model=model,
              channel=VERTEX_CHANNEL, provider="vertex", upstream_model=upstream_model, stream=stream)


@STREAMS
@pytest.mark.parametrize("model,channel,reported_by", [
    (BEDROCK_MAPPED_MODEL, BEDROCK_CHANNEL, converse_reported),
    (BEDROCK_INVOKE_MODEL, BEDROCK_INVOKE_CHANNEL, anthropic_reported),
], ids=["converse", "invoke"])
def test_bedrock_is_metered(bedrock_gateway, mock_bedrock, model, channel, reported_by, stream):
    response = chat(bedrock_gateway, model, stream)
    check_row(bedrock_gateway, response, reported=reported_by(upstream_json(mock_bedrock)), model=model, channel=channel,
              provider="bedrock", upstream_model=BEDROCK_MODEL_ID, stream=stream)


@pytest.mark.parametrize("stream,include_usage", [(False, False), (True, True), (True, False)],
                         ids=["complete", "stream-with-usage", "stream"])
def test_sagemaker_is_metered(bedrock_gateway, mock_sagemaker, stream, include_usage):
    body = {"model": SAGEMAKER_ENDPOINT, "stream": stream, "messages": [{"role": "user", "content": "sagemaker ledger"}]}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    with httpx.Client(base_url=bedrock_gateway.url, timeout=30) as http:
        response = http.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {CLIENT_KEY}"})
    assert response.status_code == 200, response.text
    request = upstream_json(mock_sagemaker)
    check_row(bedrock_gateway, response, reported=sagemaker_reported(request), model=SAGEMAKER_ENDPOINT,
              channel=SAGEMAKER_CHANNEL, provider="sagemaker", upstream_model=SAGEMAKER_ENDPOINT, stream=stream)
    if stream:
        # Asked for on the client's behalf when it did not ask, and then kept from it.
        assert request["stream_options"]["include_usage"] is True, request
        relayed = [e for e in json_events(parse_sse(response.content)) if e.get("usage")]
        assert bool(relayed) == include_usage, relayed


# --- the client's dialect ------------------------------------------------------------------------

@STREAMS
def test_anthropic_dialect_to_claude(dialect_gateway, mock_anthropic, stream):
    body = {"model": "claude-sonnet-4-5-20250929", "max_tokens": 100, "stream": stream,
            "messages": [{"role": "user", "content": "anthropic dialect please"}]}
    with httpx.Client(base_url=dialect_gateway.url, timeout=30) as http:
        response = http.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 200, response.text
    check_row(dialect_gateway, response, reported=anthropic_reported(mock_anthropic.only().json()),
              model="claude-sonnet-4-5-20250929", channel=CLAUDE_CHANNEL, provider="claude",
              upstream_model="claude-sonnet-4-5-20250929", dialect="anthropic", stream=stream)


@STREAMS
def test_anthropic_dialect_to_gemini(dialect_gateway, mock_gemini, stream):
    body = {"model": "gemini-2.5-flash", "max_tokens": 100, "stream": stream,
            "messages": [{"role": "user", "content": "converted to gemini"}]}
    with httpx.Client(base_url=dialect_gateway.url, timeout=30) as http:
        response = http.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 200, response.text
    check_row(dialect_gateway, response, reported=gemini_reported(upstream_json(mock_gemini)), model="gemini-2.5-flash",
              channel=GEMINI_CHANNEL, provider="gemini", upstream_model="gemini-2.5-flash", dialect="anthropic",
              stream=stream)


@STREAMS
def test_gemini_dialect(dialect_gateway, mock_gemini, stream):
    rpc = "streamGenerateContent?alt=sse" if stream else "generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "gemini dialect please"}]}]}
    with httpx.Client(base_url=dialect_gateway.url, timeout=30) as http:
        response = http.post(f"/v1beta/models/gemini-2.5-flash:{rpc}", json=body, headers={"x-goog-api-key": CLIENT_KEY})
    assert response.status_code == 200, response.text
    check_row(dialect_gateway, response, reported=gemini_reported(upstream_json(mock_gemini)), model="gemini-2.5-flash",
              channel=GEMINI_CHANNEL, provider="gemini", upstream_model="gemini-2.5-flash", dialect="gemini",
              stream=stream)


def test_gemini_dialect_to_claude(dialect_gateway, mock_anthropic):
    body = {"contents": [{"role": "user", "parts": [{"text": "converted to claude"}]}]}
    with httpx.Client(base_url=dialect_gateway.url, timeout=30) as http:
        response = http.post("/v1beta/models/claude-sonnet-4-5-20250929:generateContent", json=body,
                             headers={"x-goog-api-key": CLIENT_KEY})
    assert response.status_code == 200, response.text
    check_row(dialect_gateway, response, reported=anthropic_reported(mock_anthropic.only().json()),
              model="claude-sonnet-4-5-20250929", channel=CLAUDE_CHANNEL, provider="claude",
              upstream_model="claude-sonnet-4-5-20250929", dialect="gemini", stream=False)


# --- 2. a client that hangs up mid-stream is billed ------------------------------------------------

def hang_up_after_first_event(gateway: Gateway, hold_key: str, model: str) -> tuple[str, dict]:
    """Streams a held request, reads its first event and leaves; returns the request id and body."""
    request = {"model": model, "stream": True, "messages": [{"role": "user", "content": hold_key}]}
    with httpx.Client(base_url=gateway.url, timeout=HOLD_TIMEOUT_SECONDS * 3) as http:
        with http.stream("POST", "/v1/chat/completions", json=request,
                         headers={"Authorization": f"Bearer {CLIENT_KEY}"}) as response:
            assert response.status_code == 200
            request_id = response.headers["x-request-id"]
            chunks, buffer, first = response.iter_raw(), b"", []
            while not first:
                buffer += next(chunks)
                first, buffer = split_complete_events(buffer)
    return request_id, request


@pytest.mark.parametrize("model", ["gpt-4o", "hold-back"])
def test_client_hang_up_cancels_the_upstream_and_bills_an_estimate(gateway, mock_upstream, model):
    """By default (`limits.on_client_disconnect: cancel`) the client's hang-up closes the upstream
    stream at once; nothing reported usage yet, so the row (499) carries an estimate marked as such."""
    key = f"[hold] hang-up {uuid.uuid4().hex}"
    hold = mock_upstream.hold(key)
    request_id, _ = hang_up_after_first_event(gateway, key, model)
    assert hold.finished.wait(HOLD_TIMEOUT_SECONDS), "the gateway kept the upstream stream open"
    assert hold.state == "closed-by-peer", hold.state
    upstream = mock_upstream.only("/v1/chat/completions")
    row = ledger_row(gateway, request_id, timeout=HOLD_TIMEOUT_SECONDS)
    assert (row["status"], row["estimated"]) == (499, 1), row
    assert row["prompt_tokens"] == (len(upstream.body) + 3) // 4 > 0, row
    assert row["completion_tokens"] == 0, row  # the first event carries the role, no text yet
    priced = price_entry(model, "openai")
    if priced:
        assert row["cost_nano"] == expected_cost_nano(priced[1], tokens(row)) > 0
    else:
        assert row["cost_nano"] is None and row["price_problem"]


@pytest.fixture(scope="module")
def draining_gateway(mock_upstream, tmp_path_factory):
    directory = tmp_path_factory.mktemp("tollgate-drain")
    channels = textwrap.dedent(f"""\
        - name: {OPENAI_CHANNEL}
          provider: openai
          base_url: {mock_upstream.base_url}
          credentials:
            api_key: {CHANNEL_KEY}
          models: ["gpt-*", "hold-back"]
        """)
    gw = start_dedicated_gateway(write_gateway_config(directory, "drain", channels,
                                                      settings="limits: { on_client_disconnect: drain }\n"))
    yield gw
    stop_gateway(gw)


def test_drain_reads_the_upstream_to_its_end_for_its_usage(draining_gateway, mock_upstream):
    """With `on_client_disconnect: drain` the gateway keeps reading the (held) upstream, which then
    sends the rest and its usage: the ledger has status 499 and the usage of the whole stream."""
    key = f"[hold] drain {uuid.uuid4().hex}"
    hold = mock_upstream.hold(key)
    request_id, _ = hang_up_after_first_event(draining_gateway, key, "gpt-4o")
    # Give the gateway a moment to notice the hang-up, then let the upstream finish.
    time.sleep(0.3)
    assert hold.state == "holding", f"the upstream stream was '{hold.state}' after the client left (not drained)"
    hold.release.set()
    assert hold.finished.wait(HOLD_TIMEOUT_SECONDS) and hold.state == "released"
    upstream = mock_upstream.only("/v1/chat/completions")
    assert upstream.answered
    row = ledger_row(draining_gateway, request_id, timeout=HOLD_TIMEOUT_SECONDS)
    assert row["status"] == 499, row
    assert (tokens(row), row["estimated"]) == (openai_reported(upstream.json()), 0), row
    assert row["cost_nano"] == expected_cost_nano(price_entry("gpt-4o", "openai")[1], openai_reported(upstream.json())) > 0


# --- 3. an upstream that cuts its stream is billed for what it reported -------------------------

def cut_stream(gateway: Gateway, route: str, model: str) -> httpx.Response:
    """A stream the mock cuts ("[cut]"): the client gets the start, then an error event."""
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "[cut] cut me off please"}]}
    if route == "/v1/messages":
        body["max_tokens"] = 50
    headers = ANTHROPIC_HEADERS if route == "/v1/messages" else {"Authorization": f"Bearer {CLIENT_KEY}"}
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        response = http.post(route, json=body, headers=headers)
    assert response.status_code == 200 and b"error" in response.content, response.text
    return response


def check_cut_row(gateway: Gateway, response: httpx.Response, reported: dict, provider: str, upstream_model: str,
                  dialect: str = "openai") -> dict:
    """The row of a cut stream: status 502 (what the gateway records for an upstream failure after
    the answer started), the tokens reported before the cut, and their cost."""
    row = ledger_row(gateway, response.headers["x-request-id"])
    assert (row["status"], row["estimated"], row["dialect"]) == (502, 0, dialect), row
    assert tokens(row) == reported, f"ledger {tokens(row)} != reported before the cut {reported}"
    name, entry = price_entry(upstream_model, provider)
    assert (row["cost_nano"], row["price_name"]) == (expected_cost_nano(entry, reported), name), row
    assert row["cost_nano"] > 0
    return row


@pytest.mark.parametrize("route,dialect", [("/v1/chat/completions", "openai"), ("/v1/messages", "anthropic")])
def test_claude_cut_stream_bills_message_start_usage(dialect_gateway, mock_anthropic, route, dialect):
    """message_start carried the input and cache usage (and output_tokens 1); then one text delta
    and the socket closes: that is billed."""
    response = cut_stream(dialect_gateway, route, "claude-sonnet-4-5-20250929")
    reported = anthropic_reported(mock_anthropic.only().json())
    check_cut_row(dialect_gateway, response, {**reported, "completion_tokens": 1}, "claude", "claude-sonnet-4-5-20250929",
                  dialect)


def test_gemini_cut_stream_bills_the_usage_so_far(dialect_gateway, mock_gemini):
    """The first two pieces carry promptTokenCount and thoughtsTokenCount (no candidates count yet);
    then the socket closes: the prompt and the thoughts are billed."""
    response = cut_stream(dialect_gateway, "/v1/chat/completions", "gemini-2.5-flash")
    metadata = mg.usage_metadata(upstream_json(mock_gemini))
    check_cut_row(dialect_gateway, response, usage(metadata["promptTokenCount"], metadata["thoughtsTokenCount"],
                                                   reasoning=metadata["thoughtsTokenCount"]),
                  "gemini", "gemini-2.5-flash")


def test_openai_cut_stream_is_recorded(gateway, mock_upstream):
    """The openai mock's cut comes before any usage: the row is there (502), with estimated tokens,
    never a zero."""
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        response = http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {CLIENT_KEY}"}, json={
            "model": "cut-stream", "stream": True, "messages": [{"role": "user", "content": "cut"}]})
    assert response.status_code == 200
    row = ledger_row(gateway, response.headers["x-request-id"])
    assert (row["status"], row["model"], row["channel"]) == (502, "cut-stream", OPENAI_CHANNEL), row
    # Never zero: the prompt and the text before the cut are estimated (and marked so); the model
    # has no price, so the row says why it has no cost.
    assert row["estimated"] == 1 and row["prompt_tokens"] > 0, row
    assert row["cost_nano"] is None and row["price_problem"], row


# --- 4. SIGTERM under load ---------------------------------------------------------------------------

LOAD_REQUESTS = 200
LOAD_MODELS = ["gpt-4o-mini", "slow-stream", "gpt-4o-mini", "mock-echo"]  # request i: LOAD_MODELS[i % 4]


def load_gateway(mock_upstream, directory: Path, flush_interval: str) -> Gateway:
    channels = textwrap.dedent(f"""\
        - name: {OPENAI_CHANNEL}
          provider: openai
          base_url: {mock_upstream.base_url}
          credentials:
            api_key: {CHANNEL_KEY}
          models: ["gpt-*", slow-stream]
        - name: {MOCK_CHANNEL}
          provider: mock
          models: [mock-echo]
        """)
    # Admission control is not under test here: 150 requests to one channel at once are all let
    # through (from the default 10, the adaptive limit would make a burst wait, and refuse it
    # after queue_wait on a slow machine).
    config = write_gateway_config(directory, "ledger under load", channels,
                                  settings=f"ledger: {{ flush_interval: {flush_interval} }}\n",
                                  health="adaptive_start: 1000")
    return start_dedicated_gateway(config)


def run_load(gw: Gateway, mock_upstream, sigterm_after_answers: int | None) -> list[tuple]:
    """LOAD_REQUESTS concurrent clients (non-streamed and slow streams on the openai channel, the
    builtin mock), started within 0.6 s; request i's prompt has i + 2 words, so the ledger's
    prompt_tokens identify it. With `sigterm_after_answers`, the gateway gets SIGTERM once the mock
    upstream has answered that many. Returns per request ("ok", model, request id) or ("error", model,
    exception) or ("status"/"partial", model, ...)."""
    results: list = [None] * LOAD_REQUESTS
    start = threading.Barrier(LOAD_REQUESTS + 1)  # every client made, then all begin

    def client(i: int) -> None:
        model = LOAD_MODELS[i % len(LOAD_MODELS)]
        body = {"model": model, "messages": [{"role": "user", "content": f"load {i}" + " w" * i}]}
        if model == "slow-stream":
            body["stream"] = True
        # A client (and so a connection) per thread, made before the start: one httpx pool shared
        # by 200 threads with keep-alive off races (httpcore marks a connection idle outside the
        # pool's lock, so one thread can close a connection another was just handed: a rare
        # ReadError on a request the gateway served).
        with httpx.Client(base_url=gw.url, timeout=30) as http:
            start.wait(60)
            time.sleep(random.uniform(0, 0.6))
            try:
                response = http.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {CLIENT_KEY}"})
                raw = response.content
            except httpx.TransportError as error:
                results[i] = ("error", model, f"{type(error).__name__}: {error.__cause__ or error!r} at {time.time():.3f}")
                return
        if response.status_code != 200:
            results[i] = ("status", model, response.status_code, raw[:300])
            return
        if model == "slow-stream":
            payloads = parse_sse(raw)
            complete = payloads and payloads[-1] == b"[DONE]" and not [e for e in json_events(payloads) if "error" in e]
        else:
            complete = "choices" in response.json()
        results[i] = ("ok" if complete else "partial", model, response.headers["x-request-id"], raw[:300])

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(LOAD_REQUESTS)]
    for thread in threads:
        thread.start()
    start.wait(60)
    if sigterm_after_answers is not None:
        deadline = time.monotonic() + 10
        while sum(r.answered for r in mock_upstream.requests) < sigterm_after_answers and time.monotonic() < deadline:
            time.sleep(0.005)
        assert not query_ledger(gw), "the ledger was written before the shutdown (flush_interval 1h)"
        gw.process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(30)
    assert None not in results, "a client thread did not finish"
    return results


def check_load_recorded(rows: list[dict], results: list[tuple], mock_upstream) -> None:
    """Every full answer a client got, and every request the mock upstream answered, has its row."""
    by_id = {row["request_id"]: row for row in rows}
    odd = [r for r in results if r[0] in ("status", "partial")]
    assert not odd, f"clients got neither a full answer nor a connection error: {odd[:5]}"
    for _, model, request_id, _ in [r for r in results if r[0] == "ok"]:
        assert request_id in by_id, f"{model} request {request_id} was answered but has no ledger row"
        assert by_id[request_id]["model"] == model and by_id[request_id]["status"] == 200, by_id[request_id]
    answered = [r for r in mock_upstream.requests if r.answered]
    reported = {openai_reported(r.json())["prompt_tokens"]: openai_reported(r.json()) for r in answered}
    assert len(reported) == len(answered), "two upstream requests with one prompt size"
    recorded = {row["prompt_tokens"]: row for row in rows if row["channel"] == OPENAI_CHANNEL}
    missing = sorted(set(reported) - set(recorded))
    assert not missing, f"{len(missing)} of {len(answered)} requests the upstream answered have no ledger row"
    for prompt, counts in reported.items():
        assert tokens(recorded[prompt]) == counts, recorded[prompt]
    for model in ("gpt-4o-mini", "slow-stream"):
        upstream_count = sum(1 for r in answered if r.json()["model"] == model)
        assert sum(1 for row in rows if row["model"] == model) >= upstream_count > 0, model


def test_concurrent_requests_are_all_recorded(mock_upstream, tmp_path):
    """200 concurrent requests, no shutdown: each has exactly one row, with the upstream's tokens."""
    gw = load_gateway(mock_upstream, tmp_path, "200ms")
    try:
        results = run_load(gw, mock_upstream, sigterm_after_answers=None)
        assert [r[0] for r in results] == ["ok"] * LOAD_REQUESTS, [r for r in results if r[0] != "ok"][:5]
        deadline = time.monotonic() + LEDGER_WAIT_SECONDS
        while len(rows := query_ledger(gw)) < LOAD_REQUESTS and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop_gateway(gw)
    assert len(rows) == LOAD_REQUESTS
    assert sum(r.answered for r in mock_upstream.requests) == LOAD_REQUESTS * 3 // 4
    check_load_recorded(rows, results, mock_upstream)


def test_sigterm_flushes_the_ledger(mock_upstream, tmp_path):
    """One answered request, then SIGTERM: with flush_interval 1h only the shutdown flush can write
    it, and the shutdown does not wait out that hour."""
    gw = load_gateway(mock_upstream, tmp_path, "1h")
    try:
        response = chat(gw, "gpt-4o-mini", False)
        gw.process.send_signal(signal.SIGTERM)
        status = gw.process.wait(30)
    finally:
        stop_gateway(gw)
    assert status == 0
    rows = query_ledger(gw)
    assert [row["request_id"] for row in rows] == [response.headers["x-request-id"]], "the shutdown did not flush the ledger"


def test_sigterm_under_load_loses_no_answered_request(mock_upstream, tmp_path):
    """A gateway whose ledger writes only every hour gets SIGTERM while ~200 requests are in flight:
    clients get a full answer or a connection error, and every request the mock upstream answered
    (and every full answer a client got) has its ledger row."""
    gw = load_gateway(mock_upstream, tmp_path, "1h")
    try:
        results = run_load(gw, mock_upstream, sigterm_after_answers=40)
        status = gw.process.wait(30)
    finally:
        stop_gateway(gw)
    assert status == 0, f"the gateway exited with {status} after SIGTERM"
    assert [r[0] for r in results].count("ok") >= 40
    check_load_recorded(query_ledger(gw), results, mock_upstream)
    assert not list((tmp_path / "data").glob("*spill*")), "records were spilled instead of written"


# --- a gateway of this module's own: admin key, budget key, webhook ------------------------------

class Webhook:
    """A local receiver of the gateway's notifications (JSON POSTs)."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.lock = threading.Lock()
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with webhook.lock:
                    webhook.events.append(json.loads(body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, predicate, timeout: float = 5.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [e for e in self.events if predicate(e)]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no matching notification within {timeout} s; got {self.events}")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def webhook():
    hook = Webhook()
    yield hook
    hook.stop()


@pytest.fixture(scope="module")
def billing_gateway(mock_upstream, webhook, tmp_path_factory):
    directory = tmp_path_factory.mktemp("tollgate-billing")
    channels = textwrap.dedent(f"""\
        - name: {OPENAI_CHANNEL}
          provider: openai
          base_url: {mock_upstream.base_url}
          credentials:
            api_key: {CHANNEL_KEY}
          models: ["gpt-*"]
        - name: {MOCK_CHANNEL}
          provider: mock
          models: [mock-echo]
        """)
    settings = f"admin_key: {ADMIN_KEY}\nnotify: {{ webhook: {webhook.url} }}\n"
    keys = f"- name: tight\n  key: {BUDGET_KEY}\n  budget: {{ amount: 0.000001, currency: USD, period: daily }}\n"
    gw = start_dedicated_gateway(write_gateway_config(directory, "billing", channels, settings=settings, keys=keys))
    yield gw
    stop_gateway(gw)


# --- 5. budgets -----------------------------------------------------------------------------------

def test_over_budget_is_402_in_the_route_dialect(billing_gateway):
    with httpx.Client(base_url=billing_gateway.url, timeout=30) as http:
        bearer = {"Authorization": f"Bearer {BUDGET_KEY}"}
        chat_body = {"model": "mock-echo", "messages": [{"role": "user", "content": "spend a little money"}]}
        first = http.post("/v1/chat/completions", json=chat_body, headers=bearer)
        assert first.status_code == 200, first.text
        cost = Decimal(first.headers["x-tollgate-cost"])
        assert cost > Decimal("0.000001"), "the first request alone should use up the budget"
        ledger_row(billing_gateway, first.headers["x-request-id"])

        second = http.post("/v1/chat/completions", json=chat_body, headers=bearer)
        assert_openai_error(second, 402, "insufficient_quota")
        assert "budget" in second.json()["error"]["message"]

        messages = http.post("/v1/messages", headers={"x-api-key": BUDGET_KEY, "anthropic-version": "2023-06-01"},
                             json={"model": "mock-echo", "max_tokens": 20,
                                   "messages": [{"role": "user", "content": "more please"}]})
        assert messages.status_code == 402, messages.text
        body = messages.json()
        assert body["type"] == "error" and set(body["error"]) >= {"type", "message"}, body
        assert "budget" in body["error"]["message"]

        other = http.post("/v1/chat/completions", json=chat_body, headers={"Authorization": f"Bearer {CLIENT_KEY}"})
        assert other.status_code == 200, "another key's budget must not stop this one"

        budgets = http.get("/admin/budgets", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert budgets.status_code == 200, budgets.text
    assert "tight" in budgets.text
    refused = ledger_row(billing_gateway, second.headers["x-request-id"])
    assert refused["status"] == 402 and refused["cost_nano"] is None and refused["key_name"] == "tight", refused
    assert ledger_row(billing_gateway, messages.headers["x-request-id"])["dialect"] == "anthropic"


# --- 6. price_missing -------------------------------------------------------------------------------

def test_unpriced_model_is_recorded_without_cost_and_notified(billing_gateway, mock_upstream, webhook):
    model = f"gpt-unpriced-{uuid.uuid4().hex[:8]}"
    assert price_entry(model, "openai") is None
    response = chat(billing_gateway, model, False)
    assert response.headers.get("x-tollgate-cost-status") == "unpriced", dict(response.headers)
    assert "x-tollgate-cost" not in response.headers
    row = ledger_row(billing_gateway, response.headers["x-request-id"])
    assert tokens(row) == openai_reported(mock_upstream.only().json()), "usage is recorded even without a price"
    assert row["cost_nano"] is None and row["currency"] is None and model in (row["price_problem"] or ""), row
    event = webhook.wait_for(lambda e: e.get("type") == "price_missing" and e.get("metadata", {}).get("model") == model)
    assert set(event) == {"type", "priority", "title", "message", "metadata", "timestamp"}, event
    assert event["priority"] in ("high", "critical") and model in event["message"] and event["title"], event
    assert event["metadata"]["channel"] == OPENAI_CHANNEL and event["metadata"]["provider"] == "openai", event
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", event["timestamp"]), event
    # A streamed request for it is recorded the same way.
    streamed = chat(billing_gateway, model, True)
    assert ledger_row(billing_gateway, streamed.headers["x-request-id"])["cost_nano"] is None


# --- 7. reports: `tollgate usage` and /admin/usage ------------------------------------------------

def ledger_sums(gateway: Gateway, models: list[str]) -> dict[str, dict]:
    sums = {}
    for row in query_ledger(gateway, "SELECT model, COUNT(*) AS requests, SUM(prompt_tokens) AS p, SUM(completion_tokens) AS c,"
                                     " SUM(cache_read_tokens) AS cr, COALESCE(SUM(cost_nano), 0) AS cost FROM usage_ledger"
                                     " GROUP BY model"):
        if row["model"] in models:
            sums[row["model"]] = {"requests": row["requests"], "prompt_tokens": row["p"], "completion_tokens": row["c"],
                                  "cache_read_tokens": row["cr"] or 0, "cost_nano": row["cost"]}
    return sums


def report_sums(data: list[dict], models: list[str]) -> dict[str, dict]:
    return {item["group"]: {"requests": item["requests"], "prompt_tokens": item["prompt_tokens"],
                            "completion_tokens": item["completion_tokens"], "cache_read_tokens": item["cache_read_tokens"],
                            "cost_nano": item["cost_nano"]}
            for item in data if item["group"] in models}


def test_usage_reports_match_the_ledger(billing_gateway):
    models = ["gpt-4o", "gpt-4o-mini", "mock-echo"]
    ids = [chat(billing_gateway, model, stream).headers["x-request-id"] for model in models for stream in (False, True)]
    for request_id in ids:
        ledger_row(billing_gateway, request_id)
    expected = ledger_sums(billing_gateway, models)
    assert set(expected) == set(models)

    cli = subprocess.run([_gateway_binary(), "usage", "--config", str(billing_gateway.config_path), "--by", "model", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    data = json.loads(cli.stdout, parse_float=Decimal)["data"]
    assert report_sums(data, models) == expected
    for item in data:
        if item["group"] in models:
            assert item["cost"] == Decimal(nano_text(item["cost_nano"])) and item["currency"] == "USD", item

    table = subprocess.run([_gateway_binary(), "usage", "--config", str(billing_gateway.config_path), "--by", "channel"],
                           capture_output=True, text=True, timeout=60)
    assert table.returncode == 0 and OPENAI_CHANNEL in table.stdout and MOCK_CHANNEL in table.stdout, table

    with httpx.Client(base_url=billing_gateway.url, timeout=30) as http:
        admin = http.get("/admin/usage", params={"group_by": "model"}, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert admin.status_code == 200, admin.text
        assert report_sums(admin.json()["data"], models) == expected
        by_key = http.get("/admin/usage", params={"group_by": "key"}, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert by_key.status_code == 200 and "e2e" in [item["group"] for item in by_key.json()["data"]], by_key.text
        for headers in ({}, {"Authorization": f"Bearer {CLIENT_KEY}"}, {"Authorization": "Bearer wrong-admin-key"}):
            refused = http.get("/admin/usage", params={"group_by": "model"}, headers=headers)
            assert_openai_error(refused, 401)


def test_admin_usage_is_off_without_an_admin_key(gateway):
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        response = http.get("/admin/usage", headers={"Authorization": f"Bearer {CLIENT_KEY}"})
    assert response.status_code in (401, 404), response.text


def test_an_upstreams_absurd_usage_cannot_fail_the_usage_report(tmp_path):
    """An upstream may report any count. The ledger keeps what it said; the usage report (admin
    API and `tollgate usage`) still answers, totals past 64 bits held at the bound (SQLite's SUM
    failed the whole report with "integer overflow"), and other keys' totals stay exact."""
    absurd = 2**63 - 1
    upstream = OpenAIUpstream(usage={"prompt_tokens": absurd, "completion_tokens": absurd, "total_tokens": absurd})
    channels = f"- name: {MOCK_CHANNEL}\n  provider: mock\n  models: [mock-echo]\n" + upstream.channel("absurd", "absurd-model")[2:]
    config = write_gateway_config(tmp_path, "absurd usage", channels, settings=f"admin_key: {ADMIN_KEY}\n")
    gw = start_dedicated_gateway(config)
    try:
        ids = [chat(gw, "absurd-model", False).headers["x-request-id"] for _ in range(2)]
        plain = chat(gw, "mock-echo", False).headers["x-request-id"]
        rows = [ledger_row(gw, request_id) for request_id in ids]
        plain_row = ledger_row(gw, plain)
        with httpx.Client(base_url=gw.url, timeout=30) as http:
            by_model = http.get("/admin/usage", params={"group_by": "model"}, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        cli = subprocess.run([_gateway_binary(), "usage", "--config", str(config), "--by", "model", "--json"],
                             capture_output=True, text=True, timeout=60)
    finally:
        stop_gateway(gw)
        upstream.close()
    assert [row["prompt_tokens"] for row in rows] == [absurd, absurd], "the ledger did not keep the counts as reported"
    assert by_model.status_code == 200, by_model.text
    assert cli.returncode == 0, cli.stderr
    for data in (by_model.json()["data"], json.loads(cli.stdout)["data"]):
        groups = {item["group"]: item for item in data}
        assert groups["absurd-model"]["requests"] == 2 and groups["absurd-model"]["prompt_tokens"] == absurd, groups
        assert groups["absurd-model"]["completion_tokens"] == absurd, groups
        assert groups["mock-echo"]["prompt_tokens"] == plain_row["prompt_tokens"], groups


# --- 7. `tollgate prices sync` -----------------------------------------------------------------------

def prices_sync(config: Path, source: Path | str) -> subprocess.CompletedProcess:
    return subprocess.run([_gateway_binary(), "prices", "sync", "--config", str(config), "--from", str(source)],
                          capture_output=True, text=True, timeout=120)


def cost_now(gateway: Gateway, model: str, text: str = "price probe") -> int:
    response = chat(gateway, model, False, text=text)
    return int(Decimal(response.headers["x-tollgate-cost"]) * 10**9) if "x-tollgate-cost" in response.headers else -1


def wait_for_cost(gateway: Gateway, model: str, cost: int, timeout: float = 8.0) -> None:
    """The gateway notices a sync made by the CLI within seconds: waits until `model` costs `cost`."""
    deadline = time.monotonic() + timeout
    while (now := cost_now(gateway, model)) != cost:
        assert time.monotonic() < deadline, f"{model} still costs {now} nano, expected {cost} after the sync"
        time.sleep(0.25)


@pytest.fixture(scope="module")
def prices_gateway(mock_upstream, tmp_path_factory):
    """A gateway whose prices the tests below sync (in file order: the refused syncs first)."""
    tmp_path = tmp_path_factory.mktemp("tollgate-prices")
    channels = textwrap.dedent(f"""\
        - name: {OPENAI_CHANNEL}
          provider: openai
          base_url: {mock_upstream.base_url}
          credentials:
            api_key: {CHANNEL_KEY}
          models: ["gpt-*"]
        """)
    gw = start_dedicated_gateway(write_gateway_config(tmp_path, "prices", channels))
    yield gw
    stop_gateway(gw)


def probe_cost(model: str, prices: dict) -> int:
    """What `cost_now` should answer for `model` with `prices` (the mock's usage for the probe)."""
    request = {"model": model, "messages": [{"role": "system", "content": "Be brief."},
                                            {"role": "user", "content": "price probe"}]}
    return expected_cost_nano(price_entry(model, "openai", prices)[1], openai_reported(request))


def test_prices_sync_refuses_malformed_data_and_keeps_the_prices(prices_gateway, tmp_path):
    bundled = bundled_prices()
    before = probe_cost("gpt-4o", bundled)
    assert cost_now(prices_gateway, "gpt-4o") == before

    not_json = tmp_path / "not-json.json"
    not_json.write_text('{"gpt-4o": {"input_cost_per_token": 1e-06,')
    result = prices_sync(prices_gateway.config_path, not_json)
    assert result.returncode != 0, result.stdout
    assert "not valid JSON" in result.stderr and "kept" in result.stderr, result.stderr

    not_object = tmp_path / "list.json"
    not_object.write_text('[{"input_cost_per_token": 1e-06}]')
    result = prices_sync(prices_gateway.config_path, not_object)
    assert result.returncode != 0 and "JSON object" in result.stderr, result.stderr

    only_bad = tmp_path / "only-bad.json"
    only_bad.write_text(json.dumps({"gpt-4o": {"input_cost_per_token": -1e-06, "output_cost_per_token": 1e-05}}))
    result = prices_sync(prices_gateway.config_path, only_bad)
    assert result.returncode != 0 and "no usable price entry" in result.stderr, result.stderr

    missing = prices_sync(prices_gateway.config_path, tmp_path / "nowhere.json")
    assert missing.returncode != 0 and "nowhere.json" in missing.stderr, missing.stderr

    assert cost_now(prices_gateway, "gpt-4o") == before, "a failed sync changed the prices in force"




def malformed_listing() -> dict:
    """The bundled list with a negative price (gpt-4o), a tier whose end is before its start, a
    string price, and one valid change (gpt-4o-mini's input price) that shows when it is in force."""
    listing = json.loads(BUNDLED_PRICES.read_text())
    listing["gpt-4o"] = {**listing["gpt-4o"], "input_cost_per_token": -2.5e-06}
    listing["e2e-tier-broken"] = {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "tiered_pricing": [
        {"range": [0, 2000], "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06},
        {"range": [2000, 1000], "input_cost_per_token": 2e-06, "output_cost_per_token": 4e-06}]}
    listing["e2e-string-price"] = {"input_cost_per_token": 1e-06, "output_cost_per_token": "3e-06"}
    listing["gpt-4o-mini"] = {**listing["gpt-4o-mini"], "input_cost_per_token": 3e-07}
    return listing


@pytest.fixture(scope="module")
def malformed_sync(prices_gateway, tmp_path_factory) -> subprocess.CompletedProcess:
    """`tollgate prices sync` of `malformed_listing()` into the running prices gateway's storage,
    once the gateway has loaded it (gpt-4o-mini costs its new price)."""
    source = tmp_path_factory.mktemp("prices") / "prices.json"
    source.write_text(json.dumps(malformed_listing()))
    result = prices_sync(prices_gateway.config_path, source)
    assert result.returncode == 0, result.stderr
    bundled = bundled_prices()
    mini_prices = {**bundled, "gpt-4o-mini": {**bundled["gpt-4o-mini"], "input_cost_per_token": Decimal("3e-07")}}
    wait_for_cost(prices_gateway, "gpt-4o-mini", probe_cost("gpt-4o-mini", mini_prices))
    return result


def test_prices_sync_names_each_refused_entry(malformed_sync):
    """A negative price, a tier whose end is before its start, a string price: each entry is
    skipped with its name and the field; the rest of the list is synced, and the running gateway
    picks it up (the fixture waits for gpt-4o-mini's new price)."""
    result = malformed_sync
    assert "Synced: 0 added, 1 changed, 0 removed, 4 skipped" in result.stdout, result.stdout
    assert "changed: gpt-4o-mini" in result.stdout
    skipped = {line.split(":", 1)[0].strip(): line for line in result.stdout.splitlines() if line.strip().startswith("skipped")}
    assert "negative" in skipped["skipped gpt-4o"] and "input_cost_per_token" in skipped["skipped gpt-4o"], result.stdout
    assert "tiered_pricing[1].range" in skipped["skipped e2e-tier-broken"] and "before" in skipped["skipped e2e-tier-broken"]
    assert "output_cost_per_token" in skipped["skipped e2e-string-price"], result.stdout
    assert "skipped sample_spec" in skipped, result.stdout


def test_prices_sync_keeps_the_price_of_a_refused_entry(prices_gateway, malformed_sync):
    """gpt-4o's new entry is refused (negative price): its price in force stays, rather than gpt-4o
    becoming unpriced while the summary says nothing was removed."""
    assert cost_now(prices_gateway, "gpt-4o") == probe_cost("gpt-4o", bundled_prices()), \
        "gpt-4o's entry was refused, yet its price in force was dropped"


def test_prices_sync_summary(tmp_path):
    """A valid list: the summary counts and names what was added, changed and removed (against the
    bundled list, in a data directory never synced before)."""
    config = write_gateway_config(tmp_path, "prices summary", "- { name: m, provider: mock, models: [mock-echo] }\n")
    listing = json.loads(BUNDLED_PRICES.read_text())
    listing["gpt-4o"] = {**listing["gpt-4o"], "input_cost_per_token": 5e-06, "output_cost_per_token": 2e-05}
    listing["e2e-new-model-a"] = {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}
    listing["e2e-new-model-b"] = {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}
    del listing["gpt-4o-mini"]
    source = tmp_path / "prices.json"
    source.write_text(json.dumps(listing))
    result = prices_sync(config, source)
    assert result.returncode == 0, result.stderr
    assert "Synced: 2 added, 1 changed, 1 removed, 1 skipped" in result.stdout, result.stdout
    assert "added: e2e-new-model-a, e2e-new-model-b" in result.stdout
    assert "changed: gpt-4o" in result.stdout and "removed: gpt-4o-mini" in result.stdout, result.stdout
    assert "fetching" in result.stderr and "validat" in result.stderr, "no progress lines"
    again = prices_sync(config, source)
    assert "Synced: 0 added, 0 changed, 0 removed, 1 skipped" in again.stdout, again.stdout


@contextlib.contextmanager
def serving(directory: Path):
    """The files of `directory` over HTTP on loopback (the admin API syncs from URLs only)."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_admin_prices_sync(billing_gateway, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("this is not JSON")
    with httpx.Client(base_url=billing_gateway.url, timeout=60) as http, serving(tmp_path) as files:
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        refused = http.post("/admin/prices/sync", params={"from": f"{files}/broken.json"}, headers=admin)
        assert 400 <= refused.status_code < 500 and "JSON" in refused.text, refused.text
        assert http.post("/admin/prices/sync", params={"from": f"{files}/broken.json"}).status_code == 401
        # A path on the gateway's host is the CLI's to sync, never the API's.
        assert http.post("/admin/prices/sync", params={"from": str(broken)}, headers=admin).status_code == 400
        listing = json.loads(BUNDLED_PRICES.read_text())
        listing["e2e-admin-model"] = {"input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06}
        good = tmp_path / "good.json"
        good.write_text(json.dumps(listing))
        synced = http.post("/admin/prices/sync", params={"from": f"{files}/good.json"}, headers=admin)
    assert synced.status_code == 200, synced.text
    assert synced.json()["added"] == 1 and synced.json()["changed"] == synced.json()["removed"] == 0, synced.text


def test_a_batch_of_many_rows_is_written_whole_and_in_place(tmp_path):
    """Twenty answers flushed as one batch (the ledger writes sixteen rows a statement, the rest
    one by one): every row is there, each with its own request's tokens, cost and model."""
    config = write_gateway_config(tmp_path, "one batch", "- { name: builtin, provider: mock, models: [mock-echo] }\n",
                                  settings="ledger: { flush_interval: 1h }\n")
    gateway = start_dedicated_gateway(config)
    answers = []
    try:
        for i in range(20):
            text = "word " * (i + 1)  # a prompt of its own length: each row's tokens differ
            response = httpx.post(gateway.v1 + "/chat/completions", headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                                  json={"model": "mock-echo", "messages": [{"role": "user", "content": text}]}, timeout=30)
            assert response.status_code == 200, response.text
            answers.append(response)
    finally:
        stop_gateway(gateway)  # a graceful stop writes the one batch
    rows = ledger_rows(tmp_path)
    assert len(rows) == 20
    for response in answers:
        row, usage = rows[response.headers["x-request-id"]], response.json()["usage"]
        assert (row["model"], row["status"], row["key_name"]) == ("mock-echo", 200, "e2e")
        assert (row["prompt_tokens"], row["completion_tokens"]) == (usage["prompt_tokens"], usage["completion_tokens"])
        assert Decimal(row["cost_nano"]) / Decimal(10**9) == Decimal(response.headers["x-tollgate-cost"])
    assert len({row["prompt_tokens"] for row in rows.values()}) == 20


# --- 8. a ledger written before it was kept in start-time order -----------------------------------

# The migration that rebuilds the SQLite ledger (SQLiteStorage.migrations, counted from 1). The
# test turns a fresh database back into its shape before that version.
LEDGER_BY_TIME_VERSION = 9
OLD_LEDGER = """
    CREATE TABLE usage_ledger (
        request_id TEXT PRIMARY KEY,
        key_name TEXT, channel TEXT, provider TEXT, model TEXT, dialect TEXT NOT NULL, route TEXT NOT NULL,
        status INTEGER NOT NULL,
        prompt_tokens INTEGER, completion_tokens INTEGER, cache_read_tokens INTEGER, cache_creation_tokens INTEGER,
        audio_tokens INTEGER, reasoning_tokens INTEGER, estimated INTEGER NOT NULL DEFAULT 0,
        cost_nano INTEGER, currency TEXT, price_name TEXT, price_source TEXT, price_problem TEXT,
        latency_us INTEGER NOT NULL, ttfb_us INTEGER,
        started_at INTEGER NOT NULL, ended_at INTEGER NOT NULL, fallback_from TEXT);
    CREATE INDEX usage_ledger_started ON usage_ledger (started_at);
    CREATE INDEX usage_ledger_key ON usage_ledger (key_name, started_at);
"""


def test_a_ledger_from_before_is_rebuilt_in_start_time_order_and_keeps_its_rows(tmp_path):
    """A gateway started on a database whose ledger has the old shape (a rowid table, four b-trees)
    logs the migration, keeps every row and column, serves and records new requests, and reports
    old and new rows together."""
    channels = f"- name: {MOCK_CHANNEL}\n  provider: mock\n  models: [mock-echo]\n"
    config = write_gateway_config(tmp_path, "ledger rebuild", channels, settings=f"admin_key: {ADMIN_KEY}\n")
    gw = start_dedicated_gateway(config)
    try:
        first = chat(gw, "mock-echo", False).headers["x-request-id"]
        ledger_row(gw, first)
    finally:
        stop_gateway(gw)
    db_path = tmp_path / "data" / "tollgate.db"
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        db.row_factory = sqlite3.Row
        assert db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] == LEDGER_BY_TIME_VERSION
        kept = [dict(row) for row in db.execute("SELECT * FROM usage_ledger")]
        old = {**kept[0], "request_id": "req_from_before", "key_name": "old-key", "started_at": kept[0]["started_at"] - 86_400_000,
               "ended_at": kept[0]["ended_at"] - 86_400_000, "cost_nano": 1234, "price_problem": "x\"y\n"}
        rows = kept + [old]
        columns = list(old)
        with db:
            db.execute("DROP TABLE usage_ledger")
            db.executescript(OLD_LEDGER)
            db.executemany(f"INSERT INTO usage_ledger ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                           [[row[c] for c in columns] for row in rows])
            db.execute("DELETE FROM schema_migrations WHERE version >= ?", (LEDGER_BY_TIME_VERSION,))

    gw = start_dedicated_gateway(config)
    try:
        second = chat(gw, "mock-echo", False).headers["x-request-id"]
        ledger_row(gw, second)
        with httpx.Client(base_url=gw.url, timeout=30) as http:
            by_key = http.get("/admin/usage", params={"group_by": "key"}, headers={"Authorization": f"Bearer {ADMIN_KEY}"})
            recent = http.get("/admin/requests", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        stderr = gw.stderr()
    finally:
        stop_gateway(gw)
    assert f"migrating the SQLite database to schema version {LEDGER_BY_TIME_VERSION}" in stderr, stderr
    assert by_key.status_code == 200, by_key.text
    requests_by_key = {item["group"]: item["requests"] for item in by_key.json()["data"]}
    assert requests_by_key == {"e2e": 2, "old-key": 1}, by_key.text
    assert recent.status_code == 200, recent.text
    assert [item["request_id"] for item in recent.json()["data"]] == [second, first, "req_from_before"], recent.text
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        db.row_factory = sqlite3.Row
        after = {row["request_id"]: dict(row) for row in db.execute("SELECT * FROM usage_ledger WHERE route NOT LIKE '/admin/%'")}
        shape = db.execute("SELECT sql FROM sqlite_master WHERE name = 'usage_ledger'").fetchone()[0]
        indexes = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'usage_ledger'")]
    assert all(after[row["request_id"]] == row for row in rows), (rows, after)
    assert set(after) == {first, second, "req_from_before"}
    assert "WITHOUT ROWID" in shape and "PRIMARY KEY (started_at, request_id)" in shape, shape
    assert indexes == ["usage_ledger_key"], indexes
