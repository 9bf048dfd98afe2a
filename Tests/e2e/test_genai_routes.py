"""The Gemini client routes beside generateContent, with the official `google-genai` SDK:
`:countTokens`, `:embedContent` and `:batchEmbedContents` (what `embed_content` calls). The Gemini
mock's own routes are first shown faithful (SDK pointed straight at it); through the gateway a
Gemini channel gets the bytes as they are (its own counter, its own embeddings), an OpenAI
upstream gets embeddings converted both ways, and a channel without a counter gets an estimate."""

from __future__ import annotations

import json

import httpx
import pytest
from google import genai
from google.genai import errors, types

import mock_gemini as mg
import mock_openai as mo
from conftest import CLIENT_KEY, GEMINI_CHANNEL, GEMINI_CHANNEL_KEY, OPENAI_CHANNEL
from test_ledger import ledger_row

GEMINI_MODEL = "gemini-2.5-flash"


def client(url: str, key: str = CLIENT_KEY) -> genai.Client:
    return genai.Client(api_key=key, http_options=types.HttpOptions(base_url=url))


def test_genai_sdk_counts_and_embeds_on_the_mock(mock_gemini):
    direct = client(mock_gemini.url, GEMINI_CHANNEL_KEY)
    counted = direct.models.count_tokens(model=GEMINI_MODEL, contents="count these words")
    sent = json.loads(mock_gemini.requests[-1].body)
    assert counted.total_tokens == mg.usage_metadata(sent)["promptTokenCount"]
    embedded = direct.models.embed_content(model="gemini-embedding-001", contents=["one", "two"],
                                           config=types.EmbedContentConfig(output_dimensionality=4))
    assert mock_gemini.requests[-1].path.endswith(":batchEmbedContents")
    assert [e.values for e in embedded.embeddings] == [mg.embedding_values("one", 4), mg.embedding_values("two", 4)]


def test_a_gemini_channel_serves_embeddings_and_counts_as_is(dialect_gateway, mock_gemini):
    gw = client(dialect_gateway.url)
    embedded = gw.models.embed_content(model="gemini-embedding-001", contents=["alpha", "beta"])
    sent = mock_gemini.only()
    assert sent.path.endswith("models/gemini-embedding-001:batchEmbedContents")
    assert [e.values for e in embedded.embeddings] == [mg.embedding_values("alpha", 8), mg.embedding_values("beta", 8)]
    mock_gemini.clear()
    with httpx.Client(base_url=dialect_gateway.url, timeout=30) as http:
        raw = http.post(f"/v1beta/models/{GEMINI_MODEL}:countTokens", headers={"x-goog-api-key": CLIENT_KEY},
                        json={"contents": [{"role": "user", "parts": [{"text": "how many tokens here"}]}]})
    assert raw.status_code == 200, raw.text
    assert "x-tollgate-estimated" not in raw.headers and raw.headers["x-tollgate-channel"] == GEMINI_CHANNEL
    assert raw.json()["totalTokens"] == mg.usage_metadata(json.loads(mock_gemini.only().body))["promptTokenCount"]
    row = ledger_row(dialect_gateway, raw.headers["x-request-id"])
    assert (row["cost_nano"], row["dialect"]) == (None, "gemini")
    assert gw.models.count_tokens(model=GEMINI_MODEL, contents="sdk count").total_tokens > 0


def test_an_openai_upstream_serves_gemini_embeddings_converted(gateway, mock_upstream):
    gw = client(gateway.url)
    embedded = gw.models.embed_content(model="text-embedding-3-small", contents=["first text", "second"])
    sent = mock_upstream.only("/v1/embeddings").json()
    assert sent == {"model": "text-embedding-3-small", "input": ["first text", "second"]}
    assert [e.values for e in embedded.embeddings] == [mo.embedding_vector("first text", 0), mo.embedding_vector("second", 1)]
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        raw = http.post("/v1beta/models/text-embedding-3-small:embedContent", headers={"x-goog-api-key": CLIENT_KEY},
                        json={"content": {"parts": [{"text": "single"}]}})
    assert raw.status_code == 200 and raw.json() == {"embedding": {"values": mo.embedding_vector("single", 0)}}
    row = ledger_row(gateway, raw.headers["x-request-id"])
    assert (row["channel"], row["dialect"], row["prompt_tokens"]) == (OPENAI_CHANNEL, "gemini", 1)


def test_a_channel_without_a_counter_gets_an_estimate_in_geminis_shape(gateway):
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        raw = http.post("/v1beta/models/mock-echo:countTokens", headers={"x-goog-api-key": CLIENT_KEY},
                        json={"contents": [{"parts": [{"text": "estimate me please"}]}]})
        assert raw.status_code == 200 and raw.headers["x-tollgate-estimated"] == "true"
        assert raw.json()["totalTokens"] > 0
        bad = http.post("/v1beta/models/mock-echo:embedContent", headers={"x-goog-api-key": CLIENT_KEY},
                        json={"content": {"parts": [{"inline_data": {"mime_type": "image/png", "data": "AAA"}}]}})
        assert bad.status_code == 400 and bad.json()["error"]["status"] == "INVALID_ARGUMENT", bad.text
        assert "content.parts" in bad.json()["error"]["message"]
        refused = http.post("/v1beta/models/mock-echo:countTokens", headers={"x-goog-api-key": CLIENT_KEY}, json={"contents": 5})
        assert refused.status_code == 400 and refused.json()["error"]["status"] == "INVALID_ARGUMENT", refused.text
    assert client(gateway.url).models.count_tokens(model="mock-echo", contents="sdk estimate").total_tokens > 0
