"""A mock of the Amazon Bedrock runtime's Converse API for Tollgate's end-to-end tests.

Routes: `POST /model/{modelId}/converse` (JSON) and `POST /model/{modelId}/converse-stream`
(`application/vnd.amazon.eventstream`); the model id comes percent-encoded (`...-v1%3A0`) and is
decoded. Also InvokeModel for Anthropic models: `POST /model/{modelId}/invoke` and
`/model/{modelId}/invoke-with-response-stream`, whose body is Anthropic's Messages body with
`anthropic_version: bedrock-2023-05-31` and neither `model` nor `stream` (400 `ValidationException`
otherwise; the rest validated as `mock_anthropic` does). The answer is an Anthropic message (usage
with NONZERO cache numbers, `mock_anthropic.message_usage`); the stream sends one `chunk` frame per
Anthropic event, its payload `{"bytes": "<base64 of the event JSON>", "p": ...}`, message_stop
carrying `amazon-bedrock-invocationMetrics` as the real service adds. And CountTokens:
`POST /model/{modelId}/count-tokens`, body `{"input": {...}}` holding exactly one of `converse`
(only `messages`, `system`, `toolConfig`, `additionalModelRequestFields`, validated as Converse) or
`invokeModel` (`{"body": "<base64 of an InvokeModel body>"}`, validated as InvokeModel), answered
`{"inputTokens": N}` with `count_tokens`; Anthropic models only (400 `ValidationException` "The
provided model doesn't support counting tokens." else). Anything else: 404
`UnknownOperationException`.

Every request must be signed with AWS Signature Version 4 for service `bedrock` in the mock's
region, with the mock's access key. The signature is RECOMPUTED with botocore's `SigV4Auth`
(canonical request, string to sign, signing key) from the request as received: method, raw path
(which SigV4 for non-S3 services encodes once more: `%3A` is signed as `%253A`), query, exactly the
headers named in `SignedHeaders`, and the SHA-256 of the body. 403 answers as AWS gives them:
`MissingAuthenticationTokenException` (no Authorization), `IncompleteSignatureException` (a
malformed one, or Host/X-Amz-Date not signed), `UnrecognizedClientException` (unknown key),
`InvalidSignatureException` (wrong scope, signature mismatch, clock skew over 15 minutes,
X-Amz-Content-SHA256 not the body's hash).

Bodies are validated as Converse does (400 `ValidationException`): `messages` required, no unknown
top-level members, roles user/assistant alternating and starting with user, known content block
types, `toolUse`/`toolResult` only with a `toolConfig`, every `toolResult` answering a `toolUse` of
the previous assistant turn, `inferenceConfig` members and ranges.

Answers (see `reply_text`, `converse_usage`):
  - text: "Mock reply to: <last user text>", `stopReason` "end_turn";
  - with `toolConfig` and no `toolResult` in the last message: one `toolUse` calling the first tool
    with {"city": "Paris"}, `stopReason` "tool_use";
  - after a `toolResult`: "Tool said: <its text>";
  - usage with NONZERO cache numbers: `inputTokens` excludes them (as Converse counts), and
    `totalTokens` is the sum of all four.
Streams follow the real event sequence, each event in one event-stream frame (prelude, CRC32s,
string headers `:event-type`, `:content-type`, `:message-type`, payload JSON carrying the `p`
padding member the real service adds): messageStart, [contentBlockStart for a toolUse],
contentBlockDelta ({"text"} or {"toolUse": {"input": <JSON piece>}}), contentBlockStop,
messageStop {stopReason}, metadata {usage, metrics}.

Magic model ids (after decoding):
  mock.throttled          429 ThrottlingException
  mock.stream-error       a stream that sends a `throttlingException` exception frame after messageStart
  mock.max-tokens         stopReason "max_tokens"
  mock.cut-stream         a stream cut after messageStart and the first text delta (chunked body unended)
  mock.bad-crc            a stream whose second frame has a wrong message CRC (then the rest, intact)
Markers in the last user text: "[split]" writes the stream in 7-byte HTTP chunks.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import struct
import zlib
from urllib.parse import unquote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

import mock_anthropic as ma
import mock_gemini as mg  # deterministic embedding values
from mock_server import MockHandler, MockServer, RecordedRequest  # noqa: F401 - re-exported

SERVICE = "bedrock"
CACHE_READ_TOKENS = 11
CACHE_WRITE_TOKENS = 4
LATENCY_MS = 321
TOOL_INPUT = {"city": "Paris"}
TOOL_USE_ID = "tooluse_MockWeatherCall0001"
# The pieces a streamed toolUse input arrives in.
TOOL_JSON_PIECES = ['{"city"', ': "Par', 'is"}']
MAX_SKEW = datetime.timedelta(minutes=15)
EVENTSTREAM = "application/vnd.amazon.eventstream"

TOP_LEVEL = {
    "messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig", "additionalModelRequestFields",
    "promptVariables", "additionalModelResponseFieldPaths", "requestMetadata", "performanceConfig",
}
INFERENCE = {"maxTokens", "temperature", "topP", "stopSequences"}
BLOCK_TYPES = {"text", "image", "document", "video", "toolUse", "toolResult", "guardContent", "cachePoint",
               "reasoningContent", "citationsContent"}
IMAGE_FORMATS = {"png", "jpeg", "gif", "webp"}
AUTH = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$")
ERROR_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"
STATUS = {"ValidationException": 400, "AccessDeniedException": 403, "ResourceNotFoundException": 404,
          "ThrottlingException": 429, "InternalServerException": 500, "UnknownOperationException": 404,
          "MissingAuthenticationTokenException": 403, "IncompleteSignatureException": 403,
          "UnrecognizedClientException": 403, "InvalidSignatureException": 403}


class Invalid(Exception):
    pass


# --- event-stream frames ------------------------------------------------------------------------

def encode_headers(headers: list[tuple[str, str]]) -> bytes:
    out = b""
    for name, value in headers:
        n, v = name.encode(), value.encode()
        out += struct.pack(">B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v  # 7: string
    return out


def frame(headers: list[tuple[str, str]], payload: bytes) -> bytes:
    """One event-stream message: total length, headers length, prelude CRC, headers, payload, message CRC."""
    head = encode_headers(headers)
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + head + payload
    return message + struct.pack(">I", zlib.crc32(message) & 0xFFFFFFFF)


def decode_frames(raw: bytes) -> list[tuple[dict[str, str], bytes]]:
    """The (headers, payload) of each frame in `raw`, checking both CRCs (for tests)."""
    frames = []
    while raw:
        total, head_len, prelude_crc = struct.unpack(">III", raw[:12])
        assert zlib.crc32(raw[:8]) & 0xFFFFFFFF == prelude_crc, "bad prelude CRC"
        message = raw[:total]
        assert zlib.crc32(message[:-4]) & 0xFFFFFFFF == struct.unpack(">I", message[-4:])[0], "bad message CRC"
        headers, i, head = {}, 0, message[12:12 + head_len]
        while i < len(head):
            n = head[i]
            name = head[i + 1:i + 1 + n].decode()
            i += 1 + n
            assert head[i] == 7, "only string headers expected"
            (length,) = struct.unpack(">H", head[i + 1:i + 3])
            headers[name] = head[i + 3:i + 3 + length].decode()
            i += 3 + length
        frames.append((headers, message[12 + head_len:-4]))
        raw = raw[total:]
    return frames


def padding(payload: dict) -> str:
    """The real service pads every event with a `p` member of varying length (letters and digits)."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return alphabet[:(len(json.dumps(payload)) * 7) % len(alphabet) + 1]


def event(name: str, payload: dict) -> bytes:
    body = dict(payload)
    body["p"] = padding(payload)
    return frame([(":event-type", name), (":content-type", "application/json"), (":message-type", "event")],
                 json.dumps(body, separators=(",", ":")).encode())


def exception_frame(name: str, message: str) -> bytes:
    return frame([(":exception-type", name), (":content-type", "application/json"), (":message-type", "exception")],
                 json.dumps({"message": message}).encode())


# --- the answers -----------------------------------------------------------------------------

def text_of(content) -> str:
    parts = []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        if "text" in block:
            parts.append(block["text"])
        elif "toolResult" in block:
            parts.append(text_of(block["toolResult"].get("content")))
        elif "json" in block:
            parts.append(json.dumps(block["json"]))
        elif "toolUse" in block:
            parts.append(json.dumps(block["toolUse"].get("input")))
    return " ".join(p for p in parts if p)


def last_user_text(request: dict) -> str:
    for message in reversed(request.get("messages") or []):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def tool_result(request: dict) -> dict | None:
    messages = request.get("messages") or []
    if messages and messages[-1].get("role") == "user":
        for block in messages[-1].get("content") or []:
            if isinstance(block, dict) and "toolResult" in block:
                return block["toolResult"]
    return None


def wants_tool_use(request: dict) -> bool:
    return bool((request.get("toolConfig") or {}).get("tools")) and tool_result(request) is None


def reply_text(request: dict) -> str:
    result = tool_result(request)
    if result is not None:
        return f"Tool said: {text_of(result.get('content'))}"
    return f"Mock reply to: {last_user_text(request)}"


def tool_name(request: dict) -> str:
    return request["toolConfig"]["tools"][0]["toolSpec"]["name"]


def content_blocks(request: dict) -> list[dict]:
    if wants_tool_use(request):
        return [{"toolUse": {"toolUseId": TOOL_USE_ID, "name": tool_name(request), "input": TOOL_INPUT}}]
    return [{"text": reply_text(request)}]


def stop_reason(request: dict, model: str) -> str:
    if model == "mock.max-tokens":
        return "max_tokens"
    return "tool_use" if wants_tool_use(request) else "end_turn"


def converse_usage(request: dict) -> dict:
    """Converse's counts: `inputTokens` EXCLUDES the cache reads and writes; `totalTokens` has all."""
    words = sum(len(text_of([s]).split()) for s in request.get("system") or [])
    words += sum(len(text_of(m.get("content")).split()) for m in request.get("messages") or [])
    output = 9 if wants_tool_use(request) else len(reply_text(request).split())
    usage = {"inputTokens": words + 5, "outputTokens": output,
             "cacheReadInputTokens": CACHE_READ_TOKENS, "cacheWriteInputTokens": CACHE_WRITE_TOKENS}
    usage["totalTokens"] = sum(usage.values())
    return usage


def openai_usage(request: dict) -> dict:
    """What an OpenAI client should be told: the prompt counts cache reads and writes."""
    usage = converse_usage(request)
    prompt = usage["inputTokens"] + usage["cacheReadInputTokens"] + usage["cacheWriteInputTokens"]
    return {"prompt_tokens": prompt, "completion_tokens": usage["outputTokens"],
            "total_tokens": prompt + usage["outputTokens"], "cached_tokens": usage["cacheReadInputTokens"]}


# --- validation (the messages are Bedrock's) ---------------------------------------------------

def validate(request: dict) -> None:
    if "messages" not in request:
        raise Invalid("1 validation error detected: Value null at 'messages' failed to satisfy constraint: "
                      "Member must not be null")
    for name in request:
        if name not in TOP_LEVEL:
            raise Invalid(f"Unable to parse request body: unknown field '{name}'")
    messages = request["messages"]
    if not isinstance(messages, list):
        raise Invalid("Unable to parse request body: messages must be a list")
    if not messages:
        raise Invalid("A conversation must start with a user message. Try again with a conversation that starts "
                      "with a user message.")
    uses_tools = False
    previous_tool_ids: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise Invalid(f"1 validation error detected: Value '{role}' at 'messages.{i + 1}.member.role' failed to "
                          "satisfy constraint: Member must satisfy enum value set: [user, assistant]")
        if i == 0 and role != "user":
            raise Invalid("A conversation must start with a user message. Try again with a conversation that starts "
                          "with a user message.")
        if i > 0 and messages[i - 1].get("role") == role:
            raise Invalid("A conversation must alternate between user and assistant roles. Make sure the conversation "
                          "alternates between user and assistant roles and try again.")
        content = message.get("content")
        if not isinstance(content, list) or not content:
            raise Invalid(f"The content field in the Message object at messages.{i} is empty. Add a ContentBlock "
                          "object to the content field and try again.")
        tool_ids = set()
        for j, block in enumerate(content):
            if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in BLOCK_TYPES:
                raise Invalid(f"Unable to parse request body: messages.{i}.content.{j} is not a valid ContentBlock "
                              f"(exactly one of {sorted(BLOCK_TYPES)})")
            kind, value = next(iter(block.items()))
            if kind == "text" and (not isinstance(value, str) or not value):
                raise Invalid(f"messages.{i}.content.{j}.text: a text content block must be a non-empty string")
            if kind == "image":
                if value.get("format") not in IMAGE_FORMATS or "bytes" not in (value.get("source") or {}):
                    raise Invalid(f"messages.{i}.content.{j}.image: format and source.bytes are required")
            if kind == "toolUse":
                uses_tools = True
                if role != "assistant":
                    raise Invalid("toolUse content blocks can only be sent in assistant messages")
                if not {"toolUseId", "name", "input"} <= set(value):
                    raise Invalid(f"messages.{i}.content.{j}.toolUse: toolUseId, name and input are required")
                tool_ids.add(value["toolUseId"])
            if kind == "toolResult":
                uses_tools = True
                if role != "user":
                    raise Invalid("toolResult content blocks can only be sent in user messages")
                if value.get("toolUseId") not in previous_tool_ids:
                    raise Invalid("The toolUseId in a toolResult block must match a toolUse block of the previous "
                                  f"assistant turn: {value.get('toolUseId')!r}")
                if not isinstance(value.get("content"), list):
                    raise Invalid(f"messages.{i}.content.{j}.toolResult.content must be a list")
        previous_tool_ids = tool_ids
    if uses_tools and not request.get("toolConfig"):
        raise Invalid("The toolConfig field must be defined when using toolUse and toolResult content blocks.")
    system = request.get("system")
    if system is not None and (not isinstance(system, list) or not all(
            isinstance(b, dict) and len(b) == 1 and next(iter(b)) in ("text", "guardContent", "cachePoint")
            for b in system)):
        raise Invalid("Unable to parse request body: system must be a list of SystemContentBlock")
    inference = request.get("inferenceConfig")
    if inference is not None:
        for name in inference:
            if name not in INFERENCE:
                raise Invalid(f"Unable to parse request body: unknown field 'inferenceConfig.{name}'")
        if "maxTokens" in inference and (not isinstance(inference["maxTokens"], int) or inference["maxTokens"] < 1):
            raise Invalid("1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy "
                          "constraint: Member must have value greater than or equal to 1")
        if "temperature" in inference and not 0 <= inference["temperature"] <= 1:
            raise Invalid("1 validation error detected: Value at 'inferenceConfig.temperature' failed to satisfy "
                          "constraint: Member must have value less than or equal to 1")
        if "topP" in inference and not 0 <= inference["topP"] <= 1:
            raise Invalid("inferenceConfig.topP must be between 0 and 1")
        stops = inference.get("stopSequences")
        if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops)):
            raise Invalid("inferenceConfig.stopSequences must be a list of non-empty strings")
    tool_config = request.get("toolConfig")
    if tool_config is not None:
        tools = tool_config.get("tools")
        if not isinstance(tools, list) or not tools:
            raise Invalid("1 validation error detected: Value at 'toolConfig.tools' failed to satisfy constraint: "
                          "Member must have length greater than or equal to 1")
        for k, tool in enumerate(tools):
            spec = tool.get("toolSpec") if isinstance(tool, dict) else None
            if spec is None and isinstance(tool, dict) and "cachePoint" in tool:
                continue
            if not isinstance(spec, dict) or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", spec.get("name") or ""):
                raise Invalid(f"toolConfig.tools.{k}.toolSpec.name is missing or not [a-zA-Z0-9_-]{{1,64}}")
            schema = (spec.get("inputSchema") or {}).get("json")
            if not isinstance(schema, dict):
                raise Invalid(f"toolConfig.tools.{k}.toolSpec.inputSchema.json must be a JSON object")
            if schema.get("type") != "object":
                raise Invalid(f"The value at toolConfig.tools.{k}.toolSpec.inputSchema.json.type must be object")
        choice = tool_config.get("toolChoice")
        if choice is not None and (not isinstance(choice, dict) or len(choice) != 1
                                   or next(iter(choice)) not in ("auto", "any", "tool")):
            raise Invalid("toolConfig.toolChoice must be exactly one of auto, any, tool")


# --- SigV4 -------------------------------------------------------------------------------------

class _Recompute(SigV4Auth):
    """botocore's signer, signing exactly the headers the request says it signed."""

    def __init__(self, credentials, service, region, signed: list[str]):
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request):
        header_map = HTTPHeaders()
        for name, value in request.headers.items():
            if name.lower() in self._signed:
                header_map[name.lower()] = value
        return header_map


class SignatureProblem(Exception):
    def __init__(self, type_: str, message: str):
        super().__init__(message)
        self.type = type_


def verify_sigv4(method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, access_key: str,
                 secret_key: str, region: str, service: str = SERVICE, session_token: str | None = None,
                 now: datetime.datetime | None = None) -> None:
    """Raises `SignatureProblem` unless the request carries a valid SigV4 signature (botocore recomputes it)."""
    lower = {}
    for name, value in headers:
        lower.setdefault(name.lower(), []).append(value)
    authorization = (lower.get("authorization") or [None])[0]
    if not authorization:
        raise SignatureProblem("MissingAuthenticationTokenException", "Missing Authentication Token")
    match = AUTH.match(authorization.strip())
    if not match:
        raise SignatureProblem("IncompleteSignatureException",
                               f"Authorization header requires 'Credential', 'SignedHeaders' and 'Signature': {authorization}")
    credential, signed_headers, signature = match.groups()
    signed = signed_headers.split(";")
    if signed != sorted(signed) or "host" not in signed or "x-amz-date" not in signed:
        raise SignatureProblem("IncompleteSignatureException",
                               f"SignedHeaders must be sorted and include host and x-amz-date: {signed_headers}")
    for name in signed:
        if name not in lower:
            raise SignatureProblem("IncompleteSignatureException", f"Signed header {name!r} is not in the request")
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise SignatureProblem("IncompleteSignatureException", f"Credential is malformed: {credential}")
    key_id, date, cred_region, cred_service, _ = parts
    if key_id != access_key:
        raise SignatureProblem("UnrecognizedClientException", "The security token included in the request is invalid.")
    if session_token is not None and (lower.get("x-amz-security-token") or [None])[0] != session_token:
        raise SignatureProblem("UnrecognizedClientException", "The security token included in the request is invalid.")
    amz_date = lower["x-amz-date"][0]
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise SignatureProblem("IncompleteSignatureException", f"X-Amz-Date is not yyyyMMddTHHmmssZ: {amz_date}")
    if date != amz_date[:8] or cred_region != region or cred_service != service:
        raise SignatureProblem("InvalidSignatureException",
                               f"Credential should be scoped to a valid region/service/date: "
                               f"{date}/{cred_region}/{cred_service}, expected {amz_date[:8]}/{region}/{service}")
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if abs(now - when) > MAX_SKEW:
        raise SignatureProblem("InvalidSignatureException", f"Signature expired: {amz_date} is now earlier/later "
                                                            "than the allowed 15 minutes")
    if "x-amz-content-sha256" in lower and lower["x-amz-content-sha256"][0] != hashlib.sha256(body).hexdigest():
        raise SignatureProblem("InvalidSignatureException", "X-Amz-Content-SHA256 is not the payload's hash")
    host = lower["host"][0]
    signed_values = [(name, ",".join(v.strip() for v in lower[name])) for name in signed]
    request = AWSRequest(method=method, url=f"http://{host}{raw_path}", data=body, headers=dict(signed_values))
    request.context["timestamp"] = amz_date
    signer = _Recompute(Credentials(access_key, secret_key, session_token), service, region, signed)
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    expected = signer.signature(string_to_sign, request)
    if expected != signature:
        raise SignatureProblem("InvalidSignatureException",
                               "The request signature we calculated does not match the signature you provided. Check "
                               "your AWS Secret Access Key and signing method. Consult the service documentation for "
                               f"details.\n\nThe Canonical String for this request should have been\n'{canonical}'\n\n"
                               f"The String-to-Sign should have been\n'{string_to_sign}'\n")


# --- the server --------------------------------------------------------------------------------

ROUTE = re.compile(r"^/model/([^/]+)/(converse|converse-stream|invoke|invoke-with-response-stream|count-tokens)$")
COUNT_CONVERSE = {"messages", "system", "toolConfig", "additionalModelRequestFields"}
BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"
INVOKE_LATENCY_MS = 654


COHERE_DIMENSIONS = 1024


def embedding_family(model: str) -> str | None:
    """`titan` for Amazon Titan Text Embeddings, `cohere` for Cohere Embed, else None."""
    if "amazon.titan-embed" in model:
        return "titan"
    return "cohere" if "cohere.embed" in model else None


def validate_invoke(request: dict, model: str) -> None:
    """InvokeModel with an Anthropic body: Bedrock's own rules, then Anthropic's (as `mock_anthropic`)."""
    version = request.get("anthropic_version")
    if version != BEDROCK_ANTHROPIC_VERSION:
        raise Invalid(f"Malformed input request: #: required key [anthropic_version] not found or invalid "
                      f"({version!r}), please reformat your input and try again.")
    for name in ("model", "stream"):
        if name in request:
            raise Invalid(f"Malformed input request: #: extraneous key [{name}] is not permitted, please reformat "
                          "your input and try again.")
    betas = request.get("anthropic_beta")
    if betas is not None and (not isinstance(betas, list) or not all(isinstance(b, str) for b in betas)):
        raise Invalid("Malformed input request: #/anthropic_beta: expected type: JSONArray")
    rest = {k: v for k, v in request.items() if k not in ("anthropic_version", "anthropic_beta")}
    try:
        ma.validate({**rest, "model": model})
    except ma.InvalidRequest as problem:
        raise Invalid(str(problem))


def invoke_usage(request: dict) -> dict:
    """The Anthropic usage of an InvokeModel answer (`input_tokens` excludes the cache reads and writes)."""
    usage = ma.message_usage(request)
    usage.pop("service_tier", None)
    return usage


def invoke_openai_usage(request: dict) -> dict:
    return ma.openai_usage(request)


def invoke_message(request: dict, model: str, message_id: str) -> dict:
    stop = "max_tokens" if model == "mock.max-tokens" else ma.stop_reason(request)
    return {"id": message_id, "type": "message", "role": "assistant", "model": model,
            "content": ma.content_blocks(request), "stop_reason": stop, "stop_sequence": None,
            "usage": invoke_usage(request)}


def invoke_events(request: dict, model: str, message_id: str) -> list[dict]:
    """The Anthropic stream events of an InvokeModelWithResponseStream answer, in order."""
    message = invoke_message(request, model, message_id)
    usage = message["usage"]
    start_usage = dict(usage, output_tokens=1)
    events = [{"type": "message_start", "message": {**message, "content": [], "stop_reason": None,
                                                    "usage": start_usage}}]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
            words = block["text"].split(" ")
            for word in [words[0]] + [" " + w for w in words[1:]]:
                events.append({"type": "content_block_delta", "index": index,
                               "delta": {"type": "text_delta", "text": word}})
        else:
            events.append({"type": "content_block_start", "index": index, "content_block": {
                "type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})
            for piece in ma.TOOL_JSON_PIECES:
                events.append({"type": "content_block_delta", "index": index,
                               "delta": {"type": "input_json_delta", "partial_json": piece}})
        events.append({"type": "content_block_stop", "index": index})
    events.append({"type": "message_delta", "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                   "usage": {"output_tokens": usage["output_tokens"]}})
    events.append({"type": "message_stop", "amazon-bedrock-invocationMetrics": {
        "inputTokenCount": usage["input_tokens"], "outputTokenCount": usage["output_tokens"],
        "invocationLatency": INVOKE_LATENCY_MS, "firstByteLatency": 120}})
    return events


def count_tokens(counted: dict, kind: str) -> int:
    """What CountTokens answers: all the input tokens the same request would be charged for (a
    Converse answer's inputTokens plus its cache reads and writes; an InvokeModel answer's
    input_tokens plus its cache numbers, as `mock_anthropic.count_tokens`)."""
    if kind == "converse":
        usage = converse_usage(counted)
        return usage["inputTokens"] + usage["cacheReadInputTokens"] + usage["cacheWriteInputTokens"]
    return ma.count_tokens(counted)


def counted_input(request: dict, model: str) -> tuple[dict, str]:
    """The request a CountTokens body wraps, validated as its operation would, and its kind."""
    unknown = set(request) - {"input"}
    if unknown:
        raise Invalid(f"Malformed input request: extraneous key [{sorted(unknown)[0]}] is not permitted")
    members = request.get("input")
    if not isinstance(members, dict) or len(members) != 1 or next(iter(members)) not in ("converse", "invokeModel"):
        raise Invalid("input: exactly one of converse or invokeModel must be set")
    (kind, value), = members.items()
    if kind == "converse":
        if not isinstance(value, dict) or set(value) - COUNT_CONVERSE:
            raise Invalid("Malformed input request: input.converse takes messages, system, toolConfig and "
                          "additionalModelRequestFields only")
        validate(value)
        return value, kind
    if not isinstance(value, dict) or set(value) != {"body"} or not isinstance(value["body"], str):
        raise Invalid("input.invokeModel: body (a base64 blob) is required")
    try:
        body = json.loads(base64.b64decode(value["body"], validate=True))
    except ValueError as problem:
        raise Invalid(f"input.invokeModel.body is not a base64 JSON body: {problem}")
    if not isinstance(body, dict):
        raise Invalid("input.invokeModel.body must be a JSON object")
    validate_invoke(body, model)
    return body, kind


def chunk_frame(anthropic_event: dict) -> bytes:
    data = json.dumps(anthropic_event, separators=(",", ":"), ensure_ascii=False).encode()
    return event("chunk", {"bytes": base64.b64encode(data).decode()})


class _Handler(MockHandler):
    def provider_headers(self) -> list[tuple[str, str]]:
        return [("x-amzn-RequestId", self.request_id)]

    def error(self, type_: str, message: str, extra: list[tuple[str, str]] | None = None) -> None:
        body = json.dumps({"message": message}).encode()
        self.complete(STATUS[type_], body, extra=[("x-amzn-ErrorType", type_ + ERROR_SUFFIX), *(extra or [])])

    def handle_request(self, method: str, body: bytes) -> None:
        mock: MockBedrock = self.server.mock  # type: ignore[assignment]
        raw_path = urlsplit(self.path).path
        try:
            verify_sigv4(method, self.path, list(self.headers.items()), body, mock.access_key_id,
                         mock.secret_access_key, mock.region, session_token=mock.session_token)
        except SignatureProblem as problem:
            mock.signature_failures.append(str(problem))
            return self.error(problem.type, str(problem))
        match = ROUTE.match(raw_path)
        if method != "POST" or not match:
            return self.error("UnknownOperationException", "UnknownOperationException")
        model, operation = unquote(match.group(1)), match.group(2)
        try:
            request = json.loads(body)
        except ValueError as problem:
            return self.error("ValidationException", f"Unable to parse request body: {problem}")
        if not isinstance(request, dict):
            return self.error("ValidationException", "Unable to parse request body: expected an object")
        if operation == "count-tokens":
            return self.count(request, model)
        if operation == "invoke" and embedding_family(model):
            return self.embed(request, model)
        if operation.startswith("invoke"):
            return self.invoke(request, model, streamed=operation == "invoke-with-response-stream")
        try:
            validate(request)
        except Invalid as problem:
            return self.error("ValidationException", str(problem))
        if model == "mock.throttled":
            return self.error("ThrottlingException", "Too many requests, please wait before trying again.")
        if operation == "converse-stream":
            return self.stream(request, model)
        usage = converse_usage(request)
        answer = {
            "output": {"message": {"role": "assistant", "content": content_blocks(request)}},
            "stopReason": stop_reason(request, model),
            "usage": usage,
            "metrics": {"latencyMs": LATENCY_MS},
        }
        self.complete(200, json.dumps(answer, ensure_ascii=False).encode())

    def count(self, request: dict, model: str) -> None:
        """CountTokens: free, for Anthropic models only."""
        if model == "mock.throttled":
            return self.error("ThrottlingException", "Too many requests, please wait before trying again.")
        if "anthropic." not in model:
            return self.error("ValidationException", "The provided model doesn't support counting tokens.")
        try:
            counted, kind = counted_input(request, model)
        except Invalid as problem:
            return self.error("ValidationException", str(problem))
        self.complete(200, json.dumps({"inputTokens": count_tokens(counted, kind)}).encode())

    def embed(self, request: dict, model: str) -> None:
        """Titan Text Embeddings v2 and Cohere Embed as InvokeModel answers them."""
        if embedding_family(model) == "titan":
            text, dimensions = request.get("inputText"), request.get("dimensions", 1024)
            unknown = set(request) - {"inputText", "dimensions", "normalize", "embeddingTypes"}
            if not isinstance(text, str) or not text or unknown or dimensions not in (256, 512, 1024):
                return self.error("ValidationException", "Malformed input request: #: extraneous key or invalid inputText/dimensions")
            tokens = len(text.split())
            answer = {"embedding": mg.embedding_values(text, dimensions), "embeddingsByType": {"float": mg.embedding_values(text, dimensions)},
                      "inputTextTokenCount": tokens}
        else:
            texts, kind = request.get("texts"), request.get("input_type")
            if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts) or kind not in (
                    "search_document", "search_query", "classification", "clustering"):
                return self.error("ValidationException", "Malformed input request: texts and a valid input_type are required")
            tokens = sum(len(t.split()) for t in texts)
            answer = {"embeddings": [mg.embedding_values(t, COHERE_DIMENSIONS) for t in texts], "id": self.request_id,
                      "response_type": "embeddings_floats", "texts": texts}
        self.complete(200, json.dumps(answer).encode(), extra=[("X-Amzn-Bedrock-Input-Token-Count", str(tokens)),
                                                              ("X-Amzn-Bedrock-Invocation-Latency", str(INVOKE_LATENCY_MS))])

    def invoke(self, request: dict, model: str, streamed: bool) -> None:
        try:
            validate_invoke(request, model)
        except Invalid as problem:
            return self.error("ValidationException", str(problem))
        if model == "mock.throttled":
            return self.error("ThrottlingException", "Too many requests, please wait before trying again.")
        message_id = "msg_bdrk_" + self.request_id.replace("-", "")[-12:]
        usage = invoke_usage(request)
        metrics = [("X-Amzn-Bedrock-Input-Token-Count", str(usage["input_tokens"])),
                   ("X-Amzn-Bedrock-Invocation-Latency", str(INVOKE_LATENCY_MS))]
        if not streamed:
            answer = invoke_message(request, model, message_id)
            return self.complete(200, json.dumps(answer, ensure_ascii=False).encode(), extra=[
                *metrics, ("X-Amzn-Bedrock-Output-Token-Count", str(usage["output_tokens"]))])
        frames = [chunk_frame(e) for e in invoke_events(request, model, message_id)]
        self.start_stream(EVENTSTREAM, extra=[("X-Amzn-Bedrock-Content-Type", "application/json")])
        if model == "mock.stream-error":
            self.send_event(frames[0])
            self.send_event(exception_frame("throttlingException", "Too many tokens, please wait before trying again."))
            return self.end_stream()
        if "[split]" in ma.last_user_text(request):
            self.send_split(b"".join(frames))
            return self.end_stream()
        for raw in frames:
            self.send_event(raw)
        self.end_stream()

    def stream_events(self, request: dict, model: str) -> list[bytes]:
        events = [event("messageStart", {"role": "assistant"})]
        for index, block in enumerate(content_blocks(request)):
            if "text" in block:
                words = block["text"].split(" ")
                for word in [words[0]] + [" " + w for w in words[1:]]:
                    events.append(event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": word}}))
            else:
                use = block["toolUse"]
                events.append(event("contentBlockStart", {"contentBlockIndex": index, "start": {
                    "toolUse": {"toolUseId": use["toolUseId"], "name": use["name"]}}}))
                for piece in TOOL_JSON_PIECES:
                    events.append(event("contentBlockDelta", {"contentBlockIndex": index,
                                                              "delta": {"toolUse": {"input": piece}}}))
            events.append(event("contentBlockStop", {"contentBlockIndex": index}))
        events.append(event("messageStop", {"stopReason": stop_reason(request, model)}))
        events.append(event("metadata", {"usage": converse_usage(request), "metrics": {"latencyMs": LATENCY_MS}}))
        return events

    def stream(self, request: dict, model: str) -> None:
        events = self.stream_events(request, model)
        self.start_stream(EVENTSTREAM)
        if model == "mock.stream-error":
            self.send_event(events[0])
            self.send_event(exception_frame("throttlingException", "Too many tokens, please wait before trying again."))
            return self.end_stream()
        if model == "mock.cut-stream":
            self.send_event(events[0])
            self.send_event(events[1])
            return self.cut()
        if model == "mock.bad-crc":
            self.send_event(events[0])
            broken = events[1][:-4] + bytes(b ^ 0xFF for b in events[1][-4:])
            for raw in [broken, *events[2:]]:
                self.send_event(raw)
            return self.end_stream()
        if "[split]" in last_user_text(request):
            self.send_split(b"".join(events))
            return self.end_stream()
        for raw in events:
            self.send_event(raw)
        self.end_stream()


class MockBedrock(MockServer):
    """The mock Bedrock runtime: endpoint `url` (boto3's `endpoint_url`, a channel's `base_url`)."""

    handler = _Handler
    request_id_prefix = "5d3f0e1a-mock-4b2c-9a7e-"

    def __init__(self, access_key_id: str, secret_access_key: str, region: str = "us-east-1",
                 session_token: str | None = None) -> None:
        super().__init__(api_key=access_key_id)
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.region = region
        self.session_token = session_token
        self.signature_failures: list[str] = []

    def clear(self) -> None:
        super().clear()
        self.signature_failures.clear()


if __name__ == "__main__":  # manual use: python mock_bedrock.py [access-key-id secret-access-key]
    import sys
    import threading

    args = sys.argv[1:3] if len(sys.argv) > 2 else ["AKIAMOCKBEDROCK00001", "mock-secret"]
    mock = MockBedrock(*args).start()
    print(f"mock Bedrock runtime on {mock.url} (key {mock.access_key_id}, region {mock.region})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        mock.stop()
