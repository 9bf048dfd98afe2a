"""A mock of Google AI's Gemini API for Tollgate's end-to-end tests.

Routes: `POST /{v1beta|v1|v1alpha}/models/{model}:countTokens` (`{"totalTokens": N}`, N the
promptTokenCount of `usage_metadata`; `contents`, or a whole `generateContentRequest` whose `model`
is the URL's `models/{model}`), `:embedContent` / `:batchEmbedContents` (`embedding_values`;
a batch's requests must name the path's model, as Google checks), `:generateContent` and `:streamGenerateContent`
(`?alt=sse`: SSE events `data: {...}\\r\\n\\r\\n`; without it: one JSON array written piece by
piece, as Google does). Like the real API it wants a key in `x-goog-api-key` or `?key=` (missing:
403 PERMISSION_DENIED; wrong: 400 INVALID_ARGUMENT with reason API_KEY_INVALID, which is what
Google answers), and it validates bodies as Google does (400 INVALID_ARGUMENT with Google's
messages): unknown members anywhere in the request (`Invalid JSON payload received. Unknown name
...`, in camelCase or snake_case), empty `contents`, roles other than user/model, parts without
data (an empty `text` counts as none), function schemas with JSON-schema keys Gemini's `Schema`
lacks, and the function call/response turn order.

Answers (see `reply_text`, `usage_metadata`):
  - text: "Mock reply to: <last user text>", finishReason STOP;
  - with function declarations offered (mode not NONE) and no functionResponse in the last turn:
    one `functionCall` part {name: the first function, args: {"city": "Paris"}} (with a
    `thoughtSignature`, as Gemini 2.5 models send), finishReason STOP;
  - after a functionResponse: "Tool said: <compact JSON of its response>";
  - usageMetadata with `promptTokenCount` (which INCLUDES `cachedContentTokenCount`),
    `candidatesTokenCount`, `thoughtsTokenCount` (nonzero) and `totalTokenCount`.
A stream sends one word per event (with usage so far, as Gemini does); the last event carries the
finishReason and the full usage.

Magic models:
  gemini-bad-json     200 with a body that is not JSON (a stream: an event whose data is not JSON)
  gemini-cut-stream   a stream cut after its second event
  gemini-overloaded   503 UNAVAILABLE
  gemini-missing*     404 NOT_FOUND (as for a model that does not exist; a test may use its own
                      name, since a 404 opens that model's circuit in a shared gateway)
  gemini-safety       a candidate with no content and finishReason SAFETY
  gemini-max-tokens   finishReason MAX_TOKENS
Markers in the last user text: "[cut]" cuts an SSE stream of any model as `gemini-cut-stream` does.
"""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import unquote

from mock_server import MockHandler, MockServer, RecordedRequest  # noqa: F401 - re-exported

CACHED_TOKENS = 5
THOUGHTS_TOKENS = 7
FUNCTION_ARGS = {"city": "Paris"}
THOUGHT_SIGNATURE = base64.b64encode(b"\x0a\x22mock thought signature for the e2e tests").decode()
ROUTE = re.compile(r"^/(v1beta|v1|v1alpha)/((?:models|tunedModels)/[^/:]+):([A-Za-z]+)$")
STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
          500: "INTERNAL", 503: "UNAVAILABLE"}

# The fields each message of the request may have (camelCase; snake_case is accepted too).
FIELDS = {
    "request": {"contents", "tools", "toolConfig", "safetySettings", "systemInstruction", "generationConfig",
                "cachedContent", "model"},
    "content": {"parts", "role"},
    "part": {"text", "inlineData", "functionCall", "functionResponse", "fileData", "executableCode",
             "codeExecutionResult", "thought", "thoughtSignature", "videoMetadata", "partMetadata", "mediaResolution"},
    "tool": {"functionDeclarations", "googleSearchRetrieval", "codeExecution", "googleSearch", "urlContext",
             "computerUse", "fileSearch", "googleMaps"},
    "functionDeclaration": {"name", "description", "parameters", "parametersJsonSchema", "response",
                            "responseJsonSchema", "behavior"},
    "schema": {"type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems", "properties",
               "required", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
               "propertyOrdering", "default", "items", "minimum", "maximum"},
    "generationConfig": {"stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema",
                         "responseModalities", "candidateCount", "maxOutputTokens", "temperature", "topP", "topK",
                         "seed", "presencePenalty", "frequencyPenalty", "responseLogprobs", "logprobs",
                         "enableEnhancedCivicAnswers", "speechConfig", "thinkingConfig", "imageConfig",
                         "mediaResolution"},
    "toolConfig": {"functionCallingConfig", "retrievalConfig"},
    "functionCallingConfig": {"mode", "allowedFunctionNames"},
    "functionCall": {"id", "name", "args"},
    "functionResponse": {"id", "name", "response", "parts", "willContinue", "scheduling"},
    "inlineData": {"mimeType", "data"},
    "fileData": {"mimeType", "fileUri"},
}
DATA_FIELDS = ("text", "inlineData", "functionCall", "functionResponse", "fileData", "executableCode",
               "codeExecutionResult")
SCHEMA_TYPES = {"TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}


class InvalidArgument(Exception):
    pass


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def get(obj, name: str, default=None):
    """A member by its camelCase name, given in either spelling (as the real API accepts)."""
    if not isinstance(obj, dict):
        return default
    if name in obj:
        return obj[name]
    return obj.get(snake(name), default)


# --- the answers -----------------------------------------------------------------------------

def parts_text(parts) -> str:
    return " ".join(get(p, "text") for p in parts or [] if isinstance(get(p, "text"), str) and not get(p, "thought"))


def last_user_text(request: dict) -> str:
    for content in reversed(get(request, "contents") or []):
        if get(content, "role", "user") == "user" and parts_text(get(content, "parts")):
            return parts_text(get(content, "parts"))
    return ""


def embedding_values(text: str, dimensions: int) -> list[float]:
    """Deterministic, exactly representable (multiples of 1/16)."""
    seed = sum(text.encode())
    return [((seed * (i + 5)) % 33 - 16) / 16 for i in range(dimensions)]


def function_response(request: dict) -> dict | None:
    """The first functionResponse of the last turn, if it has one."""
    contents = get(request, "contents") or []
    if contents:
        for part in get(contents[-1], "parts") or []:
            response = get(part, "functionResponse")
            if response is not None:
                return response
    return None


def declarations(request: dict) -> list[dict]:
    found = []
    for tool in get(request, "tools") or []:
        found += get(tool, "functionDeclarations") or []
    return found


def wants_function_call(request: dict) -> bool:
    mode = get(get(get(request, "toolConfig") or {}, "functionCallingConfig") or {}, "mode") or "AUTO"
    return bool(declarations(request)) and mode.upper() != "NONE" and function_response(request) is None


def reply_text(request: dict) -> str:
    response = function_response(request)
    if response is not None:
        return f"Tool said: {json.dumps(get(response, 'response'), separators=(',', ':'), ensure_ascii=False)}"
    return f"Mock reply to: {last_user_text(request)}"


def function_call_part(request: dict) -> dict:
    return {"functionCall": {"name": declarations(request)[0]["name"], "args": FUNCTION_ARGS},
            "thoughtSignature": THOUGHT_SIGNATURE}


def usage_metadata(request: dict) -> dict:
    """Gemini's counts for this request: `promptTokenCount` already includes the cached tokens."""
    words = len(parts_text(get(get(request, "systemInstruction"), "parts")).split())
    for content in get(request, "contents") or []:
        for part in get(content, "parts") or []:
            text = get(part, "text")
            words += len(text.split()) if isinstance(text, str) else 3
    prompt = words + 6
    candidates = 6 if wants_function_call(request) else len(reply_text(request).split())
    return {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates + THOUGHTS_TOKENS,
        "cachedContentTokenCount": CACHED_TOKENS,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
        "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": CACHED_TOKENS}],
        "thoughtsTokenCount": THOUGHTS_TOKENS,
    }


def openai_usage(request: dict) -> dict:
    """What an OpenAI client should be told: thinking is output (and reasoning)."""
    usage = usage_metadata(request)
    completion = usage["candidatesTokenCount"] + usage["thoughtsTokenCount"]
    return {"prompt_tokens": usage["promptTokenCount"], "completion_tokens": completion,
            "total_tokens": usage["promptTokenCount"] + completion, "cached_tokens": usage["cachedContentTokenCount"],
            "reasoning_tokens": usage["thoughtsTokenCount"]}


def finish_reason(model: str) -> str:
    return {"gemini-safety": "SAFETY", "gemini-max-tokens": "MAX_TOKENS"}.get(model, "STOP")


def google_error(status: int, message: str, details: list | None = None) -> bytes:
    error = {"code": status, "message": message, "status": STATUS[status]}
    if details:
        error["details"] = details
    return json.dumps({"error": error}, indent=2).encode()


# --- validation (the messages are Google's) ---------------------------------------------------

def check_fields(obj, kind: str, where: str) -> None:
    if not isinstance(obj, dict):
        raise InvalidArgument(f"Invalid JSON payload received. Expected an object at '{where}'." if where else
                              "Invalid JSON payload received. Expected an object.")
    for name in obj:
        if camel(name) not in FIELDS[kind]:
            at = f" at '{where}'" if where else ""
            raise InvalidArgument(f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.')


def check_schema(schema, where: str) -> None:
    check_fields(schema, "schema", where)
    kind = get(schema, "type")
    if kind is not None and (not isinstance(kind, str) or kind.upper() not in SCHEMA_TYPES):
        raise InvalidArgument(f"Invalid JSON payload received. Invalid value at '{where}.type' ({json.dumps(kind)})")
    for name, sub in (get(schema, "properties") or {}).items():
        check_schema(sub, f"{where}.properties[{name}].value")
    if get(schema, "items") is not None:
        check_schema(get(schema, "items"), f"{where}.items")
    for i, sub in enumerate(get(schema, "anyOf") or []):
        check_schema(sub, f"{where}.any_of[{i}]")


def validate(request: dict) -> None:
    check_fields(request, "request", "")
    config = get(request, "generationConfig")
    if config is not None:
        check_fields(config, "generationConfig", "generation_config")
        temperature = get(config, "temperature")
        if temperature is not None and not 0 <= temperature <= 2:
            raise InvalidArgument("* GenerateContentRequest.generation_config.temperature: must be in the range [0.0, 2.0]\n")
        if get(config, "responseSchema") is not None:
            check_schema(get(config, "responseSchema"), "generation_config.response_schema")
    tool_config = get(request, "toolConfig")
    if tool_config is not None:
        check_fields(tool_config, "toolConfig", "tool_config")
        if get(tool_config, "functionCallingConfig") is not None:
            check_fields(get(tool_config, "functionCallingConfig"), "functionCallingConfig",
                         "tool_config.function_calling_config")
    for t, tool in enumerate(get(request, "tools") or []):
        check_fields(tool, "tool", f"tools[{t}]")
        for d, declaration in enumerate(get(tool, "functionDeclarations") or []):
            where = f"tools[{t}].function_declarations[{d}]"
            check_fields(declaration, "functionDeclaration", where)
            name = get(declaration, "name")
            if not isinstance(name, str) or not re.match(r"^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$", name):
                raise InvalidArgument(f"* GenerateContentRequest.{where}.name: Invalid function name. Must start with a "
                                      "letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), "
                                      "dots (.), colons (:), or dashes (-), with a maximum length of 64.\n")
            if get(declaration, "parameters") is not None:
                check_schema(get(declaration, "parameters"), f"{where}.parameters")
    system = get(request, "systemInstruction")
    if system is not None:
        check_fields(system, "content", "system_instruction")
        for p, part in enumerate(get(system, "parts") or []):
            check_part(part, f"system_instruction.parts[{p}]")
    contents = get(request, "contents")
    if not contents:
        raise InvalidArgument("* GenerateContentRequest.contents: contents is not specified\n")
    if not isinstance(contents, list):
        raise InvalidArgument("Invalid JSON payload received. Expected a list at 'contents'.")
    validate_turns(contents)


def check_part(part, where: str) -> None:
    check_fields(part, "part", where)
    present = [name for name in DATA_FIELDS if get(part, name) not in (None, "")]
    if not present:
        raise InvalidArgument(f"* GenerateContentRequest.{where}.data: required oneof field 'data' must have one initialized field\n")
    if len(present) > 1:
        raise InvalidArgument(f"Invalid JSON payload received. Oneof field 'data' is already set. "
                              f"Cannot set '{snake(present[1])}' at '{where}'")
    call = get(part, "functionCall")
    if call is not None:
        check_fields(call, "functionCall", f"{where}.function_call")
        if not isinstance(get(call, "name"), str) or not get(call, "name"):
            raise InvalidArgument(f"* GenerateContentRequest.{where}.function_call.name: Name cannot be empty.\n")
        if get(call, "args") is not None and not isinstance(get(call, "args"), dict):
            raise InvalidArgument(f"Invalid JSON payload received. Expected an object at '{where}.function_call.args'.")
    response = get(part, "functionResponse")
    if response is not None:
        check_fields(response, "functionResponse", f"{where}.function_response")
        if not isinstance(get(response, "name"), str) or not get(response, "name"):
            raise InvalidArgument(f"* GenerateContentRequest.{where}.function_response.name: Name cannot be empty.\n")
        if not isinstance(get(response, "response"), dict):
            raise InvalidArgument(f"Invalid JSON payload received. Expected an object at '{where}.function_response.response'.")
    for kind in ("inlineData", "fileData"):
        if get(part, kind) is not None:
            check_fields(get(part, kind), kind, f"{where}.{snake(kind)}")


def validate_turns(contents: list) -> None:
    previous_calls = 0  # function calls in the previous turn
    previous_role = None
    for c, content in enumerate(contents):
        where = f"contents[{c}]"
        check_fields(content, "content", where)
        role = get(content, "role") or "user"
        if role not in ("user", "model"):
            raise InvalidArgument("Please use a valid role: user, model.")
        parts = get(content, "parts")
        if not parts:
            raise InvalidArgument(f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.\n")
        for p, part in enumerate(parts):
            check_part(part, f"{where}.parts[{p}]")
        calls = sum(1 for part in parts if get(part, "functionCall") is not None)
        responses = sum(1 for part in parts if get(part, "functionResponse") is not None)
        if calls:
            if role != "model":
                raise InvalidArgument("Please ensure that function call turns come from the model.")
            if previous_role not in ("user", None) or previous_calls:
                raise InvalidArgument("Please ensure that function call turn comes immediately after a user turn "
                                      "or after a function response turn.")
        if responses:
            if not previous_calls:
                raise InvalidArgument("Please ensure that function response turn comes immediately after a "
                                      "function call turn.")
            if responses != previous_calls:
                raise InvalidArgument("Please ensure that the number of function response parts is equal to the "
                                      "number of function call parts of the function call turn.")
        elif previous_calls:
            raise InvalidArgument("Please ensure that function response turn comes immediately after a function call turn.")
        previous_calls, previous_role = calls, role


# --- the server ------------------------------------------------------------------------------

class _Handler(MockHandler):
    server_version = "scaffolding on HTTPServer2"
    sys_version = ""

    def provider_headers(self) -> list[tuple[str, str]]:
        return [("Vary", "Origin, X-Origin, Referer"), ("X-XSS-Protection", "0"), ("X-Frame-Options", "SAMEORIGIN"),
                ("X-Content-Type-Options", "nosniff"), ("Server-Timing", "gfet4t7; dur=321")]

    def error(self, status: int, message: str, details: list | None = None) -> None:
        self.complete(status, google_error(status, message, details), content_type="application/json; charset=UTF-8")

    def handle_request(self, method: str, body: bytes) -> None:
        mock: MockGemini = self.server.mock  # type: ignore[assignment]
        match = ROUTE.match(self.route)
        key = self.headers.get("x-goog-api-key") or self.query("key")
        if key is None:
            return self.error(403, "Method doesn't allow unregistered callers (callers without established identity). "
                                   "Please use API Key or other form of API consumer identity to call this API.")
        if key != mock.api_key:
            return self.error(400, "API key not valid. Please pass a valid API key.", [{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}])
        if method != "POST" or not match or match.group(3) not in ("generateContent", "streamGenerateContent", "countTokens",
                                                                    "embedContent", "batchEmbedContents"):
            return self.error(404, f"Method not found: {method} {self.route}")
        version, resource, rpc = match.group(1), unquote(match.group(2)), match.group(3)
        model = resource.split("/", 1)[1]
        if model.startswith("gemini-missing"):
            return self.error(404, f"{resource} is not found for API version {version}, or is not supported for "
                                   f"{rpc}. Call ListModels to see the list of available models and their supported methods.")
        try:
            request = json.loads(body)
        except ValueError as problem:
            return self.error(400, f"Invalid JSON payload received. {problem}")
        if rpc in ("embedContent", "batchEmbedContents"):
            return self.embed(request, resource, batch=rpc == "batchEmbedContents")
        if rpc == "countTokens":
            wrapped = get(request, "generateContentRequest")
            if wrapped is not None:
                if get(request, "contents") is not None:
                    return self.error(400, "* CountTokensRequest: only one of contents and generate_content_request may be set")
                if not isinstance(wrapped, dict) or get(wrapped, "model") != resource:
                    return self.error(400, "* GenerateContentRequest.model: the model must be the URL's, as models/{model}")
                request = {k: v for k, v in wrapped.items() if k != "model"}
        try:
            validate(request)
        except InvalidArgument as problem:
            return self.error(400, str(problem))
        if rpc == "countTokens":
            count = usage_metadata(request)["promptTokenCount"]
            return self.complete(200, json.dumps({"totalTokens": count, "promptTokensDetails": [
                {"modality": "TEXT", "tokenCount": count}]}).encode(), "application/json; charset=UTF-8")
        if model == "gemini-overloaded":
            return self.error(503, "The model is overloaded. Please try again later.")
        if rpc == "streamGenerateContent":
            return self.stream(request, model, sse=self.query("alt") == "sse")
        if model == "gemini-bad-json":
            return self.complete(200, b'{\n  "candidates": [\n    {\n      "content": {', "application/json; charset=UTF-8")
        answer = {
            "candidates": [self.candidate(request, model, self.answer_parts(request), finish_reason(model))],
            "usageMetadata": usage_metadata(request),
            "modelVersion": model,
            "responseId": self.response_id(),
        }
        self.complete(200, json.dumps(answer, indent=2, ensure_ascii=False).encode(), "application/json; charset=UTF-8")

    def embed(self, request: dict, resource: str, batch: bool) -> None:
        requests = get(request, "requests") if batch else [request]
        if not isinstance(requests, list) or not requests:
            return self.error(400, "* BatchEmbedContentsRequest.requests: contents is not specified")
        values = []
        for i, item in enumerate(requests):
            if batch and get(item, "model") != resource:
                return self.error(400, f"* BatchEmbedContentsRequest.requests[{i}].model: the model must match the URL's")
            text = parts_text(get(get(item, "content") or {}, "parts"))
            if not text:
                return self.error(400, f"* {'BatchEmbedContentsRequest.requests[%d].' % i if batch else 'EmbedContentRequest.'}content: contents is not specified")
            values.append({"values": embedding_values(text, get(item, "outputDimensionality") or 8)})
        answer = {"embeddings": values} if batch else {"embedding": values[0]}
        self.complete(200, json.dumps(answer, indent=2).encode(), "application/json; charset=UTF-8")

    def response_id(self) -> str:
        return f"mockResp{self.request_id.rsplit('_', 1)[-1]}"

    def answer_parts(self, request: dict) -> list[dict]:
        return [function_call_part(request)] if wants_function_call(request) else [{"text": reply_text(request)}]

    @staticmethod
    def candidate(request: dict, model: str, parts: list[dict], finish: str | None) -> dict:
        if finish == "SAFETY":
            return {"finishReason": "SAFETY", "index": 0, "safetyRatings": [
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}]}
        candidate: dict = {"content": {"parts": parts, "role": "model"}}
        if finish:
            candidate["finishReason"] = finish
        candidate["index"] = 0
        return candidate

    def stream_pieces(self, request: dict, model: str) -> list[dict]:
        usage = usage_metadata(request)
        so_far = {k: usage[k] for k in ("promptTokenCount", "promptTokensDetails", "thoughtsTokenCount")}
        so_far["totalTokenCount"] = usage["promptTokenCount"] + usage["thoughtsTokenCount"]
        base = {"modelVersion": model, "responseId": self.response_id()}
        if wants_function_call(request) or finish_reason(model) == "SAFETY":
            parts = self.answer_parts(request)
            return [{"candidates": [self.candidate(request, model, parts, finish_reason(model))], "usageMetadata": usage, **base}]
        words = reply_text(request).split(" ")
        words = [words[0]] + [" " + w for w in words[1:]]
        pieces = []
        for i, word in enumerate(words):
            last = i == len(words) - 1
            pieces.append({"candidates": [self.candidate(request, model, [{"text": word}], finish_reason(model) if last else None)],
                           "usageMetadata": usage if last else so_far, **base})
        return pieces

    def stream(self, request: dict, model: str, sse: bool) -> None:
        pieces = [json.dumps(p, separators=(",", ":"), ensure_ascii=False).encode() for p in self.stream_pieces(request, model)]
        if model == "gemini-bad-json":
            pieces = [pieces[0], b'{"candidates": [{"content": {"parts": [{"text": "tru']
        if not sse:  # a JSON array, written element by element (pretty, as Google does)
            self.start_stream("application/json; charset=UTF-8")
            pretty = [json.dumps(json.loads(p), indent=2, ensure_ascii=False).encode() if model != "gemini-bad-json" else p
                      for p in pieces]
            for i, element in enumerate(pretty):
                self.send_event((b"[" if i == 0 else b",\r\n") + element)
            self.send_event(b"]")
            return self.end_stream()
        self.start_stream("text/event-stream", extra=[("Content-Disposition", "attachment")])
        if model == "gemini-cut-stream" or "[cut]" in last_user_text(request):
            for piece in pieces[:2]:
                self.send_event(b"data: " + piece + b"\r\n\r\n")
            return self.cut()
        for piece in pieces:
            self.send_event(b"data: " + piece + b"\r\n\r\n")
        self.end_stream()


class MockGemini(MockServer):
    """The mock Gemini API: base URL `url` (clients add /v1beta/models/...)."""

    handler = _Handler
    request_id_prefix = "gemini_"


if __name__ == "__main__":  # manual use: python mock_gemini.py [api-key]
    import sys
    import threading

    mock = MockGemini(sys.argv[1] if len(sys.argv) > 1 else "AIza-mock").start()
    print(f"mock Gemini API on {mock.url} (key {mock.api_key})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        mock.stop()
