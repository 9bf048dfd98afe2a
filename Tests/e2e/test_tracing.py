"""OpenTelemetry tracing through a gateway process: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, every
model request sends its spans over OTLP/HTTP (protobuf) to a receiver, decoded here with
`opentelemetry-proto`: the request (server span), an attempt per channel tried (a fallback makes
two) and an upstream call under each (client span) whose context reaches the upstream as
`traceparent`. The client's own `traceparent` (the openai SDK sends it as a default header) is
continued; a malformed one is ignored. A receiver that fails or is gone never affects requests."""

from __future__ import annotations

import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import openai
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from conftest import CHANNEL_KEY, CLIENT_KEY, _gateway_binary, closed_port, start_dedicated_gateway, stop_gateway, write_gateway_config
from support import eventually

CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN = "b7ad6b7169203331"
SERVER, CLIENT = 2, 3  # Span.SpanKind
ERROR = 2  # Status.StatusCode


class OTLPReceiver:
    """A tiny OTLP/HTTP trace receiver: decodes every POST /v1/traces and answers `status`."""

    def __init__(self, status: int = 200):
        self.status = status
        self.spans: list[dict] = []
        self.posts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                with receiver.lock:
                    receiver.posts += 1
                    for resource in request.resource_spans:
                        service = {a.key: a.value.string_value for a in resource.resource.attributes}.get("service.name")
                        for scope in resource.scope_spans:
                            receiver.spans += [receiver.decode(span, service) for span in scope.spans]
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @staticmethod
    def decode(span, service) -> dict:
        def value(any_value):
            return getattr(any_value, any_value.WhichOneof("value")) if any_value.WhichOneof("value") else None
        return {"trace": span.trace_id.hex(), "id": span.span_id.hex(), "parent": span.parent_span_id.hex(),
                "name": span.name, "kind": span.kind, "status": span.status.code, "service": service,
                "attributes": {a.key: value(a.value) for a in span.attributes}}

    def trace(self, trace_id: str) -> list[dict]:
        with self.lock:
            return [s for s in self.spans if s["trace"] == trace_id]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def start_traced_gateway(tmp_path_factory, monkeypatch, mock_upstream, endpoint: str, label: str):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")  # milliseconds: spans leave soon after the request
    monkeypatch.setenv("OTEL_SERVICE_NAME", "tollgate-e2e")
    channels = (f'- {{ name: failing, provider: openai, base_url: "{mock_upstream.base_url}", '
                f'credentials: {{ api_key: {CHANNEL_KEY} }}, models: [fail-500] }}\n'
                f'- {{ name: serving, provider: openai, base_url: "{mock_upstream.base_url}", '
                f'credentials: {{ api_key: {CHANNEL_KEY} }}, models: [gpt-4o-mini] }}\n')
    config = write_gateway_config(tmp_path_factory.mktemp(label), label, channels,
                                  settings="fallbacks: { fail-500: [gpt-4o-mini] }\n")
    return start_dedicated_gateway(config)


@pytest.fixture
def receiver():
    started = OTLPReceiver()
    yield started
    started.stop()


def test_spans_reach_the_receiver_linked_and_with_the_genai_attributes(tmp_path_factory, monkeypatch, mock_upstream, receiver):
    gateway = start_traced_gateway(tmp_path_factory, monkeypatch, mock_upstream, receiver.endpoint, "tracing")
    try:
        client = openai.OpenAI(base_url=gateway.v1, api_key=CLIENT_KEY, max_retries=0,
                               default_headers={"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"})
        mock_upstream.clear()
        raw = client.chat.completions.with_raw_response.create(model="fail-500", messages=[{"role": "user", "content": "hello"}])
        answer = raw.parse()
        assert raw.headers["x-tollgate-model"] == "gpt-4o-mini"
        assert eventually(lambda: len(receiver.trace(CLIENT_TRACE)) >= 5), receiver.spans
        spans = receiver.trace(CLIENT_TRACE)
        assert len(spans) == 5, spans

        request = next(s for s in spans if s["kind"] == SERVER)
        assert request["name"] == "POST chat" and request["parent"] == CLIENT_SPAN
        assert request["attributes"]["url.path"] == "/v1/chat/completions"
        assert request["service"] == "tollgate-e2e"
        attributes = request["attributes"]
        assert attributes["gen_ai.request.model"] == "fail-500" and attributes["gen_ai.response.model"] == "gpt-4o-mini"
        assert attributes["gen_ai.usage.input_tokens"] == answer.usage.prompt_tokens
        assert attributes["gen_ai.usage.output_tokens"] == answer.usage.completion_tokens
        assert attributes["tollgate.key.name"] == "e2e" and attributes["tollgate.channel"] == "serving"
        assert attributes["tollgate.cost"] == raw.headers["x-tollgate-cost"]
        assert attributes["http.response.status_code"] == 200 and attributes["tollgate.fallback_from"] == "fail-500"

        attempts = sorted((s for s in spans if s["name"].startswith("attempt ")), key=lambda s: s["attributes"]["tollgate.attempt"])
        assert [a["name"] for a in attempts] == ["attempt failing", "attempt serving"]
        assert all(a["parent"] == request["id"] and a["attributes"]["gen_ai.system"] == "openai" for a in attempts)
        assert attempts[0]["status"] == ERROR and attempts[1]["status"] != ERROR

        calls = {s["parent"]: s for s in spans if s["kind"] == CLIENT}
        assert set(calls) == {a["id"] for a in attempts}
        assert calls[attempts[0]["id"]]["attributes"]["http.response.status_code"] == 500
        assert calls[attempts[1]["id"]]["attributes"]["gen_ai.request.model"] == "gpt-4o-mini"
        sent = [r.header("traceparent") for r in mock_upstream.requests]
        assert sent == [f"00-{CLIENT_TRACE}-{calls[a['id']]['id']}-01" for a in attempts]

        every_value = [str(v) for s in receiver.spans for v in s["attributes"].values()]
        assert not any(CLIENT_KEY in v or CHANNEL_KEY in v for v in every_value), "keys are never recorded"

        # A malformed traceparent is ignored: the request is served and starts a trace of its own.
        mock_upstream.clear()
        bad = httpx.post(gateway.v1 + "/chat/completions", headers={"authorization": f"Bearer {CLIENT_KEY}",
                                                                    "traceparent": f"00-{CLIENT_TRACE.upper()}-zz-01"},
                         json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}, timeout=30)
        assert bad.status_code == 200, bad.text
        propagated = mock_upstream.requests[-1].header("traceparent")
        assert propagated and len(propagated) == 55 and CLIENT_TRACE not in propagated.lower()
        new_trace = propagated.split("-")[1]
        assert eventually(lambda: any(s["kind"] == SERVER for s in receiver.trace(new_trace)))
        assert next(s for s in receiver.trace(new_trace) if s["kind"] == SERVER)["parent"] == ""
    finally:
        stop_gateway(gateway)


@pytest.mark.parametrize("receiver_state", ["answers 500", "is gone"])
def test_a_failing_receiver_never_affects_requests(tmp_path_factory, monkeypatch, mock_upstream, receiver, receiver_state):
    endpoint = receiver.endpoint if receiver_state == "answers 500" else f"http://127.0.0.1:{closed_port()}"
    receiver.status = 500
    gateway = start_traced_gateway(tmp_path_factory, monkeypatch, mock_upstream, endpoint, "tracing-failing")
    try:
        client = openai.OpenAI(base_url=gateway.v1, api_key=CLIENT_KEY, max_retries=0)
        for _ in range(10):
            answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
            assert answer.choices[0].message.content
        if receiver_state == "answers 500":
            assert eventually(lambda: receiver.posts >= 1)
    finally:
        stop_gateway(gateway)
    assert gateway.process.returncode == 0, gateway.stderr()[-2000:]


def test_without_an_endpoint_no_span_is_sent(tmp_path_factory, monkeypatch, mock_upstream):
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    config = write_gateway_config(tmp_path_factory.mktemp("untraced"), "untraced",
                                  f'- {{ name: serving, provider: openai, base_url: "{mock_upstream.base_url}", '
                                  f'credentials: {{ api_key: {CHANNEL_KEY} }}, models: [gpt-4o-mini] }}\n')
    gateway = start_dedicated_gateway(config)
    try:
        mock_upstream.clear()
        client = openai.OpenAI(base_url=gateway.v1, api_key=CLIENT_KEY, max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        assert mock_upstream.requests[-1].header("traceparent") is None
    finally:
        stop_gateway(gateway)


def test_a_protocol_this_build_lacks_is_refused_at_start(tmp_path_factory, monkeypatch, mock_upstream):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    config = write_gateway_config(tmp_path_factory.mktemp("grpc"), "grpc",
                                  f'- {{ name: serving, provider: openai, base_url: "{mock_upstream.base_url}", '
                                  f'credentials: {{ api_key: {CHANNEL_KEY} }}, models: [gpt-4o-mini] }}\n')
    result = subprocess.run([_gateway_binary(), "serve", "--config", str(config)],
                            capture_output=True, text=True, timeout=60, cwd=config.parent)
    assert result.returncode != 0
    assert "OTEL_EXPORTER_OTLP_PROTOCOL" in result.stderr + result.stdout, result.stderr[-2000:]
