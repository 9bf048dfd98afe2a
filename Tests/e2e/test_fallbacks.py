"""Fallbacks across models, through a gateway process and the openai SDK: a model whose channels
all answer 500 falls back to the next model in `fallbacks`, which serves; the answer names it
(`x-tollgate-model`), the cost is that model's, and the ledger row bills the model that served
and keeps the one asked for (`fallback_from`). A prompt over a model's context window (OpenAI's
`context_length_exceeded`) moves to its `context_window_fallbacks`; other 400s stay the client's."""

from __future__ import annotations

import openai
import pytest

from conftest import CHANNEL_KEY, CLIENT_KEY, start_dedicated_gateway, stop_gateway, write_gateway_config
from test_ledger import expected_cost_nano, ledger_row, nano_text, price_entry, tokens


@pytest.fixture(scope="module")
def fallback_gateway(tmp_path_factory, mock_upstream):
    channels = (f'- {{ name: failing, provider: openai, base_url: "{mock_upstream.base_url}", '
                f'credentials: {{ api_key: {CHANNEL_KEY} }}, models: [fail-500] }}\n'
                f'- {{ name: serving, provider: openai, base_url: "{mock_upstream.base_url}", '
                f'credentials: {{ api_key: {CHANNEL_KEY} }}, models: [gpt-4o-mini] }}\n'
                f'- {{ name: tiny, provider: openai, base_url: "{mock_upstream.base_url}", '
                f'credentials: {{ api_key: {CHANNEL_KEY} }}, models: [small-context] }}\n')
    settings = "fallbacks: { fail-500: [gpt-4o-mini] }\ncontext_window_fallbacks: { small-context: [gpt-4o-mini] }\n"
    gw = start_dedicated_gateway(write_gateway_config(tmp_path_factory.mktemp("fallbacks"), "fallbacks", channels, settings=settings))
    yield gw
    stop_gateway(gw)


def test_a_model_whose_channels_all_answer_500_falls_back_and_is_billed_as_the_model_that_served(fallback_gateway, mock_upstream):
    client = openai.OpenAI(base_url=fallback_gateway.v1, api_key=CLIENT_KEY, max_retries=0)
    mock_upstream.clear()
    raw = client.chat.completions.with_raw_response.create(model="fail-500", messages=[{"role": "user", "content": "hello"}])
    answer = raw.parse()
    assert raw.headers["x-tollgate-model"] == "gpt-4o-mini"
    assert raw.headers["x-tollgate-channel"] == "serving"
    assert answer.choices[0].message.content
    sent = [r.json()["model"] for r in mock_upstream.requests]
    assert sent == ["fail-500", "gpt-4o-mini"], sent

    row = ledger_row(fallback_gateway, raw.headers["x-request-id"])
    assert row["model"] == "gpt-4o-mini" and row["fallback_from"] == "fail-500" and row["status"] == 200
    name, entry = price_entry("gpt-4o-mini", "openai")
    assert row["price_name"] == name
    cost = expected_cost_nano(entry, tokens(row))
    assert row["cost_nano"] == cost and raw.headers["x-tollgate-cost"] == nano_text(cost)


def test_a_stream_falls_back_too(fallback_gateway, mock_upstream):
    client = openai.OpenAI(base_url=fallback_gateway.v1, api_key=CLIENT_KEY, max_retries=0)
    with client.chat.completions.with_streaming_response.create(model="fail-500", stream=True,
                                                                messages=[{"role": "user", "content": "hello"}]) as response:
        assert response.headers["x-tollgate-model"] == "gpt-4o-mini"
        text = "".join(chunk.choices[0].delta.content or "" for chunk in response.parse() if chunk.choices)
    assert text


def test_a_prompt_over_the_context_window_moves_to_the_context_window_fallback(fallback_gateway, mock_upstream):
    client = openai.OpenAI(base_url=fallback_gateway.v1, api_key=CLIENT_KEY, max_retries=0)
    mock_upstream.clear()
    raw = client.chat.completions.with_raw_response.create(model="small-context", messages=[{"role": "user", "content": "long"}])
    assert raw.headers["x-tollgate-model"] == "gpt-4o-mini"
    assert [r.json()["model"] for r in mock_upstream.requests] == ["small-context", "gpt-4o-mini"]
    row = ledger_row(fallback_gateway, raw.headers["x-request-id"])
    assert row["model"] == "gpt-4o-mini" and row["fallback_from"] == "small-context"
