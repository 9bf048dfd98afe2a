"""Legacy text completions (`POST /v1/completions`) with the official `openai` SDK's
`completions.create`: the mock OpenAI upstream's own endpoint is first shown faithful; through the
gateway an `openai` channel and a template (`vllm`) get the request byte for byte, metered and
billed from the upstream's usage; a provider without the API gets a clear 400."""

from __future__ import annotations

import json

import httpx
import pytest
from openai import BadRequestError, OpenAI

import mock_openai as mo
from conftest import CHANNEL_KEY, CLIENT_KEY, OPENAI_CHANNEL, VLLM_CHANNEL
from test_ledger import check_row, ledger_row, tokens, usage


def reported(prompt: str) -> dict:
    u = mo.completion_usage(prompt)
    return usage(u["prompt_tokens"], u["completion_tokens"])


def test_openai_sdk_completes_on_the_mock(mock_upstream):
    direct = OpenAI(base_url=mock_upstream.base_url, api_key=CHANNEL_KEY, max_retries=0)
    done = direct.completions.create(model="gpt-3.5-turbo-instruct", prompt="once upon a time")
    assert done.choices[0].text == mo.completion_text("once upon a time") and done.usage.total_tokens > 0
    streamed = list(direct.completions.create(model="gpt-3.5-turbo-instruct", prompt="again", stream=True,
                                              stream_options={"include_usage": True}))
    assert "".join(c.choices[0].text for c in streamed if c.choices) == mo.completion_text("again")
    assert streamed[-1].usage.completion_tokens == len(mo.completion_text("again").split())


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_an_openai_channel_passes_completions_through_metered_and_billed(gateway, mock_upstream, stream):
    prompt = "tell me a story"
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": prompt, "max_tokens": 20, "stream": stream}
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        response = http.post("/v1/completions", content=json.dumps(body), headers={"Authorization": f"Bearer {CLIENT_KEY}",
                                                                                   "content-type": "application/json"})
    assert response.status_code == 200, response.text
    sent = mock_upstream.only("/v1/completions")
    if stream:
        assert json.loads(sent.body)["stream_options"] == {"include_usage": True}, "the gateway asked for usage"
        assert b'"usage"' not in response.content, "the usage chunk the client did not ask for is removed"
        assert response.content.endswith(b"data: [DONE]\n\n")
    else:
        assert sent.body == json.dumps(body).encode() and response.content == sent.response_body
    check_row(gateway, response, reported=reported(prompt), model="gpt-3.5-turbo-instruct", channel=OPENAI_CHANNEL,
              provider="openai", upstream_model="gpt-3.5-turbo-instruct", stream=stream)


def test_openai_sdk_completions_through_the_gateway(gateway):
    oai = OpenAI(base_url=gateway.v1, api_key=CLIENT_KEY, max_retries=0)
    done = oai.completions.create(model="gpt-3.5-turbo-instruct", prompt="hello there")
    assert done.choices[0].text == mo.completion_text("hello there")
    chunks = list(oai.completions.create(model="gpt-3.5-turbo-instruct", prompt="hi", stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == mo.completion_text("hi")


def test_a_template_passes_completions_through(template_gateway, mock_upstream):
    oai = OpenAI(base_url=template_gateway.v1, api_key=CLIENT_KEY, max_retries=0)
    raw = oai.completions.with_raw_response.create(model="vllm-small", prompt="template prompt")
    assert raw.parse().choices[0].text == mo.completion_text("template prompt")
    assert raw.headers["x-tollgate-channel"] == VLLM_CHANNEL
    assert mock_upstream.only("/v1/completions").json()["model"] == "vllm-small"
    row = ledger_row(template_gateway, raw.headers["x-request-id"])
    assert tokens(row) == reported("template prompt") and row["provider"] == "vllm"


def test_a_provider_without_completions_gets_a_clear_error(gateway):
    oai = OpenAI(base_url=gateway.v1, api_key=CLIENT_KEY, max_retries=0)
    with pytest.raises(BadRequestError) as refused:
        oai.completions.create(model="mock-echo", prompt="x")
    assert "openai channels and templates" in refused.value.message
