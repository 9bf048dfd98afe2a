"""Template adaptors end to end: the official `openai` SDK through the gateway to the `cohere`
template (Cohere's own v2 chat API, converted both ways) and the `deepseek` template
(OpenAI-compatible: bytes pass through); a provider added by writing a template file into the
running gateway's folder; `tollgate plugins` listing templates; the shipped templates against
their JSON Schema. The Cohere mock is first shown faithful with Cohere's own SDK."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import cohere
import httpx
import jsonschema
import openai
import pytest

import mock_cohere as mc
from conftest import (ACME_CHANNEL, CHANNEL_KEY, COHERE_CHANNEL, COHERE_CHANNEL_KEY, DEEPSEEK_CHANNEL, DEFAULT_BIN, REPO,
                      SDK)
from test_ledger import ledger_row, stream_without_asking_for_usage

BIN = os.environ.get("TOLLGATE_BIN", str(DEFAULT_BIN))


@pytest.fixture
def client(template_gateway):
    sdk = SDK(template_gateway)
    yield sdk
    sdk.close()


# --- the mock speaks Cohere's wire format ---------------------------------------------------

def test_cohere_sdk_talks_to_the_mock(mock_cohere):
    co = cohere.ClientV2(api_key=COHERE_CHANNEL_KEY, base_url=mock_cohere.url)
    answer = co.chat(model="command-a-03-2025", messages=[{"role": "user", "content": "hello there"}])
    assert answer.message.content[0].text == "Cohere says: hello there"
    assert answer.finish_reason == "COMPLETE"
    assert answer.usage.billed_units.output_tokens == 4
    types = [event.type for event in co.chat_stream(model="command-a-03-2025", messages=[{"role": "user", "content": "hi"}])
             if event is not None]
    assert types[:2] == ["message-start", "content-start"] and types[-2:] == ["content-end", "message-end"]
    with pytest.raises(cohere.core.api_error.ApiError) as refused:
        cohere.ClientV2(api_key="wrong", base_url=mock_cohere.url).chat(model="m", messages=[{"role": "user", "content": "x"}])
    assert refused.value.status_code == 401


# --- cohere template ----------------------------------------------------------------------

def test_openai_sdk_chat_reaches_cohere_converted(client, template_gateway, mock_cohere):
    answer = client.client.chat.completions.create(
        model="command-r", messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "how are you"}],
        top_p=0.5, stop=["END"], max_tokens=20, user="someone")
    assert answer.choices[0].message.content == "Cohere says: how are you"
    assert answer.choices[0].finish_reason == "stop"
    assert answer.object == "chat.completion" and answer.model == "command-r"
    assert answer.usage.completion_tokens == 5 and answer.usage.prompt_tokens == 5
    sent = mock_cohere.only("/v2/chat")
    assert sent.header("Authorization") == f"Bearer {COHERE_CHANNEL_KEY}"
    body = json.loads(sent.body)
    assert body["p"] == 0.5 and body["stop_sequences"] == ["END"] and body["max_tokens"] == 20
    assert "top_p" not in body and "user" not in body and "stream_options" not in body


@pytest.mark.parametrize("include_usage", [True, False])
@pytest.mark.parametrize("marker", ["", " [split]"])
def test_openai_sdk_stream_from_cohere(client, mock_cohere, include_usage, marker):
    extra = {"stream_options": {"include_usage": True}} if include_usage else {}
    chunks = list(client.client.chat.completions.create(
        model="command-r", stream=True, messages=[{"role": "user", "content": "stream this please" + marker}], **extra))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Cohere says: stream this please"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    usage = [c.usage for c in chunks if c.usage is not None]
    if include_usage:
        assert len(usage) == 1 and usage[0].completion_tokens == 5 and chunks[-1].choices == []
    else:
        assert usage == []
    assert "stream_options" not in json.loads(mock_cohere.only("/v2/chat").body)


def test_cohere_errors_keep_their_status_and_message(client):
    with pytest.raises(openai.BadRequestError) as refused:
        client.client.chat.completions.create(model="command-r", messages=[{"role": "user", "content": "x"}],
                                              extra_body={"audio": {"voice": "alloy"}})
    assert refused.value.status_code == 400
    assert "parameter 'audio' is not a valid field" in refused.value.message


def test_a_missing_answer_field_is_a_502_naming_the_path(client):
    with pytest.raises(openai.InternalServerError) as failed:
        client.client.chat.completions.create(model="command-empty", messages=[{"role": "user", "content": "x"}])
    assert failed.value.status_code == 502
    assert "no value at $.message.content[0].text: $.message.content has no element [0]" in failed.value.message


def test_a_cut_cohere_stream_ends_with_an_error_event(template_gateway):
    with httpx.Client(timeout=30) as http:
        response = http.post(f"{template_gateway.v1}/chat/completions",
                             headers={"Authorization": f"Bearer {template_gateway.client_key}"},
                             json={"model": "command-cut", "stream": True, "messages": [{"role": "user", "content": "a b"}]})
    assert response.status_code == 200
    events = [line[6:] for line in response.text.split("\n") if line.startswith("data: ")]
    assert "[DONE]" not in events
    assert "closed the connection mid-stream" in json.loads(events[-1])["error"]["message"]


# --- an OpenAI-compatible template: bytes pass through ------------------------------------

def test_deepseek_template_passes_bytes_through(client, template_gateway, mock_upstream):
    answer = client.client.chat.completions.create(model="deepseek-chat", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content
    sent = mock_upstream.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.header("Authorization") == f"Bearer {CHANNEL_KEY}"
    assert sent.body == client.last_sent().content
    chunks = list(client.client.chat.completions.create(model="deepseek-chat", stream=True,
                                                        messages=[{"role": "user", "content": "hi"}]))
    assert all(c.usage is None for c in chunks)
    assert json.loads(mock_upstream.requests[-1].body)["stream_options"] == {"include_usage": True}


def test_a_template_channel_can_leave_a_streams_body_untouched(mock_upstream, tmp_path):
    """`options.include_usage: "false"` holds for a template channel too (the deepseek template
    asks for usage like the passthrough): the stream's body goes up untouched, its usage estimated."""
    sent, row = stream_without_asking_for_usage(tmp_path, mock_upstream, "deepseek", "deepseek-chat",
                                                settings=f"templates:\n  dir: {REPO / 'adaptor-templates'}\n")
    assert "stream_options" not in sent, sent
    assert row["estimated"] == 1 and row["completion_tokens"] > 0, row


# --- a provider added at run time ---------------------------------------------------------

def test_a_template_file_added_to_the_running_gateway_serves_requests(client, template_gateway, mock_upstream):
    with pytest.raises(openai.NotFoundError):
        client.client.chat.completions.create(model="acme-chat", messages=[{"role": "user", "content": "hi"}])
    template = {"provider": "acme", "name": "Acme AI", "base_url": "https://api.acme.example/v1",
                "endpoints": {"chat": "/chat/completions"}, "auth": {"style": "bearer"},
                "headers": {"x-acme-client": "tollgate"}}
    (template_gateway.templates / "acme.json").write_text(json.dumps(template))
    deadline = time.monotonic() + 15
    while True:
        try:
            answer = client.client.chat.completions.create(model="acme-chat", messages=[{"role": "user", "content": "hi"}])
            break
        except openai.NotFoundError:
            assert time.monotonic() < deadline, "the gateway did not pick up acme.json"
            time.sleep(0.3)
    assert answer.choices[0].message.content
    sent = mock_upstream.requests[-1]
    assert sent.header("Authorization") == f"Bearer {CHANNEL_KEY}" and sent.header("x-acme-client") == "tollgate"


# --- the CLI and the schema ---------------------------------------------------------------

def test_plugins_lists_templates_loaded_and_refused(tmp_path: Path):
    (tmp_path / "good.json").write_text(json.dumps({"provider": "good", "base_url": "https://g.example", "endpoints": {"chat": "/c"}}))
    (tmp_path / "bad.json").write_text(json.dumps({"provider": "bad", "base_url": "https://b.example",
                                                   "endpoints": {"chat": "/c"}, "auth": {"style": "cookie"}}))
    result = subprocess.run([BIN, "plugins", "--templates-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"Templates in {tmp_path}:" in result.stdout
    assert f"loaded   {tmp_path}/good.json: template 'good' (good)" in result.stdout
    assert (f"refused  {tmp_path}/bad.json: auth.style: unknown auth style 'cookie' (expected bearer, header, query or none)"
            in result.stdout)


def test_check_config_accepts_channels_on_shipped_templates(tmp_path: Path):
    config = tmp_path / "t.yaml"
    config.write_text(f"templates: {{ dir: {REPO / 'adaptor-templates'} }}\nkeys:\n  - {{ name: a, key: sk-aaaaaaaa }}\n"
                      "channels:\n  - { name: co, provider: cohere, credentials: { api_key: k }, models: [command-r] }\n")
    result = subprocess.run([BIN, "check-config", str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", sorted(p for p in (REPO / "adaptor-templates").glob("*.json") if not p.name.endswith(".schema.json")),
                         ids=lambda p: p.stem)
def test_shipped_templates_match_the_schema(path: Path):
    schema = json.loads((REPO / "adaptor-templates" / "template.schema.json").read_text())
    jsonschema.validate(json.loads(path.read_text()), schema, cls=jsonschema.Draft202012Validator)


# --- cohere embeddings (v2 embed) ------------------------------------------------------------

def test_cohere_sdk_embeds_on_the_mock(mock_cohere):
    co = cohere.ClientV2(api_key=COHERE_CHANNEL_KEY, base_url=mock_cohere.url)
    answer = co.embed(model="embed-v4.0", texts=["a b", "c"], input_type="search_document", embedding_types=["float"])
    assert answer.embeddings.float_ == [mc.embedding_values("a b", mc.EMBED_DIMENSIONS), mc.embedding_values("c", mc.EMBED_DIMENSIONS)]
    assert answer.meta.billed_units.input_tokens == 3


def test_openai_sdk_embeddings_reach_cohere_converted(client, template_gateway, mock_cohere):
    raw = client.client.embeddings.with_raw_response.create(model="embed-v4.0", input="one two three", dimensions=4)
    answer = raw.parse()
    sent = mock_cohere.only("/v2/embed").json()
    assert sent == {"model": "embed-v4.0", "texts": ["one two three"], "output_dimension": 4, "input_type": "search_document",
                    "embedding_types": ["float"]}
    assert answer.data[0].embedding == mc.embedding_values("one two three", 4)
    assert answer.usage.prompt_tokens == 3
    row = ledger_row(template_gateway, raw.headers["x-request-id"])
    assert (row["provider"], row["route"], row["prompt_tokens"]) == ("cohere", "embeddings", 3)
