"""`mock_bedrock` speaks the real Bedrock runtime: boto3's `bedrock-runtime` client, pointed straight
at it (no gateway), signs with SigV4 and reads its Converse answers and event streams; a request
signed wrongly (or not at all) gets AWS's 403."""

from __future__ import annotations

import base64
import datetime
import json

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.eventstream import ChecksumMismatch
from botocore.exceptions import ClientError, EventStreamError

import mock_bedrock as mb
from conftest import AWS_ACCESS_KEY_ID, AWS_REGION, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, BEDROCK_MODEL_ID

WEATHER_TOOL = {"toolSpec": {"name": "get_weather", "description": "Weather for a city", "inputSchema": {
    "json": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}}


def client(mock, key_id=AWS_ACCESS_KEY_ID, secret=AWS_SECRET_ACCESS_KEY, region=AWS_REGION):
    return boto3.client("bedrock-runtime", endpoint_url=mock.url, region_name=region, aws_access_key_id=key_id,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


@pytest.fixture
def brt(mock_bedrock):
    return client(mock_bedrock)


def test_boto3_converse(brt, mock_bedrock):
    answer = brt.converse(modelId=BEDROCK_MODEL_ID, system=[{"text": "Be brief."}],
                          messages=[{"role": "user", "content": [{"text": "Hello there"}]}],
                          inferenceConfig={"maxTokens": 64, "temperature": 0.5})
    record = mock_bedrock.only()
    request = record.json()

    assert record.path == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    assert record.header("authorization").startswith(f"AWS4-HMAC-SHA256 Credential={AWS_ACCESS_KEY_ID}/")
    assert f"/{AWS_REGION}/bedrock/aws4_request" in record.header("authorization")
    assert not mock_bedrock.signature_failures
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert answer["ResponseMetadata"]["RequestId"] == dict(record.response_headers)["x-amzn-RequestId"]
    assert answer["output"]["message"] == {"role": "assistant", "content": [{"text": "Mock reply to: Hello there"}]}
    assert answer["stopReason"] == "end_turn"
    usage = mb.converse_usage(request)
    assert answer["usage"] == usage
    assert usage["cacheReadInputTokens"] == mb.CACHE_READ_TOKENS > 0
    assert usage["cacheWriteInputTokens"] == mb.CACHE_WRITE_TOKENS > 0
    assert answer["metrics"] == {"latencyMs": mb.LATENCY_MS}


@pytest.mark.parametrize("split", [False, True])
def test_boto3_converse_stream(brt, mock_bedrock, split):
    prompt = "Stream please" + (" [split]" if split else "")
    answer = brt.converse_stream(modelId=BEDROCK_MODEL_ID, messages=[{"role": "user", "content": [{"text": prompt}]}])
    events = list(answer["stream"])
    record = mock_bedrock.only()

    assert record.path == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"
    assert dict(record.response_headers)["Content-Type"] == mb.EVENTSTREAM
    names = [next(iter(e)) for e in events]
    assert names[0] == "messageStart" and names[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    assert set(names[1:-3]) == {"contentBlockDelta"}
    assert events[0]["messageStart"] == {"role": "assistant"}
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == mb.reply_text(record.json()) == f"Mock reply to: {prompt}"
    assert events[-2]["messageStop"] == {"stopReason": "end_turn"}
    assert events[-1]["metadata"]["usage"] == mb.converse_usage(record.json())
    assert events[-1]["metadata"]["metrics"] == {"latencyMs": mb.LATENCY_MS}
    # The frames on the wire: both CRCs right, the headers the real service sends, padded payloads.
    frames = mb.decode_frames(record.response_body)
    assert len(frames) == len(events)
    for headers, payload in frames:
        assert headers[":message-type"] == "event" and headers[":content-type"] == "application/json"
        assert "p" in json.loads(payload)


def test_boto3_tool_use_round_trip(brt, mock_bedrock):
    tool_config = {"tools": [WEATHER_TOOL], "toolChoice": {"auto": {}}}
    first = brt.converse(modelId=BEDROCK_MODEL_ID, toolConfig=tool_config,
                         messages=[{"role": "user", "content": [{"text": "Weather in Paris?"}]}])
    assert first["stopReason"] == "tool_use"
    use = first["output"]["message"]["content"][0]["toolUse"]
    assert use == {"toolUseId": mb.TOOL_USE_ID, "name": "get_weather", "input": mb.TOOL_INPUT}
    second = brt.converse(modelId=BEDROCK_MODEL_ID, toolConfig=tool_config, messages=[
        {"role": "user", "content": [{"text": "Weather in Paris?"}]},
        first["output"]["message"],
        {"role": "user", "content": [{"toolResult": {"toolUseId": use["toolUseId"], "content": [{"text": "Sunny, 21C"}]}}]},
    ])
    assert second["stopReason"] == "end_turn"
    assert second["output"]["message"]["content"] == [{"text": "Tool said: Sunny, 21C"}]


def test_boto3_streams_tool_use(brt, mock_bedrock):
    answer = brt.converse_stream(modelId=BEDROCK_MODEL_ID, toolConfig={"tools": [WEATHER_TOOL]},
                                 messages=[{"role": "user", "content": [{"text": "Weather in Paris?"}]}])
    events = list(answer["stream"])
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["start"]["toolUse"] == {"toolUseId": mb.TOOL_USE_ID, "name": "get_weather"}
    pieces = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e]
    assert json.loads("".join(pieces)) == mb.TOOL_INPUT
    assert next(e["messageStop"] for e in events if "messageStop" in e) == {"stopReason": "tool_use"}


def test_validation_errors_reach_boto3_as_aws_errors(brt, mock_bedrock):
    with pytest.raises(ClientError) as caught:
        brt.converse(modelId=BEDROCK_MODEL_ID, messages=[
            {"role": "user", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": "b"}]}])
    error = caught.value.response
    assert error["Error"]["Code"] == "ValidationException"
    assert "alternate" in error["Error"]["Message"]
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_throttling_and_stream_exceptions(brt, mock_bedrock):
    with pytest.raises(ClientError) as caught:
        brt.converse(modelId="mock.throttled", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429

    answer = brt.converse_stream(modelId="mock.stream-error", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    with pytest.raises(EventStreamError) as stream_error:
        list(answer["stream"])
    assert stream_error.value.response["Error"]["Code"] == "throttlingException"


@pytest.mark.parametrize("key_id, secret, region, code", [
    ("AKIAUNKNOWNKEY000001", AWS_SECRET_ACCESS_KEY, AWS_REGION, "UnrecognizedClientException"),
    (AWS_ACCESS_KEY_ID, "not-the-secret", AWS_REGION, "InvalidSignatureException"),
    (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "eu-west-1", "InvalidSignatureException"),
])
def test_bad_signatures_get_403(mock_bedrock, key_id, secret, region, code):
    with pytest.raises(ClientError) as caught:
        client(mock_bedrock, key_id, secret, region).converse(
            modelId=BEDROCK_MODEL_ID, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert mock_bedrock.signature_failures


def signed(url: str, body: bytes, *, service="bedrock", when: datetime.datetime | None = None) -> dict:
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    signer = SigV4Auth(Credentials(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), service, AWS_REGION)
    if when is None:
        signer.add_auth(request)
    else:  # sign as of `when` (botocore takes the time from the clock)
        request.context["timestamp"] = when.strftime("%Y%m%dT%H%M%SZ")
        request.headers["X-Amz-Date"] = request.context["timestamp"]
        canonical = signer.canonical_request(request)
        signature = signer.signature(signer.string_to_sign(request, canonical), request)
        request.headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={AWS_ACCESS_KEY_ID}/{signer.credential_scope(request)}, "
            f"SignedHeaders={signer.signed_headers(signer.headers_to_sign(request))}, Signature={signature}")
    return dict(request.headers.items())


def test_raw_signing_edges(mock_bedrock):
    url = f"{mock_bedrock.url}/model/{BEDROCK_MODEL_ID.replace(':', '%3A')}/converse"
    body = json.dumps({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}).encode()

    ok = httpx.post(url, content=body, headers=signed(url, body))
    assert ok.status_code == 200, ok.text

    missing = httpx.post(url, content=body, headers={"Content-Type": "application/json"})
    assert missing.status_code == 403
    assert missing.headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException:")

    tampered = httpx.post(url, content=body.replace(b"hi", b"ho"), headers=signed(url, body))
    assert tampered.status_code == 403 and tampered.headers["x-amzn-ErrorType"].startswith("InvalidSignatureException:")

    wrong_service = httpx.post(url, content=body, headers=signed(url, body, service="sagemaker"))
    assert wrong_service.status_code == 403

    stale = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    expired = httpx.post(url, content=body, headers=signed(url, body, when=stale))
    assert expired.status_code == 403 and "expired" in expired.json()["message"]

    # SigV4 for Bedrock encodes the path once more: a request signed over the decoded path fails.
    decoded_url = f"{mock_bedrock.url}/model/{BEDROCK_MODEL_ID}/converse"
    wrong_path = httpx.post(url, content=body, headers=signed(decoded_url, body))
    assert wrong_path.status_code == 403


def test_session_tokens(mock_bedrock_sts):
    def sts_client(token):
        return boto3.client("bedrock-runtime", endpoint_url=mock_bedrock_sts.url, region_name=mock_bedrock_sts.region,
                            aws_access_key_id=mock_bedrock_sts.access_key_id, aws_secret_access_key=AWS_SECRET_ACCESS_KEY,
                            aws_session_token=token, config=Config(retries={"max_attempts": 1}))

    answer = sts_client(AWS_SESSION_TOKEN).converse(modelId="sts.model-a",
                                                    messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert answer["output"]["message"]["content"] == [{"text": "Mock reply to: hi"}]
    assert mock_bedrock_sts.only().header("x-amz-security-token") == AWS_SESSION_TOKEN
    for token in (None, "another-token"):
        with pytest.raises(ClientError) as caught:
            sts_client(token).converse(modelId="sts.model-a", messages=[{"role": "user", "content": [{"text": "hi"}]}])
        assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"


@pytest.mark.parametrize("model", ["mock.cut-stream", "mock.bad-crc"])
def test_broken_streams_break_boto3(brt, mock_bedrock, model):
    # A cut stream and a frame with a bad CRC: boto3 fails after the frames before the break.
    answer = brt.converse_stream(modelId=model, messages=[{"role": "user", "content": [{"text": "hi"}]}])
    received = []
    with pytest.raises(Exception) as caught:
        for item in answer["stream"]:
            received.append(item)
    if model == "mock.bad-crc":
        assert isinstance(caught.value, ChecksumMismatch)
        assert [next(iter(e)) for e in received] == ["messageStart"]
    else:
        assert [next(iter(e)) for e in received] == ["messageStart", "contentBlockDelta"]


def test_boto3_count_tokens_both_inputs(brt, mock_bedrock):
    messages = [{"role": "user", "content": [{"text": "How many tokens is this?"}]}]
    converse = brt.count_tokens(modelId=BEDROCK_MODEL_ID, input={"converse": {
        "system": [{"text": "Be brief."}], "messages": messages, "toolConfig": {"tools": [WEATHER_TOOL]}}})
    record = mock_bedrock.requests[-1]
    assert record.path == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/count-tokens"
    assert not mock_bedrock.signature_failures
    assert converse["inputTokens"] == mb.count_tokens(record.json()["input"]["converse"], "converse") > 0

    anthropic_body = {"anthropic_version": mb.BEDROCK_ANTHROPIC_VERSION, "max_tokens": 10,
                      "messages": [{"role": "user", "content": "How many tokens is this?"}]}
    invoke = brt.count_tokens(modelId=BEDROCK_MODEL_ID, input={"invokeModel": {"body": json.dumps(anthropic_body).encode()}})
    sent = mock_bedrock.requests[-1].json()["input"]["invokeModel"]["body"]
    assert json.loads(base64.b64decode(sent)) == anthropic_body, "boto3 sends the blob base64-encoded"
    assert invoke["inputTokens"] == mb.count_tokens(anthropic_body, "invokeModel") > 0

    # (boto3 itself refuses members ConverseTokensRequest lacks, such as inferenceConfig.)
    for model, model_input in [("amazon.nova-pro-v1:0", {"converse": {"messages": messages}}),
                               (BEDROCK_MODEL_ID, {"converse": {"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]}}),
                               (BEDROCK_MODEL_ID, {"invokeModel": {"body": json.dumps({"messages": []}).encode()}})]:
        with pytest.raises(ClientError) as refused:
            brt.count_tokens(modelId=model, input=model_input)
        assert refused.value.response["Error"]["Code"] == "ValidationException", refused.value.response
