"""Config reload on a running gateway process: SIGHUP with an edited config serves a new model;
SIGHUP with a broken config keeps serving and logs `file:line:column: key: message`;
`POST /admin/reload` answers what it applied and which changed settings need a restart."""

from __future__ import annotations

import re
import signal

import httpx
import pytest

from support import eventually
from conftest import CLIENT_KEY, start_dedicated_gateway, stop_gateway, write_gateway_config

ADMIN_KEY = "tg-admin-reload-0123456789"
CHANNELS = "- { name: builtin-mock, provider: mock, models: [mock-echo] }\n"


@pytest.fixture
def gw(tmp_path):
    started = start_dedicated_gateway(write_gateway_config(tmp_path, "reload", CHANNELS, settings=f"admin_key: {ADMIN_KEY}\n"))
    yield started
    stop_gateway(started)


def chat(gw, model: str) -> httpx.Response:
    return httpx.post(gw.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {CLIENT_KEY}"}, timeout=30,
                      json={"model": model, "messages": [{"role": "user", "content": "hello"}]})




def test_sighup_with_an_edited_config_serves_a_new_model(gw):
    assert chat(gw, "second-echo").status_code == 404
    text = gw.config_path.read_text()
    gw.config_path.write_text(text + "  - { name: second, provider: mock, models: [second-echo] }\n")
    gw.process.send_signal(signal.SIGHUP)
    assert eventually(lambda: chat(gw, "second-echo").status_code == 200), gw.stderr()[-3000:]
    assert chat(gw, "mock-echo").status_code == 200
    assert "config reloaded" in gw.stderr()
    assert gw.alive()


def test_sighup_with_a_broken_config_keeps_serving_and_names_the_place(gw):
    text = gw.config_path.read_text()
    lines = text.splitlines()
    gw.config_path.write_text(text + "threads: many\n")
    gw.process.send_signal(signal.SIGHUP)
    place = re.escape(f"{gw.config_path}:{len(lines) + 1}:") + r"\d+: threads: "
    assert eventually(lambda: re.search(place, gw.stderr()) is not None), gw.stderr()[-3000:]
    assert "config reload refused; the running config stays" in gw.stderr()
    assert chat(gw, "mock-echo").status_code == 200
    assert gw.alive()


def test_admin_reload_names_settings_that_need_a_restart_and_refuses_a_broken_file(gw):
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    text = gw.config_path.read_text()
    assert "listen: 127.0.0.1:0\n" in text
    gw.config_path.write_text(text.replace("listen: 127.0.0.1:0\n", "listen: 127.0.0.1:1\n")
                              + "  - { name: third, provider: mock, models: [third-echo] }\n")
    answer = httpx.post(gw.url + "/admin/reload", headers=admin, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["restart_required"] == ["listen"]
    assert "channels" in answer.json()["applied"]
    assert chat(gw, "third-echo").status_code == 200, "served on the address it started on"

    gw.config_path.write_text(text + "  - { name: broken, provider: mock, models: [x], weight: heavy }\n")
    refused = httpx.post(gw.url + "/admin/reload", headers=admin, timeout=30)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "invalid_config"
    assert re.search(re.escape(str(gw.config_path)) + r":\d+:\d+: channels\[1\]\.weight: ", error["message"]), error["message"]
    assert chat(gw, "third-echo").status_code == 200, "the running config stays"
