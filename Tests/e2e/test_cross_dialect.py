"""Every client dialect against the `claude` and `gemini` plugin channels of a second gateway
(`dialect_gateway`), whose upstreams are the faithful mocks `mock_anthropic` and `mock_gemini`:

  openai SDK     -> claude, gemini   converted both ways (chat, streams, usage, tool calls)
  anthropic SDK  -> gemini           converted;   -> claude  passthrough (bytes untouched)
  google-genai   -> claude           converted;   -> gemini  passthrough (bytes untouched)

and malformed upstream answers, which must reach each client as an error in its own dialect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import ModuleType

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors, types
from openai import OpenAI

import mock_anthropic as ma
import mock_gemini as mg
from conftest import (ANTHROPIC_CHANNEL_KEY, CLAUDE_CHANNEL, CLAUDE_MAPPED_MODEL, CLAUDE_MAPPED_UPSTREAM_MODEL, CLIENT_KEY,
                      GEMINI_CHANNEL, GEMINI_CHANNEL_KEY)
from mock_server import MockServer, RecordedRequest
from support import assert_openai_error, parse_sse

CLAUDE_MODEL = "claude-sonnet-5"
GEMINI_MODEL = "gemini-2.5-flash"
CHANNEL_ANTHROPIC_VERSION = "2023-06-01"  # the claude plugin's default

OPENAI_WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}},
                   "required": ["city"], "additionalProperties": False}}}
ANTHROPIC_WEATHER_TOOL = {
    "name": "get_weather", "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
GEMINI_WEATHER_FUNCTION = types.FunctionDeclaration(
    name="get_weather", description="Weather for a city",
    parameters=types.Schema(type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)},
                            required=["city"]))
GEMINI_TOOL_CONFIG = types.GenerateContentConfig(
    tools=[types.Tool(function_declarations=[GEMINI_WEATHER_FUNCTION])],
    automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))


# --- clients -----------------------------------------------------------------------------------

class Recorder:
    """An httpx event hook keeping every request a client sends (so its body bytes can be compared)."""

    def __init__(self) -> None:
        self.sent: list = []

    def __call__(self, request) -> None:
        self.sent.append(request)

    def last_body(self) -> bytes:
        assert self.sent, "the client sent nothing"
        request = self.sent[-1]
        request.read()
        return request.content


@pytest.fixture
def oai(dialect_gateway):
    client = OpenAI(base_url=dialect_gateway.v1, api_key=CLIENT_KEY, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def claude(dialect_gateway):
    client = anthropic.Anthropic(base_url=dialect_gateway.url, api_key=CLIENT_KEY, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def gemini_sent():
    return Recorder()


@pytest.fixture
def gemini(dialect_gateway, gemini_sent):
    http_client = httpx.Client(event_hooks={"request": [gemini_sent]}, timeout=httpx.Timeout(30.0))
    client = genai.Client(api_key=CLIENT_KEY, http_options=types.HttpOptions(
        base_url=dialect_gateway.url, api_version="v1beta", httpx_client=http_client))
    yield client
    http_client.close()


@pytest.fixture
def http(dialect_gateway):
    with httpx.Client(base_url=dialect_gateway.url, timeout=httpx.Timeout(30.0)) as client:
        yield client


# --- the two upstreams, for tests that run against both ---------------------------------------

@dataclass
class Upstream:
    name: str
    model: str
    channel: str
    mock: MockServer
    wire: ModuleType  # mock_anthropic or mock_gemini: reply_text, openai_usage

    def record(self) -> RecordedRequest:
        return self.mock.only()

    def request(self) -> dict:
        return self.record().json()

    def reply(self, request: dict) -> str:
        return self.wire.reply_text(request)

    def usage(self, request: dict) -> dict:
        return self.wire.openai_usage(request)


@pytest.fixture(params=["claude", "gemini"])
def upstream(request, mock_anthropic, mock_gemini) -> Upstream:
    if request.param == "claude":
        return Upstream("claude", CLAUDE_MODEL, CLAUDE_CHANNEL, mock_anthropic, ma)
    return Upstream("gemini", GEMINI_MODEL, GEMINI_CHANNEL, mock_gemini, mg)


def assert_openai_usage(usage, expected: dict) -> None:
    assert usage is not None, "no usage"
    assert usage.prompt_tokens == expected["prompt_tokens"], usage
    assert usage.completion_tokens == expected["completion_tokens"], usage
    assert usage.total_tokens == expected["total_tokens"], usage
    assert usage.prompt_tokens_details.cached_tokens == expected["cached_tokens"] > 0, usage
    if "reasoning_tokens" in expected:
        assert usage.completion_tokens_details.reasoning_tokens == expected["reasoning_tokens"], usage


def assert_no_client_key_upstream(record: RecordedRequest) -> None:
    """The client's key never reaches the provider (headers or query)."""
    assert CLIENT_KEY not in record.path, record.path
    for name, value in record.headers:
        assert CLIENT_KEY not in value, f"the client's key went upstream in {name}"


def collect_tool_calls(chunks) -> dict[int, dict]:
    """Streamed tool call deltas, assembled by index."""
    calls: dict[int, dict] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
                if delta.id:
                    assert call["id"] in (None, delta.id), "a tool call's id changed mid-stream"
                    call["id"] = delta.id
                if delta.function and delta.function.name:
                    call["name"] = delta.function.name
                if delta.function and delta.function.arguments:
                    call["arguments"] += delta.function.arguments
    return calls


# === OpenAI clients ===========================================================================

def test_openai_chat(oai, upstream):
    raw = oai.chat.completions.with_raw_response.create(
        model=upstream.model, max_tokens=64, temperature=0.5,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}])
    completion = raw.parse()
    request = upstream.request()

    assert raw.headers["x-tollgate-channel"] == upstream.channel
    assert completion.object == "chat.completion" and completion.model == upstream.model
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == upstream.reply(request) == "Mock reply to: Hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert_openai_usage(completion.usage, upstream.usage(request))


def test_openai_chat_reaches_anthropic_in_its_format(oai, mock_anthropic):
    oai.chat.completions.create(model=CLAUDE_MODEL, max_tokens=64, temperature=0.5, stop=["END"],
                                messages=[{"role": "system", "content": "Be brief."},
                                          {"role": "user", "content": "Hello there"}])
    record = mock_anthropic.only("/v1/messages")
    request = record.json()
    assert record.header("x-api-key") == ANTHROPIC_CHANNEL_KEY
    assert record.header("anthropic-version") == CHANNEL_ANTHROPIC_VERSION
    assert_no_client_key_upstream(record)
    assert request["model"] == CLAUDE_MODEL and request["max_tokens"] == 64 and request["temperature"] == 0.5
    assert request["stop_sequences"] == ["END"]
    assert request["system"] in ("Be brief.", [{"type": "text", "text": "Be brief."}])
    assert len(request["messages"]) == 1 and request["messages"][0]["role"] == "user"
    assert ma.text_of(request["messages"][0]["content"]) == "Hello there"
    assert not request.get("stream")


def test_openai_chat_reaches_gemini_in_its_format(oai, mock_gemini):
    oai.chat.completions.create(model=GEMINI_MODEL, max_tokens=64, temperature=0.5, stop=["END"],
                                messages=[{"role": "system", "content": "Be brief."},
                                          {"role": "user", "content": "Hello there"}])
    record = mock_gemini.only(f"/v1beta/models/{GEMINI_MODEL}:generateContent")
    request = record.json()
    assert record.header("x-goog-api-key") == GEMINI_CHANNEL_KEY
    assert_no_client_key_upstream(record)
    assert mg.parts_text(mg.get(request["systemInstruction"], "parts")) == "Be brief."
    assert [c.get("role") for c in request["contents"]] == ["user"]
    assert mg.parts_text(request["contents"][0]["parts"]) == "Hello there"
    config = request["generationConfig"]
    assert config["maxOutputTokens"] == 64 and config["temperature"] == 0.5 and config["stopSequences"] == ["END"]


@pytest.mark.parametrize("include_usage", [True, False])
def test_openai_streamed_chat(oai, upstream, include_usage):
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    chunks = list(oai.chat.completions.create(model=upstream.model, max_tokens=64, stream=True, **options,
                                              messages=[{"role": "user", "content": "Stream please"}]))
    record = upstream.record()
    request = record.json()
    if upstream.name == "claude":
        assert record.path == "/v1/messages" and request["stream"] is True
    else:
        assert record.path == f"/v1beta/models/{GEMINI_MODEL}:streamGenerateContent?alt=sse"

    assert all(c.object == "chat.completion.chunk" and c.model == upstream.model for c in chunks)
    assert len({c.id for c in chunks}) == 1, "every chunk of a stream carries the same id"
    with_choices = [c for c in chunks if c.choices]
    assert with_choices[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in with_choices) == upstream.reply(request)
    assert [c.choices[0].finish_reason for c in with_choices if c.choices[0].finish_reason] == ["stop"]
    if include_usage:
        assert chunks[-1].choices == [], "the usage chunk comes last"
        assert_openai_usage(chunks[-1].usage, upstream.usage(request))
        assert all(c.usage is None for c in chunks[:-1])
    else:
        assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)


def test_openai_tool_call(oai, upstream):
    completion = oai.chat.completions.create(model=upstream.model, max_tokens=64, tools=[OPENAI_WEATHER_TOOL],
                                             messages=[{"role": "user", "content": "Weather in Paris?"}])
    request = upstream.request()
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.id
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    if upstream.name == "claude":
        assert call.id == ma.TOOL_USE_ID
        assert request["tools"] == [{"name": "get_weather", "description": "Weather for a city",
                                     "input_schema": OPENAI_WEATHER_TOOL["function"]["parameters"]}]
    else:
        declaration = mg.declarations(request)[0]
        assert declaration["name"] == "get_weather" and declaration["description"] == "Weather for a city"
        schema = mg.get(declaration, "parameters") or mg.get(declaration, "parametersJsonSchema")
        assert schema["properties"]["city"]["type"].lower() == "string"
    assert_openai_usage(completion.usage, upstream.usage(request))


def test_openai_streamed_tool_call(oai, upstream):
    chunks = list(oai.chat.completions.create(
        model=upstream.model, max_tokens=64, tools=[OPENAI_WEATHER_TOOL], stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Weather in Paris? [preamble]"}]))
    request = upstream.request()
    calls = collect_tool_calls(chunks)
    assert list(calls) == [0]
    assert calls[0]["id"] and calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}
    if upstream.name == "claude":
        assert calls[0]["id"] == ma.TOOL_USE_ID
        # Claude wrote a text block before the tool_use block (block index 1 -> tool call index 0).
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ma.PREAMBLE
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["tool_calls"]
    assert_openai_usage(chunks[-1].usage, upstream.usage(request))


@pytest.mark.parametrize("streamed", [False, True])
def test_openai_tool_result_round_trip(oai, upstream, streamed):
    question = [{"role": "user", "content": "Weather in Paris?"}]
    first = oai.chat.completions.create(model=upstream.model, max_tokens=64, tools=[OPENAI_WEATHER_TOOL],
                                        messages=question)
    call = first.choices[0].message.tool_calls[0]
    upstream.mock.clear()
    follow_up = question + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": call.function.name, "arguments": call.function.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21C"},
    ]
    if streamed:
        chunks = list(oai.chat.completions.create(model=upstream.model, max_tokens=64, tools=[OPENAI_WEATHER_TOOL],
                                                  messages=follow_up, stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        answer = oai.chat.completions.create(model=upstream.model, max_tokens=64, tools=[OPENAI_WEATHER_TOOL],
                                             messages=follow_up)
        text = answer.choices[0].message.content
        assert answer.choices[0].finish_reason == "stop"
    request = upstream.request()

    if upstream.name == "claude":
        assert request["messages"][1]["role"] == "assistant"
        uses = [b for b in request["messages"][1]["content"] if b["type"] == "tool_use"]
        assert uses == [{"type": "tool_use", "id": call.id, "name": "get_weather", "input": {"city": "Paris"}}]
        results = [b for b in request["messages"][2]["content"] if b["type"] == "tool_result"]
        assert len(results) == 1 and results[0]["tool_use_id"] == call.id
        assert ma.text_of(results[0]["content"]) == "Sunny, 21C"
        assert text == "Tool said: Sunny, 21C"
    else:
        assert [c["role"] for c in request["contents"]] == ["user", "model", "user"]
        function_call = mg.get(request["contents"][1]["parts"][0], "functionCall")
        assert function_call["name"] == "get_weather" and function_call["args"] == {"city": "Paris"}
        response = mg.function_response(request)
        assert response["name"] == "get_weather"
        assert "Sunny, 21C" in json.dumps(response["response"])
        assert text == mg.reply_text(request)


# === Anthropic clients ========================================================================

def test_anthropic_message_from_gemini(claude, mock_gemini):
    raw = claude.messages.with_raw_response.create(model=GEMINI_MODEL, max_tokens=64, system="Be brief.",
                                                   messages=[{"role": "user", "content": "Hello there"}])
    message = raw.parse()
    record = mock_gemini.only(f"/v1beta/models/{GEMINI_MODEL}:generateContent")
    request = record.json()

    assert raw.headers["x-tollgate-channel"] == GEMINI_CHANNEL
    assert record.header("x-goog-api-key") == GEMINI_CHANNEL_KEY
    assert_no_client_key_upstream(record)
    assert mg.parts_text(mg.get(request["systemInstruction"], "parts")) == "Be brief."
    assert request["generationConfig"]["maxOutputTokens"] == 64
    assert message.type == "message" and message.role == "assistant" and message.model == GEMINI_MODEL
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == mg.reply_text(request)
    assert message.stop_reason == "end_turn"
    expected = mg.openai_usage(request)
    # Anthropic's input count excludes cache reads.
    assert message.usage.input_tokens == expected["prompt_tokens"] - expected["cached_tokens"]
    assert message.usage.cache_read_input_tokens == expected["cached_tokens"]
    assert message.usage.output_tokens == expected["completion_tokens"]


def test_anthropic_stream_from_gemini(claude, mock_gemini):
    with claude.messages.stream(model=GEMINI_MODEL, max_tokens=64,
                                messages=[{"role": "user", "content": "Stream please"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    request = mock_gemini.only(f"/v1beta/models/{GEMINI_MODEL}:streamGenerateContent").json()
    assert text == mg.reply_text(request)
    assert final.stop_reason == "end_turn"
    expected = mg.openai_usage(request)
    assert final.usage.output_tokens == expected["completion_tokens"]
    assert final.usage.input_tokens == expected["prompt_tokens"] - expected["cached_tokens"]


def test_anthropic_streamed_tool_use_from_gemini(claude, mock_gemini):
    question = [{"role": "user", "content": "Weather in Paris?"}]
    with claude.messages.stream(model=GEMINI_MODEL, max_tokens=64, tools=[ANTHROPIC_WEATHER_TOOL],
                                messages=question) as stream:
        events = [event.type for event in stream]
        first = stream.get_final_message()
    request = mock_gemini.only().json()
    assert mg.declarations(request)[0]["name"] == "get_weather"
    assert "input_json" in events
    assert first.stop_reason == "tool_use"
    uses = [b for b in first.content if b.type == "tool_use"]
    assert len(uses) == 1 and uses[0].name == "get_weather" and uses[0].input == mg.FUNCTION_ARGS and uses[0].id

    mock_gemini.clear()
    answer = claude.messages.create(model=GEMINI_MODEL, max_tokens=64, tools=[ANTHROPIC_WEATHER_TOOL], messages=question + [
        {"role": "assistant", "content": [{"type": "tool_use", "id": uses[0].id, "name": "get_weather", "input": uses[0].input}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": uses[0].id, "content": "Sunny, 21C"}]},
    ])
    request = mock_gemini.only().json()
    assert mg.function_response(request)["name"] == "get_weather"
    assert answer.content[0].text == mg.reply_text(request)
    assert "Sunny, 21C" in answer.content[0].text


@pytest.mark.parametrize("model, upstream_model", [(CLAUDE_MODEL, CLAUDE_MODEL),
                                                   (CLAUDE_MAPPED_MODEL, CLAUDE_MAPPED_UPSTREAM_MODEL)])
def test_anthropic_message_to_claude_passes_through(claude, mock_anthropic, model, upstream_model):
    raw = claude.messages.with_raw_response.create(
        model=model, max_tokens=64, system="Be brief.", metadata={"user_id": "u-42"},
        messages=[{"role": "user", "content": "Hello there ✓"}],
        extra_headers={"anthropic-beta": "mock-feature-2026-01-01"})
    message = raw.parse()
    client_body = raw.http_request.content
    record = mock_anthropic.only("/v1/messages")

    expected = client_body if model == upstream_model else client_body.replace(
        json.dumps(model).encode(), json.dumps(upstream_model).encode(), 1)
    assert record.body == expected
    assert record.header("x-api-key") == ANTHROPIC_CHANNEL_KEY
    assert record.header("anthropic-version") == CHANNEL_ANTHROPIC_VERSION
    assert record.header("anthropic-beta") == "mock-feature-2026-01-01"
    assert_no_client_key_upstream(record)
    assert raw.http_response.content == record.response_body
    assert raw.headers["x-tollgate-channel"] == CLAUDE_CHANNEL
    assert message.content[0].text == "Mock reply to: Hello there ✓"
    assert message.usage.cache_read_input_tokens == ma.CACHE_READ_TOKENS


def test_anthropic_stream_to_claude_passes_through(claude, http, mock_anthropic):
    body = {"model": CLAUDE_MODEL, "max_tokens": 64, "stream": True,
            "tools": [ANTHROPIC_WEATHER_TOOL], "messages": [{"role": "user", "content": "Weather? [preamble]"}]}
    raw_body = json.dumps(body, indent=1).encode()
    with http.stream("POST", "/v1/messages", content=raw_body, headers={
            "x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}) as response:
        received = response.read()
    record = mock_anthropic.only("/v1/messages")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert record.body == raw_body
    assert received == record.response_body

    mock_anthropic.clear()
    with claude.messages.stream(model=CLAUDE_MODEL, max_tokens=64, tools=[ANTHROPIC_WEATHER_TOOL],
                                messages=[{"role": "user", "content": "Weather? [preamble]"}]) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[1].input == ma.TOOL_INPUT and final.content[1].id == ma.TOOL_USE_ID
    assert final.usage.cache_creation_input_tokens == ma.CACHE_CREATION_TOKENS


def test_anthropic_split_stream_to_claude_passes_through(http, mock_anthropic):
    body = json.dumps({"model": CLAUDE_MODEL, "max_tokens": 64, "stream": True,
                       "messages": [{"role": "user", "content": "split me [split]"}]}).encode()
    with http.stream("POST", "/v1/messages", content=body, headers={"x-api-key": CLIENT_KEY,
                                                                     "content-type": "application/json"}) as response:
        received = response.read()
    assert received == mock_anthropic.only().response_body


# === google-genai clients =====================================================================

def test_genai_content_from_claude(gemini, mock_anthropic):
    response = gemini.models.generate_content(
        model=CLAUDE_MODEL, contents="Hello there",
        config=types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=50, temperature=0.25))
    record = mock_anthropic.only("/v1/messages")
    request = record.json()
    assert record.header("x-api-key") == ANTHROPIC_CHANNEL_KEY
    assert_no_client_key_upstream(record)
    assert request["system"] in ("Be brief.", [{"type": "text", "text": "Be brief."}])
    assert request["max_tokens"] == 50 and request["temperature"] == 0.25
    assert ma.text_of(request["messages"][0]["content"]) == "Hello there"
    assert response.text == ma.reply_text(request)
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    expected = ma.openai_usage(request)
    assert response.usage_metadata.prompt_token_count == expected["prompt_tokens"]
    assert response.usage_metadata.candidates_token_count == expected["completion_tokens"]
    assert response.usage_metadata.cached_content_token_count == expected["cached_tokens"]
    assert response.usage_metadata.total_token_count == expected["total_tokens"]


def test_genai_stream_from_claude(gemini, mock_anthropic):
    chunks = list(gemini.models.generate_content_stream(model=CLAUDE_MODEL, contents="Stream please"))
    request = mock_anthropic.only("/v1/messages").json()
    assert request["stream"] is True
    assert "".join(chunk.text or "" for chunk in chunks) == ma.reply_text(request)
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    expected = ma.openai_usage(request)
    assert chunks[-1].usage_metadata.candidates_token_count == expected["completion_tokens"]
    assert chunks[-1].usage_metadata.prompt_token_count == expected["prompt_tokens"]


@pytest.mark.parametrize("streamed", [False, True])
def test_genai_function_calling_with_claude(gemini, mock_anthropic, streamed):
    if streamed:
        chunks = list(gemini.models.generate_content_stream(model=CLAUDE_MODEL, contents="Weather in Paris?",
                                                            config=GEMINI_TOOL_CONFIG))
        calls = [call for chunk in chunks for call in chunk.function_calls or []]
    else:
        first = gemini.models.generate_content(model=CLAUDE_MODEL, contents="Weather in Paris?", config=GEMINI_TOOL_CONFIG)
        calls = first.function_calls
    request = mock_anthropic.only().json()
    assert request["tools"][0]["name"] == "get_weather"
    assert request["tools"][0]["input_schema"]["properties"]["city"]["type"].lower() == "string"
    assert [(c.name, c.args) for c in calls] == [("get_weather", ma.TOOL_INPUT)]

    mock_anthropic.clear()
    answer = gemini.models.generate_content(model=CLAUDE_MODEL, config=GEMINI_TOOL_CONFIG, contents=[
        types.Content(role="user", parts=[types.Part(text="Weather in Paris?")]),
        types.Content(role="model", parts=[types.Part(function_call=calls[0])]),
        types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather", response={"forecast": "sunny"})]),
    ])
    request = mock_anthropic.only().json()
    use = [b for b in request["messages"][1]["content"] if b["type"] == "tool_use"][0]
    result = [b for b in request["messages"][2]["content"] if b["type"] == "tool_result"][0]
    assert use["name"] == "get_weather" and use["input"] == ma.TOOL_INPUT
    assert result["tool_use_id"] == use["id"]
    assert json.loads(ma.text_of(result["content"])) == {"forecast": "sunny"}
    assert answer.text == ma.reply_text(request)


def test_genai_content_to_gemini_passes_through(gemini, gemini_sent, mock_gemini, http):
    response = gemini.models.generate_content(
        model=GEMINI_MODEL, contents="Hello there ✓",
        config=types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=50))
    record = mock_gemini.only(f"/v1beta/models/{GEMINI_MODEL}:generateContent")
    assert record.body == gemini_sent.last_body()
    assert record.header("x-goog-api-key") == GEMINI_CHANNEL_KEY
    assert_no_client_key_upstream(record)
    assert response.text == "Mock reply to: Hello there ✓"
    assert response.usage_metadata.thoughts_token_count == mg.THOUGHTS_TOKENS

    # The answer's bytes come back untouched too (raw HTTP, key in the query this time).
    mock_gemini.clear()
    body = b'{"contents": [ {"role":"user", "parts":[{"text":"raw bytes"}]} ],\n "generationConfig": {"temperature": 0.1}}'
    raw = http.post(f"/v1beta/models/{GEMINI_MODEL}:generateContent", params={"key": CLIENT_KEY}, content=body,
                    headers={"content-type": "application/json"})
    record = mock_gemini.only()
    assert raw.status_code == 200, raw.text
    assert record.body == body
    assert_no_client_key_upstream(record)
    assert raw.content == record.response_body


def test_genai_stream_to_gemini_passes_through(gemini, gemini_sent, mock_gemini, http):
    chunks = list(gemini.models.generate_content_stream(model=GEMINI_MODEL, contents="Stream please"))
    record = mock_gemini.only()
    assert record.path == f"/v1beta/models/{GEMINI_MODEL}:streamGenerateContent?alt=sse"
    assert record.body == gemini_sent.last_body()
    assert "".join(c.text or "" for c in chunks) == "Mock reply to: Stream please"

    mock_gemini.clear()
    body = b'{"contents":[{"parts":[{"text":"raw stream"}]}]}'
    with http.stream("POST", f"/v1beta/models/{GEMINI_MODEL}:streamGenerateContent?alt=sse", content=body,
                     headers={"x-goog-api-key": CLIENT_KEY, "content-type": "application/json"}) as response:
        received = response.read()
    record = mock_gemini.only()
    assert response.status_code == 200
    assert record.body == body
    assert received == record.response_body


@pytest.mark.parametrize("model", [CLAUDE_MODEL, GEMINI_MODEL])
def test_gemini_stream_without_alt_sse_is_a_json_array(http, model, mock_anthropic, mock_gemini):
    with http.stream("POST", f"/v1beta/models/{model}:streamGenerateContent",
                     headers={"x-goog-api-key": CLIENT_KEY},
                     json={"contents": [{"role": "user", "parts": [{"text": "as an array"}]}]}) as response:
        received = response.read()
    assert response.status_code == 200, received
    assert response.headers["content-type"].startswith("application/json")
    pieces = json.loads(received)
    assert isinstance(pieces, list) and pieces
    text = "".join(part.get("text", "") for piece in pieces for candidate in piece.get("candidates", [])
                   for part in candidate.get("content", {}).get("parts", []))
    assert text == "Mock reply to: as an array"
    assert pieces[-1]["candidates"][0]["finishReason"] == "STOP"
    assert pieces[-1]["usageMetadata"]["cachedContentTokenCount"] > 0


def test_genai_function_calling_with_gemini_passes_through(gemini, gemini_sent, mock_gemini):
    first = gemini.models.generate_content(model=GEMINI_MODEL, contents="Weather in Paris?", config=GEMINI_TOOL_CONFIG)
    assert mock_gemini.only().body == gemini_sent.last_body()
    call = first.function_calls[0]
    assert (call.name, call.args) == ("get_weather", mg.FUNCTION_ARGS)
    mock_gemini.clear()
    answer = gemini.models.generate_content(model=GEMINI_MODEL, config=GEMINI_TOOL_CONFIG, contents=[
        types.Content(role="user", parts=[types.Part(text="Weather in Paris?")]),
        first.candidates[0].content,
        types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather", response={"forecast": "sunny"})]),
    ])
    assert mock_gemini.only().body == gemini_sent.last_body()
    assert answer.text == 'Tool said: {"forecast":"sunny"}'


# === malformed upstream answers ================================================================

def openai_stream_error(oai, model: str) -> tuple[str, openai.APIError]:
    """Streams `model` with the OpenAI SDK, expecting it to fail mid-way: the text before, and the error."""
    text = ""
    with pytest.raises(openai.APIError) as failure:
        for chunk in oai.chat.completions.create(model=model, max_tokens=16, stream=True,
                                                 messages=[{"role": "user", "content": "go on"}]):
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
    return text, failure.value


def raw_openai_stream(http, model: str) -> bytes:
    with http.stream("POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                     json={"model": model, "stream": True, "messages": [{"role": "user", "content": "go on"}]}) as response:
        assert response.status_code == 200
        return response.read()


def assert_ends_with_openai_error_event(raw: bytes) -> dict:
    payloads = parse_sse(raw)
    assert payloads and payloads[-1] != b"[DONE]", raw[-300:]
    assert b"[DONE]" not in payloads
    last = json.loads(payloads[-1])
    assert set(last) == {"error"} and last["error"]["message"], last
    return last["error"]


@pytest.mark.parametrize("model", ["claude-bad-json", "gemini-bad-json"])
def test_openai_client_gets_a_502_for_an_answer_that_is_not_json(oai, http, model):
    with pytest.raises(openai.APIStatusError) as failure:
        oai.chat.completions.create(model=model, max_tokens=16, messages=[{"role": "user", "content": "x"}])
    assert failure.value.status_code == 502
    response = http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                         json={"model": model, "messages": [{"role": "user", "content": "x"}]})
    assert_openai_error(response, 502)


@pytest.mark.parametrize("model", ["claude-bad-json", "gemini-bad-json"])
def test_openai_stream_with_an_event_that_is_not_json_ends_with_an_error_event(oai, http, model):
    openai_stream_error(oai, model)
    assert_ends_with_openai_error_event(raw_openai_stream(http, model))


@pytest.mark.parametrize("model, first_words", [("claude-cut-stream", "Mock"), ("gemini-cut-stream", "Mock reply")])
def test_openai_stream_cut_by_the_upstream_ends_with_an_error_event(oai, http, model, first_words):
    text, _ = openai_stream_error(oai, model)
    assert text == first_words
    assert_ends_with_openai_error_event(raw_openai_stream(http, model))


def test_openai_stream_with_an_anthropic_error_event(oai, http):
    _, error = openai_stream_error(oai, "claude-stream-error")
    assert "Overloaded" in str(error)
    assert "Overloaded" in assert_ends_with_openai_error_event(raw_openai_stream(http, "claude-stream-error"))["message"]


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("model, finish", [("claude-odd-stop", "stop"), ("claude-max-tokens", "length"),
                                           ("gemini-max-tokens", "length"), ("gemini-safety", "content_filter")])
def test_openai_finish_reasons_are_mapped(oai, model, finish, streamed):
    messages = [{"role": "user", "content": "Hi"}]
    if streamed:
        chunks = list(oai.chat.completions.create(model=model, max_tokens=16, messages=messages, stream=True))
        finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        assert finishes == [finish]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        completion = oai.chat.completions.create(model=model, max_tokens=16, messages=messages)
        assert completion.choices[0].finish_reason == finish
        text = completion.choices[0].message.content or ""
    assert text == ("" if model == "gemini-safety" else "Mock reply to: Hi")


def test_openai_client_gets_anthropic_overloaded_as_an_openai_error(oai, http):
    with pytest.raises(openai.APIStatusError) as failure:
        oai.chat.completions.create(model="claude-overloaded", max_tokens=16, messages=[{"role": "user", "content": "x"}])
    assert failure.value.status_code == 529
    response = http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                         json={"model": "claude-overloaded", "messages": [{"role": "user", "content": "x"}]})
    error = assert_openai_error(response, 529, "overloaded_error")
    assert error["type"] == "overloaded_error" and error["message"] == "Overloaded"
    with pytest.raises(openai.RateLimitError) as limited:
        oai.chat.completions.create(model="claude-rate-limited", max_tokens=16, messages=[{"role": "user", "content": "x"}])
    assert limited.value.response.headers.get("retry-after") == "17"  # the upstream's, kept


def test_openai_client_gets_gemini_errors_as_openai_errors(oai, http):
    with pytest.raises(openai.APIStatusError) as failure:
        oai.chat.completions.create(model="gemini-overloaded", max_tokens=16, messages=[{"role": "user", "content": "x"}])
    assert failure.value.status_code == 503
    response = http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                         json={"model": "gemini-overloaded", "messages": [{"role": "user", "content": "x"}]})
    error = assert_openai_error(response, 503, "UNAVAILABLE")
    assert "overloaded" in error["message"]
    with pytest.raises(openai.NotFoundError):
        oai.chat.completions.create(model="gemini-missing", max_tokens=16, messages=[{"role": "user", "content": "x"}])


def test_anthropic_client_gets_an_anthropic_error_for_gemini_garbage(claude):
    with pytest.raises(anthropic.APIStatusError) as failure:
        claude.messages.create(model="gemini-bad-json", max_tokens=16, messages=[{"role": "user", "content": "x"}])
    assert failure.value.status_code == 502
    assert failure.value.body["type"] == "error" and failure.value.body["error"]["type"] == "api_error"


def test_anthropic_client_gets_an_anthropic_error_for_claude_garbage(claude):
    """A 2xx from Anthropic that is not JSON: the client should get an Anthropic error, not the garbage."""
    with pytest.raises(anthropic.APIStatusError) as failure:
        claude.messages.create(model="claude-bad-json", max_tokens=16, messages=[{"role": "user", "content": "x"}])
    assert failure.value.status_code == 502
    assert failure.value.body["type"] == "error" and failure.value.body["error"]["type"] == "api_error"


def test_anthropic_client_gets_claude_overloaded_untouched(claude, mock_anthropic):
    with pytest.raises(anthropic.OverloadedError) as failure:
        claude.messages.create(model="claude-overloaded", max_tokens=16, messages=[{"role": "user", "content": "x"}])
    assert failure.value.response.content == mock_anthropic.only().response_body
    assert failure.value.body["error"] == {"type": "overloaded_error", "message": "Overloaded"}


@pytest.mark.parametrize("model", ["claude-cut-stream", "claude-stream-error", "gemini-cut-stream", "gemini-bad-json"])
def test_anthropic_stream_failure_ends_with_an_anthropic_error_event(claude, http, model):
    with pytest.raises(anthropic.APIStatusError) as failure:
        with claude.messages.stream(model=model, max_tokens=16, messages=[{"role": "user", "content": "x"}]) as stream:
            stream.until_done()
    assert failure.value.body["type"] == "error" and failure.value.body["error"]["message"]
    with http.stream("POST", "/v1/messages", headers={"x-api-key": CLIENT_KEY}, json={
            "model": model, "max_tokens": 16, "stream": True, "messages": [{"role": "user", "content": "x"}]}) as response:
        body = response.read().decode()
    assert "event: message_start" in body
    assert body.rstrip().split("\n\n")[-1].startswith("event: error\ndata: ")
    assert "message_stop" not in body


@pytest.mark.parametrize("model, code", [("claude-overloaded", 529), ("claude-bad-json", 502)])
def test_genai_client_gets_google_errors(gemini, model, code):
    with pytest.raises(errors.APIError) as failure:
        gemini.models.generate_content(model=model, contents="x")
    assert failure.value.code == code
    assert failure.value.status and failure.value.message


@pytest.mark.parametrize("model", ["claude-cut-stream", "claude-stream-error", "gemini-cut-stream"])
def test_genai_stream_failure_ends_with_a_google_error(gemini, model):
    texts = []
    with pytest.raises(errors.APIError) as failure:
        for chunk in gemini.models.generate_content_stream(model=model, contents="x"):
            texts.append(chunk.text or "")
    assert failure.value.message
