"""The `sagemaker` provider: SageMaker runtime endpoints whose container speaks OpenAI chat.

  boto3 `sagemaker-runtime` `invoke_endpoint` / `invoke_endpoint_with_response_stream` straight at
  `mock_sagemaker`: the mock speaks the real API (SigV4 service `sagemaker`, PayloadPart frames).
  openai SDK through `bedrock_gateway` (channel `sagemaker-upstream`): the body passes through to
  `/endpoints/{name}/invocations` (or `/invocations-response-stream`), signed for `sagemaker`; the
  container's JSON and SSE (joined from PayloadPart frames that split events) come back with the
  mock's usage; a chat stream asks the container for usage (`stream_options.include_usage`) unless
  the channel's `options.include_usage` is false, and the client gets no usage chunk it did not ask for.
"""

from __future__ import annotations

import json
import textwrap

import boto3
import httpx
import openai
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from openai import OpenAI

import mock_bedrock as mb
import mock_sagemaker as ms
from conftest import (AWS_ACCESS_KEY_ID, AWS_REGION, AWS_SECRET_ACCESS_KEY, CLIENT_KEY, SAGEMAKER_CHANNEL,
                      SAGEMAKER_ENDPOINT, start_dedicated_gateway, stop_gateway, write_gateway_config)
from fault_support import ledger_rows
from support import parse_sse


def chat_body(text: str, **extra) -> bytes:
    return json.dumps({"model": "tgi", "messages": [{"role": "user", "content": text}], **extra}).encode()


def runtime(mock, key_id=AWS_ACCESS_KEY_ID, secret=AWS_SECRET_ACCESS_KEY):
    return boto3.client("sagemaker-runtime", endpoint_url=mock.url, region_name=AWS_REGION, aws_access_key_id=key_id,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


@pytest.fixture
def smr(mock_sagemaker):
    return runtime(mock_sagemaker)


@pytest.fixture
def oai(bedrock_gateway):
    client = OpenAI(base_url=bedrock_gateway.v1, api_key=CLIENT_KEY, max_retries=0)
    yield client
    client.close()


def assert_signed(record) -> None:
    authorization = record.header("authorization")
    assert authorization.startswith(f"AWS4-HMAC-SHA256 Credential={AWS_ACCESS_KEY_ID}/"), authorization
    assert f"/{AWS_REGION}/sagemaker/aws4_request" in authorization
    assert CLIENT_KEY not in json.dumps(record.headers), "the client's key leaked upstream"


# --- the mock is faithful (boto3, no gateway) ------------------------------------------------------

def test_boto3_invoke_endpoint(smr, mock_sagemaker):
    answer = smr.invoke_endpoint(EndpointName=SAGEMAKER_ENDPOINT, Body=chat_body("Hello endpoint"),
                                 ContentType="application/json", Accept="application/json")
    record = mock_sagemaker.only()
    assert record.path == f"/endpoints/{SAGEMAKER_ENDPOINT}/invocations"
    assert_signed(record)
    assert not mock_sagemaker.signature_failures
    assert answer["InvokedProductionVariant"] == ms.VARIANT
    assert answer["ContentType"] == "application/json"
    completion = json.loads(answer["Body"].read())
    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"] == {"role": "assistant", "content": "Mock reply to: Hello endpoint"}
    assert completion["usage"] == ms.chat_usage(record.json())


def test_boto3_invoke_endpoint_with_response_stream(smr, mock_sagemaker):
    answer = smr.invoke_endpoint_with_response_stream(
        EndpointName=SAGEMAKER_ENDPOINT, ContentType="application/json",
        Body=chat_body("Stream endpoint", stream=True, stream_options={"include_usage": True}))
    parts = [e["PayloadPart"]["Bytes"] for e in answer["Body"]]
    record = mock_sagemaker.only()
    assert record.path == f"/endpoints/{SAGEMAKER_ENDPOINT}/invocations-response-stream"
    assert_signed(record)
    assert answer["InvokedProductionVariant"] == ms.VARIANT
    assert parts == mock_sagemaker.parts[0] and len(parts) > 5
    assert any(not p.endswith(b"\n\n") for p in parts), "the parts should split SSE events"
    events = parse_sse(b"".join(parts))
    assert events[-1] == b"[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == \
        "Mock reply to: Stream endpoint"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == ms.chat_usage(record.json())
    for headers, _ in mb.decode_frames(record.response_body):
        assert headers[":event-type"] == "PayloadPart"


def test_boto3_errors(smr, mock_sagemaker):
    with pytest.raises(ClientError) as caught:
        smr.invoke_endpoint(EndpointName="missing-endpoint", Body=chat_body("hi"), ContentType="application/json")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as caught:
        smr.invoke_endpoint(EndpointName="failing-endpoint", Body=chat_body("hi"), ContentType="application/json")
    assert caught.value.response["Error"]["Code"] == "ModelError"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424


def test_boto3_bad_signature_gets_403(mock_sagemaker):
    with pytest.raises(ClientError) as caught:
        runtime(mock_sagemaker, secret="not-the-secret").invoke_endpoint(
            EndpointName=SAGEMAKER_ENDPOINT, Body=chat_body("hi"), ContentType="application/json")
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert mock_sagemaker.signature_failures
    # A request signed for Bedrock is refused too.
    brt = boto3.client("bedrock-runtime", endpoint_url=mock_sagemaker.url, region_name=AWS_REGION,
                       aws_access_key_id=AWS_ACCESS_KEY_ID, aws_secret_access_key=AWS_SECRET_ACCESS_KEY,
                       config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError):
        brt.invoke_model(modelId="x", body=b"{}")


# --- through the gateway (openai SDK) ------------------------------------------------------------

def test_chat_via_sagemaker(oai, mock_sagemaker):
    raw = oai.chat.completions.with_raw_response.create(
        model=SAGEMAKER_ENDPOINT, max_tokens=30, messages=[{"role": "user", "content": "Hello sagemaker"}])
    completion = raw.parse()
    record = mock_sagemaker.only()
    request = record.json()
    assert raw.headers["x-tollgate-channel"] == SAGEMAKER_CHANNEL
    assert record.path == f"/endpoints/{SAGEMAKER_ENDPOINT}/invocations"
    assert_signed(record)
    assert request["messages"] == [{"role": "user", "content": "Hello sagemaker"}]
    assert request["max_tokens"] == 30
    assert completion.choices[0].message.content == "Mock reply to: Hello sagemaker"
    expected = ms.chat_usage(request)
    assert completion.usage.prompt_tokens == expected["prompt_tokens"]
    assert completion.usage.completion_tokens == expected["completion_tokens"]
    assert completion.usage.total_tokens == expected["total_tokens"]


def test_stream_via_sagemaker_with_usage(oai, mock_sagemaker):
    chunks = list(oai.chat.completions.create(model=SAGEMAKER_ENDPOINT, stream=True,
                                              stream_options={"include_usage": True},
                                              messages=[{"role": "user", "content": "Stream sagemaker please"}]))
    record = mock_sagemaker.only()
    request = record.json()
    assert record.path == f"/endpoints/{SAGEMAKER_ENDPOINT}/invocations-response-stream"
    assert_signed(record)
    assert request["stream"] is True
    assert len(mock_sagemaker.parts[0]) > 5
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == \
        "Mock reply to: Stream sagemaker please"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    usage_chunks = [c for c in chunks if c.usage is not None]
    assert len(usage_chunks) == 1 and usage_chunks[0] is chunks[-1] and chunks[-1].choices == []
    expected = ms.chat_usage(request)
    assert chunks[-1].usage.prompt_tokens == expected["prompt_tokens"]
    assert chunks[-1].usage.completion_tokens == expected["completion_tokens"]
    assert chunks[-1].usage.total_tokens == expected["total_tokens"]


def test_stream_via_sagemaker_without_usage(bedrock_gateway, mock_sagemaker):
    with httpx.stream("POST", f"{bedrock_gateway.v1}/chat/completions", timeout=30,
                      headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                      json={"model": SAGEMAKER_ENDPOINT, "stream": True,
                            "messages": [{"role": "user", "content": "No usage"}]}) as response:
        raw = response.read()
    assert response.status_code == 200, raw
    # The container's body passes through as it came but for the one member that asks for usage
    # (as the openai passthrough asks), so the ledger gets the container's count.
    assert mock_sagemaker.only().json() == {"stream_options": {"include_usage": True}, "model": SAGEMAKER_ENDPOINT,
                                            "stream": True, "messages": [{"role": "user", "content": "No usage"}]}
    events = parse_sse(raw)
    assert events[-1] == b"[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == \
        "Mock reply to: No usage"
    assert all(c["choices"] for c in chunks), "the usage chunk the gateway asked for must not reach the client"


def test_a_channel_can_leave_the_body_untouched(mock_sagemaker, tmp_path):
    """`options.include_usage: false` (a container that refuses the member): the body goes as it
    came and the stream's usage is estimated, marked so in the ledger."""
    channels = textwrap.dedent(f"""\
        - name: plain-sagemaker
          provider: sagemaker
          base_url: {mock_sagemaker.url}
          credentials: {{ access_key_id: {AWS_ACCESS_KEY_ID}, secret_access_key: {AWS_SECRET_ACCESS_KEY} }}
          options: {{ region: {AWS_REGION}, include_usage: "false" }}
          models: [{SAGEMAKER_ENDPOINT}]
        """)
    gateway = start_dedicated_gateway(write_gateway_config(tmp_path, "sagemaker without include_usage", channels))
    try:
        body = {"model": SAGEMAKER_ENDPOINT, "stream": True, "messages": [{"role": "user", "content": "Untouched"}]}
        response = httpx.post(f"{gateway.v1}/chat/completions", json=body, timeout=30, headers={"Authorization": f"Bearer {CLIENT_KEY}"})
        assert response.status_code == 200, response.text
        assert mock_sagemaker.only().json() == body
        request_id = response.headers["x-request-id"]
    finally:
        stop_gateway(gateway)
    row = ledger_rows(tmp_path)[request_id]
    assert row["estimated"] == 1 and row["completion_tokens"] > 0, row


def test_sagemaker_error_reaches_the_sdk(oai, mock_sagemaker):
    with pytest.raises(openai.APIStatusError) as caught:
        oai.chat.completions.create(model="failing-endpoint", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 424
    assert caught.value.body["type"] == "ModelError"
    assert "internal container error" in caught.value.body["message"]
    assert mock_sagemaker.only().status == 424
    mock_sagemaker.clear()
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model="missing-endpoint", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["type"] == "ValidationError"
    assert "not found" in caught.value.body["message"]
