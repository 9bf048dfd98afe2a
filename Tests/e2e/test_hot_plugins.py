"""Plugins while the gateway runs: a `.so` copied into the watched plugins folder serves a channel
that waited for it, without a restart; a replaced `.so` (a new inode) serves new requests while a
stream started on the old one finishes on the old code. The plugin is the C fixture of the Swift
suite (Tests/TollgateCoreTests/Fixtures/plugins/minimal_adaptor.c), built here with `cc` and
tagged with a version it sends upstream (`x-fixture-version`) and writes at the end of a stream."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from conftest import CHANNEL_KEY, CLIENT_KEY, REPO, _gateway_binary, start_dedicated_gateway, stop_gateway, write_gateway_config
from support import eventually, split_complete_events

FIXTURE = REPO / "Tests/TollgateCoreTests/Fixtures/plugins/minimal_adaptor.c"
HEADERS = REPO / "Sources/TollgatePluginABI/include"
ADMIN_KEY = "tg-admin-hot-plugins-0123456789"


def build(version: str, directory: Path) -> Path:
    """The fixture plugin (provider `hot`) tagged `version`, built outside the watched folder."""
    out = directory / f"hot-{version}-{uuid.uuid4().hex[:8]}.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-I", str(HEADERS), '-DPROVIDER_ID="hot"', f'-DVERSION="{version}"',
                    "-DTAG_VERSION", str(FIXTURE), "-o", str(out)], check=True, capture_output=True)
    return out


@pytest.fixture
def folders(tmp_path):
    plugins, builds = tmp_path / "plugins", tmp_path / "builds"
    plugins.mkdir()
    builds.mkdir()
    return plugins, builds


def start(tmp_path: Path, plugins: Path, mock_upstream):
    channels = (f'- {{ name: hot-channel, provider: hot, base_url: "{mock_upstream.base_url}", '
                f'credentials: {{ api_key: {CHANNEL_KEY} }}, models: ["hot-*", hold-back] }}\n')
    settings = f"plugins: {{ dir: {plugins} }}\nadmin_key: {ADMIN_KEY}\n"
    (tmp_path / "gw").mkdir()
    return start_dedicated_gateway(write_gateway_config(tmp_path / "gw", "hot plugins", channels, settings=settings))


def chat(gw, model: str = "hot-chat") -> httpx.Response:
    return httpx.post(gw.url + "/v1/chat/completions", headers={"Authorization": f"Bearer {CLIENT_KEY}"}, timeout=30,
                      json={"model": model, "messages": [{"role": "user", "content": "hello"}]})


def served_by(mock_upstream) -> str | None:
    """The fixture version that built the upstream's last request."""
    requests = mock_upstream.requests
    return requests[-1].header("x-fixture-version") if requests else None




def test_a_plugin_copied_into_the_folder_serves_a_new_channel_without_restart(tmp_path, folders, mock_upstream):
    plugins, builds = folders
    gw = start(tmp_path, plugins, mock_upstream)
    try:
        assert chat(gw).status_code == 404, "the channel waits for its provider"
        shutil.copy(build("1.0", builds), plugins / "libtollgate-hot.so")  # written in place, as `cp` does
        assert eventually(lambda: chat(gw).status_code == 200), gw.stderr()[-3000:]
        assert served_by(mock_upstream) == "1.0"
        listed = httpx.get(gw.url + "/admin/plugins", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30).json()
        hot = next(p for p in listed["plugins"] if p["path"].endswith("libtollgate-hot.so"))
        assert hot["status"] == "loaded" and hot["version"] == "1.0" and hot["providers"] == ["hot"]
        assert hot["loaded_at"].startswith(time.strftime("%Y-", time.gmtime()))
        cli = subprocess.run([_gateway_binary(), "plugins", "--dir", str(plugins)], capture_output=True, text=True, timeout=60)
        assert cli.returncode == 0, cli.stderr
        assert f"loaded   {plugins}/libtollgate-hot.so: adaptor 'fixture' 1.0, providers: hot, at " in cli.stdout, cli.stdout
        assert gw.alive()
    finally:
        stop_gateway(gw)


def test_a_replaced_plugin_serves_new_requests_while_a_stream_on_the_old_one_finishes(tmp_path, folders, mock_upstream):
    plugins, builds = folders
    target = plugins / "libtollgate-hot.so"
    shutil.copy(build("1.0", builds), target)
    gw = start(tmp_path, plugins, mock_upstream)
    try:
        assert chat(gw).status_code == 200 and served_by(mock_upstream) == "1.0"
        key = f"hold {uuid.uuid4().hex}"
        hold = mock_upstream.hold(key)
        request = {"model": "hold-back", "stream": True, "messages": [{"role": "user", "content": key}]}
        with httpx.Client(base_url=gw.url, timeout=60) as http:
            with http.stream("POST", "/v1/chat/completions", json=request,
                             headers={"Authorization": f"Bearer {CLIENT_KEY}"}) as response:
                assert response.status_code == 200, response.read()
                chunks = response.iter_raw()
                buffer, first = b"", []
                while not first:
                    buffer += next(chunks)
                    first, buffer = split_complete_events(buffer)
                assert hold.state == "holding"

                os.replace(build("2.0", builds), target)  # a new inode, as a deploy does
                assert eventually(lambda: chat(gw).status_code == 200 and served_by(mock_upstream) == "2.0"), gw.stderr()[-3000:]

                hold.release.set()
                rest = buffer + b"".join(chunks)
        assert b": finished by 1.0" in rest, rest
        assert b"data: [DONE]" in rest
        assert chat(gw).status_code == 200 and served_by(mock_upstream) == "2.0"
        assert gw.alive()
    finally:
        stop_gateway(gw)
