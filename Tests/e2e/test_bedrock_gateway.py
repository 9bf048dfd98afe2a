"""The `bedrock` plugin end to end: a gateway (`bedrock_gateway`) whose `bedrock` channel points at
`mock_bedrock`, a Bedrock runtime that recomputes every SigV4 signature with botocore (a request
the plugin signs wrongly gets 403, which these tests would see as an error).

  openai SDK     -> Converse and ConverseStream (event-stream frames) converted to chat completions
                    and SSE: text, usage with cache reads/writes in the prompt, tool calls (complete
                    and streamed), tool results, images, errors
  anthropic SDK  -> /v1/messages converted to Converse and back (complete and streamed)
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import anthropic
import httpx
import openai
import pytest
from openai import OpenAI

import mock_bedrock as mb
from conftest import (AWS_ACCESS_KEY_ID, AWS_REGION, AWS_SESSION_TOKEN, BEDROCK_CHANNEL, BEDROCK_MAPPED_MODEL,
                      BEDROCK_MODEL_ID, BEDROCK_PROFILE_ARN, BEDROCK_PROFILE_MODEL, CLIENT_KEY)
from support import assert_openai_error, content_of, parse_sse

ENCODED_PATH = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0"
OPENAI_WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
# A 1x1 transparent PNG.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


@pytest.fixture
def oai(bedrock_gateway):
    client = OpenAI(base_url=bedrock_gateway.v1, api_key=CLIENT_KEY, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def claude(bedrock_gateway):
    client = anthropic.Anthropic(base_url=bedrock_gateway.url, api_key=CLIENT_KEY, max_retries=0)
    yield client
    client.close()


def assert_signed(record: mb.RecordedRequest) -> None:
    """The mock already refused bad signatures; this checks the request was signed as the channel says."""
    authorization = record.header("authorization")
    assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={AWS_ACCESS_KEY_ID}/"), authorization
    assert f"/{AWS_REGION}/bedrock/aws4_request" in authorization
    assert CLIENT_KEY not in json.dumps(record.headers), "the client's key leaked upstream"


def assert_usage(usage, request: dict) -> None:
    expected = mb.openai_usage(request)
    assert usage.prompt_tokens == expected["prompt_tokens"]
    assert usage.completion_tokens == expected["completion_tokens"]
    assert usage.total_tokens == expected["total_tokens"]
    assert usage.prompt_tokens_details.cached_tokens == expected["cached_tokens"]


# --- openai SDK ---------------------------------------------------------------------------------

@pytest.mark.parametrize("model", [BEDROCK_MAPPED_MODEL, BEDROCK_MODEL_ID])
def test_chat_is_converted_to_converse(oai, mock_bedrock, model):
    raw = oai.chat.completions.with_raw_response.create(
        model=model, max_tokens=50, temperature=0.25, top_p=0.5, stop=["END"],
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}])
    completion = raw.parse()
    record = mock_bedrock.only()
    request = record.json()

    assert raw.headers["x-tollgate-channel"] == BEDROCK_CHANNEL
    assert record.path == f"{ENCODED_PATH}/converse"
    assert_signed(record)
    assert request["system"] == [{"text": "Be brief."}]
    assert request["messages"] == [{"role": "user", "content": [{"text": "Hello there"}]}]
    assert request["inferenceConfig"] == {"maxTokens": 50, "temperature": 0.25, "topP": 0.5, "stopSequences": ["END"]}
    assert completion.model == model
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == mb.reply_text(request) == "Mock reply to: Hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert_usage(completion.usage, request)


@pytest.mark.parametrize("split", [False, True])
def test_stream_with_usage(oai, mock_bedrock, split):
    prompt = "Stream this please" + (" [split]" if split else "")
    chunks = list(oai.chat.completions.create(model=BEDROCK_MAPPED_MODEL, stream=True,
                                              stream_options={"include_usage": True},
                                              messages=[{"role": "user", "content": prompt}]))
    record = mock_bedrock.only()
    request = record.json()

    assert record.path == f"{ENCODED_PATH}/converse-stream"
    assert_signed(record)
    assert len(mb.decode_frames(record.response_body)) >= 5
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == mb.reply_text(request) == f"Mock reply to: {prompt}"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert len({c.id for c in chunks}) == 1
    usage_chunks = [c for c in chunks if c.usage is not None]
    assert len(usage_chunks) == 1 and usage_chunks[0] is chunks[-1] and chunks[-1].choices == []
    assert_usage(chunks[-1].usage, request)


def test_stream_without_include_usage_has_no_usage_chunk(oai, mock_bedrock):
    chunks = list(oai.chat.completions.create(model=BEDROCK_MAPPED_MODEL, stream=True,
                                              messages=[{"role": "user", "content": "No usage"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Mock reply to: No usage"
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


def test_max_tokens_stop_reason_is_length(oai, mock_bedrock):
    completion = oai.chat.completions.create(model="mock.max-tokens", messages=[{"role": "user", "content": "Go on"}])
    assert mock_bedrock.only().path == "/model/mock.max-tokens/converse"
    assert completion.choices[0].finish_reason == "length"


def test_tool_call_and_result_round_trip(oai, mock_bedrock):
    question = [{"role": "user", "content": "Weather in Paris?"}]
    first = oai.chat.completions.create(model=BEDROCK_MAPPED_MODEL, messages=question, tools=[OPENAI_WEATHER_TOOL])
    request = mock_bedrock.only().json()
    assert request["toolConfig"]["tools"] == [{"toolSpec": {
        "name": "get_weather", "description": "Weather for a city",
        "inputSchema": {"json": OPENAI_WEATHER_TOOL["function"]["parameters"]}}}]
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.id == mb.TOOL_USE_ID and call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == mb.TOOL_INPUT
    assert_usage(first.usage, request)

    mock_bedrock.clear()
    second = oai.chat.completions.create(model=BEDROCK_MAPPED_MODEL, tools=[OPENAI_WEATHER_TOOL], messages=[
        *question,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump(exclude_none=True)]},
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21C"},
    ])
    request = mock_bedrock.only().json()
    assert request["messages"][1] == {"role": "assistant", "content": [
        {"toolUse": {"toolUseId": mb.TOOL_USE_ID, "name": "get_weather", "input": mb.TOOL_INPUT}}]}
    [result] = request["messages"][2]["content"]
    assert result["toolResult"]["toolUseId"] == mb.TOOL_USE_ID
    assert mb.text_of(result["toolResult"]["content"]) == "Sunny, 21C"
    assert second.choices[0].message.content == "Tool said: Sunny, 21C"
    assert second.choices[0].finish_reason == "stop"


def test_streamed_tool_call(oai, mock_bedrock):
    chunks = list(oai.chat.completions.create(model=BEDROCK_MAPPED_MODEL, stream=True, tools=[OPENAI_WEATHER_TOOL],
                                              stream_options={"include_usage": True},
                                              messages=[{"role": "user", "content": "Weather in Paris?"}]))
    request = mock_bedrock.only().json()
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].id == mb.TOOL_USE_ID and deltas[0].function.name == "get_weather"
    assert {d.index for d in deltas} == {0}
    assert json.loads("".join(d.function.arguments or "" for d in deltas)) == mb.TOOL_INPUT
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    assert_usage(chunks[-1].usage, request)


def test_image_data_url_becomes_an_image_block(oai, mock_bedrock):
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    oai.chat.completions.create(model=BEDROCK_MAPPED_MODEL, messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": url}}]}])
    content = mock_bedrock.only().json()["messages"][0]["content"]
    assert content[0] == {"text": "What is this?"}
    assert content[1]["image"]["format"] == "png"
    assert base64.b64decode(content[1]["image"]["source"]["bytes"]) == PNG


def test_throttling_reaches_the_sdk_as_429(oai, mock_bedrock):
    with pytest.raises(openai.RateLimitError) as caught:
        oai.chat.completions.create(model="mock.throttled", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 429
    assert caught.value.body["type"] == "ThrottlingException"
    assert "Too many requests" in caught.value.body["message"]


def test_an_exception_frame_ends_the_stream_with_an_error(oai, mock_bedrock):
    stream = oai.chat.completions.create(model="mock.stream-error", stream=True,
                                         messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.APIError) as caught:
        list(stream)
    assert "throttlingException" in str(caught.value)


def test_consecutive_turns_of_one_role_are_merged(oai, mock_bedrock):
    # Converse wants user and assistant turns to alternate; the plugin joins same-role neighbours.
    completion = oai.chat.completions.create(model=BEDROCK_MAPPED_MODEL, messages=[
        {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "assistant", "content": "c"}])
    assert mock_bedrock.only().json()["messages"] == [
        {"role": "user", "content": [{"text": "a"}]}, {"role": "assistant", "content": [{"text": "b"}, {"text": "c"}]}]
    assert completion.choices[0].message.content == "Mock reply to: a"


def test_validation_error_keeps_its_status_and_name(bedrock_gateway, mock_bedrock):
    # Converse refuses a conversation that starts with the assistant; the plugin passes it as given.
    response = httpx.post(f"{bedrock_gateway.v1}/chat/completions", headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                          json={"model": BEDROCK_MAPPED_MODEL, "messages": [
                              {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]}, timeout=30)
    assert mock_bedrock.only().status == 400
    error = assert_openai_error(response, 400)
    assert error["type"] == "ValidationException"
    assert error["message"].startswith("A conversation must start with a user message.")


# --- anthropic SDK --------------------------------------------------------------------------------

def test_anthropic_messages_to_bedrock(claude, mock_bedrock):
    message = claude.messages.create(model=BEDROCK_MAPPED_MODEL, max_tokens=40, system="Be brief.",
                                     messages=[{"role": "user", "content": "Hi anthropic"}])
    record = mock_bedrock.only()
    request = record.json()

    assert record.path == f"{ENCODED_PATH}/converse"
    assert_signed(record)
    assert request["system"] == [{"text": "Be brief."}]
    assert request["inferenceConfig"]["maxTokens"] == 40
    assert message.type == "message" and message.role == "assistant"
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "Mock reply to: Hi anthropic"
    assert message.stop_reason == "end_turn"
    usage = mb.converse_usage(request)
    assert message.usage.input_tokens == usage["inputTokens"]
    assert message.usage.output_tokens == usage["outputTokens"]
    assert message.usage.cache_read_input_tokens == usage["cacheReadInputTokens"]
    assert message.usage.cache_creation_input_tokens == usage["cacheWriteInputTokens"]


def test_anthropic_stream_to_bedrock(claude, mock_bedrock):
    with claude.messages.stream(model=BEDROCK_MAPPED_MODEL, max_tokens=40,
                                messages=[{"role": "user", "content": "Stream anthropic"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    request = mock_bedrock.only().json()
    assert text == "Mock reply to: Stream anthropic"
    assert final.stop_reason == "end_turn"
    usage = mb.converse_usage(request)
    assert final.usage.output_tokens == usage["outputTokens"]
    assert final.usage.input_tokens == usage["inputTokens"]
    assert final.usage.cache_read_input_tokens == usage["cacheReadInputTokens"]


def test_anthropic_tool_use_from_bedrock(claude, mock_bedrock):
    message = claude.messages.create(model=BEDROCK_MAPPED_MODEL, max_tokens=40, tools=[{
        "name": "get_weather", "description": "Weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
        messages=[{"role": "user", "content": "Weather in Paris?"}])
    assert mock_bedrock.only().json()["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"
    assert message.stop_reason == "tool_use"
    [block] = message.content
    assert block.type == "tool_use" and block.name == "get_weather" and block.input == mb.TOOL_INPUT
    assert block.id == mb.TOOL_USE_ID


def test_anthropic_streamed_tool_use_from_bedrock(claude, mock_bedrock):
    with claude.messages.stream(model=BEDROCK_MAPPED_MODEL, max_tokens=40, tools=[{
            "name": "get_weather", "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
            messages=[{"role": "user", "content": "Weather in Paris?"}]) as stream:
        final = stream.get_final_message()
    assert mock_bedrock.only().path == f"{ENCODED_PATH}/converse-stream"
    assert final.stop_reason == "tool_use"
    [block] = final.content
    assert block.type == "tool_use" and block.id == mb.TOOL_USE_ID and block.input == mb.TOOL_INPUT


def test_an_inference_profile_arn_is_encoded_and_signed(oai, mock_bedrock):
    completion = oai.chat.completions.create(model=BEDROCK_PROFILE_MODEL,
                                             messages=[{"role": "user", "content": "Via a profile"}])
    record = mock_bedrock.only()
    assert record.path == "/model/" + quote(BEDROCK_PROFILE_ARN, safe="") + "/converse"
    assert completion.choices[0].message.content == "Mock reply to: Via a profile"


@pytest.mark.parametrize("choice, expected", [
    ("auto", {"auto": {}}),
    ("required", {"any": {}}),
    ({"type": "function", "function": {"name": "get_weather"}}, {"tool": {"name": "get_weather"}}),
])
def test_tool_choice_is_converted(oai, mock_bedrock, choice, expected):
    oai.chat.completions.create(model=BEDROCK_MAPPED_MODEL, tools=[OPENAI_WEATHER_TOOL], tool_choice=choice,
                                messages=[{"role": "user", "content": "Weather?"}])
    assert mock_bedrock.only().json()["toolConfig"].get("toolChoice", {"auto": {}}) == expected


def test_tool_choice_none_drops_the_tools(oai, mock_bedrock):
    completion = oai.chat.completions.create(model=BEDROCK_MAPPED_MODEL, tools=[OPENAI_WEATHER_TOOL], tool_choice="none",
                                             messages=[{"role": "user", "content": "No tools"}])
    assert "toolConfig" not in mock_bedrock.only().json()
    assert completion.choices[0].message.content == "Mock reply to: No tools"


def test_unicode_survives_the_event_stream(oai, mock_bedrock):
    prompt = "Grüße 👋 日本語 [split]"
    chunks = list(oai.chat.completions.create(model=BEDROCK_MAPPED_MODEL, stream=True,
                                              messages=[{"role": "user", "content": prompt}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == f"Mock reply to: {prompt}"


def test_a_session_token_is_sent_and_signed(oai, mock_bedrock, mock_bedrock_sts):
    completion = oai.chat.completions.create(model="sts.model-a", messages=[{"role": "user", "content": "Temporary"}])
    record = mock_bedrock_sts.only()
    assert not mock_bedrock.requests
    assert record.header("x-amz-security-token") == AWS_SESSION_TOKEN
    authorization = record.header("authorization")
    assert "/eu-central-1/bedrock/aws4_request" in authorization
    assert "x-amz-security-token" in authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert completion.choices[0].message.content == "Mock reply to: Temporary"


@pytest.mark.parametrize("model, first_text", [("mock.cut-stream", "Mock"), ("mock.bad-crc", "")])
def test_a_broken_event_stream_ends_with_an_error_event(bedrock_gateway, mock_bedrock, model, first_text):
    with httpx.stream("POST", f"{bedrock_gateway.v1}/chat/completions", timeout=30,
                      headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                      json={"model": model, "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as response:
        body = response.read()
    assert response.status_code == 200
    events = parse_sse(body)
    assert events and events[-1] != b"[DONE]", f"a broken upstream stream must not end like a good one: {body[-300:]!r}"
    last = json.loads(events[-1])
    assert set(last) == {"error"} and last["error"]["message"], last
    chunks = [json.loads(e) for e in events[:-1]]
    assert content_of(chunks) == first_text
    assert not any(c["choices"] and c["choices"][0].get("finish_reason") for c in chunks)
