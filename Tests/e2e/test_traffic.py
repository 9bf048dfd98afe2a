"""Traffic control through the real binary: failover before the first byte (a 429 on one channel,
one successful answer for the client), a request error returned unretried, a key's rate limit
answered as 429 with `retry-after` in the client's dialect (openai and anthropic SDKs), and keys
made and revoked with `tollgate keys` reaching the running gateway. Its own
gateway: two `openai` channels on two scripted upstreams (`flaky` first, `steady` as fallback)."""

from __future__ import annotations

import json
import subprocess
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anthropic
import httpx
import openai
import pytest

from conftest import _start_gateway, _stop_gateway, _gateway_binary

KEY = "tg-e2e-traffic-key-0123456789"
LIMITED_KEY = "tg-e2e-traffic-limited-0123456"
ADMIN_KEY = "tg-e2e-traffic-admin-0123456789"


class ScriptedUpstream:
    """An OpenAI-compatible upstream: answers 200 unless a scripted answer is queued."""

    def __init__(self) -> None:
        self.queued: list[tuple[int, dict, dict]] = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                with outer.lock:
                    outer.requests.append(body)
                    status, headers, answer = outer.queued.pop(0) if outer.queued else (200, {}, None)
                if answer is None:
                    answer = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": body.get("model"),
                              "choices": [{"index": 0, "message": {"role": "assistant", "content": "steady answer"},
                                           "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def next(self, status: int, answer: dict, headers: dict | None = None) -> None:
        with self.lock:
            self.queued.append((status, headers or {}, answer))

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def traffic(tmp_path_factory):
    flaky, steady = ScriptedUpstream(), ScriptedUpstream()
    directory = tmp_path_factory.mktemp("tollgate-traffic")
    config = directory / "tollgate.yaml"
    config.write_text(textwrap.dedent(f"""\
        listen: 127.0.0.1:0
        data_dir: {directory / "data"}
        admin_key: {ADMIN_KEY}
        pricing: {{ sync_url: off }}
        routing: {{ retries: 2 }}
        health: {{ probes: false }}
        keys:
          - {{ name: traffic, key: {KEY} }}
          - {{ name: limited, key: {LIMITED_KEY}, rpm: 2 }}
        channels:
          - {{ name: flaky, provider: openai, base_url: "{flaky.url}/v1", models: [gpt-4o, gpt-4o-mini], priority: 0 }}
          - {{ name: steady, provider: openai, base_url: "{steady.url}/v1", models: [gpt-4o, gpt-4o-mini], priority: 1 }}
        """))
    gateway = _start_gateway(_gateway_binary(), config, directory / "tollgate.stderr.log")
    yield gateway, flaky, steady
    _stop_gateway(gateway)
    flaky.stop()
    steady.stop()


def test_a_429_fails_over_and_the_client_sees_one_answer(traffic):
    gateway, flaky, steady = traffic
    flaky.next(429, {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
               {"retry-after": "20", "x-ratelimit-remaining-requests": "0"})
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=KEY, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    completion = raw.parse()
    assert completion.choices[0].message.content == "steady answer"
    assert raw.headers["x-tollgate-channel"] == "steady"
    assert len(flaky.requests) == 1 and len(steady.requests) == 1
    health = httpx.get(gateway.url + "/admin/health", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).json()
    flaky_health = next(c for c in health["channels"] if c["name"] == "flaky")
    model = next(m for m in flaky_health["models"] if m["model"] == "gpt-4o")
    assert model["status"] == "RateLimited" and model["retry_in_ms"] > 10_000
    assert model["breaker"]["state"] == "closed" and model["adaptive_limit"]["limit"] == 8


def test_a_request_error_is_not_retried(traffic):
    gateway, flaky, steady = traffic
    before = len(steady.requests)
    flaky.next(400, {"error": {"message": "Invalid value for 'temperature'", "type": "invalid_request_error",
                               "param": "temperature", "code": None}})
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", temperature=9, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.body["message"] == "Invalid value for 'temperature'"
    assert len(steady.requests) == before


def test_a_key_over_its_rate_limit_gets_429_with_retry_after_in_its_dialect(traffic):
    gateway, _, _ = traffic
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=LIMITED_KEY, max_retries=0)
    for _ in range(2):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert int(caught.value.response.headers["retry-after"]) >= 1
    assert caught.value.code == "rate_limit_exceeded"
    assert "requests per minute" in caught.value.body["message"]
    claude = anthropic.Anthropic(base_url=gateway.url, api_key=LIMITED_KEY, max_retries=0)
    with pytest.raises(anthropic.RateLimitError) as refused:
        claude.messages.create(model="gpt-4o-mini", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert int(refused.value.response.headers["retry-after"]) >= 1
    assert refused.value.body["error"]["type"] == "rate_limit_error"


def test_keys_made_with_the_cli_reach_the_running_gateway(traffic):
    gateway, _, _ = traffic
    binary, config = _gateway_binary(), str(gateway.config_path)
    made = subprocess.run([binary, "keys", "create", "--config", config, "--name", "cli-made", "--models", "gpt-4o-mini",
                           "--rpm", "100", "--expires", "30d"], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("tg-") and "shown only now" in made.stderr
    listed = subprocess.run([binary, "keys", "list", "--config", config, "--json"], capture_output=True, text=True, timeout=60)
    row = next(k for k in json.loads(listed.stdout) if k["name"] == "cli-made")
    assert row["rpm"] == 100 and row["models"] == ["gpt-4o-mini"] and key not in listed.stdout
    client = openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0)
    assert eventually(lambda: _status(client) == 200), "the running gateway did not pick the key up"
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    revoked = subprocess.run([binary, "keys", "revoke", "--config", config, "cli-made"], capture_output=True, text=True, timeout=60)
    assert revoked.returncode == 0, revoked.stderr
    assert eventually(lambda: _status(client) == 401), "the running gateway kept a revoked key"
    again = subprocess.run([binary, "keys", "create", "--config", config, "--name", "cli-made"], capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "already exists" in again.stderr


def _status(client: openai.OpenAI) -> int:
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        return 200
    except openai.APIStatusError as error:
        return error.status_code


def eventually(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False
