"""Keys that change and rotate, through the real binary: `tollgate keys update` and `rotate`
against the storage of a running gateway (which picks the change up on its next storage
refresh), the same through `PATCH /admin/keys/{name}` and `POST /admin/keys/{name}/rotate`, and
config-file keys refused with where they live. Its own gateway: the built-in mock provider."""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
import time

import httpx
import pytest

from conftest import CLIENT_KEY, _gateway_binary, start_dedicated_gateway, stop_gateway, write_gateway_config

ADMIN_KEY = "tg-e2e-key-changes-admin-0123456789"


@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    directory = tmp_path_factory.mktemp("key-changes")
    channels = textwrap.dedent("""\
        - { name: builtin-mock, provider: mock, models: [mock-echo, mock-other] }
        """)
    started = start_dedicated_gateway(write_gateway_config(directory, "key-changes", channels, settings=f"admin_key: {ADMIN_KEY}\n"))
    yield started
    stop_gateway(started)


def cli(gw, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([_gateway_binary(), "keys", *args, "--config", str(gw.config_path)], capture_output=True, text=True, timeout=60)


def status(gw, key: str, model: str = "mock-echo") -> httpx.Response:
    return httpx.post(gw.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                      json={"model": model, "messages": [{"role": "user", "content": "hi"}]})


def eventually(condition, seconds: float = 20.0) -> bool:
    """Polls `condition` (a request each time) until it holds; the gateway re-reads storage every 2 s."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def listed(gw, name: str) -> dict:
    return next(k for k in json.loads(cli(gw, "list", "--json").stdout) if k["name"] == name)


def test_keys_update_changes_a_running_gateways_key(gw):
    made = cli(gw, "create", "--name", "cli-team", "--models", "mock-echo", "--rpm", "100")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert eventually(lambda: status(gw, key).status_code == 200), "the running gateway did not pick the key up"

    updated = cli(gw, "update", "cli-team", "--models", "mock-other", "--rpm", "1", "--budget", "5 USD daily")
    assert updated.returncode == 0, updated.stderr
    row = listed(gw, "cli-team")
    assert (row["models"], row["rpm"], row["budget"]) == (["mock-other"], 1, {"amount": 5, "currency": "USD", "period": "daily"}), row
    # The new models arrive with the next storage refresh (a refused model is never counted) ...
    assert eventually(lambda: status(gw, key, "mock-other").status_code != 403), "the change did not reach the gateway"
    assert status(gw, key).status_code == 403
    # ... and so does the new limit: within a minute, at most one request passes.
    assert eventually(lambda: status(gw, key, "mock-other").status_code == 429, seconds=5)
    limited = status(gw, key, "mock-other")
    assert limited.status_code == 429 and "requests per minute" in limited.json()["error"]["message"], limited.text

    cleared = cli(gw, "update", "cli-team", "--no-rpm", "--no-budget", "--models", "*")
    assert cleared.returncode == 0, cleared.stderr
    row = listed(gw, "cli-team")
    assert (row["models"], row["rpm"], row["budget"]) == ([], None, None), row
    assert eventually(lambda: status(gw, key).status_code == 200)


def test_keys_rotate_keeps_the_old_secret_for_its_grace(gw):
    made = cli(gw, "create", "--name", "cli-svc")
    assert made.returncode == 0, made.stderr
    old = made.stdout.strip()
    rotated = cli(gw, "rotate", "cli-svc", "--grace", "1h")
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip()
    assert re.fullmatch(r"tg-[0-9A-Za-z]{40}", new) and new != old
    assert "shown only now" in rotated.stderr and "old key works until" in rotated.stderr, rotated.stderr
    assert abs(listed(gw, "cli-svc")["previous_key_valid_until"] - (time.time() + 3600)) < 120
    assert eventually(lambda: status(gw, new).status_code == 200), "the new secret did not reach the gateway"
    assert status(gw, old).status_code == 200, "the old secret must work during its grace"

    again = cli(gw, "rotate", "cli-svc", "--grace", "0")
    assert again.returncode == 0 and "refused from now on" in again.stderr, again.stderr
    newest = again.stdout.strip()
    assert eventually(lambda: status(gw, newest).status_code == 200)
    for retired in (old, new):
        refused = status(gw, retired)
        assert refused.status_code == 401, refused.text


def test_keys_cli_refuses_what_it_cannot_do(gw, tmp_path):
    config_path = str(gw.config_path)
    for args in (("update", "e2e", "--rpm", "5"), ("rotate", "e2e"), ("revoke", "e2e")):
        refused = cli(gw, *args)
        assert refused.returncode == 1, (args, refused.stdout)
        assert re.search(r"key 'e2e' is defined in the config file \(.*tollgate\.yaml, line \d+\)", refused.stderr), refused.stderr
        assert config_path in refused.stderr or "tollgate.yaml" in refused.stderr
    assert cli(gw, "create", "--name", "cli-odd").returncode == 0
    for args, message in ((("update", "cli-odd"), "nothing to change"),
                          (("update", "nobody", "--rpm", "5"), "no stored key"),
                          (("update", "cli-odd", "--budget", "5 XYZ"), "no exchange rate"),
                          (("update", "cli-odd", "--budget", "lots"), "--budget must be like"),
                          (("update", "cli-odd", "--expires", "yesterday"), "--expires must be like"),
                          (("rotate", "cli-odd", "--grace", "forever"), "--grace must be like"),
                          (("update", "cli-odd", "--rpm", "5", "--no-rpm"), "contradict")):
        refused = cli(gw, *args)
        assert refused.returncode != 0 and message in refused.stderr, (args, refused.stderr)
    assert status(gw, CLIENT_KEY).status_code == 200


def test_admin_api_changes_and_rotates_keys(gw):
    with httpx.Client(base_url=gw.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30) as http:
        created = http.post("/admin/keys", json={"name": "api-team", "rpm": 50})
        assert created.status_code == 201, created.text
        key = created.json()["key"]
        assert status(gw, key).status_code == 200

        changed = http.patch("/admin/keys/api-team", json={"rpm": 1, "budget": {"amount": "2.5", "currency": "USD"}})
        assert changed.status_code == 200, changed.text
        assert changed.json()["rpm"] == 1 and changed.json()["budget"] == {"amount": 2.5, "currency": "USD", "period": "monthly"}
        refused = status(gw, key)  # the second request this minute, right after the change
        assert refused.status_code == 429, refused.text

        rotated = http.post("/admin/keys/api-team/rotate", json={"grace": "10m"})
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["key"] != key and rotated.json()["previous_key_valid_until"] > time.time() + 500
        assert http.patch("/admin/keys/api-team", json={"rpm": None}).status_code == 200
        assert status(gw, rotated.json()["key"]).status_code == 200 and status(gw, key).status_code == 200

        for body in ({}, {"rpm": 0}, {"rpm": "5"}, {"name": "renamed"}, {"budget": {"amount": 1, "currency": "XYZ"}},
                     {"models": "mock-*"}, {"expires": "yesterday"}, {"colour": "red"}):
            bad = http.patch("/admin/keys/api-team", json=body)
            assert bad.status_code == 400 and bad.json()["error"]["message"], (body, bad.text)
        assert http.patch("/admin/keys/api-team", content=b"{not json").status_code == 400
        assert http.post("/admin/keys/api-team/rotate", json={"grace": "forever"}).status_code == 400

        config_key = http.patch("/admin/keys/e2e", json={"rpm": 5})
        assert config_key.status_code == 409 and config_key.json()["error"]["code"] == "defined_in_config"
        assert "tollgate.yaml" in config_key.json()["error"]["message"]
        rows = {row["name"]: row for row in http.get("/admin/keys").json()["data"]}
        assert rows["e2e"]["source"] == "config" and rows["e2e"]["created_at"] is None
