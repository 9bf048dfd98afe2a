"""Embeddings (`publishers/google/models/{model}:predict`) and token counts (`:countTokens`, and
Claude's `count-tokens:rawPredict`) on Vertex AI: the mock's predict and countTokens APIs are first
shown faithful with google-genai in Vertex mode pointed straight at them; through the gateway the
`openai` SDK's `embeddings.create` and the `anthropic` SDK's `messages.count_tokens` reach them
converted, with usage from the predictions' token counts in the ledger (counts are never billed)."""

from __future__ import annotations

import json

from openai import OpenAI

import mock_gemini as mg
import mock_vertex as mv
from conftest import CLIENT_KEY, VERTEX_CHANNEL
from test_ledger import ledger_row
from test_vertex import MODEL_PATH, vertex_sdk  # noqa: F401 - the fixture

EMBEDDING_MODEL = "text-embedding-005"


def test_genai_sdk_embeds_on_the_vertex_mock(vertex_sdk, mock_vertex):  # noqa: F811
    embedded = vertex_sdk.models.embed_content(model=EMBEDDING_MODEL, contents=["red apple", "green"])
    sent = [r for r in mock_vertex.requests if r.path != "/token"][-1]
    assert sent.path == f"{MODEL_PATH}/{EMBEDDING_MODEL}:predict"
    assert [i["content"] for i in json.loads(sent.body)["instances"]] == ["red apple", "green"]
    assert [e.values for e in embedded.embeddings] == [mg.embedding_values("red apple", 8), mg.embedding_values("green", 8)]
    assert embedded.embeddings[0].statistics.token_count == 2


def test_openai_sdk_embeddings_on_vertex_through_the_gateway(vertex_gateway, mock_vertex):
    oai = OpenAI(base_url=vertex_gateway.v1, api_key=CLIENT_KEY, max_retries=0)
    raw = oai.embeddings.with_raw_response.create(model=EMBEDDING_MODEL, input=["one two", "three"], dimensions=4)
    answer = raw.parse()
    sent = json.loads([r for r in mock_vertex.requests if r.path != "/token"][-1].body)
    assert sent == {"instances": [{"content": "one two"}, {"content": "three"}], "parameters": {"outputDimensionality": 4}}
    assert [d.embedding for d in answer.data] == [mg.embedding_values("one two", 4), mg.embedding_values("three", 4)]
    assert answer.usage.prompt_tokens == 3
    row = ledger_row(vertex_gateway, raw.headers["x-request-id"])
    assert (row["channel"], row["provider"], row["route"], row["prompt_tokens"]) == (VERTEX_CHANNEL, "vertex", "embeddings", 3)
    assert mv.embedding_prediction("three", 4)["embeddings"]["statistics"]["token_count"] == 1


def test_claude_on_vertex_counts_tokens_with_vertexs_counter(vertex_gateway, mock_vertex):
    """`/v1/messages/count_tokens` for Claude on Vertex: `publishers/anthropic/models/count-tokens:rawPredict`."""
    import anthropic

    import mock_anthropic as ma
    from conftest import VERTEX_CLAUDE_MAPPED_MODEL, VERTEX_CLAUDE_UPSTREAM_MODEL
    claude = anthropic.Anthropic(base_url=vertex_gateway.url, api_key=CLIENT_KEY, max_retries=0)
    raw = claude.messages.with_raw_response.count_tokens(model=VERTEX_CLAUDE_MAPPED_MODEL,
                                                         messages=[{"role": "user", "content": "count on vertex"}])
    sent = [r for r in mock_vertex.requests if r.path != "/token"][-1]
    assert sent.path == MODEL_PATH.replace("google", "anthropic") + "/count-tokens:rawPredict"
    body = json.loads(sent.body)
    assert body["model"] == VERTEX_CLAUDE_UPSTREAM_MODEL and body["anthropic_version"] == mv.VERTEX_ANTHROPIC_VERSION
    assert raw.parse().input_tokens == ma.count_tokens({k: v for k, v in body.items() if k != "anthropic_version"})
    assert "x-tollgate-estimated" not in raw.headers



def test_genai_sdk_counts_on_the_vertex_mock(vertex_sdk, mock_vertex):  # noqa: F811
    from google.genai import types
    counted = vertex_sdk.models.count_tokens(model="gemini-2.5-flash", contents="count these words",
                                             config=types.CountTokensConfig(system_instruction="Be brief."))
    sent = [r for r in mock_vertex.requests if r.path != "/token"][-1]
    assert sent.path == f"{MODEL_PATH}/gemini-2.5-flash:countTokens"
    body = json.loads(sent.body)
    assert set(body) == {"contents", "systemInstruction"}, body
    assert counted.total_tokens == mg.usage_metadata(body)["promptTokenCount"] > 0


def test_gemini_on_vertex_counts_an_anthropic_clients_request(vertex_gateway, mock_vertex):
    """An Anthropic client's count for a Gemini model on Vertex: converted, sent to `:countTokens` in
    Vertex's top-level form, answered as Anthropic's `input_tokens`."""
    import anthropic

    from conftest import VERTEX_MAPPED_MODEL, VERTEX_MAPPED_UPSTREAM_MODEL
    with anthropic.Anthropic(base_url=vertex_gateway.url, api_key=CLIENT_KEY, max_retries=0) as claude:
        raw = claude.messages.with_raw_response.count_tokens(model=VERTEX_MAPPED_MODEL, system="Be brief.",
                                                             messages=[{"role": "user", "content": "count on vertex"}])
    sent = [r for r in mock_vertex.requests if r.path != "/token"][-1]
    assert sent.path == f"{MODEL_PATH}/{VERTEX_MAPPED_UPSTREAM_MODEL}:countTokens"
    body = json.loads(sent.body)
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]} and "generateContentRequest" not in body
    assert raw.parse().input_tokens == mg.usage_metadata(body)["promptTokenCount"] > 0
    assert "x-tollgate-estimated" not in raw.headers
    row = ledger_row(vertex_gateway, raw.headers["x-request-id"])
    assert (row["channel"], row["route"], row["cost_nano"]) == (VERTEX_CHANNEL, "count_tokens", None)
