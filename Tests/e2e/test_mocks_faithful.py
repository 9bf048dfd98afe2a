"""The provider mocks speak the real wire formats: the official `anthropic` and `google-genai` SDKs,
pointed straight at `mock_anthropic` and `mock_gemini` (no gateway), work against them."""

from __future__ import annotations

import json

import anthropic
import httpx
import httpx2  # the anthropic SDK's HTTP client
import pytest
from google import genai
from google.genai import errors, types

import mock_anthropic as ma
import mock_gemini as mg
from conftest import ANTHROPIC_CHANNEL_KEY, GEMINI_CHANNEL_KEY
from support import parse_sse

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
WEATHER_FUNCTION = types.FunctionDeclaration(
    name="get_weather", description="Weather for a city",
    parameters=types.Schema(type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)},
                            required=["city"]))
NO_AUTOMATIC_CALLS = types.AutomaticFunctionCallingConfig(disable=True)


# --- Anthropic ---------------------------------------------------------------------------------

@pytest.fixture
def claude(mock_anthropic):
    client = anthropic.Anthropic(base_url=mock_anthropic.url, api_key=ANTHROPIC_CHANNEL_KEY, max_retries=0)
    yield client
    client.close()


def sse_names(raw: bytes) -> list[str]:
    return [line[7:] for line in raw.decode().split("\n") if line.startswith("event: ")]


def test_anthropic_sdk_creates_a_message(claude, mock_anthropic):
    raw = claude.messages.with_raw_response.create(
        model="claude-sonnet-5", max_tokens=64, system="Be brief.",
        messages=[{"role": "user", "content": "Hello there"}])
    message = raw.parse()
    record = mock_anthropic.only("/v1/messages")
    request = record.json()

    assert record.header("authorization") == f"Bearer {ANTHROPIC_CHANNEL_KEY}"
    assert record.header("anthropic-version") in ma.ANTHROPIC_VERSIONS
    assert raw.http_response.content == record.response_body
    assert raw.headers["request-id"] == message._request_id
    assert message.id.startswith("msg_") and message.type == "message" and message.role == "assistant"
    assert message.model == "claude-sonnet-5"
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == ma.reply_text(request) == "Mock reply to: Hello there"
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    usage = ma.message_usage(request)
    assert message.usage.input_tokens == usage["input_tokens"]
    assert message.usage.output_tokens == usage["output_tokens"]
    assert message.usage.cache_read_input_tokens == ma.CACHE_READ_TOKENS > 0
    assert message.usage.cache_creation_input_tokens == ma.CACHE_CREATION_TOKENS > 0


def test_the_classic_x_api_key_header_works_too(mock_anthropic):
    response = httpx.post(f"{mock_anthropic.url}/v1/messages", headers={
        "x-api-key": ANTHROPIC_CHANNEL_KEY, "anthropic-version": "2023-06-01"},
        json={"model": "claude-haiku-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200, response.text
    assert response.json()["content"] == [{"type": "text", "text": "Mock reply to: hi"}]


@pytest.mark.parametrize("split", [False, True])
def test_anthropic_sdk_streams_a_message(claude, mock_anthropic, split):
    prompt = "Stream please" + (" [split]" if split else "")
    with claude.messages.stream(model="claude-sonnet-5", max_tokens=64,
                                messages=[{"role": "user", "content": prompt}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    record = mock_anthropic.only("/v1/messages")
    request = record.json()

    assert request["stream"] is True
    assert record.response_headers[0] == ("Content-Type", "text/event-stream; charset=utf-8")
    assert sse_names(record.response_body) == [
        "message_start", "content_block_start", "ping", *["content_block_delta"] * len(ma.reply_words(request)),
        "content_block_stop", "message_delta", "message_stop"]
    assert text == ma.reply_text(request)
    assert final.stop_reason == "end_turn"
    usage = ma.message_usage(request)
    assert final.usage.input_tokens == usage["input_tokens"]
    assert final.usage.output_tokens == usage["output_tokens"]
    assert final.usage.cache_read_input_tokens == ma.CACHE_READ_TOKENS


@pytest.mark.parametrize("streamed", [False, True])
def test_anthropic_sdk_tool_use_round_trip(claude, mock_anthropic, streamed):
    question = [{"role": "user", "content": "Weather in Paris? [preamble]"}]
    if streamed:
        with claude.messages.stream(model="claude-sonnet-5", max_tokens=64, tools=[WEATHER_TOOL],
                                    messages=question) as stream:
            events = [event.type for event in stream]
            first = stream.get_final_message()
        assert "input_json" in events
        deltas = [e for e in parse_sse(mock_anthropic.only().response_body) if b"input_json_delta" in e]
        assert [json.loads(d)["delta"]["partial_json"] for d in deltas] == ma.TOOL_JSON_PIECES
    else:
        first = claude.messages.create(model="claude-sonnet-5", max_tokens=64, tools=[WEATHER_TOOL], messages=question)
    assert first.stop_reason == "tool_use"
    assert [block.type for block in first.content] == ["text", "tool_use"]
    assert first.content[0].text == ma.PREAMBLE
    use = first.content[1]
    assert (use.id, use.name, use.input) == (ma.TOOL_USE_ID, "get_weather", ma.TOOL_INPUT)

    mock_anthropic.clear()
    answer = claude.messages.create(model="claude-sonnet-5", max_tokens=64, tools=[WEATHER_TOOL], messages=question + [
        {"role": "assistant", "content": [block.model_dump(exclude_none=True, exclude={"caller", "citations", "parsed_output"})
                                          for block in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 21C"}]},
    ])
    assert answer.content[0].text == "Tool said: Sunny, 21C"
    assert answer.stop_reason == "end_turn"


def test_anthropic_errors_reach_the_sdk_as_anthropic_errors(mock_anthropic):
    wrong = anthropic.Anthropic(base_url=mock_anthropic.url, api_key="sk-ant-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as denied:
        wrong.messages.create(model="claude-sonnet-5", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert denied.value.body["type"] == "error" and denied.value.body["error"]["type"] == "authentication_error"

    claude = anthropic.Anthropic(base_url=mock_anthropic.url, api_key=ANTHROPIC_CHANNEL_KEY, max_retries=0)
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        claude.messages.create(model="claude-overloaded", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert overloaded.value.status_code == 529 and overloaded.value.body["error"]["type"] == "overloaded_error"
    with pytest.raises(anthropic.RateLimitError):
        claude.messages.create(model="claude-rate-limited", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(anthropic.APIStatusError) as mid_stream:
        with claude.messages.stream(model="claude-stream-error", max_tokens=5, messages=[{"role": "user", "content": "x"}]) as stream:
            stream.until_done()
    assert mid_stream.value.body["error"]["type"] == "overloaded_error"
    # The connection drops in the middle of the stream: the SDK reports the broken body (its HTTP
    # client's error; anthropic 2.17 and later wrap it in APIConnectionError), never a clean end.
    with pytest.raises((httpx2.RemoteProtocolError, anthropic.APIConnectionError)) as cut:
        with claude.messages.stream(model="claude-cut-stream", max_tokens=5, messages=[{"role": "user", "content": "x"}]) as stream:
            stream.until_done()
    assert "incomplete chunked read" in str(cut.value)
    odd = claude.messages.create(model="claude-odd-stop", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert odd.stop_reason == ma.ODD_STOP_REASON  # the SDK keeps a reason it does not know


@pytest.mark.parametrize("body, message", [
    ({"model": "claude-x", "messages": [{"role": "user", "content": "x"}]}, "max_tokens: Field required"),
    ({"model": "claude-x", "max_tokens": 5, "stop": ["x"], "messages": [{"role": "user", "content": "x"}]},
     "stop: Extra inputs are not permitted"),
    ({"model": "claude-x", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
    ({"model": "claude-x", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]},
     "text content blocks must be non-empty"),
    ({"model": "claude-x", "max_tokens": 5, "messages": [{"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_x", "content": "y"}]}]}, "unexpected `tool_use_id`"),
    ({"model": "claude-x", "max_tokens": 5, "messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
        {"role": "user", "content": "no result"}]}, "`tool_use` ids were found without `tool_result` blocks"),
    ({"model": "claude-x", "max_tokens": 5, "tools": [{"name": "f", "parameters": {"type": "object"}}],
      "messages": [{"role": "user", "content": "x"}]}, "input_schema: Field required"),
])
def test_the_anthropic_mock_refuses_what_anthropic_refuses(mock_anthropic, body, message):
    response = httpx.post(f"{mock_anthropic.url}/v1/messages", json=body, headers={
        "x-api-key": ANTHROPIC_CHANNEL_KEY, "anthropic-version": "2023-06-01"})
    assert response.status_code == 400
    error = response.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert message in error["error"]["message"]


def test_the_anthropic_mock_wants_a_version(mock_anthropic):
    response = httpx.post(f"{mock_anthropic.url}/v1/messages", headers={"x-api-key": ANTHROPIC_CHANNEL_KEY},
                          json={"model": "claude-x", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 400 and "anthropic-version" in response.json()["error"]["message"]


# --- Gemini ------------------------------------------------------------------------------------

@pytest.fixture
def gemini(mock_gemini):
    return genai.Client(api_key=GEMINI_CHANNEL_KEY,
                        http_options=types.HttpOptions(base_url=mock_gemini.url, api_version="v1beta"))


def test_genai_sdk_generates_content(gemini, mock_gemini):
    response = gemini.models.generate_content(
        model="gemini-2.5-flash", contents="Hello there",
        config=types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=50, temperature=0.25))
    record = mock_gemini.only("/v1beta/models/gemini-2.5-flash:generateContent")
    request = record.json()

    assert record.header("x-goog-api-key") == GEMINI_CHANNEL_KEY
    assert request["generationConfig"] == {"maxOutputTokens": 50, "temperature": 0.25}
    assert response.text == mg.reply_text(request) == "Mock reply to: Hello there"
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.response_id and response.model_version == "gemini-2.5-flash"
    usage = mg.usage_metadata(request)
    assert response.usage_metadata.prompt_token_count == usage["promptTokenCount"]
    assert response.usage_metadata.candidates_token_count == usage["candidatesTokenCount"]
    assert response.usage_metadata.cached_content_token_count == mg.CACHED_TOKENS > 0
    assert response.usage_metadata.thoughts_token_count == mg.THOUGHTS_TOKENS > 0
    assert response.usage_metadata.total_token_count == usage["totalTokenCount"]


def test_genai_sdk_streams_content(gemini, mock_gemini):
    chunks = list(gemini.models.generate_content_stream(model="gemini-2.5-flash", contents="Stream please"))
    record = mock_gemini.only()
    request = record.json()
    assert record.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert record.response_body.endswith(b"}\r\n\r\n")
    assert "".join(chunk.text or "" for chunk in chunks) == mg.reply_text(request)
    assert len(chunks) == len(mg.reply_text(request).split(" "))
    assert [c.candidates[0].finish_reason for c in chunks][-1] == types.FinishReason.STOP
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert chunks[-1].usage_metadata.candidates_token_count == mg.usage_metadata(request)["candidatesTokenCount"]


def test_a_stream_without_alt_sse_is_a_json_array(mock_gemini):
    response = httpx.post(f"{mock_gemini.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent",
                          headers={"x-goog-api-key": GEMINI_CHANNEL_KEY},
                          json={"contents": [{"role": "user", "parts": [{"text": "as array"}]}]})
    assert response.status_code == 200
    pieces = response.json()
    assert "".join(p["candidates"][0]["content"]["parts"][0]["text"] for p in pieces) == "Mock reply to: as array"


def test_genai_sdk_function_calling_round_trip(gemini, mock_gemini):
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[WEATHER_FUNCTION])],
                                         automatic_function_calling=NO_AUTOMATIC_CALLS)
    first = gemini.models.generate_content(model="gemini-2.5-flash", contents="Weather in Paris?", config=config)
    call = first.function_calls[0]
    assert (call.name, call.args) == ("get_weather", mg.FUNCTION_ARGS)
    assert first.candidates[0].content.parts[0].thought_signature

    mock_gemini.clear()
    answer = gemini.models.generate_content(model="gemini-2.5-flash", config=config, contents=[
        types.Content(role="user", parts=[types.Part(text="Weather in Paris?")]),
        first.candidates[0].content,
        types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather", response={"forecast": "sunny"})]),
    ])
    assert answer.text == 'Tool said: {"forecast":"sunny"}'


def test_genai_sdk_streams_a_function_call(gemini, mock_gemini):
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[WEATHER_FUNCTION])],
                                         automatic_function_calling=NO_AUTOMATIC_CALLS)
    chunks = list(gemini.models.generate_content_stream(model="gemini-2.5-flash", contents="Weather?", config=config))
    calls = [call for chunk in chunks for call in chunk.function_calls or []]
    assert [(c.name, c.args) for c in calls] == [("get_weather", mg.FUNCTION_ARGS)]


def test_gemini_errors_reach_the_sdk_as_google_errors(gemini, mock_gemini):
    wrong = genai.Client(api_key="AIza-wrong", http_options=types.HttpOptions(base_url=mock_gemini.url))
    with pytest.raises(errors.ClientError) as denied:
        wrong.models.generate_content(model="gemini-2.5-flash", contents="x")
    assert denied.value.code == 400 and denied.value.status == "INVALID_ARGUMENT"
    assert denied.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    with pytest.raises(errors.ServerError) as overloaded:
        gemini.models.generate_content(model="gemini-overloaded", contents="x")
    assert overloaded.value.code == 503 and overloaded.value.status == "UNAVAILABLE"
    with pytest.raises(errors.ClientError) as missing:
        gemini.models.generate_content(model="gemini-missing", contents="x")
    assert missing.value.code == 404 and missing.value.status == "NOT_FOUND"
    blocked = gemini.models.generate_content(model="gemini-safety", contents="x")
    assert blocked.candidates[0].finish_reason == types.FinishReason.SAFETY and blocked.text is None


def test_the_gemini_mock_takes_the_key_from_the_query_and_wants_one(mock_gemini):
    url = f"{mock_gemini.url}/v1beta/models/gemini-2.5-flash:generateContent"
    body = {"contents": [{"parts": [{"text": "x"}]}]}
    assert httpx.post(url, params={"key": GEMINI_CHANNEL_KEY}, json=body).status_code == 200
    missing = httpx.post(url, json=body)
    assert missing.status_code == 403 and missing.json()["error"]["status"] == "PERMISSION_DENIED"


@pytest.mark.parametrize("body, message", [
    ({"contents": []}, "contents is not specified"),
    ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}, "Please use a valid role"),
    ({"contents": [{"role": "user", "parts": [{"text": ""}]}]}, "required oneof field 'data'"),
    ({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"max_tokens": 5}},
     'Unknown name "max_tokens" at \'generation_config\''),
    ({"contents": [{"parts": [{"text": "x"}]}], "tools": [{"functionDeclarations": [{"name": "f", "parameters": {
        "type": "object", "additionalProperties": False}}]}]}, 'Unknown name "additionalProperties"'),
    ({"contents": [{"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}]},
     "function response turn comes immediately after a function call turn"),
    ({"contents": [{"role": "user", "parts": [{"text": "x"}]},
                   {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
                   {"role": "user", "parts": [{"text": "no response"}]}]},
     "function response turn comes immediately after a function call turn"),
])
def test_the_gemini_mock_refuses_what_gemini_refuses(mock_gemini, body, message):
    response = httpx.post(f"{mock_gemini.url}/v1beta/models/gemini-2.5-flash:generateContent",
                          headers={"x-goog-api-key": GEMINI_CHANNEL_KEY}, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["code"] == 400
    assert message in error["message"]
