"""OpenAI's Responses API (`POST /v1/responses`) as the mock OpenAI upstream answers it.

The wire format is OpenAI's: a Response object (`object: "response"`, `output` items of type
`message` with `output_text` parts, or `function_call`), usage as `input_tokens` (with
`input_tokens_details.cached_tokens`), `output_tokens` (with `output_tokens_details.reasoning_tokens`)
and `total_tokens`; a stream is `event: <type>` + `data: <json>` events, each with its
`sequence_number`: response.created, response.in_progress, then per item output_item.added,
content_part.added, output_text.delta..., output_text.done, content_part.done, output_item.done
(function calls: function_call_arguments.delta/.done), and response.completed. No `[DONE]`.

Answers: with function tools offered and no `function_call_output` last in the input, a call of the
first tool with TOOL_ARGUMENTS; after one, "Tool said: <its output>"; else "Mock reply to: <last
user text>". Usage: input words + 7 (3 of them cached), output words, 5 reasoning tokens.
"""

from __future__ import annotations

import json

TOOL_ARGUMENTS = '{"city": "Paris"}'
CACHED_TOKENS = 3
REASONING_TOKENS = 5
CREATED = 1_717_000_000


class BadRequest(Exception):
    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.param = param


def text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def validate(request: dict) -> None:
    """The checks OpenAI makes that matter here (400 with the parameter named)."""
    if not isinstance(request.get("model"), str):
        raise BadRequest("Missing required parameter: 'model'.", "model")
    items = request.get("input")
    if not isinstance(items, (str, list)):
        raise BadRequest("Invalid type for 'input': expected a string or an array of items.", "input")
    for i, item in enumerate(items if isinstance(items, list) else []):
        kind = item.get("type", "message") if isinstance(item, dict) else None
        if kind not in ("message", "function_call", "function_call_output", "reasoning", "item_reference"):
            raise BadRequest(f"Invalid value: '{kind}'. Supported values are: 'message', 'function_call', ...", f"input[{i}].type")
        if kind == "function_call_output" and not isinstance(item.get("call_id"), str):
            raise BadRequest(f"Missing required parameter: 'input[{i}].call_id'.", f"input[{i}].call_id")
    for i, tool in enumerate(request.get("tools") or []):
        if tool.get("type") == "function" and not isinstance(tool.get("name"), str):
            raise BadRequest(f"Missing required parameter: 'tools[{i}].name'.", f"tools[{i}].name")


def items_of(request: dict) -> list[dict]:
    raw = request.get("input")
    return [{"type": "message", "role": "user", "content": raw}] if isinstance(raw, str) else raw


def last_user_text(request: dict) -> str:
    for item in reversed(items_of(request)):
        if item.get("type", "message") == "message" and item.get("role") == "user":
            return text_of(item.get("content"))
    return ""


def function_tools(request: dict) -> list[dict]:
    return [t for t in request.get("tools") or [] if t.get("type") == "function"]


def wants_tool_call(request: dict) -> bool:
    items = items_of(request)
    return bool(function_tools(request)) and request.get("tool_choice") != "none" and not (
        items and items[-1].get("type") == "function_call_output")


def reply_text(request: dict) -> str:
    items = items_of(request)
    if items and items[-1].get("type") == "function_call_output":
        return f"Tool said: {text_of(items[-1].get('output'))}"
    return f"Mock reply to: {last_user_text(request)}"


def usage(request: dict, output_words: int) -> dict:
    words = len((request.get("instructions") or "").split())
    for item in items_of(request):
        words += len(text_of(item.get("content") if "content" in item else item.get("output", item.get("arguments", ""))).split())
    prompt = words + 7
    return {
        "input_tokens": prompt, "input_tokens_details": {"cached_tokens": CACHED_TOKENS},
        "output_tokens": output_words + REASONING_TOKENS, "output_tokens_details": {"reasoning_tokens": REASONING_TOKENS},
        "total_tokens": prompt + output_words + REASONING_TOKENS,
    }


def response_object(request: dict, response_id: str, status: str, output: list, usage_: dict | None) -> dict:
    return {
        "id": response_id, "object": "response", "created_at": CREATED, "status": status, "background": False,
        "error": None, "incomplete_details": None, "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"), "model": request.get("model"), "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True), "previous_response_id": request.get("previous_response_id"),
        "reasoning": request.get("reasoning") or {"effort": None, "summary": None}, "service_tier": "default",
        "store": request.get("store", True), "temperature": request.get("temperature", 1.0),
        "text": request.get("text") or {"format": {"type": "text"}}, "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools") or [], "top_p": request.get("top_p", 1.0), "truncation": "disabled",
        "usage": usage_, "user": None, "metadata": request.get("metadata") or {},
    }


def output_items(request: dict, n: int) -> tuple[list[dict], int]:
    """The finished output items and the number of output words."""
    if wants_tool_call(request):
        name = function_tools(request)[0]["name"]
        return [{"id": f"fc_mock_{n}", "type": "function_call", "status": "completed", "arguments": TOOL_ARGUMENTS,
                 "call_id": f"call_mock_{n}", "name": name}], 3
    text = reply_text(request)
    return [{"id": f"msg_mock_{n}", "type": "message", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}]}], len(text.split())


def complete(request: dict, n: int) -> bytes:
    output, words = output_items(request, n)
    answer = response_object(request, f"resp_mock_{n}", "completed", output, usage(request, words))
    # Not compact (indent, non-ASCII kept) so byte-for-byte passthrough shows.
    return json.dumps(answer, indent=1, ensure_ascii=False).encode()


def stream_events(request: dict, n: int) -> list[bytes]:
    """The whole event stream, one SSE event per element."""
    output, words = output_items(request, n)
    response_id = f"resp_mock_{n}"
    events: list[tuple[str, dict]] = []

    def add(kind: str, **fields) -> None:
        events.append((kind, {"type": kind, "sequence_number": len(events), **fields}))

    in_progress = response_object(request, response_id, "in_progress", [], None)
    add("response.created", response=in_progress)
    add("response.in_progress", response=in_progress)
    for index, item in enumerate(output):
        if item["type"] == "function_call":
            add("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "arguments": ""})
            half = len(item["arguments"]) // 2
            for piece in (item["arguments"][:half], item["arguments"][half:]):
                add("response.function_call_arguments.delta", item_id=item["id"], output_index=index, delta=piece)
            add("response.function_call_arguments.done", item_id=item["id"], output_index=index, name=item["name"],
                arguments=item["arguments"])
        else:
            text = item["content"][0]["text"]
            add("response.output_item.added", output_index=index, item={**item, "status": "in_progress", "content": []})
            empty = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            add("response.content_part.added", item_id=item["id"], output_index=index, content_index=0, part=empty)
            pieces = text.split(" ")
            for i, word in enumerate(pieces):
                add("response.output_text.delta", item_id=item["id"], output_index=index, content_index=0,
                    delta=word if i == 0 else " " + word, logprobs=[])
            add("response.output_text.done", item_id=item["id"], output_index=index, content_index=0, text=text, logprobs=[])
            add("response.content_part.done", item_id=item["id"], output_index=index, content_index=0, part=item["content"][0])
        add("response.output_item.done", output_index=index, item=item)
    add("response.completed", response=response_object(request, response_id, "completed", output, usage(request, words)))
    return [b"event: " + kind.encode() + b"\ndata: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
            for kind, data in events]
