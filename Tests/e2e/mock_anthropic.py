"""A mock of Anthropic's Messages API for Tollgate's end-to-end tests.

Routes: `POST /v1/messages`, and `POST /v1/messages/count_tokens` (`{"input_tokens": N}`, N as
`count_tokens` computes it; the same validation, but `max_tokens` is neither required nor allowed)
(anything else: 404 `not_found_error`). Like the real API it wants the
API key in `x-api-key` or as `Authorization: Bearer` (the anthropic SDK 2.x sends the latter; 401
`authentication_error` when missing or wrong) and `anthropic-version` (400 when missing or
unknown), and it validates the body the way Anthropic does (400 `invalid_request_error`
with Anthropic's messages): required `model`/`max_tokens`/`messages`, no unknown top-level members,
roles, non-empty content, known block types, every `tool_use` answered by a `tool_result` in the
next message and every `tool_result` matching a `tool_use` of the previous one, tool definitions
with an object `input_schema`, `tool_choice`, `temperature` in [0, 1].

Answers (see `reply_text`, `message_usage`):
  - text: "Mock reply to: <last user text>", `stop_reason` "end_turn";
  - with `tools` offered (and `tool_choice` not "none") and no `tool_result` in the last message:
    one `tool_use` block calling the first tool with {"city": "Paris"}, `stop_reason` "tool_use"
    ("[preamble]" in the user text puts a text block before it, as Claude often does);
  - after a `tool_result`: "Tool said: <its content>";
  - usage with NONZERO cache numbers: `input_tokens` excludes them, as Anthropic counts.
Streams (`"stream": true`) follow the real event sequence: message_start, content_block_start,
ping, content_block_delta (text_delta, or input_json_delta pieces starting with an empty one),
content_block_stop, message_delta (stop_reason, usage.output_tokens), message_stop.

Magic models:
  claude-bad-json       200 with a body that is not JSON (a stream: an event whose data is not JSON)
  claude-cut-stream     a stream cut after the first text delta (socket closed, chunked body unended)
  claude-stream-error   a stream that sends an `error` event (overloaded_error) after message_start
  claude-odd-stop       stop_reason "mock_future_reason" (one Anthropic has not invented yet)
  claude-max-tokens     stop_reason "max_tokens"
  claude-overloaded     529 overloaded_error
  claude-rate-limited   429 rate_limit_error (with retry-after)
Markers in the last user text: "[split]" writes the stream in 7-byte HTTP chunks; "[cut]" cuts a
stream of any model as `claude-cut-stream` does (so a priced model can be cut).
"""

from __future__ import annotations

import json
import re

from mock_server import MockHandler, MockServer, RecordedRequest  # noqa: F401 - re-exported

# 2026-10-21 is what the installed anthropic SDK (2.x) sends.
ANTHROPIC_VERSIONS = {"2023-01-01", "2023-06-01", "2026-10-21"}
CACHE_READ_TOKENS = 11
CACHE_CREATION_TOKENS = 4
TOOL_INPUT = {"city": "Paris"}
TOOL_USE_ID = "toolu_01MockWeatherCall0001"
PREAMBLE = "Let me check that."
ODD_STOP_REASON = "mock_future_reason"
# The pieces an input_json_delta stream carries (the real API starts with an empty one).
TOOL_JSON_PIECES = ["", '{"city"', ': "Par', 'is"}']

TOP_LEVEL = {
    "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream", "temperature", "top_p",
    "top_k", "tools", "tool_choice", "thinking", "service_tier", "container", "mcp_servers", "context_management",
    "output_format", "output_config", "inference_geo", "cache_control", "diagnostics", "speed", "user_profile_id",
    "workspace_id",
}
BLOCK_TYPES = {
    "text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking", "server_tool_use",
    "web_search_tool_result", "search_result", "container_upload", "mcp_tool_use", "mcp_tool_result",
}
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
ERROR_STATUS = {
    "invalid_request_error": 400, "authentication_error": 401, "permission_error": 403, "not_found_error": 404,
    "request_too_large": 413, "rate_limit_error": 429, "api_error": 500, "overloaded_error": 529,
}


class InvalidRequest(Exception):
    pass


# --- the answers -----------------------------------------------------------------------------

def text_of(content) -> str:
    """The text of a message's content (a string, or the text of its blocks)."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif block.get("type") == "tool_result":
            parts.append(text_of(block.get("content")))
        elif block.get("type") == "tool_use":
            parts.append(json.dumps(block.get("input")))
    return " ".join(p for p in parts if p)


def last_user_text(request: dict) -> str:
    for message in reversed(request.get("messages") or []):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def tool_result(request: dict) -> dict | None:
    """The first `tool_result` block of the last message, if it has one."""
    messages = request.get("messages") or []
    if messages and messages[-1].get("role") == "user" and isinstance(messages[-1].get("content"), list):
        for block in messages[-1]["content"]:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                return block
    return None


def wants_tool_use(request: dict) -> bool:
    choice = request.get("tool_choice") or {}
    return bool(request.get("tools")) and choice.get("type") != "none" and tool_result(request) is None


def reply_text(request: dict) -> str:
    result = tool_result(request)
    if result is not None:
        return f"Tool said: {text_of(result.get('content'))}"
    return f"Mock reply to: {last_user_text(request)}"


def reply_words(request: dict) -> list[str]:
    words = reply_text(request).split(" ")
    return [words[0]] + [" " + w for w in words[1:]]


def tool_use_block(request: dict) -> dict:
    return {"type": "tool_use", "id": TOOL_USE_ID, "name": request["tools"][0]["name"], "input": TOOL_INPUT}


def wants_preamble(request: dict) -> bool:
    return "[preamble]" in last_user_text(request)


def content_blocks(request: dict) -> list[dict]:
    if wants_tool_use(request):
        blocks = [{"type": "text", "text": PREAMBLE}] if wants_preamble(request) else []
        return blocks + [tool_use_block(request)]
    return [{"type": "text", "text": reply_text(request)}]


def stop_reason(request: dict) -> str:
    model = request.get("model")
    if model == "claude-odd-stop":
        return ODD_STOP_REASON
    if model == "claude-max-tokens":
        return "max_tokens"
    return "tool_use" if wants_tool_use(request) else "end_turn"


def message_usage(request: dict) -> dict:
    """Anthropic's counts for this request: `input_tokens` EXCLUDES the cache reads and writes."""
    system = request.get("system")
    words = len(text_of(system).split()) if system else 0
    words += sum(len(text_of(m.get("content")).split()) for m in request.get("messages") or [])
    output = 9 if wants_tool_use(request) else len(reply_text(request).split())
    return {
        "input_tokens": words + 5,
        "cache_creation_input_tokens": CACHE_CREATION_TOKENS,
        "cache_read_input_tokens": CACHE_READ_TOKENS,
        "output_tokens": output,
        "service_tier": "standard",
    }


def openai_usage(request: dict) -> dict:
    """What an OpenAI client should be told: the prompt counts cache reads and writes."""
    usage = message_usage(request)
    prompt = usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
    return {"prompt_tokens": prompt, "completion_tokens": usage["output_tokens"],
            "total_tokens": prompt + usage["output_tokens"], "cached_tokens": usage["cache_read_input_tokens"]}


def anthropic_error(type_: str, message: str, request_id: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": type_, "message": message}, "request_id": request_id}).encode()


# --- validation (the messages are Anthropic's) ------------------------------------------------

COUNT_TOP_LEVEL = {"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers", "context_management",
                   "output_format", "output_config", "cache_control"}


def count_tokens(request: dict) -> int:
    """What the counter answers: every input word, plus 5 (the same input count as a message's, caches included)."""
    usage = message_usage(request)
    return usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]


def validate(request: dict, counting: bool = False) -> None:
    for name in ("model", "messages") if counting else ("model", "max_tokens", "messages"):
        if name not in request:
            raise InvalidRequest(f"{name}: Field required")
    for name in request:
        if name not in (COUNT_TOP_LEVEL if counting else TOP_LEVEL):
            raise InvalidRequest(f"{name}: Extra inputs are not permitted")
    if counting:
        request = {**request, "max_tokens": 1}
    if not isinstance(request["model"], str) or not request["model"]:
        raise InvalidRequest("model: Input should be a valid string")
    if not isinstance(request["max_tokens"], int) or isinstance(request["max_tokens"], bool) or request["max_tokens"] < 1:
        raise InvalidRequest("max_tokens: Input should be greater than or equal to 1")
    temperature = request.get("temperature")
    if temperature is not None and not (0 <= temperature <= 1):
        raise InvalidRequest("temperature: Input should be less than or equal to 1")
    stops = request.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)):
        raise InvalidRequest("stop_sequences: Input should be a valid list of strings")
    system = request.get("system")
    if system is not None and not isinstance(system, str):
        if not isinstance(system, list) or not all(isinstance(b, dict) and b.get("type") == "text" for b in system):
            raise InvalidRequest("system: Input should be a valid string or a list of text blocks")
        for i, block in enumerate(system):
            if not isinstance(block.get("text"), str) or not block["text"]:
                raise InvalidRequest(f"system.{i}: text content blocks must be non-empty")
    validate_tools(request)
    validate_messages(request["messages"])


def validate_tools(request: dict) -> None:
    tools = request.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise InvalidRequest("tools: Input should be a valid list")
        for i, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise InvalidRequest(f"tools.{i}: Input should be a valid dictionary")
            if tool.get("type") not in (None, "custom"):
                continue  # a server tool (web_search_20250305, ...)
            if not isinstance(tool.get("name"), str) or not TOOL_NAME.match(tool["name"]):
                raise InvalidRequest(f"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
            schema = tool.get("input_schema")
            if schema is None:
                raise InvalidRequest(f"tools.{i}.custom.input_schema: Field required")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise InvalidRequest(f"tools.{i}.custom.input_schema.type: Input should be 'object'")
            for key in tool:
                if key not in ("type", "name", "description", "input_schema", "cache_control", "strict", "input_examples"):
                    raise InvalidRequest(f"tools.{i}.custom.{key}: Extra inputs are not permitted")
    choice = request.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
            raise InvalidRequest("tool_choice: Input tag found using 'type' does not match any of the expected tags: "
                                 "'auto', 'any', 'tool', 'none'")
        if choice["type"] == "tool" and not isinstance(choice.get("name"), str):
            raise InvalidRequest("tool_choice.tool.name: Field required")
        if not tools and choice["type"] != "none":
            raise InvalidRequest("tool_choice may only be specified while providing tools.")


def validate_messages(messages) -> None:
    if not isinstance(messages, list):
        raise InvalidRequest("messages: Input should be a valid list")
    if not messages:
        raise InvalidRequest("messages: at least one message is required")
    pending_tool_uses: tuple[int, list[str]] | None = None  # (message index, ids) awaiting results
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"messages.{i}: Input should be a valid dictionary")
        for key in message:
            if key not in ("role", "content"):
                raise InvalidRequest(f"messages.{i}.{key}: Extra inputs are not permitted")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise InvalidRequest(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        final_assistant = i == len(messages) - 1 and role == "assistant"
        if isinstance(content, str):
            blocks = [] if content == "" else [{"type": "text", "text": content}]
            if not content and not final_assistant:
                raise InvalidRequest("messages: all messages must have non-empty content except for the optional final assistant message")
        elif isinstance(content, list):
            blocks = content
            if not blocks and not final_assistant:
                raise InvalidRequest("messages: all messages must have non-empty content except for the optional final assistant message")
        else:
            raise InvalidRequest(f"messages.{i}.content: Input should be a valid string or list")
        results: list[str] = []
        uses: list[str] = []
        for j, block in enumerate(blocks):
            where = f"messages.{i}.content.{j}"
            if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
                kind = block.get("type") if isinstance(block, dict) else block
                raise InvalidRequest(f"{where}: Input tag '{kind}' found using 'type' does not match any of the expected tags")
            kind = block["type"]
            if kind == "text":
                if not isinstance(block.get("text"), str):
                    raise InvalidRequest(f"{where}.text.text: Field required")
                if not block["text"]:
                    raise InvalidRequest("messages: text content blocks must be non-empty")
            elif kind == "tool_use":
                if role != "assistant":
                    raise InvalidRequest(f"{where}: tool_use blocks may only be used in assistant messages")
                if not isinstance(block.get("id"), str) or not block["id"] or not isinstance(block.get("name"), str):
                    raise InvalidRequest(f"{where}.tool_use.id: Field required")
                if not isinstance(block.get("input"), dict):
                    raise InvalidRequest(f"{where}.tool_use.input: Input should be a valid dictionary")
                uses.append(block["id"])
            elif kind == "tool_result":
                if role != "user":
                    raise InvalidRequest(f"{where}: tool_result blocks may only be used in user messages")
                if not isinstance(block.get("tool_use_id"), str):
                    raise InvalidRequest(f"{where}.tool_result.tool_use_id: Field required")
                inner = block.get("content")
                if inner is not None and not isinstance(inner, (str, list)):
                    raise InvalidRequest(f"{where}.tool_result.content: Input should be a valid string or list")
                results.append(block["tool_use_id"])
            elif kind == "image":
                source = block.get("source") or {}
                if source.get("type") not in ("base64", "url", "file"):
                    raise InvalidRequest(f"{where}.image.source: Input tag does not match any of the expected tags")
        if pending_tool_uses is not None:
            missing = [u for u in pending_tool_uses[1] if u not in results]
            if missing:
                raise InvalidRequest(
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    f"{', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.")
        expected = pending_tool_uses[1] if pending_tool_uses else []
        for j, result_id in enumerate(results):
            if result_id not in expected:
                raise InvalidRequest(
                    f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {result_id}. "
                    "Each `tool_result` block must have a corresponding `tool_use` block in the previous message.")
        pending_tool_uses = (i, uses) if uses else None


# --- the server ------------------------------------------------------------------------------

def sse(name: str, data: dict | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return f"event: {name}\ndata: {payload}\n\n".encode()


class _Handler(MockHandler):
    server_version = "cloudflare"
    sys_version = ""

    def provider_headers(self) -> list[tuple[str, str]]:
        return [("request-id", self.request_id), ("anthropic-organization-id", "org-mock-e2e"),
                ("x-robots-tag", "none")]

    def error(self, type_: str, message: str, extra: list[tuple[str, str]] | None = None) -> None:
        self.complete(ERROR_STATUS[type_], anthropic_error(type_, message, self.request_id), extra=extra)

    def handle_request(self, method: str, body: bytes) -> None:
        mock: MockAnthropic = self.server.mock  # type: ignore[assignment]
        if method != "POST" or self.route not in ("/v1/messages", "/v1/messages/count_tokens"):
            return self.error("not_found_error", "Not found")
        # The API key comes as `x-api-key` (the classic way, and the claude plugin's) or as a bearer
        # token (what the anthropic SDK 2.x sends).
        bearer = self.headers.get("Authorization") or ""
        key = self.headers.get("x-api-key") or (bearer[7:] if bearer.lower().startswith("bearer ") else None)
        if key is None:
            return self.error("authentication_error", "x-api-key header is required")
        if key != mock.api_key:
            return self.error("authentication_error", "invalid x-api-key")
        version = self.headers.get("anthropic-version")
        if version is None:
            return self.error("invalid_request_error", "anthropic-version: header is required")
        if version not in ANTHROPIC_VERSIONS:
            return self.error("invalid_request_error", f"anthropic-version: {version!r} is not a valid version")
        try:
            request = json.loads(body)
        except ValueError as problem:
            return self.error("invalid_request_error", f"There was an error parsing the body: {problem}")
        if not isinstance(request, dict):
            return self.error("invalid_request_error", "Input should be a valid dictionary")
        counting = self.route == "/v1/messages/count_tokens"
        try:
            validate(request, counting)
        except InvalidRequest as problem:
            return self.error("invalid_request_error", str(problem))
        if counting:
            return self.complete(200, json.dumps({"input_tokens": count_tokens(request)}).encode())

        model = request["model"]
        if model == "claude-overloaded":
            return self.error("overloaded_error", "Overloaded", extra=[("x-should-retry", "true")])
        if model == "claude-rate-limited":
            return self.error("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit",
                              extra=[("retry-after", "17")])
        if request.get("stream"):
            return self.stream(request)
        if model == "claude-bad-json":
            return self.complete(200, b'{"id":"msg_bad","type":"message","content":[{"type":"text","text":"trunc')
        answer = {
            "id": f"msg_mock_{self.request_id}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content_blocks(request),
            "stop_reason": stop_reason(request),
            "stop_sequence": None,
            "usage": message_usage(request),
        }
        self.complete(200, json.dumps(answer, ensure_ascii=False).encode())

    def stream_events(self, request: dict) -> list[bytes]:
        usage = message_usage(request)
        start_usage = {k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")}
        start_usage.update(output_tokens=1, service_tier="standard")
        events = [sse("message_start", {"type": "message_start", "message": {
            "id": f"msg_mock_{self.request_id}", "type": "message", "role": "assistant", "model": request["model"],
            "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}})]
        for index, block in enumerate(content_blocks(request)):
            if block["type"] == "text":
                events.append(sse("content_block_start", {"type": "content_block_start", "index": index,
                                                          "content_block": {"type": "text", "text": ""}}))
                if index == 0:
                    events.append(sse("ping", '{"type": "ping"}'))
                words = block["text"].split(" ")
                for word in [words[0]] + [" " + w for w in words[1:]]:
                    events.append(sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                              "delta": {"type": "text_delta", "text": word}}))
            else:
                events.append(sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": {
                    "type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}}))
                if index == 0:
                    events.append(sse("ping", '{"type": "ping"}'))
                for piece in TOOL_JSON_PIECES:
                    events.append(sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                              "delta": {"type": "input_json_delta", "partial_json": piece}}))
            events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        events.append(sse("message_delta", {"type": "message_delta",
                                            "delta": {"stop_reason": stop_reason(request), "stop_sequence": None},
                                            "usage": {"output_tokens": usage["output_tokens"]}}))
        events.append(sse("message_stop", {"type": "message_stop"}))
        return events

    def stream(self, request: dict) -> None:
        model = request["model"]
        events = self.stream_events(request)
        self.start_stream("text/event-stream; charset=utf-8")
        if model == "claude-cut-stream" or "[cut]" in last_user_text(request):
            # message_start, content_block_start, ping, the first text delta; then the socket goes.
            for event in events[:4]:
                self.send_event(event)
            return self.cut()
        if model == "claude-stream-error":
            self.send_event(events[0])
            self.send_event(sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
                                          "request_id": self.request_id}))
            return self.end_stream()
        if model == "claude-bad-json":
            self.send_event(events[0])
            self.send_event(b'event: content_block_start\ndata: {"type":"content_block_start","index":0,\n\n')
            return self.end_stream()
        if "[split]" in last_user_text(request):
            self.send_split(b"".join(events))
            return self.end_stream()
        for event in events:
            self.send_event(event)
        self.end_stream()


class MockAnthropic(MockServer):
    """The mock Anthropic API: base URL `url` (the SDK and the claude plugin add /v1/messages)."""

    handler = _Handler
    request_id_prefix = "req_011CMock"


if __name__ == "__main__":  # manual use: python mock_anthropic.py [api-key]
    import sys
    import threading

    mock = MockAnthropic(sys.argv[1] if len(sys.argv) > 1 else "sk-ant-mock").start()
    print(f"mock Anthropic API on {mock.url} (key {mock.api_key})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        mock.stop()
