"""Small helpers shared by the end-to-end tests: SSE parsing and OpenAI error assertions."""

from __future__ import annotations

import json
import re
import time

import httpx


def parse_sse(raw: bytes) -> list[bytes]:
    """The `data:` payloads of an event stream, in order (multi-line data joined with LF)."""
    events: list[bytes] = []
    text = raw.replace(b"\r\n", b"\n")
    for block in text.split(b"\n\n"):
        data = [line[5:].lstrip(b" ") if line.startswith(b"data:") else None
                for line in block.split(b"\n") if line and not line.startswith(b":")]
        data = [d for d in data if d is not None]
        if data:
            events.append(b"\n".join(data))
    return events


EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def split_complete_events(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete raw events (with their blank-line terminator) at the front of `buffer`, and the rest."""
    events = []
    while True:
        end = EVENT_END.search(buffer)
        if not end:
            return events, buffer
        events.append(buffer[:end.end()])
        buffer = buffer[end.end():]


def json_events(payloads: list[bytes]) -> list[dict]:
    """Every payload but the final `[DONE]`, parsed."""
    return [json.loads(p) for p in payloads if p != b"[DONE]"]


def content_of(chunks: list[dict]) -> str:
    return "".join((c.get("choices") or [{}])[0].get("delta", {}).get("content") or "" for c in chunks if c.get("choices"))


def assert_openai_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The response is an OpenAI-style JSON error with the given status (and code), and has x-request-id."""
    body_text = response.text
    assert response.status_code == status, f"expected HTTP {status}, got {response.status_code}: {body_text[:500]}"
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    assert response.headers.get("x-request-id"), f"no x-request-id header in {dict(response.headers)}"
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    for member in ("message", "type", "code"):
        assert member in error, f"error body lacks '{member}': {body}"
    assert isinstance(error["message"], str) and error["message"], body
    assert isinstance(error["type"], str) and error["type"], body
    if code is not None:
        assert error["code"] == code, f"expected code {code!r}, got {error['code']!r}: {body}"
    return error


def eventually(check, seconds: float = 30, interval: float = 0.05) -> bool:
    """Whether `check()` came true before `seconds` passed (it is asked again every `interval`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return False
