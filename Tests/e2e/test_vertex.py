"""Vertex AI (Gemini models) with service-account OAuth:

  - `mock_vertex` is faithful: google-auth's service-account credentials exchange their signed JWT
    at its token endpoint, and the google-genai SDK in Vertex mode (`vertexai=True`) calls its
    `publishers/google/models/...:generateContent` endpoints with the token; forged or mis-claimed
    assertions and unknown tokens are refused as Google refuses them;
  - the `vertex` plugin end to end (`vertex_gateway`): the openai SDK's chat, streamed chat and
    tool calls reach the mock with a token the plugin got by signing its own JWT, and come back
    converted, with Gemini's usage; the token is cached, and dropped after Vertex's 401; a
    google-genai client's body reaches Vertex untouched; an anthropic SDK client is converted.
"""

from __future__ import annotations

import base64
import json
import time

import anthropic
import httpx
import httpx2  # the anthropic SDK's HTTP client
import openai
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from google import genai
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request as GoogleAuthRequest
from google.genai import types
from google.oauth2 import service_account
from openai import OpenAI

import mock_anthropic as ma
import mock_gemini as mg
import mock_vertex as mv
from conftest import (CLIENT_KEY, VERTEX_CHANNEL, VERTEX_CLAUDE_MAPPED_MODEL, VERTEX_CLAUDE_UPSTREAM_MODEL,
                      VERTEX_LOCATION, VERTEX_MAPPED_MODEL, VERTEX_MAPPED_UPSTREAM_MODEL, VERTEX_PROJECT)

MODEL = "gemini-2.5-flash"
MODEL_PATH = f"/v1/projects/{VERTEX_PROJECT}/locations/{VERTEX_LOCATION}/publishers/google/models"


def credentials(info: dict) -> service_account.Credentials:
    return service_account.Credentials.from_service_account_info(info, scopes=[mv.SCOPE])


@pytest.fixture
def vertex_sdk(mock_vertex):
    client = genai.Client(vertexai=True, project=VERTEX_PROJECT, location=VERTEX_LOCATION,
                          credentials=credentials(mock_vertex.service_account),
                          http_options=types.HttpOptions(base_url=mock_vertex.url + "/", api_version="v1"))
    yield client


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(info: dict, **claims) -> str:
    """A JWT signed with the account's key, with the usual claims (overridden by `claims`)."""
    now = int(time.time())
    body = {"iss": info["client_email"], "scope": mv.SCOPE, "aud": info["token_uri"], "iat": now, "exp": now + 3600}
    body.update(claims)
    head = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": info["private_key_id"]}).encode())
    payload = b64url(json.dumps(body).encode())
    key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    signature = key.sign(f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{payload}.{b64url(signature)}"


def exchange(mock, jwt: str, grant_type: str = mv.GRANT_TYPE) -> httpx.Response:
    return httpx.post(mock.token_uri, data={"grant_type": grant_type, "assertion": jwt})


# --- the mock is faithful ------------------------------------------------------------------------

def test_google_auth_exchanges_its_jwt_at_the_mock(mock_vertex):
    creds = credentials(mock_vertex.service_account)
    creds.refresh(GoogleAuthRequest())
    record = mock_vertex.only("/token")
    assert record.header("content-type").startswith("application/x-www-form-urlencoded")
    assert creds.token and mock_vertex.valid_token(creds.token)
    assert creds.expiry is not None
    assert not mock_vertex.token_failures


def test_genai_vertex_generate_content(vertex_sdk, mock_vertex):
    answer = vertex_sdk.models.generate_content(model=MODEL, contents="Hello Vertex",
                                                config=types.GenerateContentConfig(system_instruction="Be brief."))
    record = mock_vertex.only(f"{MODEL_PATH}/{MODEL}:generateContent")
    token = record.header("authorization")[7:]
    assert mock_vertex.valid_token(token)
    assert [t for _, t in mock_vertex.tokens_issued][-1] == token
    assert answer.text == mg.reply_text(record.json()) == "Mock reply to: Hello Vertex"
    assert answer.usage_metadata.prompt_token_count == mg.usage_metadata(record.json())["promptTokenCount"]
    assert answer.create_time is not None


def test_genai_vertex_stream(vertex_sdk, mock_vertex):
    chunks = list(vertex_sdk.models.generate_content_stream(model=MODEL, contents="Stream from Vertex"))
    record = mock_vertex.only(f"{MODEL_PATH}/{MODEL}:streamGenerateContent")
    assert "alt=sse" in record.path
    assert "".join(c.text or "" for c in chunks) == "Mock reply to: Stream from Vertex"
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP


def test_a_token_the_mock_did_not_issue_gets_401(mock_vertex):
    response = httpx.post(f"{mock_vertex.url}{MODEL_PATH}/{MODEL}:generateContent",
                          headers={"Authorization": "Bearer ya29.forged"},
                          json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"


def test_another_project_gets_403(mock_vertex):
    token = mock_vertex.issue_token("someone@example.com")
    response = httpx.post(f"{mock_vertex.url}/v1/projects/other-project/locations/{VERTEX_LOCATION}/publishers/google/"
                          f"models/{MODEL}:generateContent", headers={"Authorization": f"Bearer {token}"},
                          json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
    assert response.status_code == 403 and response.json()["error"]["status"] == "PERMISSION_DENIED"


def test_a_good_assertion_is_exchanged(mock_vertex):
    response = exchange(mock_vertex, assertion(mock_vertex.service_account))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == mv.TOKEN_LIFETIME
    assert mock_vertex.valid_token(body["access_token"])


@pytest.mark.parametrize("case", ["forged", "wrong_iss", "wrong_aud", "no_scope", "too_long", "expired", "grant"])
def test_bad_assertions_are_refused(mock_vertex, case):
    info = mock_vertex.service_account
    if case == "forged":  # same kid, another key
        other, _ = mv.make_service_account(VERTEX_PROJECT, info["token_uri"])
        jwt = assertion({**other, "private_key_id": info["private_key_id"], "client_email": info["client_email"]})
    elif case == "wrong_iss":
        jwt = assertion(info, iss="intruder@example.iam.gserviceaccount.com")
    elif case == "wrong_aud":
        jwt = assertion(info, aud="https://token.example.com/token")
    elif case == "no_scope":
        jwt = assertion(info, scope="https://www.googleapis.com/auth/userinfo.email")
    elif case == "too_long":
        jwt = assertion(info, exp=int(time.time()) + 7200)
    elif case == "expired":
        jwt = assertion(info, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    else:
        jwt = assertion(info)
    response = exchange(mock_vertex, jwt, grant_type="client_credentials" if case == "grant" else mv.GRANT_TYPE)
    assert response.status_code == 400, response.text
    expected = {"grant": "unsupported_grant_type", "no_scope": "invalid_scope"}.get(case, "invalid_grant")
    assert response.json()["error"] == expected


def test_genai_with_an_unknown_key_fails_at_the_token_endpoint(mock_vertex):
    stranger, _ = mv.make_service_account(VERTEX_PROJECT, mock_vertex.token_uri)
    client = genai.Client(vertexai=True, project=VERTEX_PROJECT, location=VERTEX_LOCATION,
                          credentials=credentials(stranger),
                          http_options=types.HttpOptions(base_url=mock_vertex.url + "/", api_version="v1"))
    with pytest.raises(RefreshError) as caught:
        client.models.generate_content(model=MODEL, contents="hi")
    assert "Invalid JWT Signature" in str(caught.value)
    assert not [r for r in mock_vertex.requests if r.path != "/token"]


# --- through the gateway's vertex plugin ---------------------------------------------------------

@pytest.fixture
def oai(vertex_gateway):
    client = OpenAI(base_url=vertex_gateway.v1, api_key=CLIENT_KEY, max_retries=0)
    yield client
    client.close()


def assert_vertex_request(mock, path_suffix: str) -> mv.RecordedRequest:
    [record] = [r for r in mock.requests if r.path != "/token"]
    assert record.path.split("?")[0] == f"{MODEL_PATH}/{path_suffix}"
    token = (record.header("authorization") or "")[7:]
    assert mock.valid_token(token), f"not a token the mock issued: {record.header('authorization')!r}"
    assert CLIENT_KEY not in json.dumps(record.headers)
    assert not mock.token_failures, mock.token_failures
    return record


def test_openai_chat_through_vertex(oai, mock_vertex):
    raw = oai.chat.completions.with_raw_response.create(
        model=VERTEX_MAPPED_MODEL, max_tokens=40,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello via Vertex"}])
    completion = raw.parse()
    record = assert_vertex_request(mock_vertex, f"{VERTEX_MAPPED_UPSTREAM_MODEL}:generateContent")
    request = record.json()
    assert raw.headers["x-tollgate-channel"] == VERTEX_CHANNEL
    assert request["contents"] == [{"role": "user", "parts": [{"text": "Hello via Vertex"}]}]
    assert mg.parts_text(request["systemInstruction"]["parts"]) == "Be brief."
    assert completion.choices[0].message.content == "Mock reply to: Hello via Vertex"
    assert completion.choices[0].finish_reason == "stop"
    expected = mg.openai_usage(request)
    assert completion.usage.prompt_tokens == expected["prompt_tokens"]
    assert completion.usage.completion_tokens == expected["completion_tokens"]
    assert completion.usage.total_tokens == expected["total_tokens"]


def test_openai_stream_through_vertex(oai, mock_vertex):
    chunks = list(oai.chat.completions.create(model=MODEL, stream=True, stream_options={"include_usage": True},
                                              messages=[{"role": "user", "content": "Stream via Vertex"}]))
    record = assert_vertex_request(mock_vertex, f"{MODEL}:streamGenerateContent")
    assert "alt=sse" in record.path
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Mock reply to: Stream via Vertex"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    expected = mg.openai_usage(record.json())
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == expected["prompt_tokens"]
    assert chunks[-1].usage.completion_tokens == expected["completion_tokens"]


def test_the_plugin_signs_its_jwt_as_documented(oai, mock_vertex):
    oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "claims"}])
    # The plugin's assertions are the ones addressed to the token URI itself (google-auth's go to Google's).
    mine = [c for c in mock_vertex.claims_seen if c["aud"] == mock_vertex.token_uri]
    assert mine, f"the plugin never exchanged a JWT: {mock_vertex.claims_seen}"
    for claims in mine:
        assert claims["iss"] == mock_vertex.service_account["client_email"]
        assert claims["scope"] == mv.SCOPE
        assert claims["exp"] - claims["iat"] == 3600


def test_the_token_is_cached_across_requests(oai, mock_vertex):
    oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "one"}])
    oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "two"}])
    calls = [r for r in mock_vertex.requests if r.path != "/token"]
    assert len(calls) == 2
    assert calls[0].header("authorization") == calls[1].header("authorization")
    assert len([r for r in mock_vertex.requests if r.path == "/token"]) <= 1


def test_a_revoked_token_is_dropped_and_fetched_again(oai, mock_vertex):
    oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "before"}])
    mock_vertex.revoke_tokens()
    mock_vertex.clear()
    # Vertex answers 401 to the stale token (passed on to the client); the plugin drops the token,
    # so the next request exchanges a new JWT.
    with pytest.raises(openai.AuthenticationError) as caught:
        oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "stale"}])
    assert caught.value.body["code"] == "UNAUTHENTICATED"
    completion = oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "after"}])
    assert completion.choices[0].message.content == "Mock reply to: after"
    assert any(r.path == "/token" for r in mock_vertex.requests)


# --- other client dialects through the vertex plugin ---------------------------------------------

def test_genai_to_vertex_gemini_passes_through(vertex_gateway, mock_vertex):
    sent = []
    http_client = httpx.Client(event_hooks={"request": [sent.append]}, timeout=httpx.Timeout(30.0))
    client = genai.Client(api_key=CLIENT_KEY, http_options=types.HttpOptions(
        base_url=vertex_gateway.url, api_version="v1beta", httpx_client=http_client))
    try:
        answer = client.models.generate_content(model=MODEL, contents="Hello passthrough ✓",
                                                config=types.GenerateContentConfig(max_output_tokens=30))
    finally:
        http_client.close()
    record = assert_vertex_request(mock_vertex, f"{MODEL}:generateContent")
    sent[-1].read()
    assert record.body == sent[-1].content, "a Gemini client's body should reach a Gemini model on Vertex untouched"
    assert answer.text == "Mock reply to: Hello passthrough ✓"
    assert answer.usage_metadata.prompt_token_count == mg.usage_metadata(record.json())["promptTokenCount"]


def test_anthropic_sdk_to_vertex_gemini(vertex_gateway, mock_vertex):
    client = anthropic.Anthropic(base_url=vertex_gateway.url, api_key=CLIENT_KEY, max_retries=0)
    try:
        message = client.messages.create(model=VERTEX_MAPPED_MODEL, max_tokens=30, system="Be brief.",
                                         messages=[{"role": "user", "content": "Hi from anthropic"}])
    finally:
        client.close()
    record = assert_vertex_request(mock_vertex, f"{VERTEX_MAPPED_UPSTREAM_MODEL}:generateContent")
    request = record.json()
    assert request["contents"] == [{"role": "user", "parts": [{"text": "Hi from anthropic"}]}]
    assert message.type == "message" and message.content[0].text == "Mock reply to: Hi from anthropic"
    assert message.stop_reason == "end_turn"
    expected = mg.openai_usage(request)  # thinking counts as output; cached tokens are read from the cache
    assert message.usage.output_tokens == expected["completion_tokens"]
    assert message.usage.input_tokens == expected["prompt_tokens"] - expected["cached_tokens"]
    assert message.usage.cache_read_input_tokens == expected["cached_tokens"]


def test_openai_tool_call_through_vertex(oai, mock_vertex):
    tool = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
    completion = oai.chat.completions.create(model=MODEL, tools=[tool],
                                             messages=[{"role": "user", "content": "Weather in Paris?"}])
    record = assert_vertex_request(mock_vertex, f"{MODEL}:generateContent")
    assert record.json()["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"
    [call] = completion.choices[0].message.tool_calls
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == mg.FUNCTION_ARGS
    assert completion.choices[0].finish_reason == "tool_calls"


# --- Claude on Vertex (publishers/anthropic, rawPredict) -----------------------------------------

CLAUDE_PATH = MODEL_PATH.replace("/publishers/google/", "/publishers/anthropic/")


def assert_claude_request(mock, rpc: str) -> mv.RecordedRequest:
    [record] = [r for r in mock.requests if r.path != "/token"]
    path = record.path.split("?")[0]
    assert path in (f"{CLAUDE_PATH}/{VERTEX_CLAUDE_UPSTREAM_MODEL}:{rpc}",
                    f"{CLAUDE_PATH}/{VERTEX_CLAUDE_UPSTREAM_MODEL.replace('@', '%40')}:{rpc}"), record.path
    assert mock.valid_token((record.header("authorization") or "")[7:])
    assert CLIENT_KEY not in json.dumps(record.headers)
    assert record.status == 200, record.response_body[:500]
    return record


def as_anthropic(record: mv.RecordedRequest) -> dict:
    """The Vertex body as the mock Anthropic API's helpers expect it (with the model from the URL)."""
    body = record.json()
    body.pop("anthropic_version")
    return {**body, "model": VERTEX_CLAUDE_UPSTREAM_MODEL}


def test_openai_chat_to_claude_on_vertex(oai, mock_vertex):
    completion = oai.chat.completions.create(
        model=VERTEX_CLAUDE_MAPPED_MODEL, max_tokens=40,
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello Claude on Vertex"}])
    record = assert_claude_request(mock_vertex, "rawPredict")
    body = record.json()
    assert body["anthropic_version"] == mv.VERTEX_ANTHROPIC_VERSION and "model" not in body
    assert body["system"] in ("Be brief.", [{"type": "text", "text": "Be brief."}])
    request = as_anthropic(record)
    assert completion.choices[0].message.content == "Mock reply to: Hello Claude on Vertex"
    assert completion.choices[0].finish_reason == "stop"
    expected = ma.openai_usage(request)
    assert completion.usage.prompt_tokens == expected["prompt_tokens"]
    assert completion.usage.completion_tokens == expected["completion_tokens"]
    assert completion.usage.total_tokens == expected["total_tokens"]


def test_openai_stream_to_claude_on_vertex(oai, mock_vertex):
    chunks = list(oai.chat.completions.create(model=VERTEX_CLAUDE_MAPPED_MODEL, stream=True,
                                              stream_options={"include_usage": True},
                                              messages=[{"role": "user", "content": "Stream Claude on Vertex"}]))
    record = assert_claude_request(mock_vertex, "streamRawPredict")
    request = as_anthropic(record)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Mock reply to: Stream Claude on Vertex"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    expected = ma.openai_usage(request)
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == expected["prompt_tokens"]
    assert chunks[-1].usage.completion_tokens == expected["completion_tokens"]


def test_anthropic_sdk_to_claude_on_vertex_is_one_edit(vertex_gateway, mock_vertex):
    sent = []
    http_client = httpx2.Client(event_hooks={"request": [sent.append]}, timeout=httpx2.Timeout(30.0))
    client = anthropic.Anthropic(base_url=vertex_gateway.url, api_key=CLIENT_KEY, max_retries=0,
                                 http_client=http_client)
    try:
        raw = client.messages.with_raw_response.create(
            model=VERTEX_CLAUDE_MAPPED_MODEL, max_tokens=40, system="Be brief.",
            messages=[{"role": "user", "content": "Hi Claude ✓"}])
    finally:
        client.close()
    record = assert_claude_request(mock_vertex, "rawPredict")
    sent[-1].read()
    client_body = json.loads(sent[-1].content)
    upstream = record.json()
    # One edit: `model` removed, `anthropic_version` set; every other member kept as sent.
    assert {k: v for k, v in client_body.items() if k != "model"} == \
        {k: v for k, v in upstream.items() if k != "anthropic_version"}
    assert upstream["anthropic_version"] == mv.VERTEX_ANTHROPIC_VERSION
    assert raw.http_response.content == record.response_body, "Vertex's bytes should come back untouched"
    message = raw.parse()
    assert message.content[0].text == "Mock reply to: Hi Claude ✓"
    assert message.usage.cache_read_input_tokens == ma.CACHE_READ_TOKENS
