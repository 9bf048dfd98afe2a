"""Bedrock InvokeModel with Anthropic bodies (`options.api: invoke`).

  boto3 `invoke_model` / `invoke_model_with_response_stream` straight at `mock_bedrock`: the mock
  speaks the real API (Anthropic message answers, `chunk` frames of base64 Anthropic events).
  openai SDK through `bedrock_gateway` (channel `bedrock-invoke`): the body sent up is Anthropic's
  with `anthropic_version: bedrock-2023-05-31` and neither `model` nor `stream`, signed for
  `bedrock`; answers and streams come back as chat completions with the mock's usage (the prompt
  counts cache reads and writes).
"""

from __future__ import annotations

import base64
import json

import anthropic
import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError
from openai import OpenAI

import mock_anthropic as ma
import mock_bedrock as mb
from conftest import (AWS_ACCESS_KEY_ID, AWS_REGION, AWS_SECRET_ACCESS_KEY, BEDROCK_INVOKE_CHANNEL,
                      BEDROCK_INVOKE_MODEL, BEDROCK_INVOKE_NON_ANTHROPIC, BEDROCK_INVOKE_PROFILE_ID,
                      BEDROCK_MODEL_ID, CLIENT_KEY)
from support import assert_openai_error

ENCODED_PATH = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0"


def body(text: str = "Hello invoke", **extra) -> bytes:
    return json.dumps({"anthropic_version": mb.BEDROCK_ANTHROPIC_VERSION, "max_tokens": 64,
                       "messages": [{"role": "user", "content": text}], **extra}).encode()


@pytest.fixture
def brt(mock_bedrock):
    return boto3.client("bedrock-runtime", endpoint_url=mock_bedrock.url, region_name=AWS_REGION,
                        aws_access_key_id=AWS_ACCESS_KEY_ID, aws_secret_access_key=AWS_SECRET_ACCESS_KEY,
                        config=Config(retries={"max_attempts": 1}))


@pytest.fixture
def oai(bedrock_gateway):
    client = OpenAI(base_url=bedrock_gateway.v1, api_key=CLIENT_KEY, max_retries=0)
    yield client
    client.close()


# --- the mock is faithful (boto3, no gateway) ------------------------------------------------------

def test_boto3_invoke_model(brt, mock_bedrock):
    answer = brt.invoke_model(modelId=BEDROCK_MODEL_ID, body=body(system="Be brief."),
                              contentType="application/json", accept="application/json")
    record = mock_bedrock.only()
    assert record.path == f"{ENCODED_PATH}/invoke"
    assert not mock_bedrock.signature_failures
    assert answer["contentType"] == "application/json"
    message = json.loads(answer["body"].read())
    request = record.json()
    assert message["type"] == "message" and message["role"] == "assistant" and message["model"] == BEDROCK_MODEL_ID
    assert message["content"] == [{"type": "text", "text": "Mock reply to: Hello invoke"}]
    assert message["stop_reason"] == "end_turn"
    assert message["usage"] == mb.invoke_usage(request)
    assert message["usage"]["cache_read_input_tokens"] == ma.CACHE_READ_TOKENS > 0
    assert message["usage"]["cache_creation_input_tokens"] == ma.CACHE_CREATION_TOKENS > 0
    headers = answer["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-bedrock-input-token-count"] == str(message["usage"]["input_tokens"])
    assert headers["x-amzn-bedrock-output-token-count"] == str(message["usage"]["output_tokens"])


@pytest.mark.parametrize("split", [False, True])
def test_boto3_invoke_model_with_response_stream(brt, mock_bedrock, split):
    prompt = "Stream invoke" + (" [split]" if split else "")
    answer = brt.invoke_model_with_response_stream(modelId=BEDROCK_MODEL_ID, body=body(prompt))
    events = [json.loads(e["chunk"]["bytes"]) for e in answer["body"]]
    record = mock_bedrock.only()
    request = record.json()
    assert record.path == f"{ENCODED_PATH}/invoke-with-response-stream"
    types = [e["type"] for e in events]
    assert types[:2] == ["message_start", "content_block_start"]
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    usage = mb.invoke_usage(request)
    assert events[0]["message"]["usage"]["input_tokens"] == usage["input_tokens"]
    assert events[0]["message"]["usage"]["cache_read_input_tokens"] == usage["cache_read_input_tokens"]
    assert events[-2]["usage"]["output_tokens"] == usage["output_tokens"]
    assert events[-2]["delta"]["stop_reason"] == "end_turn"
    assert events[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == usage["output_tokens"]
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == f"Mock reply to: {prompt}"
    for headers, payload in mb.decode_frames(record.response_body):
        assert headers[":event-type"] == "chunk" and headers[":message-type"] == "event"
        assert json.loads(base64.b64decode(json.loads(payload)["bytes"]))["type"] in types


@pytest.mark.parametrize("bad, word", [
    ({"model": BEDROCK_MODEL_ID}, "model"),
    ({"stream": True}, "stream"),
    ({"anthropic_version": "2023-06-01"}, "anthropic_version"),
])
def test_boto3_invoke_model_validation(brt, mock_bedrock, bad, word):
    with pytest.raises(ClientError) as caught:
        brt.invoke_model(modelId=BEDROCK_MODEL_ID, body=body(**bad))
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert word in caught.value.response["Error"]["Message"]


def test_boto3_invoke_stream_exception(brt, mock_bedrock):
    answer = brt.invoke_model_with_response_stream(modelId="mock.stream-error", body=body())
    with pytest.raises(EventStreamError) as caught:
        list(answer["body"])
    assert caught.value.response["Error"]["Code"] == "throttlingException"


# --- through the gateway (openai SDK) ------------------------------------------------------------

def assert_invoke_request(record, path: str) -> dict:
    request = record.json()
    assert record.path == path
    authorization = record.header("authorization")
    assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={AWS_ACCESS_KEY_ID}/")
    assert f"/{AWS_REGION}/bedrock/aws4_request" in authorization
    assert CLIENT_KEY not in json.dumps(record.headers)
    assert request["anthropic_version"] == mb.BEDROCK_ANTHROPIC_VERSION
    assert "model" not in request and "stream" not in request
    return request


def assert_usage(usage, request: dict) -> None:
    expected = mb.invoke_openai_usage(request)
    assert usage.prompt_tokens == expected["prompt_tokens"]
    assert usage.completion_tokens == expected["completion_tokens"]
    assert usage.total_tokens == expected["total_tokens"]
    assert usage.prompt_tokens_details.cached_tokens == expected["cached_tokens"]


def test_chat_via_invoke(oai, mock_bedrock):
    raw = oai.chat.completions.with_raw_response.create(
        model=BEDROCK_INVOKE_MODEL, max_tokens=50, temperature=0.25,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}])
    completion = raw.parse()
    request = assert_invoke_request(mock_bedrock.only(), f"{ENCODED_PATH}/invoke")
    assert raw.headers["x-tollgate-channel"] == BEDROCK_INVOKE_CHANNEL
    assert request["max_tokens"] == 50 and request["temperature"] == 0.25
    assert ma.text_of(request["system"]) == "Be brief."
    assert ma.last_user_text(request) == "Hello there"
    assert completion.model == BEDROCK_INVOKE_MODEL
    assert completion.choices[0].message.content == "Mock reply to: Hello there"
    assert completion.choices[0].finish_reason == "stop"
    assert_usage(completion.usage, request)
    expected = mb.invoke_openai_usage(request)
    usage = mb.invoke_usage(request)
    assert expected["prompt_tokens"] == (usage["input_tokens"] + usage["cache_read_input_tokens"]
                                         + usage["cache_creation_input_tokens"])


@pytest.mark.parametrize("split", [False, True])
def test_stream_via_invoke_with_usage(oai, mock_bedrock, split):
    prompt = "Stream invoke please" + (" [split]" if split else "")
    chunks = list(oai.chat.completions.create(model=BEDROCK_INVOKE_MODEL, stream=True,
                                              stream_options={"include_usage": True},
                                              messages=[{"role": "user", "content": prompt}]))
    request = assert_invoke_request(mock_bedrock.only(), f"{ENCODED_PATH}/invoke-with-response-stream")
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == f"Mock reply to: {prompt}"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    usage_chunks = [c for c in chunks if c.usage is not None]
    assert len(usage_chunks) == 1 and usage_chunks[0] is chunks[-1] and chunks[-1].choices == []
    assert_usage(chunks[-1].usage, request)


def test_stream_via_invoke_without_usage(oai, mock_bedrock):
    chunks = list(oai.chat.completions.create(model=BEDROCK_INVOKE_MODEL, stream=True,
                                              messages=[{"role": "user", "content": "No usage"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Mock reply to: No usage"
    assert all(c.usage is None for c in chunks) and all(c.choices for c in chunks)


def test_cross_region_profile_id_via_invoke(oai, mock_bedrock):
    completion = oai.chat.completions.create(model=BEDROCK_INVOKE_PROFILE_ID,
                                             messages=[{"role": "user", "content": "Via us"}])
    assert_invoke_request(mock_bedrock.only(), "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/invoke")
    assert completion.choices[0].message.content == "Mock reply to: Via us"


OPENAI_WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def test_streamed_tool_call_via_invoke(oai, mock_bedrock):
    chunks = list(oai.chat.completions.create(model=BEDROCK_INVOKE_MODEL, stream=True, tools=[OPENAI_WEATHER_TOOL],
                                              stream_options={"include_usage": True},
                                              messages=[{"role": "user", "content": "Weather in Paris?"}]))
    request = assert_invoke_request(mock_bedrock.only(), f"{ENCODED_PATH}/invoke-with-response-stream")
    assert request["tools"][0]["name"] == "get_weather"
    deltas = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert deltas[0].id == ma.TOOL_USE_ID and deltas[0].function.name == "get_weather"
    assert json.loads("".join(d.function.arguments or "" for d in deltas)) == ma.TOOL_INPUT
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    assert_usage(chunks[-1].usage, request)


def test_a_non_anthropic_model_on_the_invoke_channel_is_refused(bedrock_gateway, mock_bedrock):
    response = httpx.post(f"{bedrock_gateway.v1}/chat/completions", headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                          json={"model": BEDROCK_INVOKE_NON_ANTHROPIC,
                                "messages": [{"role": "user", "content": "hi"}]}, timeout=30)
    error = assert_openai_error(response, 400)
    assert error["code"] == "unsupported" and "meta.llama3-70b-instruct-v1:0" in error["message"]
    assert not mock_bedrock.requests, "nothing may be sent upstream"


def test_anthropic_sdk_passthrough_via_invoke(bedrock_gateway, mock_bedrock):
    client = anthropic.Anthropic(base_url=bedrock_gateway.url, api_key=CLIENT_KEY, max_retries=0)
    try:
        message = client.messages.create(model=BEDROCK_INVOKE_MODEL, max_tokens=40, system="Be brief.",
                                         messages=[{"role": "user", "content": "Hi anthropic"}])
        record = mock_bedrock.only()
        request = assert_invoke_request(record, f"{ENCODED_PATH}/invoke")
        assert request["max_tokens"] == 40 and request["system"] == "Be brief."
        assert message.content[0].text == "Mock reply to: Hi anthropic"
        assert message.usage.cache_read_input_tokens == ma.CACHE_READ_TOKENS
        mock_bedrock.clear()
        with client.messages.stream(model=BEDROCK_INVOKE_MODEL, max_tokens=40,
                                    messages=[{"role": "user", "content": "Stream anthropic"}]) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        request = assert_invoke_request(mock_bedrock.only(), f"{ENCODED_PATH}/invoke-with-response-stream")
        assert text == "Mock reply to: Stream anthropic"
        assert final.usage.output_tokens == mb.invoke_usage(request)["output_tokens"]
        assert final.usage.input_tokens == mb.invoke_usage(request)["input_tokens"]
    finally:
        client.close()
