"""A mock of the Amazon SageMaker runtime (an endpoint whose container speaks OpenAI chat, as vLLM,
TGI's Messages API or LMI's OpenAI mode do) for Tollgate's end-to-end tests.

Routes: `POST /endpoints/{name}/invocations` (the container's answer as its body) and
`POST /endpoints/{name}/invocations-response-stream` (`application/vnd.amazon.eventstream`: one
`PayloadPart` frame after another whose payload is the container's raw stream bytes, split every
`PART_BYTES` bytes regardless of SSE event boundaries, as SageMaker forwards what the container
writes). Anything else: 404 `UnknownOperationException`.

Every request must be signed with SigV4 for service `sagemaker` (recomputed with botocore, as
`mock_bedrock` does; the same 403 answers). Errors: 400 `ValidationError` for a body that is not an
OpenAI chat request and for the endpoint `missing-endpoint` (not found); 424 `ModelError` for
the endpoint `failing-endpoint` (the container answered 500).

The container: "Mock reply to: <last user text>" with a chat.completion usage object (see
`chat_usage`); with `"stream": true` it writes OpenAI SSE (one chunk per word, a finish chunk,
and when `stream_options.include_usage` is true a final usage chunk with `choices: []`, then
`data: [DONE]`). A stream request without `"stream": true` gets the complete JSON as its payload.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import unquote

from mock_bedrock import EVENTSTREAM, SignatureProblem, frame, verify_sigv4
from mock_server import MockHandler, MockServer, RecordedRequest  # noqa: F401 - re-exported

SERVICE = "sagemaker"
PART_BYTES = 23
VARIANT = "AllTraffic"
CREATED = 1764230400
ROUTE = re.compile(r"^/endpoints/([^/]+)/(invocations|invocations-response-stream)$")
STATUS = {"ValidationError": 400, "ModelError": 424, "UnknownOperationException": 404,
          "MissingAuthenticationTokenException": 403, "IncompleteSignatureException": 403,
          "UnrecognizedClientException": 403, "InvalidSignatureException": 403}


def text_of(content) -> str:
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict) and p.get("type") == "text")


def last_user_text(request: dict) -> str:
    for message in reversed(request.get("messages") or []):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def reply_text(request: dict) -> str:
    return f"Mock reply to: {last_user_text(request)}"


def chat_usage(request: dict) -> dict:
    words = sum(len(text_of(m.get("content")).split()) for m in request.get("messages") or [])
    prompt, completion = words + 7, len(reply_text(request).split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion(request: dict, endpoint: str, cid: str) -> dict:
    return {"id": cid, "object": "chat.completion", "created": CREATED, "model": request.get("model") or endpoint,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply_text(request)},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": chat_usage(request)}


def sse_bytes(request: dict, endpoint: str, cid: str) -> bytes:
    model = request.get("model") or endpoint

    def chunk(choices, usage=None) -> bytes:
        body = {"id": cid, "object": "chat.completion.chunk", "created": CREATED, "model": model, "choices": choices}
        if usage is not None:
            body["usage"] = usage
        return b"data: " + json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"

    words = reply_text(request).split(" ")
    out = chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
    for word in [words[0]] + [" " + w for w in words[1:]]:
        out += chunk([{"index": 0, "delta": {"content": word}, "finish_reason": None}])
    out += chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}])
    if (request.get("stream_options") or {}).get("include_usage"):
        out += chunk([], chat_usage(request))
    return out + b"data: [DONE]\n\n"


def payload_part(data: bytes) -> bytes:
    return frame([(":event-type", "PayloadPart"), (":content-type", "application/octet-stream"),
                  (":message-type", "event")], data)


class _Handler(MockHandler):
    def provider_headers(self) -> list[tuple[str, str]]:
        return [("x-amzn-RequestId", self.request_id)]

    def error(self, type_: str, message: str) -> None:
        body = json.dumps({"ErrorCode": type_, "Message": message, "message": message}).encode()
        self.complete(STATUS[type_], body, extra=[("x-amzn-ErrorType", f"{type_}:http://internal.amazon.com/coral/"
                                                                          "com.amazon.sagemaker.runtime/")])

    def handle_request(self, method: str, body: bytes) -> None:
        mock: MockSageMaker = self.server.mock  # type: ignore[assignment]
        try:
            verify_sigv4(method, self.path, list(self.headers.items()), body, mock.access_key_id,
                         mock.secret_access_key, mock.region, service=SERVICE)
        except SignatureProblem as problem:
            mock.signature_failures.append(str(problem))
            return self.error(problem.type, str(problem))
        match = ROUTE.match(self.route)
        if method != "POST" or not match:
            return self.error("UnknownOperationException", "UnknownOperationException")
        endpoint, operation = unquote(match.group(1)), match.group(2)
        if endpoint == "missing-endpoint":
            return self.error("ValidationError", f"Endpoint {endpoint} of account 123456789012 not found.")
        if endpoint == "failing-endpoint":
            return self.error("ModelError", "Received server error (500) from primary with message "
                                            "\"internal container error\".")
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        if not isinstance(request, dict) or not isinstance(request.get("messages"), list) or not request["messages"]:
            return self.error("ModelError", "Received client error (400) from primary with message "
                                            "\"messages: field required\".")
        cid = f"chatcmpl-sm{int(time.time() * 1000) % 100000:05d}{self.request_id[-4:]}"
        variant = [("x-Amzn-Invoked-Production-Variant", VARIANT)]
        if operation == "invocations":
            if request.get("stream"):
                return self.complete(200, sse_bytes(request, endpoint, cid), content_type="text/event-stream",
                                     extra=variant)
            return self.complete(200, json.dumps(completion(request, endpoint, cid)).encode(), extra=variant)
        data = sse_bytes(request, endpoint, cid) if request.get("stream") else \
            json.dumps(completion(request, endpoint, cid)).encode()
        self.start_stream(EVENTSTREAM, extra=[*variant, ("X-Amzn-SageMaker-Content-Type",
                                                         "text/event-stream" if request.get("stream") else "application/json")])
        mock.parts.append([data[i:i + PART_BYTES] for i in range(0, len(data), PART_BYTES)])
        for part in mock.parts[-1]:
            self.send_event(payload_part(part))
        self.end_stream()


class MockSageMaker(MockServer):
    """The mock SageMaker runtime: endpoint `url` (boto3's `endpoint_url`, a channel's `base_url`).
    `parts` holds, per streamed answer, the payload bytes of each PayloadPart frame sent."""

    handler = _Handler
    request_id_prefix = "7c1e9b2d-mock-4f3a-8d6e-"

    def __init__(self, access_key_id: str, secret_access_key: str, region: str = "us-east-1") -> None:
        super().__init__(api_key=access_key_id)
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.region = region
        self.signature_failures: list[str] = []
        self.parts: list[list[bytes]] = []

    def clear(self) -> None:
        super().clear()
        self.signature_failures.clear()
        self.parts.clear()
