"""The official `google-genai` SDK against the Gemini routes, served by an OpenAI-compatible
upstream and by the built-in mock: requests are converted to the internal dialect and back."""

from __future__ import annotations

import pytest
from google import genai
from google.genai import errors, types

from mock_openai import TOOL_ARGUMENTS, chat_usage, reply_text
import json


@pytest.fixture(params=["v1beta", "v1"])
def gemini(gateway, request):
    return genai.Client(api_key=gateway.client_key,
                        http_options=types.HttpOptions(base_url=gateway.url, api_version=request.param))


def test_generate_content_through_an_openai_upstream(gemini, mock_upstream):
    response = gemini.models.generate_content(
        model="gpt-4o", contents="Hello there",
        config=types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=50, temperature=0.25,
                                           stop_sequences=["END"]))
    upstream = mock_upstream.only("/v1/chat/completions").json()
    assert upstream["messages"][0] == {"role": "system", "content": "Be brief."}
    assert upstream["messages"][1]["content"] == [{"type": "text", "text": "Hello there"}]
    assert upstream["max_tokens"] == 50 and upstream["temperature"] == 0.25 and upstream["stop"] == ["END"]
    assert response.text == reply_text(upstream)
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    usage = chat_usage(upstream)
    assert response.usage_metadata.prompt_token_count == usage["prompt_tokens"]
    assert response.usage_metadata.candidates_token_count == usage["completion_tokens"]
    assert response.usage_metadata.cached_content_token_count == usage["prompt_tokens_details"]["cached_tokens"]


def test_streamed_content_through_an_openai_upstream(gemini, mock_upstream):
    chunks = list(gemini.models.generate_content_stream(model="gpt-4o", contents="Stream please"))
    upstream = mock_upstream.only("/v1/chat/completions").json()
    assert upstream["stream"] is True
    assert "".join(chunk.text or "" for chunk in chunks) == reply_text(upstream)
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata.candidates_token_count == chat_usage(upstream)["completion_tokens"]


def test_function_calling_round_trip(gemini, mock_upstream):
    weather = types.FunctionDeclaration(
        name="get_weather", description="Weather for a city",
        parameters_json_schema={"type": "object", "properties": {"city": {"type": "string"}}})
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[weather])],
                                         automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    first = gemini.models.generate_content(model="gpt-4o", contents="Weather in Paris?", config=config)
    sent = mock_upstream.only("/v1/chat/completions").json()
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["tools"][0]["function"]["parameters"]["properties"] == {"city": {"type": "string"}}
    call = first.function_calls[0]
    assert call.name == "get_weather" and call.args == json.loads(TOOL_ARGUMENTS)

    mock_upstream.clear()
    answer = gemini.models.generate_content(model="gpt-4o", config=config, contents=[
        types.Content(role="user", parts=[types.Part(text="Weather in Paris?")]),
        types.Content(role="model", parts=[types.Part(function_call=call)]),
        types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather", response={"forecast": "sunny"})]),
    ])
    sent = mock_upstream.only("/v1/chat/completions").json()
    tool_message = sent["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["tool_call_id"] == sent["messages"][-2]["tool_calls"][0]["id"]
    assert json.loads(tool_message["content"]) == {"forecast": "sunny"}
    assert answer.text == f"Tool said: {tool_message['content']}"


def test_the_builtin_mock_answers_in_gemini_dialect(gemini):
    response = gemini.models.generate_content(model="mock-echo", contents="hi you")
    assert response.text == "echo: hi you"
    assert response.usage_metadata.total_token_count == 5


def test_errors_come_in_google_shape(gemini, gateway):
    with pytest.raises(errors.ClientError) as missing:
        gemini.models.generate_content(model="no-such-model", contents="x")
    assert missing.value.code == 404 and missing.value.status == "NOT_FOUND"
    bad_key = genai.Client(api_key="wrong-key-123", http_options=types.HttpOptions(base_url=gateway.url))
    with pytest.raises(errors.ClientError) as denied:
        bad_key.models.generate_content(model="gpt-4o", contents="x")
    assert denied.value.code == 401 and denied.value.status == "UNAUTHENTICATED"
    with pytest.raises(errors.ServerError) as failed:
        gemini.models.generate_content(model="fail-500", contents="x")
    assert failed.value.code == 500
