"""Changes reach other instances at once: two gateway processes on one PostgreSQL, with polling
(`storage_refresh`) set to a minute so only PostgreSQL's LISTEN/NOTIFY can carry a change in
time. A key created on one instance works on the other, and a key revoked on one is refused on
the other, each measured from the admin answer to the first request the other instance decides
the new way (a deadline loop of requests, no sleeps)."""

from __future__ import annotations

import time

import httpx
import pytest

from conftest import start_dedicated_gateway, stop_gateway, write_gateway_config
from test_scale_out import POSTGRES_URL, fresh_database

ADMIN_KEY = "tg-admin-change-feed-0123456789"
pytestmark = pytest.mark.skipif(POSTGRES_URL is None, reason="needs TOLLGATE_TEST_POSTGRES_URL (./scripts/test sets it)")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    url = fresh_database()
    channels = "- { name: builtin-mock, provider: mock, models: [mock-echo] }\n"
    settings = f'storage: "{url}"\nstorage_refresh: 60s\nadmin_key: {ADMIN_KEY}\n'
    gateways = [start_dedicated_gateway(write_gateway_config(tmp_path_factory.mktemp(f"feed-{i}"), f"change feed {i}", channels,
                                                             settings=settings)) for i in range(2)]
    yield gateways
    for gw in gateways:
        stop_gateway(gw)


def chat(http: httpx.Client, key: str) -> int:
    return http.post("/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                     json={"model": "mock-echo", "messages": [{"role": "user", "content": "hi"}]}).status_code


def first_answer(http: httpx.Client, key: str, status: int, deadline_seconds: float = 5.0) -> tuple[float, int]:
    """Seconds until the first answer with `status`, and how many answers came before it."""
    start = time.monotonic()
    before = 0
    while time.monotonic() - start < deadline_seconds:
        if chat(http, key) == status:
            return time.monotonic() - start, before
        before += 1
    raise AssertionError(f"no HTTP {status} within {deadline_seconds}s ({before} other answers): the change never arrived")


def test_a_key_created_and_revoked_on_one_instance_applies_on_the_other_at_once(pair):
    a, b = pair
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=b.url, timeout=30) as other:
        created = httpx.post(a.url + "/admin/keys", headers=admin, json={"name": "feed-key"}, timeout=30)
        assert created.status_code == 201, created.text
        secret = created.json()["key"]
        took, refused_before = first_answer(other, secret, 200)
        print(f"created on A, accepted on B after {took * 1000:.1f} ms ({refused_before} requests refused before)")

        assert httpx.delete(a.url + "/admin/keys/feed-key", headers=admin, timeout=30).status_code == 200
        took, served_after = first_answer(other, secret, 401)
        print(f"revoked on A, refused on B after {took * 1000:.1f} ms ({served_after} requests served after the revocation)")
        # Polling runs once a minute here: only the announcement can have carried it this soon.
        assert took < 0.2, f"the revocation took {took * 1000:.0f} ms to reach the other instance"
