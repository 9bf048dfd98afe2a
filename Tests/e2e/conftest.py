"""Session fixtures: the mock OpenAI upstream, and the Tollgate binary configured to use it; a
second gateway (`dialect_gateway`) whose `claude` and `gemini` plugin channels point at the mock
Anthropic and Gemini APIs; a third (`bedrock_gateway`) with a `bedrock` channel on the mock Bedrock
runtime (SigV4 verified); a fourth (`vertex_gateway`) with a `vertex` channel on the mock Vertex AI,
whose service-account key is generated for the session.

Environment:
  TOLLGATE_BIN   gateway executable (default: <repo>/.build/debug/tollgate)
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
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

from mock_anthropic import MockAnthropic
from mock_bedrock import MockBedrock
from mock_cohere import MockCohere
from mock_gemini import MockGemini
from mock_openai import MockOpenAI
from mock_sagemaker import MockSageMaker
from mock_vertex import MockVertex

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

# The dialect gateway: plugin channels on the Anthropic and Gemini mocks.
ANTHROPIC_CHANNEL_KEY = "sk-ant-api03-upstream-channel-key-e2e"
GEMINI_CHANNEL_KEY = "AIzaSyUpstreamChannelKeyE2E0123456789"
CLAUDE_CHANNEL = "claude-upstream"
GEMINI_CHANNEL = "gemini-upstream"
CLAUDE_MAPPED_MODEL = "claude-friendly"
CLAUDE_MAPPED_UPSTREAM_MODEL = "claude-sonnet-4-5-20250929"
GEMINI_API_VERSION = "v1beta"

# The bedrock gateway: a `bedrock` plugin channel on the mock Bedrock runtime.
AWS_ACCESS_KEY_ID = "AKIAE2EMOCKBEDROCK01"
AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYE2EMOCKKEY"
AWS_REGION = "us-east-1"
BEDROCK_CHANNEL = "bedrock-upstream"
BEDROCK_MODEL_ID = "anthropic.claude-3-5-sonnet-20240620-v1:0"
BEDROCK_MAPPED_MODEL = "claude-on-bedrock"
# An inference profile ARN: its `/` and `:`s must be percent-encoded in the path (and signed so).
AWS_SESSION_TOKEN = "IQoJb3JpZ2luX2VjEE2EMockSessionToken//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+e2e/mock=="
BEDROCK_STS_CHANNEL = "bedrock-session"  # temporary credentials: models `sts.*`, on `mock_bedrock_sts`
BEDROCK_PROFILE_MODEL = "claude-profile"
BEDROCK_PROFILE_ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6"
# InvokeModel (`options.api: invoke`) on the same mock runtime, and a `sagemaker` channel.
BEDROCK_INVOKE_CHANNEL = "bedrock-invoke"
BEDROCK_INVOKE_MODEL = "claude-invoke"  # model_map -> BEDROCK_MODEL_ID
BEDROCK_INVOKE_PROFILE_ID = "us.anthropic.claude-sonnet-4-20250514-v1:0"  # served as is (`us.anthropic.*`)
BEDROCK_INVOKE_NON_ANTHROPIC = "llama-invoke"  # a Meta model on the invoke channel: refused, nothing sent
SAGEMAKER_CHANNEL = "sagemaker-upstream"
SAGEMAKER_ENDPOINT = "my-endpoint"

# The vertex gateway: a `vertex` plugin channel on the mock Vertex AI (and its token endpoint).
VERTEX_PROJECT = "tollgate-e2e-project"
VERTEX_LOCATION = "us-east5"
VERTEX_CHANNEL = "vertex-upstream"
VERTEX_MAPPED_MODEL = "flash-on-vertex"
VERTEX_MAPPED_UPSTREAM_MODEL = "gemini-2.5-flash"
VERTEX_CLAUDE_MAPPED_MODEL = "claude-on-vertex"
VERTEX_CLAUDE_UPSTREAM_MODEL = "claude-sonnet-4-5@20250929"

# The template gateway: channels on shipped templates (`cohere` on the mock Cohere v2 API,
# `deepseek` on the mock OpenAI upstream) and one waiting for a template written at run time.
COHERE_CHANNEL_KEY = "co-upstream-channel-key-e2e"
COHERE_CHANNEL = "cohere-upstream"
DEEPSEEK_CHANNEL = "deepseek-upstream"
ACME_CHANNEL = "acme-upstream"
VLLM_CHANNEL = "vllm-upstream"  # the `vllm` template on the mock OpenAI upstream (legacy completions)

BANNER = re.compile(r"Tollgate listening on (http://\S+)")
ADMIN_BANNER = re.compile(r"Admin and metrics on (http://\S+)")  # printed before BANNER


# Sockets holding the ports `closed_port` hands out, for the whole session.
_held_ports: list[socket.socket] = []


def closed_port() -> int:
    """A local port nothing listens on: bound without listening (a connection is refused) and
    held until the session ends. A port bound and released could be handed to a mock a later
    test starts (the dead channel then answered as the Bedrock mock)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    _held_ports.append(s)
    return s.getsockname()[1]


def write_config(directory: Path, mock: MockOpenAI, dead_port: int) -> Path:
    config = textwrap.dedent(f"""\
        # Written by Tests/e2e/conftest.py
        listen: 127.0.0.1:0
        data_dir: {directory / "data"}
        limits:
          max_body_bytes: {MAX_BODY_BYTES}
        pricing: {{ sync_url: off }}
        upstream:
          connect_timeout: 5s
          response_timeout: 60s
          read_timeout: 60s
        # These gateways pass upstream errors on, many times over, and tests count what the mocks
        # receive: breakers stay closed and no probes are sent (test_traffic.py and the Swift
        # suites cover both).
        health: {{ breaker_failures: 1000, probes: false }}
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
            options: {{ forward_openai_organization: "true" }}
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


def write_gateway_config(directory: Path, label: str, channels: str, settings: str = "", keys: str = "",
                         health: str = "") -> Path:
    """A gateway config with the shared settings (loopback, data dir, timeouts, prices offline, the
    e2e key) around `channels`, the YAML list items of the `channels:` key; `settings` adds
    top-level YAML (e.g. `admin_key:`, `ledger:`), `keys` more list items of `keys:`, `health`
    more entries of `health:` (e.g. `adaptive_start: 1000`)."""
    config = textwrap.dedent(f"""\
        # Written by Tests/e2e/conftest.py ({label})
        listen: 127.0.0.1:0
        data_dir: {directory / "data"}
        upstream:
          connect_timeout: 5s
          response_timeout: 60s
          read_timeout: 60s
        # These gateways pass upstream errors on, many times over, and tests count what the mocks
        # receive: breakers stay closed and no probes are sent (test_traffic.py and the Swift
        # suites cover both).
        health: {{ breaker_failures: 1000, probes: false{", " + health if health else ""} }}
        pricing: {{ sync_url: off }}
        """) + textwrap.dedent(settings) + textwrap.dedent(f"""\
        keys:
          - name: e2e
            key: {CLIENT_KEY}
        """) + textwrap.indent(textwrap.dedent(keys), "  ") + "channels:\n" + textwrap.indent(channels, "  ")
    path = directory / "tollgate.yaml"
    path.write_text(config)
    return path


def write_dialect_config(directory: Path, anthropic_mock: MockAnthropic, gemini_mock: MockGemini) -> Path:
    channels = textwrap.dedent(f"""\
          - name: {CLAUDE_CHANNEL}
            provider: claude
            base_url: {anthropic_mock.url}
            credentials:
              api_key: {ANTHROPIC_CHANNEL_KEY}
            models: ["claude-*"]
            model_map:
              {CLAUDE_MAPPED_MODEL}: {CLAUDE_MAPPED_UPSTREAM_MODEL}
          - name: {GEMINI_CHANNEL}
            provider: gemini
            base_url: {gemini_mock.url}
            credentials:
              api_key: {GEMINI_CHANNEL_KEY}
            options:
              api_version: {GEMINI_API_VERSION}
            models: ["gemini-*"]
        """)
    return write_gateway_config(directory, "the dialect gateway", channels)


def write_bedrock_config(directory: Path, bedrock_mock: MockBedrock, sts_mock: MockBedrock,
                         sagemaker_mock: MockSageMaker) -> Path:
    channels = textwrap.dedent(f"""\
          - name: {BEDROCK_CHANNEL}
            provider: bedrock
            base_url: {bedrock_mock.url}
            credentials:
              access_key_id: {AWS_ACCESS_KEY_ID}
              secret_access_key: {AWS_SECRET_ACCESS_KEY}
            options:
              region: {AWS_REGION}
            models: ["anthropic.*", "mock.*", "amazon.titan-embed-*", "cohere.embed-*"]
            model_map:
              {BEDROCK_MAPPED_MODEL}: "{BEDROCK_MODEL_ID}"
              {BEDROCK_PROFILE_MODEL}: "{BEDROCK_PROFILE_ARN}"
          - name: {BEDROCK_STS_CHANNEL}
            provider: bedrock
            base_url: {sts_mock.url}
            credentials:
              access_key_id: ASIAE2EMOCKSESSION01
              secret_access_key: {AWS_SECRET_ACCESS_KEY}
              session_token: "{AWS_SESSION_TOKEN}"
            options:
              region: eu-central-1
            models: ["sts.*"]
          - name: {BEDROCK_INVOKE_CHANNEL}
            provider: bedrock
            base_url: {bedrock_mock.url}
            credentials:
              access_key_id: {AWS_ACCESS_KEY_ID}
              secret_access_key: {AWS_SECRET_ACCESS_KEY}
            options:
              api: invoke
              region: {AWS_REGION}
            models: [{BEDROCK_INVOKE_MODEL}, "us.anthropic.*"]
            model_map:
              {BEDROCK_INVOKE_MODEL}: "{BEDROCK_MODEL_ID}"
              {BEDROCK_INVOKE_NON_ANTHROPIC}: "meta.llama3-70b-instruct-v1:0"
          - name: {SAGEMAKER_CHANNEL}
            provider: sagemaker
            base_url: {sagemaker_mock.url}
            credentials:
              access_key_id: {AWS_ACCESS_KEY_ID}
              secret_access_key: {AWS_SECRET_ACCESS_KEY}
            options:
              region: {AWS_REGION}
            models: [{SAGEMAKER_ENDPOINT}, missing-endpoint, failing-endpoint]
        """)
    return write_gateway_config(directory, "the bedrock gateway", channels)


def write_vertex_config(directory: Path, vertex_mock: MockVertex, service_account: dict) -> Path:
    key_json = json.dumps(service_account)  # one line; the PEM's line breaks are JSON escapes
    channels = textwrap.dedent(f"""\
          - name: {VERTEX_CHANNEL}
            provider: vertex
            base_url: {vertex_mock.url}
            credentials:
              service_account_json: |
                KEY_JSON
            options:
              project: {VERTEX_PROJECT}
              location: {VERTEX_LOCATION}
              token_uri: {vertex_mock.token_uri}
            models: ["gemini-*", "claude-*", "text-embedding-*"]
            model_map:
              {VERTEX_MAPPED_MODEL}: {VERTEX_MAPPED_UPSTREAM_MODEL}
              {VERTEX_CLAUDE_MAPPED_MODEL}: "{VERTEX_CLAUDE_UPSTREAM_MODEL}"
        """).replace("KEY_JSON", key_json)
    return write_gateway_config(directory, "the vertex gateway", channels)


def write_template_config(directory: Path, templates: Path, cohere_mock: MockCohere, openai_mock: MockOpenAI) -> Path:
    channels = textwrap.dedent(f"""\
          - name: {COHERE_CHANNEL}
            provider: cohere
            base_url: {cohere_mock.url}
            credentials:
              api_key: {COHERE_CHANNEL_KEY}
            models: ["command-*", "embed-*"]
          - name: {DEEPSEEK_CHANNEL}
            provider: deepseek
            base_url: {openai_mock.base_url}
            credentials:
              api_key: {CHANNEL_KEY}
            models: ["deepseek-*"]
          - name: {VLLM_CHANNEL}
            provider: vllm
            base_url: {openai_mock.base_url}
            credentials:
              api_key: {CHANNEL_KEY}
            models: ["vllm-*"]
          - name: {ACME_CHANNEL}
            provider: acme
            base_url: {openai_mock.base_url}
            credentials:
              api_key: {CHANNEL_KEY}
            models: ["acme-*"]
        """)
    path = write_gateway_config(directory, "the template gateway", channels)
    path.write_text(path.read_text() + f"templates:\n  dir: {templates}\n")
    return path


@dataclass
class Gateway:
    process: subprocess.Popen
    url: str
    config_path: Path
    stderr_path: Path
    client_key: str = CLIENT_KEY
    restricted_key: str = RESTRICTED_KEY
    templates: Path | None = None  # the template gateway's watched folder
    admin_url: str | None = None  # with `admin: { listen: ... }`: the admin listener

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

    @property
    def db_path(self) -> Path:
        """The gateway's SQLite file (its usage ledger is the `usage_ledger` table)."""
        return self.config_path.parent / "data" / "tollgate.db"


_gateway: Gateway | None = None
_other_gateways: list[Gateway] = []  # started by other session fixtures; their logs are shown too


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
            admin = next((m.group(1) for m in map(ADMIN_BANNER.search, seen) if m), None)
            return Gateway(process=process, url=match.group(1).rstrip("/"), config_path=config_path, stderr_path=stderr_path,
                           admin_url=admin)


def _stop_gateway(gateway: Gateway) -> None:
    if gateway.alive():
        gateway.process.send_signal(signal.SIGTERM)
        try:
            gateway.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            gateway.process.kill()
            gateway.process.wait()


def start_dedicated_gateway(config_path: Path) -> Gateway:
    """Starts a gateway of a test's own (stop it with `stop_gateway`); its log is shown on failure."""
    started = _start_gateway(_gateway_binary(), config_path, config_path.parent / "tollgate.stderr.log")
    _other_gateways.append(started)
    return started


def stop_gateway(gateway: Gateway) -> None:
    _stop_gateway(gateway)


@pytest.fixture(scope="session")
def mock_upstream():
    mock = MockOpenAI(api_key=CHANNEL_KEY).start()
    yield mock
    mock.stop()


@pytest.fixture(scope="session")
def gateway(mock_upstream, tmp_path_factory):
    global _gateway
    binary = _gateway_binary()
    directory = tmp_path_factory.mktemp("tollgate")
    config_path = write_config(directory, mock_upstream, closed_port())
    try:
        _gateway = _start_gateway(binary, config_path, directory / "tollgate.stderr.log")
    except RuntimeError as error:
        pytest.exit(str(error), returncode=3)
    yield _gateway
    _stop_gateway(_gateway)


def _gateway_binary() -> str:
    binary = os.environ.get("TOLLGATE_BIN", str(DEFAULT_BIN))
    if not os.access(binary, os.X_OK):
        pytest.exit(f"tollgate binary not found at {binary} (build with `swift build` or set TOLLGATE_BIN)", returncode=2)
    return binary


@pytest.fixture(scope="session")
def mock_anthropic():
    mock = MockAnthropic(api_key=ANTHROPIC_CHANNEL_KEY).start()
    yield mock
    mock.stop()


@pytest.fixture(scope="session")
def mock_gemini():
    mock = MockGemini(api_key=GEMINI_CHANNEL_KEY).start()
    yield mock
    mock.stop()


@pytest.fixture(scope="session")
def dialect_gateway(mock_anthropic, mock_gemini, tmp_path_factory):
    """A second gateway: `claude-*` on the claude plugin (mock Anthropic), `gemini-*` on the gemini
    plugin (mock Gemini)."""
    binary = _gateway_binary()
    directory = tmp_path_factory.mktemp("tollgate-dialects")
    config_path = write_dialect_config(directory, mock_anthropic, mock_gemini)
    try:
        started = _start_gateway(binary, config_path, directory / "tollgate.stderr.log")
    except RuntimeError as error:
        pytest.exit(str(error), returncode=3)
    _other_gateways.append(started)
    yield started
    _stop_gateway(started)


@pytest.fixture(scope="session")
def mock_bedrock():
    mock = MockBedrock(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION).start()
    yield mock
    mock.stop()


@pytest.fixture(scope="session")
def mock_bedrock_sts():
    """A second Bedrock runtime (eu-central-1) that wants temporary credentials: a session token."""
    mock = MockBedrock("ASIAE2EMOCKSESSION01", AWS_SECRET_ACCESS_KEY, "eu-central-1",
                       session_token=AWS_SESSION_TOKEN).start()
    yield mock
    mock.stop()


@pytest.fixture(scope="session")
def mock_sagemaker():
    mock = MockSageMaker(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION).start()
    yield mock
    mock.stop()


@pytest.fixture(scope="session")
def bedrock_gateway(mock_bedrock, mock_bedrock_sts, mock_sagemaker, tmp_path_factory):
    """A third gateway: `anthropic.*` and `mock.*` on the bedrock plugin (mock Bedrock runtime),
    `sts.*` on a second channel with a session token (`mock_bedrock_sts`), `claude-invoke` and
    `us.anthropic.*` on an InvokeModel channel (`options.api: invoke`, the same mock), and SageMaker
    endpoints on a `sagemaker` channel (`mock_sagemaker`)."""
    binary = _gateway_binary()
    directory = tmp_path_factory.mktemp("tollgate-bedrock")
    config_path = write_bedrock_config(directory, mock_bedrock, mock_bedrock_sts, mock_sagemaker)
    try:
        started = _start_gateway(binary, config_path, directory / "tollgate.stderr.log")
    except RuntimeError as error:
        pytest.exit(str(error), returncode=3)
    _other_gateways.append(started)
    yield started
    _stop_gateway(started)


@pytest.fixture(scope="session")
def mock_vertex():
    """The mock Vertex AI; `mock.service_account` is a generated key file (JSON data) it accepts."""
    mock = MockVertex(VERTEX_PROJECT, VERTEX_LOCATION).start()
    mock.service_account = mock.new_service_account()
    yield mock
    mock.stop()


@pytest.fixture(scope="session")
def vertex_gateway(mock_vertex, tmp_path_factory):
    """A fourth gateway: `gemini-*` and `claude-*` on the vertex plugin (mock Vertex AI, service-account OAuth)."""
    binary = _gateway_binary()
    directory = tmp_path_factory.mktemp("tollgate-vertex")
    config_path = write_vertex_config(directory, mock_vertex, mock_vertex.service_account)
    try:
        started = _start_gateway(binary, config_path, directory / "tollgate.stderr.log")
    except RuntimeError as error:
        pytest.exit(str(error), returncode=3)
    _other_gateways.append(started)
    yield started
    _stop_gateway(started)


@pytest.fixture(scope="session")
def mock_cohere():
    mock = MockCohere(api_key=COHERE_CHANNEL_KEY).start()
    yield mock
    mock.stop()


@pytest.fixture(scope="session")
def template_gateway(mock_cohere, mock_upstream, tmp_path_factory):
    """A fifth gateway: template channels (`cohere`, `deepseek`) from a copy of the shipped
    templates (`template_gateway.templates`, a folder tests may write into), and an `acme`
    channel waiting for its template."""
    binary = _gateway_binary()
    directory = tmp_path_factory.mktemp("tollgate-templates")
    templates = directory / "adaptor-templates"
    shutil.copytree(REPO / "adaptor-templates", templates)
    config_path = write_template_config(directory, templates, mock_cohere, mock_upstream)
    try:
        started = _start_gateway(binary, config_path, directory / "tollgate.stderr.log")
    except RuntimeError as error:
        pytest.exit(str(error), returncode=3)
    started.templates = templates
    _other_gateways.append(started)
    yield started
    _stop_gateway(started)


@pytest.fixture(autouse=True)
def _fresh_dialect_mocks(request):
    """Tests using the Anthropic/Gemini mocks start with empty records; a mock's own failure (an
    exception in its handler) and a crash of the dialect gateway fail the test that caused them."""
    names = ("mock_anthropic", "mock_gemini", "mock_bedrock", "mock_bedrock_sts", "mock_sagemaker", "mock_vertex", "mock_cohere")
    mocks = [request.getfixturevalue(name) for name in names if name in request.fixturenames]
    for mock in mocks:
        mock.clear()
    gateways = [(name, request.getfixturevalue(name))
                for name in ("dialect_gateway", "bedrock_gateway", "vertex_gateway", "template_gateway")
                if name in request.fixturenames]
    for name, gw in gateways:
        assert gw.alive(), f"the {name} is not running (exit status {gw.process.returncode})"
    yield
    for mock in mocks:
        assert not mock.failures, f"{type(mock).__name__} failed:\n" + "\n".join(mock.failures)
    for name, gw in gateways:
        assert gw.alive(), f"the {name} exited during this test (status {gw.process.returncode})"


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
    """On failure, show each gateway's stderr (its log) after the test report."""
    if exitstatus == 0:
        return
    for gw in [g for g in (_gateway, *_other_gateways) if g is not None]:
        terminalreporter.section(f"tollgate stderr ({gw.config_path.parent.name})")
        text = gw.stderr()
        limit = 60_000
        if len(text) > limit:
            terminalreporter.write_line(f"... (first {len(text) - limit} characters cut; full log: {gw.stderr_path})")
            text = text[-limit:]
        terminalreporter.write(text)
        terminalreporter.write_line(f"config: {gw.config_path}")
