"""Session fixtures: the mock OpenAI upstream, and the Tollgate binary configured to use it.

Environment:
  TOLLGATE_BIN   gateway executable (default: <repo>/.build/debug/tollgate)
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import tempfile
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from mock_openai import MockOpenAI

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO / ".build" / "debug" / "tollgate"
STARTUP_TIMEOUT_SECONDS = 60

CLIENT_KEY = "tg-e2e-client-key-0123456789abcdef"
RESTRICTED_KEY = "tg-e2e-restricted-key-0123456789"
CHANNEL_KEY = "sk-upstream-channel-key-e2e-42"
MAX_BODY_BYTES = 65536
# model_map: client-facing name -> name sent upstream
MAPPED_MODEL = "friendly-chat"
MAPPED_UPSTREAM_MODEL = "gpt-4o-mini-2024-07-18"
OPENAI_CHANNEL = "mock-openai"
MOCK_CHANNEL = "builtin-mock"
DEAD_CHANNEL = "dead-upstream"
DEAD_MODEL = "dead-model"

BANNER = re.compile(r"Tollgate listening on (http://\S+)")


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(directory: Path, mock: MockOpenAI, dead_port: int) -> Path:
    config = textwrap.dedent(f"""\
        # Written by Tests/e2e/conftest.py
        listen: 127.0.0.1:0
        data_dir: {directory / "data"}
        limits:
          max_body_bytes: {MAX_BODY_BYTES}
        upstream:
          connect_timeout: 5s
          response_timeout: 60s
          read_timeout: 60s
        keys:
          - name: e2e
            key: {CLIENT_KEY}
          - name: e2e-restricted
            key: {RESTRICTED_KEY}
            models: ["mock-*"]
        channels:
          - name: {OPENAI_CHANNEL}
            provider: openai
            base_url: {mock.base_url}
            credentials:
              api_key: {CHANNEL_KEY}
            models: ["gpt-*", "text-embedding-*", "hold-back", "fail-500", "cut-stream"]
            model_map:
              {MAPPED_MODEL}: {MAPPED_UPSTREAM_MODEL}
          - name: {MOCK_CHANNEL}
            provider: mock
            models: [mock-echo]
          - name: {DEAD_CHANNEL}
            provider: openai
            base_url: http://127.0.0.1:{dead_port}/v1
            credentials:
              api_key: sk-dead-upstream-key
            models: [{DEAD_MODEL}]
        """)
    path = directory / "tollgate.yaml"
    path.write_text(config)
    return path


@dataclass
class Gateway:
    process: subprocess.Popen
    url: str
    config_path: Path
    stderr_path: Path
    client_key: str = CLIENT_KEY
    restricted_key: str = RESTRICTED_KEY

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError as error:
            return f"(cannot read {self.stderr_path}: {error})"

    def alive(self) -> bool:
        return self.process.poll() is None


_gateway: Gateway | None = None


def _start_gateway(binary: str, config_path: Path, stderr_path: Path) -> Gateway:
    stderr_file = open(stderr_path, "wb")
    env = dict(os.environ)
    env.setdefault("TOLLGATE_LOG_LEVEL", "debug")
    process = subprocess.Popen([binary, "serve", "--config", str(config_path)], stdout=subprocess.PIPE,
                               stderr=stderr_file, env=env, cwd=config_path.parent)
    stderr_file.close()
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:  # keeps stdout drained for the whole session
        assert process.stdout is not None
        for raw in process.stdout:
            lines.put(raw.decode(errors="replace"))
        lines.put(None)

    threading.Thread(target=pump, name="tollgate-stdout", daemon=True).start()
    seen = []
    while True:
        try:
            line = lines.get(timeout=STARTUP_TIMEOUT_SECONDS)
        except queue.Empty:
            line = None
            process.kill()
        if line is None:
            process.wait()
            raise RuntimeError(
                f"tollgate did not print its banner (exit status {process.returncode}).\n"
                f"stdout:\n{''.join(seen)}\nstderr:\n{stderr_path.read_text(errors='replace')}")
        seen.append(line)
        match = BANNER.search(line)
        if match:
            return Gateway(process=process, url=match.group(1).rstrip("/"), config_path=config_path, stderr_path=stderr_path)


def _stop_gateway(gateway: Gateway) -> None:
    if gateway.alive():
        gateway.process.send_signal(signal.SIGTERM)
        try:
            gateway.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            gateway.process.kill()
            gateway.process.wait()


@pytest.fixture(scope="session")
def mock_upstream():
    mock = MockOpenAI(api_key=CHANNEL_KEY).start()
    yield mock
    mock.stop()


@pytest.fixture(scope="session")
def gateway(mock_upstream, tmp_path_factory):
    global _gateway
    binary = os.environ.get("TOLLGATE_BIN", str(DEFAULT_BIN))
    if not os.access(binary, os.X_OK):
        pytest.exit(f"tollgate binary not found at {binary} (build with `swift build` or set TOLLGATE_BIN)", returncode=2)
    directory = tmp_path_factory.mktemp("tollgate")
    config_path = write_config(directory, mock_upstream, closed_port())
    try:
        _gateway = _start_gateway(binary, config_path, directory / "tollgate.stderr.log")
    except RuntimeError as error:
        pytest.exit(str(error), returncode=3)
    yield _gateway
    _stop_gateway(_gateway)


@pytest.fixture(autouse=True)
def _fresh_mock_and_live_gateway(request, mock_upstream):
    """Each test starts with an empty request record; a gateway crash fails the test that caused it."""
    mock_upstream.clear()
    uses_gateway = "gateway" in request.fixturenames
    if uses_gateway:
        gw = request.getfixturevalue("gateway")
        assert gw.alive(), f"tollgate is not running (exit status {gw.process.returncode})"
    yield
    if uses_gateway:
        gw = request.getfixturevalue("gateway")
        assert gw.alive(), f"tollgate exited during this test (status {gw.process.returncode})"


@pytest.fixture
def http(gateway):
    """A raw httpx client for the gateway (no credentials attached)."""
    with httpx.Client(base_url=gateway.url, timeout=httpx.Timeout(30.0)) as client:
        yield client


@pytest.fixture
def auth(gateway) -> dict:
    return {"Authorization": f"Bearer {gateway.client_key}"}


class SDK:
    """The official OpenAI client pointed at the gateway, recording every request it sends."""

    def __init__(self, gateway: Gateway, api_key: str | None = None, **kwargs) -> None:
        self.sent: list[httpx.Request] = []
        self.http = httpx.Client(event_hooks={"request": [self.sent.append]}, timeout=httpx.Timeout(30.0))
        self.client = OpenAI(base_url=gateway.v1, api_key=api_key or gateway.client_key, http_client=self.http,
                             max_retries=0, **kwargs)

    def last_sent(self) -> httpx.Request:
        assert self.sent, "the SDK sent nothing"
        return self.sent[-1]

    def close(self) -> None:
        self.client.close()
        self.http.close()


@pytest.fixture
def sdk(gateway):
    client = SDK(gateway)
    yield client
    client.close()


@pytest.fixture
def make_sdk(gateway):
    made: list[SDK] = []

    def make(**kwargs) -> SDK:
        client = SDK(gateway, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """On failure, show the gateway's stderr (its log) after the test report."""
    if _gateway is None or exitstatus == 0:
        return
    terminalreporter.section("tollgate stderr")
    text = _gateway.stderr()
    limit = 60_000
    if len(text) > limit:
        terminalreporter.write_line(f"... (first {len(text) - limit} characters cut; full log: {_gateway.stderr_path})")
        text = text[-limit:]
    terminalreporter.write(text)
    terminalreporter.write_line(f"config: {_gateway.config_path}")
