"""Client keys are accepted as `Authorization: Bearer`, `x-api-key`, `x-goog-api-key` and `?key=`."""

from __future__ import annotations

import pytest

from conftest import CHANNEL_KEY, CLIENT_KEY
from support import assert_openai_error

PLACEMENTS = ["bearer", "x-api-key", "x-goog-api-key", "query"]


def placed(placement: str, key: str) -> dict:
    """httpx request arguments carrying `key` the given way (and no other credential)."""
    if placement == "bearer":
        return {"headers": {"Authorization": f"Bearer {key}"}}
    if placement == "query":
        return {"params": {"key": key}}
    return {"headers": {placement: key}}


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_key_placement_mock_channel(http, placement):
    response = http.post("/v1/chat/completions", json={"model": "mock-echo", "messages": [{"role": "user", "content": "hi"}]},
                         **placed(placement, CLIENT_KEY))
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "echo: hi"


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_key_placement_openai_channel(http, mock_upstream, placement):
    response = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
                         **placed(placement, CLIENT_KEY))
    assert response.status_code == 200, response.text
    upstream = mock_upstream.only("/v1/chat/completions")
    assert upstream.path == "/v1/chat/completions", "the client's ?key= must not be forwarded upstream"
    assert upstream.header_values("authorization") == [f"Bearer {CHANNEL_KEY}"]
    for name, value in upstream.headers:
        assert CLIENT_KEY not in value, f"client key leaked upstream in header {name}"


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_key_placement_embeddings(http, mock_upstream, placement):
    response = http.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": "hello"},
                         **placed(placement, CLIENT_KEY))
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 1


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_key_placement_models(http, placement):
    response = http.get("/v1/models", **placed(placement, CLIENT_KEY))
    assert response.status_code == 200, response.text
    assert "mock-echo" in [m["id"] for m in response.json()["data"]]


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_wrong_key_each_placement(http, mock_upstream, placement):
    response = http.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
                         **placed(placement, "tg-wrong-key-0000000000"))
    assert_openai_error(response, 401, "invalid_api_key")
    assert mock_upstream.requests == []


def test_query_key_among_other_parameters(http):
    response = http.post("/v1/chat/completions?alt=json&key=" + CLIENT_KEY + "&x=1",
                         json={"model": "mock-echo", "messages": [{"role": "user", "content": "q"}]})
    assert response.status_code == 200, response.text
