"""Two gateway processes on one PostgreSQL (the one ./scripts/test starts; its URL is in
TOLLGATE_TEST_POSTGRES_URL): a key created through one works on the other, a channel stored
through one serves on the other, a budget shared by concurrent traffic through both is never
exceeded by more than the cost of the requests in flight, and a key's `rpm` holds across both."""

from __future__ import annotations

import os
import subprocess
import textwrap
import threading
import uuid
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from support import eventually
from conftest import CLIENT_KEY, start_dedicated_gateway, stop_gateway, write_gateway_config

POSTGRES_URL = os.environ.get("TOLLGATE_TEST_POSTGRES_URL")
ADMIN_KEY = "tg-admin-scale-out-0123456789"
BUDGET_KEY = "tg-team-shared-budget-0123456789"
RPM_KEY = "tg-team-shared-rpm-0123456789"
pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="needs TOLLGATE_TEST_POSTGRES_URL (./scripts/test sets it)")


def fresh_database() -> str:
    """An empty database on the test server; its URL."""
    name = "tg_e2e_" + uuid.uuid4().hex[:16]
    subprocess.run(["psql", POSTGRES_URL, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    parts = urlsplit(POSTGRES_URL)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="module")
def pair(tmp_path_factory, mock_upstream):
    url = fresh_database()
    channels = textwrap.dedent(f"""\
        - {{ name: builtin-mock, provider: mock, models: [mock-echo] }}
        - {{ name: priced, provider: openai, base_url: "{mock_upstream.base_url}", credentials: {{ api_key: sk-upstream-channel-key-e2e-42 }},
             models: [gpt-4o-mini] }}
        """)
    settings = f'storage: "{url}"\nstorage_refresh: 200ms\nadmin_key: {ADMIN_KEY}\n'
    keys = (f"- {{ name: team, key: {BUDGET_KEY}, budget: {{ amount: 0.0002, currency: USD, period: daily }} }}\n"
            f"- {{ name: paced, key: {RPM_KEY}, rpm: 10 }}\n")
    gateways = [start_dedicated_gateway(write_gateway_config(tmp_path_factory.mktemp(f"scale-{i}"), f"scale-out {i}", channels,
                                                             settings=settings, keys=keys)) for i in range(2)]
    yield gateways
    for gw in gateways:
        stop_gateway(gw)


def admin(gw, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, gw.url + path, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30, **kwargs)


def chat(gw, key: str, model: str = "mock-echo") -> httpx.Response:
    return httpx.post(gw.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                      json={"model": model, "messages": [{"role": "user", "content": "hello"}]})




def test_a_key_created_on_one_instance_works_on_the_other(pair):
    a, b = pair
    created = admin(a, "POST", "/admin/keys", json={"name": "made-on-a"})
    assert created.status_code == 201, created.text
    secret = created.json()["key"]
    assert chat(a, secret).status_code == 200
    assert eventually(lambda: chat(b, secret).status_code == 200), "the key never reached the second instance"
    assert admin(a, "DELETE", "/admin/keys/made-on-a").status_code == 200
    assert eventually(lambda: chat(b, secret).status_code == 401), "the revocation never reached the second instance"


def test_a_channel_stored_on_one_instance_serves_on_the_other(pair):
    a, b = pair
    put = admin(a, "PUT", "/admin/channels/echo-two", json={"provider": "mock", "models": ["echo-two"]})
    assert put.status_code == 200, put.text
    assert eventually(lambda: chat(b, CLIENT_KEY, "echo-two").status_code == 200)


def test_a_shared_budget_is_not_overspent_by_more_than_the_requests_in_flight(pair, mock_upstream):
    a, b = pair
    statuses: list[tuple[int, str | None]] = []
    lock = threading.Lock()
    unfinished: list[str] = []
    workers = 6

    def worker(gw):
        # Until the budget itself refuses: a 402 "counting its requests in flight" only says the
        # reservations of requests in flight fill it (a chat without max_tokens reserves 4,096
        # output tokens, more than this whole budget), and how often that happens depends on
        # how the workers' requests overlap. Bounded, so a budget that never closes fails.
        for _ in range(300):
            response = chat(gw, BUDGET_KEY, "gpt-4o-mini")
            with lock:
                statuses.append((response.status_code, response.headers.get("x-tollgate-cost")))
            if response.status_code == 402 and "in flight" not in response.json()["error"]["message"]:
                return
        with lock:
            unfinished.append(gw.url)

    threads = [threading.Thread(target=worker, args=(a if i % 2 == 0 else b,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not unfinished, f"the budget never refused a request on its own through {unfinished}"
    served = [cost for status, cost in statuses if status == 200]
    assert all(status in (200, 402) for status, _ in statuses), statuses
    assert served and all(cost for cost in served)
    spent = sum(float(cost) for cost in served)
    each = float(served[0])
    # The budget is 0.0002 USD: a refusal with nothing in flight means it was spent; past it only
    # the requests already in flight (at most one per worker) may finish.
    assert spent >= 0.0002 - 1e-12, (spent, len(served))
    assert spent <= 0.0002 + workers * each + 1e-12, f"overspent: {len(served)} answers, {spent} USD"
    # Both instances come to report the same shared spend: every answer charged once, across both.
    def spent_on(gw) -> float:
        rows = admin(gw, "GET", "/admin/budgets").json()["data"]
        return float(next(row["spent"] for row in rows if row["key"] == "team"))
    assert eventually(lambda: abs(spent_on(a) - spent) < 1e-12 and abs(spent_on(b) - spent) < 1e-12), (spent_on(a), spent_on(b), spent)


def limit_syncs(gw) -> int:
    text = httpx.get(gw.url + "/metrics", timeout=30).text
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("tollgate_shared_limit_syncs_total ")))


def test_a_key_with_rpm_10_admits_10_of_30_requests_sent_alternately_through_both(pair):
    a, b = pair
    statuses = []
    for i in range(30):
        statuses.append(chat(a if i % 2 == 0 else b, RPM_KEY).status_code)
        for gw in (a, b):  # both instances have shared what they counted (counted, not timed)
            start = limit_syncs(gw)
            assert eventually(lambda: limit_syncs(gw) >= start + 2), "an instance stopped syncing its limits"
    assert set(statuses) <= {200, 429}, statuses
    admitted = statuses.count(200)
    assert 9 <= admitted <= 11, f"admitted {admitted} of 30: {statuses}"
    assert statuses[:9] == [200] * 9, statuses
