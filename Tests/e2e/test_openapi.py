"""The running gateway matches docs/openapi.yaml: the document is valid OpenAPI 3.1, every
operation's `x-example` request answers with a documented status whose body fits the documented
schema, and the admin routes refuse a missing key with the documented 401."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate

from conftest import CLIENT_KEY, REPO, start_dedicated_gateway, stop_gateway, write_gateway_config

DOC_PATH = REPO / "docs" / "openapi.yaml"
ADMIN_KEY = "tg-admin-openapi-0123456789"


def load_doc() -> dict:
    return yaml.safe_load(DOC_PATH.read_text())


def operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "delete", "patch"):
                yield path, method, op


@pytest.fixture(scope="module")
def openapi_gateway(tmp_path_factory):
    directory = tmp_path_factory.mktemp("openapi")
    channels = textwrap.dedent("""\
        - { name: builtin-mock, provider: mock, models: [mock-echo] }
        """)
    gw = start_dedicated_gateway(write_gateway_config(directory, "openapi", channels, settings=f"admin_key: {ADMIN_KEY}\n"))
    yield gw
    stop_gateway(gw)


def test_the_document_is_valid_openapi():
    doc = load_doc()
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    for path, method, op in operations(doc):
        assert "x-example" in op, f"{method.upper()} {path} has no x-example to test it with"


def resolve(doc: dict, node: dict) -> dict:
    while "$ref" in node:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def check_against(doc: dict, op: dict, response: httpx.Response, where: str) -> None:
    documented = op["responses"]
    assert str(response.status_code) in documented, f"{where}: HTTP {response.status_code} is not documented: {response.text[:300]}"
    spec = resolve(doc, documented[str(response.status_code)])
    content = spec.get("content", {})
    kind = response.headers.get("content-type", "").split(";")[0].strip()
    assert kind in content, f"{where}: content-type {kind} is not documented for {response.status_code}"
    if kind == "application/json":
        schema = dict(content[kind]["schema"])
        schema["components"] = doc["components"]  # so $refs resolve inside the document
        jsonschema.validate(response.json(), schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("path,method", [(p, m) for p, m, _ in operations(load_doc())])
def test_each_operation_answers_as_documented(openapi_gateway, path, method):
    doc = load_doc()
    op = doc["paths"][path][method]
    example = op["x-example"]
    url = path
    for name, value in (example.get("path") or {}).items():
        url = url.replace("{" + name + "}", value)
    headers = {}
    security = [name for requirement in op.get("security", []) for name in requirement]
    if "adminKey" in security:
        headers["authorization"] = f"Bearer {ADMIN_KEY}"
    elif "clientKey" in security:
        headers["authorization"] = f"Bearer {CLIENT_KEY}"
    with httpx.Client(base_url=openapi_gateway.url, timeout=30) as http:
        response = http.request(method.upper(), url, params=example.get("query"), json=example.get("body"), headers=headers)
        check_against(doc, op, response, f"{method.upper()} {path}")
        if security:  # without credentials: the documented 401
            refused = http.request(method.upper(), url, params=example.get("query"), json=example.get("body"))
            assert refused.status_code == 401, refused.text
            check_against(doc, op, refused, f"{method.upper()} {path} without a key")


def test_an_undocumented_route_is_404(openapi_gateway):
    with httpx.Client(base_url=openapi_gateway.url, timeout=30) as http:
        # An unknown path needs a client key (only key holders learn which routes exist); an
        # unknown admin path the admin key.
        for method, path, key in [("GET", "/v2/anything", CLIENT_KEY), ("GET", "/admin/nothing-here", ADMIN_KEY)]:
            assert http.request(method, path, headers={"authorization": f"Bearer {key}"}).status_code == 404
