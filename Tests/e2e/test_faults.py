"""Mixed traffic while the upstream drops connections, stalls, answers garbage or cuts streams,
and clients hang up: the gateway must not crash, must not grow its memory over the run, must
answer every client clearly, and must have a usage-ledger row for every request it answered
(read after SIGTERM, which flushes the ledger). Bounded: about 15 s of traffic."""

from __future__ import annotations

import json
import random
import signal
import socket
import threading
import time
from collections import Counter

import httpx
import pytest

from conftest import CLIENT_KEY
from fault_support import chat_body, ledger_rows, post_head, rss_kib, start_fault_gateway, wait_exit
from mock_faults import MockFaults
from support import parse_sse

TRAFFIC_SECONDS = 12
WORKERS = 12


@pytest.fixture
def faults():
    mock = MockFaults().start()
    yield mock
    mock.stop()


class Outcomes:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.request_ids: dict[str, str] = {}  # x-request-id -> scenario
        self.counts: Counter[str] = Counter()
        self.problems: list[str] = []

    def add(self, scenario: str, request_id: str | None) -> None:
        with self.lock:
            self.counts[scenario] += 1
            if request_id:
                self.request_ids[request_id] = scenario

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


def expect_error(outcomes: Outcomes, scenario: str, response: httpx.Response, status: int, code: str | None) -> None:
    request_id = response.headers.get("x-request-id")
    try:
        error = response.json()["error"]
        ok = response.status_code == status and code in (None, error["code"]) and error["message"]
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok or not request_id:
        outcomes.problem(f"{scenario}: expected {status} {code}, got {response.status_code} {response.text[:200]}")
    outcomes.add(scenario, request_id)


def run_scenario(client: httpx.Client, url: str, scenario: str, outcomes: Outcomes) -> None:
    if scenario == "ok":
        response = client.post("/v1/chat/completions", content=chat_body("fault-ok"))
        if response.status_code != 200 or response.json()["usage"]["total_tokens"] != 10:
            outcomes.problem(f"ok: {response.status_code} {response.text[:200]}")
        outcomes.add(scenario, response.headers.get("x-request-id"))
    elif scenario == "stream":
        with client.stream("POST", "/v1/chat/completions", content=chat_body("fault-ok", "[n:20]", stream=True)) as response:
            events = parse_sse(response.read())
        if response.status_code != 200 or events[-1] != b"[DONE]" or len(events) != 22:
            outcomes.problem(f"stream: {response.status_code}, {len(events)} events, last {events[-1:]!r}")
        outcomes.add(scenario, response.headers.get("x-request-id"))
    elif scenario == "500":
        response = client.post("/v1/chat/completions", content=chat_body("fault-500"))
        if response.status_code != 500 or "upstream exploded" not in response.text:
            outcomes.problem(f"500: {response.status_code} {response.text[:200]}")
        outcomes.add(scenario, response.headers.get("x-request-id"))
    elif scenario == "drop":
        expect_error(outcomes, scenario, client.post("/v1/chat/completions", content=chat_body("fault-drop")), 502,
                     "upstream_disconnected")
    elif scenario == "garbage":
        expect_error(outcomes, scenario, client.post("/v1/chat/completions", content=chat_body("fault-garbage")), 502, None)
    elif scenario == "bad-framing":
        expect_error(outcomes, scenario, client.post("/v1/chat/completions", content=chat_body("fault-bad-framing")), 502,
                     "upstream_bad_answer")
    elif scenario == "extra":
        response = client.post("/v1/chat/completions", content=chat_body("fault-extra"))
        if response.status_code != 200 or response.json()["usage"]["total_tokens"] != 10:
            outcomes.problem(f"extra: {response.status_code} {response.text[:200]}")
        outcomes.add(scenario, response.headers.get("x-request-id"))
    elif scenario == "stall":
        expect_error(outcomes, scenario, client.post("/v1/chat/completions", content=chat_body("fault-stall")), 504,
                     "upstream_timeout")
    elif scenario in ("cut", "stream-stall"):
        model = "fault-cut" if scenario == "cut" else "fault-stream-stall"
        with client.stream("POST", "/v1/chat/completions", content=chat_body(model, stream=True)) as response:
            events = parse_sse(response.read())
        last = json.loads(events[-1]) if events and events[-1] != b"[DONE]" else {}
        if response.status_code != 200 or "error" not in last:
            outcomes.problem(f"{scenario}: {response.status_code}, last event {events[-1:]!r}")
        outcomes.add(scenario, response.headers.get("x-request-id"))
    elif scenario == "client-leaves-stream":
        with client.stream("POST", "/v1/chat/completions", content=chat_body("fault-ok", "[n:50][gap:40]", stream=True)) as response:
            for _ in response.iter_raw():
                break  # one chunk, then hang up
        outcomes.add(scenario, response.headers.get("x-request-id"))
    elif scenario == "client-leaves-early":
        host, port = url.removeprefix("http://").split(":")
        body = chat_body("fault-ok", "[n:5][gap:100]", stream=True)
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(post_head("/v1/chat/completions", len(body)) + body)
        outcomes.add(scenario, None)  # no id seen: it hung up before the answer


SCENARIOS = ["ok"] * 6 + ["stream"] * 4 + ["extra"] * 2 + ["500", "drop", "garbage", "bad-framing", "stall", "cut", "stream-stall",
                                            "client-leaves-stream", "client-leaves-early"]


def test_mixed_traffic_under_faults(faults, tmp_path):
    gateway = start_fault_gateway(tmp_path, faults)
    outcomes = Outcomes()
    errors: list[BaseException] = []

    def worker(seed: int, until: float) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=gateway.url, timeout=20, headers={"Authorization": f"Bearer {CLIENT_KEY}"}) as client:
            while time.monotonic() < until:
                try:
                    run_scenario(client, gateway.url, rng.choice(SCENARIOS), outcomes)
                except BaseException as error:  # noqa: BLE001 - report every failure
                    errors.append(error)
                    return

    def run(seconds: float, seed: int) -> None:
        until = time.monotonic() + seconds
        threads = [threading.Thread(target=worker, args=(seed * 100 + i, until)) for i in range(WORKERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 30)

    try:
        run(3, seed=1)  # warm-up: pools, caches, allocator arenas
        time.sleep(1.5)  # stalled upstreams time out
        rss_warm = rss_kib(gateway.process.pid)
        run(TRAFFIC_SECONDS, seed=2)
        time.sleep(1.5)
        rss_after = rss_kib(gateway.process.pid)
        assert gateway.alive(), f"the gateway died (status {gateway.process.returncode})"
        assert not errors, f"client errors: {errors[:3]!r}"
        assert not outcomes.problems, "\n".join(outcomes.problems[:20])
        assert sum(outcomes.counts.values()) > 100, outcomes.counts
        # A leak of even 1 KiB per request would show over these thousands of requests.
        assert rss_after - rss_warm < 24 * 1024, f"RSS grew from {rss_warm} KiB to {rss_after} KiB over the run"
    finally:
        if gateway.alive():
            gateway.process.send_signal(signal.SIGTERM)
    wait_exit(gateway, timeout=15)
    assert gateway.process.returncode == 0, gateway.stderr()[-3000:]
    rows = ledger_rows(tmp_path)
    missing = [(rid, scenario) for rid, scenario in outcomes.request_ids.items() if rid not in rows]
    assert not missing, f"{len(missing)} answered requests are not in the ledger, e.g. {missing[:5]}"
    # Requests the upstream answered were billed from its usage (a cut stream may have none).
    for rid, scenario in outcomes.request_ids.items():
        if scenario in ("ok", "stream", "extra"):
            assert rows[rid]["prompt_tokens"] == 7 and rows[rid]["completion_tokens"] == 3, rows[rid]
    print(f"\n{dict(outcomes.counts)}; RSS {rss_warm} -> {rss_after} KiB; {len(rows)} ledger rows")
