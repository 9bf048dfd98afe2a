"""The official `anthropic` SDK against /v1/messages, served by an OpenAI-compatible upstream:
the request is converted to the internal (OpenAI) dialect and the answer converted back."""

from __future__ import annotations

import json

import anthropic
import pytest

from mock_openai import TOOL_ARGUMENTS, chat_usage, reply_text

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def claude(gateway):
    client = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.client_key, max_retries=0)
    yield client
    client.close()


def expected_usage(request: dict) -> tuple[int, int, int]:
    usage = chat_usage(request)
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    return usage["prompt_tokens"] - cached, usage["completion_tokens"], cached


def test_message_through_an_openai_upstream(claude, mock_upstream):
    message = claude.messages.create(
        model="gpt-4o", max_tokens=64, system="Be brief.", stop_sequences=["END"], extra_body={"temperature": 0.5},
        messages=[{"role": "user", "content": "Hello there"}])
    upstream = mock_upstream.only("/v1/chat/completions").json()

    assert upstream["messages"] == [{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "Hello there"}]
    assert upstream["max_tokens"] == 64 and upstream["temperature"] == 0.5 and upstream["stop"] == ["END"]
    assert message.type == "message" and message.role == "assistant" and message.model == "gpt-4o"
    assert message.content[0].text == reply_text(upstream)
    assert message.stop_reason == "end_turn"
    input_tokens, output_tokens, cached = expected_usage(upstream)
    assert (message.usage.input_tokens, message.usage.output_tokens) == (input_tokens, output_tokens)
    assert message.usage.cache_read_input_tokens == cached


def test_streamed_message_through_an_openai_upstream(claude, mock_upstream):
    with claude.messages.stream(model="gpt-4o", max_tokens=64,
                                messages=[{"role": "user", "content": "Stream please"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    upstream = mock_upstream.only("/v1/chat/completions").json()
    assert upstream["stream"] is True and upstream["stream_options"] == {"include_usage": True}
    assert text == reply_text(upstream)
    assert final.stop_reason == "end_turn"
    input_tokens, output_tokens, _ = expected_usage(upstream)
    assert final.usage.output_tokens == output_tokens and final.usage.input_tokens == input_tokens


@pytest.mark.parametrize("streamed", [False, True])
def test_tool_use_round_trip(claude, mock_upstream, streamed):
    question = [{"role": "user", "content": "Weather in Paris?"}]
    if streamed:
        with claude.messages.stream(model="gpt-4o", max_tokens=64, tools=[WEATHER_TOOL],
                                    tool_choice={"type": "any"}, messages=question) as stream:
            first = stream.get_final_message()
    else:
        first = claude.messages.create(model="gpt-4o", max_tokens=64, tools=[WEATHER_TOOL],
                                       tool_choice={"type": "any"}, messages=question)
    sent = mock_upstream.only("/v1/chat/completions").json()
    assert sent["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city", "parameters": WEATHER_TOOL["input_schema"]}}]
    assert sent["tool_choice"] == "required"
    assert first.stop_reason == "tool_use"
    use = [block for block in first.content if block.type == "tool_use"][0]
    assert use.name == "get_weather" and use.input == json.loads(TOOL_ARGUMENTS)

    mock_upstream.clear()
    answer = claude.messages.create(model="gpt-4o", max_tokens=64, tools=[WEATHER_TOOL], messages=question + [
        {"role": "assistant", "content": [{"type": "tool_use", "id": use.id, "name": use.name, "input": use.input}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 21C"}]},
    ])
    sent = mock_upstream.only("/v1/chat/completions").json()
    assert sent["messages"][1] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": use.id, "type": "function", "function": {"name": "get_weather", "arguments": json.dumps(use.input, separators=(",", ":"))}}]}
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": use.id, "content": "Sunny, 21C"}
    assert answer.content[0].text == "Tool said: Sunny, 21C"


def test_the_builtin_mock_answers_in_anthropic_dialect(claude):
    message = claude.messages.create(model="mock-echo", max_tokens=10, messages=[{"role": "user", "content": "hi you"}])
    assert message.content[0].text == "echo: hi you"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (2, 3)


def test_errors_come_in_anthropic_shape(claude, gateway, http):
    with pytest.raises(anthropic.AuthenticationError) as denied:
        anthropic.Anthropic(base_url=gateway.url, api_key="wrong-key-123", max_retries=0).messages.create(
            model="gpt-4o", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert denied.value.body["error"]["type"] == "authentication_error"
    with pytest.raises(anthropic.NotFoundError) as missing:
        claude.messages.create(model="no-such-model", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert missing.value.body["type"] == "error" and "no-such-model" in missing.value.body["error"]["message"]
    with pytest.raises(anthropic.BadRequestError):
        claude.messages.create(model="gpt-4o", max_tokens=5, messages=[{"role": "system", "content": "x"}])
    upstream_failure = http.post("/v1/messages", headers={"x-api-key": gateway.client_key},
                                 json={"model": "fail-500", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    assert upstream_failure.status_code == 500
    assert upstream_failure.json()["type"] == "error" and upstream_failure.json()["error"]["type"] == "api_error"


def test_a_cut_stream_ends_with_an_anthropic_error_event(http, gateway):
    with http.stream("POST", "/v1/messages", headers={"x-api-key": gateway.client_key},
                     json={"model": "cut-stream", "max_tokens": 5, "stream": True,
                           "messages": [{"role": "user", "content": "x"}]}) as response:
        body = response.read().decode()
    assert "event: message_start" in body
    assert body.rstrip().split("\n\n")[-1].startswith("event: error\ndata: ")
    assert "message_stop" not in body
