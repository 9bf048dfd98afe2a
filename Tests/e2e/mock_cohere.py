"""A mock of Cohere's v2 Chat API (`POST /v2/chat`) for the `cohere` template's end-to-end tests.

Like the real API it wants `Authorization: Bearer <key>` (401 `{"id","message"}` otherwise),
refuses request fields Cohere's v2 chat does not know (400 with Cohere's message shape), and
answers in Cohere's own format: `message.content[{type: text, text}]`, an upper-case
`finish_reason`, usage in `billed_units` and `tokens`. A stream (`"stream": true`) is SSE with an
`event:` line and a JSON `data:` line per event (message-start, content-start, content-delta...,
content-end, message-end with finish_reason and usage), then `data: [DONE]`, as Cohere sends it.

Answers: "Cohere says: <last user text>", one content-delta per word. Magic models:
  command-cut     the stream is cut (socket closed) after the first content-delta
  command-empty   a complete answer with no content (as a tool call has), finish TOOL_CALL
Markers in the last user text: "[split]" writes the stream in 7-byte HTTP chunks.
"""

from __future__ import annotations

import json

from mock_server import MockHandler, MockServer

FIELDS = {"model", "messages", "stream", "tools", "strict_tools", "documents", "citation_options", "response_format",
          "safety_mode", "max_tokens", "stop_sequences", "temperature", "seed", "frequency_penalty", "presence_penalty",
          "k", "p", "logprobs", "tool_choice", "thinking"}
ROLES = {"system", "user", "assistant", "tool"}


def usage(request: dict) -> dict:
    words = len(reply_text(request).split())
    prompt = sum(len(str(m.get("content", "")).split()) for m in request["messages"])
    return {"billed_units": {"input_tokens": prompt, "output_tokens": words},
            "tokens": {"input_tokens": prompt + 64, "output_tokens": words}}


EMBED_FIELDS = {"model", "texts", "images", "inputs", "input_type", "embedding_types", "output_dimension", "max_tokens",
                "truncate"}
EMBED_DIMENSIONS = 8  # the mock's default (real models: 1024 or 1536)


def embedding_values(text: str, dimensions: int) -> list[float]:
    seed = sum(text.encode())
    return [((seed * (i + 7)) % 29 - 14) / 16 for i in range(dimensions)]


def embed_tokens(texts: list[str]) -> int:
    return sum(len(t.split()) for t in texts)


def last_user_text(request: dict) -> str:
    for message in reversed(request["messages"]):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
            return str(content)
    return ""


def reply_text(request: dict) -> str:
    return "Cohere says: " + last_user_text(request).replace("[split]", "").strip()


class CohereHandler(MockHandler):
    def provider_headers(self) -> list[tuple[str, str]]:
        return [("x-request-id", self.request_id), ("num_tokens", "0")]

    def error(self, status: int, message: str) -> None:
        self.complete(status, json.dumps({"id": self.request_id, "message": message}).encode())

    def handle_request(self, method: str, body: bytes) -> None:
        mock: MockCohere = self.server.mock  # type: ignore[assignment]
        if method != "POST" or self.route not in ("/v2/chat", "/v2/embed"):
            return self.error(404, "not found")
        if self.headers.get("Authorization") != f"Bearer {mock.api_key}":
            return self.error(401, "invalid api token")
        try:
            request = json.loads(body)
        except ValueError:
            return self.error(400, "invalid request: the body is not valid JSON")
        if self.route == "/v2/embed":
            return self.embed(request)
        unknown = sorted(set(request) - FIELDS)
        if unknown:
            return self.error(400, f"invalid request: unknown field: parameter '{unknown[0]}' is not a valid field")
        if not isinstance(request.get("model"), str):
            return self.error(400, "invalid request: model must be a string")
        messages = request.get("messages")
        if not isinstance(messages, list) or not messages:
            return self.error(400, "invalid request: messages must be a non-empty array")
        for message in messages:
            if message.get("role") not in ROLES:
                return self.error(400, f"invalid request: role '{message.get('role')}' is not one of system, user, assistant, tool")
        if "stop_sequences" in request and not isinstance(request["stop_sequences"], list):
            return self.error(400, "invalid request: stop_sequences must be an array of strings")
        if request.get("stream"):
            return self.stream(request)
        if request["model"] == "command-empty":
            answer = {"id": self.request_id, "finish_reason": "TOOL_CALL",
                      "message": {"role": "assistant", "content": [], "tool_calls": []}, "usage": usage(request)}
        else:
            answer = {"id": self.request_id, "finish_reason": "COMPLETE",
                      "message": {"role": "assistant", "content": [{"type": "text", "text": reply_text(request)}]},
                      "usage": usage(request)}
        self.complete(200, json.dumps(answer).encode())

    def embed(self, request: dict) -> None:
        """Cohere's v2 embed: `texts`, a required `input_type`, `embedding_types` (answered by type)."""
        unknown = sorted(set(request) - EMBED_FIELDS)
        if unknown:
            return self.error(400, f"invalid request: unknown field: parameter '{unknown[0]}' is not a valid field")
        texts, types = request.get("texts"), request.get("embedding_types") or ["float"]
        if not isinstance(request.get("model"), str) or not isinstance(texts, list) or not texts \
                or not all(isinstance(t, str) for t in texts):
            return self.error(400, "invalid request: model and a non-empty texts array are required")
        if request.get("input_type") not in ("search_document", "search_query", "classification", "clustering", "image"):
            return self.error(400, "invalid request: input_type is required for embed models v3 and higher")
        dimensions = request.get("output_dimension") or EMBED_DIMENSIONS
        answer = {"id": self.request_id, "texts": texts, "response_type": "embeddings_by_type",
                  "embeddings": {kind: [embedding_values(t, dimensions) for t in texts] for kind in types},
                  "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": embed_tokens(texts)}}}
        self.complete(200, json.dumps(answer).encode())

    def stream(self, request: dict) -> None:
        def event(name: str, data: dict) -> bytes:
            return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()

        split = "[split]" in last_user_text(request)
        send = (lambda raw: self.send_split(raw)) if split else self.send_event
        self.start_stream("text/event-stream")
        send(event("message-start", {"id": self.request_id, "type": "message-start", "delta": {"message": {
            "role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}}))
        send(event("content-start", {"type": "content-start", "index": 0,
                                     "delta": {"message": {"content": {"type": "text", "text": ""}}}}))
        words = reply_text(request).split(" ")
        for i, word in enumerate(words):
            piece = word if i == 0 else " " + word
            send(event("content-delta", {"type": "content-delta", "index": 0,
                                         "delta": {"message": {"content": {"text": piece}}}}))
            if request["model"] == "command-cut":
                return self.cut()
        send(event("content-end", {"type": "content-end", "index": 0}))
        send(event("message-end", {"type": "message-end",
                                   "delta": {"finish_reason": "COMPLETE", "usage": usage(request)}}))
        send(b"data: [DONE]\n\n")
        self.end_stream()


class MockCohere(MockServer):
    handler = CohereHandler
    request_id_prefix = "co_req_"
