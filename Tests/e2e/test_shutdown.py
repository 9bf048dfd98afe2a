"""Graceful shutdown: on SIGTERM the listener closes at once, a stream in flight that ends within
`shutdown_grace` reaches its client whole, one that does not is cut when the grace is over and
the process exits; either way the request is in the usage ledger."""

from __future__ import annotations

import signal
import socket
import threading
import time

import httpx

from conftest import CLIENT_KEY
from fault_support import chat_body, ledger_rows, start_fault_gateway, wait_exit
from mock_faults import MockFaults
from support import parse_sse


def _stream_in_background(gateway, text: str) -> tuple[threading.Thread, dict, threading.Event]:
    result: dict = {}
    started = threading.Event()

    def run() -> None:
        try:
            with httpx.Client(base_url=gateway.url, timeout=30, headers={"Authorization": f"Bearer {CLIENT_KEY}"}) as client:
                with client.stream("POST", "/v1/chat/completions", content=chat_body("fault-ok", text, stream=True)) as response:
                    result["request_id"] = response.headers.get("x-request-id")
                    raw = b""
                    for chunk in response.iter_raw():
                        raw += chunk
                        started.set()
                    result["raw"] = raw
        except httpx.HTTPError as error:
            result["error"] = error
        finally:
            started.set()
            result["ended"] = time.monotonic()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result, started


def _refuses_connections(gateway) -> bool:
    host, port = gateway.url.removeprefix("http://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return True
    return False


def test_stream_in_flight_finishes_within_the_grace(tmp_path):
    mock = MockFaults().start()
    try:
        gateway = start_fault_gateway(tmp_path, mock, extra="shutdown_grace: 5s\n")
        thread, result, started = _stream_in_background(gateway, "[n:30][gap:50]")  # about 1.5 s
        assert started.wait(10)
        signalled = time.monotonic()
        gateway.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        assert _refuses_connections(gateway), "the listener still accepts after SIGTERM"
        waited = wait_exit(gateway, timeout=15)
        thread.join(10)
        assert gateway.process.returncode == 0
        assert "error" not in result, result.get("error")
        events = parse_sse(result["raw"])
        assert events[-1] == b"[DONE]" and len(events) == 32, events[-3:]
        assert result["ended"] - signalled < 5, "the stream should have ended well within the grace"
        assert waited < 5
        row = ledger_rows(tmp_path)[result["request_id"]]
        assert row["status"] == 200 and row["completion_tokens"] == 3
    finally:
        mock.stop()


def test_process_exits_after_the_grace_when_a_stream_outlasts_it(tmp_path):
    mock = MockFaults().start()
    try:
        gateway = start_fault_gateway(tmp_path, mock, extra="shutdown_grace: 1s\n")
        thread, result, started = _stream_in_background(gateway, "[n:200][gap:50]")  # about 10 s
        assert started.wait(10)
        signalled = time.monotonic()
        gateway.process.send_signal(signal.SIGTERM)
        wait_exit(gateway, timeout=15)
        exited = time.monotonic() - signalled
        thread.join(10)
        assert gateway.process.returncode == 0
        assert 0.9 < exited < 4, f"exited {exited:.1f} s after SIGTERM with a 1 s grace"
        events = parse_sse(result.get("raw", b""))
        assert not events or events[-1] != b"[DONE]", "the stream cannot have finished"
        assert result["request_id"] in ledger_rows(tmp_path), "the cut request is missing from the ledger"
    finally:
        mock.stop()
