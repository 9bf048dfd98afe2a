"""The command line: check-config and plugins, on good and broken input."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import DEFAULT_BIN, REPO
import os

BIN = os.environ.get("TOLLGATE_BIN", str(DEFAULT_BIN))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60)


def test_check_config_accepts_a_valid_file(tmp_path: Path) -> None:
    config = tmp_path / "good.yaml"
    config.write_text("listen: 127.0.0.1:9999\nkeys:\n  - { name: a, key: sk-aaaaaaaa }\n"
                      "channels:\n  - { name: m, provider: mock, models: [mock-echo] }\n")
    result = run("check-config", str(config))
    assert result.returncode == 0, result.stderr
    assert "OK (1 channels, 1 keys, listen 127.0.0.1:9999)" in result.stdout


@pytest.mark.parametrize("text, expected", [
    ("listen: 127.0.0.1:1\nlisten_port: 9\n", "bad.yaml:2:1: listen_port: unknown key"),
    ("channels:\n  - { name: a, provider: openai, base_url: ftp://x, models: [m] }\n",
     "bad.yaml:2:44: channels[0].base_url: must be an http:// or https:// URL"),
    ("keys:\n  - { name: a, key: ${TOLLGATE_TEST_UNSET_VARIABLE} }\n",
     "bad.yaml:2:21: keys[0].key: environment variable TOLLGATE_TEST_UNSET_VARIABLE is not set"),
    ("channels:\n  - { name: a\n", "bad.yaml:3:1: invalid YAML"),
    ("channels:\n  - { name: c, provider: acme, models: [acme-*] }\n",
     "bad.yaml:2:26: channel 'c': provider 'acme' is not available: no loaded plugin or template serves it (expected a plugin such as libtollgate-acme.so"),
])
def test_check_config_names_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    result = run("check-config", str(config))
    assert result.returncode == 1
    assert expected.replace("bad.yaml", str(config)) in result.stderr, result.stderr
    assert "Usage:" not in result.stderr


def test_serve_refuses_a_broken_config_with_the_same_message(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("listen: nowhere\n")
    result = run("serve", "--config", str(config))
    assert result.returncode == 1
    assert f"{config}:1:9: listen: must be host:port" in result.stderr


def test_plugins_lists_loaded_and_refused_files(tmp_path: Path) -> None:
    shutil.copy(Path(BIN).parent / "libtollgate-ollama-native.so", tmp_path / "libtollgate-ollama-native.so")
    (tmp_path / "broken.so").write_text("not a shared object\n")
    result = run("plugins", "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.strip().startswith("refused") and "broken.so: cannot be opened:" in line for line in lines), result.stdout
    assert any(line.strip().startswith("loaded") and "adaptor 'ollama-native'" in line
               and "providers: ollama-native" in line for line in lines), result.stdout


def test_plugins_default_directory_is_beside_the_executable() -> None:
    result = run("plugins")
    assert result.returncode == 0
    assert f"Plugins in {Path(BIN).resolve().parent}" in result.stdout
    assert "ollama-native" in result.stdout
