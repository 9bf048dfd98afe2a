"""Hostile admin payloads: admin input is data. No `${...}` is looked up in the gateway's
environment, text resembling the config loader's placeholders is kept as written (it once
crashed the process), price sync from the API takes http(s) URLs only, and a Vertex channel takes
its service account inline, never a path on the gateway's host."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from conftest import (CLIENT_KEY, VERTEX_LOCATION, VERTEX_PROJECT, _stop_gateway, start_dedicated_gateway,
                      write_gateway_config)

ADMIN_KEY = "tg-e2e-admin-key-hostile-0123456789"
SECRET_IN_ENV = "env-secret-that-must-never-leave-the-host"


@pytest.fixture(scope="module")
def admin_gateway(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tollgate-hostile-admin")
    config = write_gateway_config(directory, "hostile admin", "  - { name: builtin, provider: mock, models: [mock-echo] }\n",
                                  settings=f"admin_key: {ADMIN_KEY}\n")
    os.environ["TOLLGATE_E2E_SECRET"] = SECRET_IN_ENV  # inherited by the gateway
    try:
        gateway = start_dedicated_gateway(config)
    finally:
        del os.environ["TOLLGATE_E2E_SECRET"]
    yield gateway
    _stop_gateway(gateway)


@pytest.fixture
def admin(admin_gateway):
    assert admin_gateway.alive()
    with httpx.Client(base_url=admin_gateway.url, timeout=30, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as c:
        yield c
    assert admin_gateway.alive(), f"the gateway exited (status {admin_gateway.process.returncode})"


def test_placeholder_lookalikes_are_kept_as_written(admin):
    # This exact body ended the process ("String index is out of bounds") before.
    body = {"provider": "openai", "base_url": "https://a.example/v1", "models": ["${A:-m}", "__tollgate_env_0"]}
    response = admin.put("/admin/channels/c1", json=body)
    assert response.status_code == 200, response.text
    stored = admin.get("/admin/channels/c1").json()["body"]
    assert stored["models"] == ["${A:-m}", "__tollgate_env_0"]


@pytest.mark.parametrize("models", [["__tollgate_env_0__"], ["__tollgate_env_99999999999999999999__"], ["__tollgate_env_"],
                                    ["${"], ["${}"], ["${A"], ["$${A}}"]])
def test_every_placeholder_shape_is_data(admin, models):
    body = {"provider": "openai", "base_url": "https://a.example/v1", "models": models}
    response = admin.put("/admin/channels/c2", json=body)
    assert response.status_code == 200, response.text
    assert admin.get("/admin/channels/c2").json()["body"]["models"] == models


def test_environment_variables_are_never_substituted(admin, admin_gateway):
    body = {"provider": "openai", "base_url": "https://${TOLLGATE_E2E_SECRET}.example/v1",
            "credentials": {"api_key": "${TOLLGATE_E2E_SECRET}"}, "models": ["${TOLLGATE_E2E_SECRET}"],
            "model_map": {"alias": "${TOLLGATE_E2E_SECRET:-x}"}}
    assert admin.put("/admin/channels/env", json=body).status_code == 200
    listed = admin.get("/admin/channels").text
    assert SECRET_IN_ENV not in listed
    assert "${TOLLGATE_E2E_SECRET}" in listed
    # The model is served under its literal name, not under the secret's value.
    chat = httpx.post(admin_gateway.v1 + "/chat/completions", headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                      json={"model": SECRET_IN_ENV, "messages": []}, timeout=30)
    assert chat.status_code == 404, chat.text


@pytest.mark.parametrize("body", [
    b"", b"null", b"[]", b'"x"', b"{", b'{"provider":1,"models":["a"]}', b'{"provider":"openai","models":{}}',
    b'{"provider":"openai","models":[1,2]}', b'{"provider":"openai","models":["a"],"credentials":"k"}',
    b'{"provider":"openai","models":["a"],"credentials":{"api_key":{"nested":true}}}',
    b'{"provider":"openai","models":["a"],"weight":1e400}', b'{"provider":"openai","models":["a"],"priority":-1}',
    b'{"provider":"openai","models":["a"],"model_map":[1]}', b'{"provider":"openai","models":["a"],"name":"other"}',
    b'{"provider":"openai","models":["a"],"base_url":"file:///etc/passwd"}',
    b'{"provider":"openai","models":["a"],"options":{"k":[{"deep":[]}]}}',
    b'{"provider":"openai","models":["\\u0000"],"base_url":"https://a.example"}',
    b'{"provider":"openai","models":["a"],"unknown":1}', b"[" * 10000, b'{"a":' * 200 + b"1" + b"}" * 200,
    b'\xff\xfe{"provider":"openai"}',
])
def test_malformed_channel_bodies_are_refused_with_400(admin, body):
    response = admin.put("/admin/channels/bad", content=body)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"]["code"] in ("invalid_channel", "invalid_json")


@pytest.mark.parametrize("kind,body", [
    ("templates", b'{"provider":"tpl","base_url":"https://x","endpoints":{"chat":"/c"},"request":[{"op":"set","path":"$$$","value":1}]}'),
    ("templates", b'{"provider":"other","base_url":"https://x","endpoints":{"chat":"/c"}}'),
    ("templates", b"[" * 5000),
    ("prices", b'{"input_cost_per_token":"${HOME}"}'), ("prices", b'{"input_cost_per_token":-1}'),
    ("prices", b'{"tiered_pricing":[{"range":[5,1]}]}'), ("prices", b"nope"),
    ("exchange-rates", b'{"rate":0}'), ("exchange-rates", b'{"rate":"${HOME}"}'), ("exchange-rates", b'{"rate":1e999999}'),
])
def test_malformed_objects_of_every_kind_are_refused(admin, kind, body):
    name = {"templates": "tpl", "prices": "gpt-x", "exchange-rates": "CNY"}[kind]
    response = admin.put(f"/admin/{kind}/{name}", content=body)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("body", [b"{", b'{"name":1}', b'{"name":"k","models":"gpt"}', b'{"name":"k","rpm":-5}',
                                  b'{"name":"k","expires":"soon"}', b'{"name":"k","tpm":1e300}'])
def test_malformed_key_requests_are_refused(admin, body):
    response = admin.post("/admin/keys", content=body)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("source", ["/etc/passwd", "file:///etc/passwd", "./data/tollgate.db", "ftp://x.example/p.json", ""])
def test_price_sync_from_the_api_takes_http_urls_only(admin, source):
    response = admin.post("/admin/prices/sync", params={"from": source})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_from"


def test_a_vertex_channel_cannot_name_a_host_file(admin):
    for field in ("service_account_file", "api_key_file"):
        response = admin.put("/admin/channels/vx", json={"provider": "vertex", "models": ["gemini-*"],
                                                         "credentials": {field: "/etc/passwd"}})
        assert response.status_code == 400, response.text
        assert f"credentials.{field}" in response.json()["error"]["message"]
    assert admin.get("/admin/channels/vx").status_code == 404


def test_a_vertex_channel_takes_its_service_account_inline(admin, admin_gateway, mock_vertex):
    body = {"provider": "vertex", "base_url": mock_vertex.url, "models": ["gemini-*"],
            "credentials": {"service_account": mock_vertex.service_account},
            "options": {"project": VERTEX_PROJECT, "location": VERTEX_LOCATION, "token_uri": mock_vertex.token_uri}}
    response = admin.put("/admin/channels/vertex-inline", json=body)
    assert response.status_code == 200, response.text
    chat = httpx.post(admin_gateway.v1 + "/chat/completions", headers={"Authorization": f"Bearer {CLIENT_KEY}"},
                      json={"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}, timeout=30)
    assert chat.status_code == 200, chat.text
    assert chat.headers["x-tollgate-channel"] == "vertex-inline"
    # The key is never shown again.
    listed = admin.get("/admin/channels/vertex-inline").text
    assert mock_vertex.service_account["private_key"][40:80] not in listed
    assert json.loads(listed)["body"]["credentials"]["service_account"] == "****"


# --- 5. secrets at rest ------------------------------------------------------------------------

def test_credentials_are_sealed_at_rest_and_masked(admin, admin_gateway):
    secret = "sk-at-rest-plain-secret-0123456789"
    assert admin.put("/admin/channels/sealed", json={"provider": "openai", "base_url": "https://a.example/v1",
                                                     "credentials": {"api_key": secret}, "models": ["sealed-*"]}).status_code == 200
    data = admin_gateway.config_path.parent / "data"
    stored = b"".join(path.read_bytes() for path in data.glob("tollgate.db*"))
    assert secret.encode() not in stored and b"tg-sealed:v1:" in stored
    key_file = data / "secret-key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    for path in ("/admin/channels", "/admin/channels/sealed"):
        shown = admin.get(path).text
        assert secret not in shown and "tg-sealed" not in shown, path


def test_template_headers_are_masked(admin):
    template = {"provider": "acme", "base_url": "https://acme.example", "auth": {"style": "bearer"},
                "endpoints": {"chat": "/v1/chat"}, "headers": {"x-org-secret": "org-secret-0123"}}
    assert admin.put("/admin/templates/acme", json=template).status_code == 200
    for path in ("/admin/templates", "/admin/templates/acme"):
        assert "org-secret-0123" not in admin.get(path).text, path
