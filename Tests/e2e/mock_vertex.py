"""A mock of Vertex AI (Gemini models) and of Google's OAuth token endpoint, for Tollgate's
end-to-end tests. One server plays both parts:

  POST /token   the service-account "JWT bearer" exchange (RFC 7523): a form body
                `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`. The JWT's
                RS256 signature is VERIFIED with `cryptography` against the public half of the key
                the test generated (looked up by the header's `kid`); its claims must name the
                account (`iss` = client_email), the cloud-platform scope, `aud` = this token URI (or
                Google's https://oauth2.googleapis.com/token, which google-auth always uses),
                and a lifetime of at most one hour around now. Answers {"access_token": "ya29.…",
                "expires_in": 3599, "token_type": "Bearer"}, or 400 `invalid_grant` /
                `unsupported_grant_type` / `invalid_request` as Google's token endpoint does.
  POST /v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent
       and :streamGenerateContent (`?alt=sse` for SSE, else a JSON array), as `v1beta1` too; and
       :countTokens (the request's members at the top level, only those CountTokensRequest has:
       `{"totalTokens": N, "totalBillableCharacters": M}`, N `mock_gemini`'s promptTokenCount). Wants
       `Authorization: Bearer <a token this mock issued>` (401 UNAUTHENTICATED otherwise), the
       mock's project (403 PERMISSION_DENIED otherwise) and location (404). Bodies are validated and
       answered as by `mock_gemini` (its validation, answers, usage, magic models), with Vertex's
       extras: `createTime`, and usage with `trafficType`.
  POST /v1/projects/{project}/locations/{location}/publishers/anthropic/models/{model}:rawPredict
       and :streamRawPredict: Claude on Vertex, same auth. The body is Anthropic's Messages body
       with `anthropic_version: vertex-2023-10-16` and no `model` (400 otherwise); it is validated
       and answered as by `mock_anthropic` (answers, nonzero cache usage, the SSE event sequence).
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import secrets
import threading
import time
from urllib.parse import parse_qs, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import mock_anthropic as ma
import mock_gemini as mg
from mock_server import MockServer, RecordedRequest  # noqa: F401 - re-exported

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
GOOGLE_TOKEN_ENDPOINT = "https://oauth2.googleapis.com/token"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3599
MAX_ASSERTION_LIFETIME = 3600
CLOCK_SKEW = 300
STATUS = {**mg.STATUS, 401: "UNAUTHENTICATED"}
ROUTE = re.compile(r"^/(v1|v1beta1)/projects/([^/]+)/locations/([^/]+)/publishers/(google|anthropic)/models/"
                   r"([^/:]+):([A-Za-z]+)$")
VERTEX_ANTHROPIC_VERSION = "vertex-2023-10-16"
# What Vertex's CountTokensRequest has.
COUNT_MEMBERS = {"model", "instances", "contents", "systemInstruction", "tools", "generationConfig"}


def embedding_prediction(text: str, dimensions: int) -> dict:
    """One `predict` answer for a text: the Gemini mock's values, the text's words as token_count."""
    return {"embeddings": {"statistics": {"truncated": False, "token_count": len(text.split())},
                           "values": mg.embedding_values(text, dimensions)}}


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_service_account(project: str, token_uri: str, email: str | None = None) -> tuple[dict, rsa.RSAPrivateKey]:
    """A fresh RSA key and the service-account key file (JSON) Google would hand out for it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    email = email or f"tollgate-e2e@{project}.iam.gserviceaccount.com"
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email,
        "client_id": "10" + "".join(str(secrets.randbelow(10)) for _ in range(19)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{email.replace('@', '%40')}",
        "universe_domain": "googleapis.com",
    }
    return info, key


class TokenProblem(Exception):
    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error


def verify_assertion(assertion: str, accounts: dict[str, tuple[str, rsa.RSAPublicKey]], audience: str,
                     now: float | None = None) -> dict:
    """The claims of a valid RS256 JWT bearer assertion; `accounts` maps key id -> (client_email, public key).
    `aud` may be this token URI or Google's own token endpoint (which google-auth always puts there)."""
    try:
        head_b64, claims_b64, signature_b64 = assertion.split(".")
        header = json.loads(b64url_decode(head_b64))
        claims = json.loads(b64url_decode(claims_b64))
        signature = b64url_decode(signature_b64)
    except (ValueError, TypeError):
        raise TokenProblem("invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe")
    if header.get("alg") != "RS256":
        raise TokenProblem("invalid_grant", f"Invalid JWT: unsupported algorithm {header.get('alg')!r}")
    account = accounts.get(header.get("kid"))
    if account is None:
        raise TokenProblem("invalid_grant", "Invalid JWT Signature.")
    email, public_key = account
    try:
        public_key.verify(signature, f"{head_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise TokenProblem("invalid_grant", "Invalid JWT Signature.")
    if claims.get("iss") != email:
        raise TokenProblem("invalid_grant", "Invalid JWT: iss is not the key's client_email")
    if claims.get("aud") not in (audience, GOOGLE_TOKEN_ENDPOINT):
        raise TokenProblem("invalid_grant", f"Invalid JWT: Failed audience check. The right audience is {audience}")
    if SCOPE not in str(claims.get("scope", "")).split(" "):
        raise TokenProblem("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
    now = time.time() if now is None else now
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int) or not isinstance(exp, int) or exp <= iat or exp - iat > MAX_ASSERTION_LIFETIME \
            or iat > now + CLOCK_SKEW or exp < now - CLOCK_SKEW:
        raise TokenProblem("invalid_grant",
                           "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
                           "Check your iat and exp values in the JWT claim.")
    return claims


class _Handler(mg._Handler):
    def provider_headers(self) -> list[tuple[str, str]]:
        return [("Vary", "Origin, X-Origin, Referer"), ("X-Content-Type-Options", "nosniff"),
                ("Server-Timing", "gfet4t7; dur=123")]

    def error(self, status: int, message: str, details: list | None = None) -> None:
        error = {"code": status, "message": message, "status": STATUS[status]}
        if details:
            error["details"] = details
        self.complete(status, json.dumps({"error": error}, indent=2).encode(), content_type="application/json; charset=UTF-8")

    def oauth_error(self, status: int, error: str, description: str) -> None:
        self.complete(status, json.dumps({"error": error, "error_description": description}).encode(),
                      content_type="application/json; charset=utf-8")

    def handle_request(self, method: str, body: bytes) -> None:
        mock: MockVertex = self.server.mock  # type: ignore[assignment]
        if self.route == "/token":
            return self.token(method, body)
        match = ROUTE.match(self.route)
        rpcs = {"google": ("generateContent", "streamGenerateContent", "predict", "countTokens"),
                "anthropic": ("rawPredict", "streamRawPredict")}
        if method != "POST" or not match or match.group(6) not in rpcs[match.group(4)]:
            return self.error(404, f"Method not found: {method} {self.route}")
        bearer = self.headers.get("Authorization") or ""
        token = bearer[7:] if bearer.startswith("Bearer ") else None
        if token is None or not mock.valid_token(token):
            return self.error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                                   "login cookie or other valid authentication credential. See "
                                   "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                              [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_TYPE_UNSUPPORTED"
                                if token is None else "ACCESS_TOKEN_EXPIRED", "domain": "googleapis.com"}])
        project, location, publisher = match.group(2), match.group(3), match.group(4)
        model, rpc = unquote(match.group(5)), match.group(6)
        if project != mock.project:
            return self.error(403, f"Permission 'aiplatform.endpoints.predict' denied on resource "
                                   f"'//aiplatform.googleapis.com/projects/{project}/locations/{location}/publishers/"
                                   f"google/models/{model}' (or it may not exist).")
        if location != mock.location:
            return self.error(404, f"Location {location} is not supported for this project.")
        if publisher == "anthropic":
            return self.claude(model, rpc, body)
        if model == "gemini-missing":
            return self.error(404, f"Publisher Model `projects/{project}/locations/{location}/publishers/google/models/"
                                   f"{model}` was not found or your project does not have access to it.")
        try:
            request = json.loads(body)
        except ValueError as problem:
            return self.error(400, f"Invalid JSON payload received. {problem}")
        if rpc == "predict":
            return self.predict(request)
        if rpc == "countTokens":
            return self.count_tokens(request)
        try:
            mg.validate(request)
        except mg.InvalidArgument as problem:
            return self.error(400, str(problem))
        if model == "gemini-overloaded":
            return self.error(503, "The model is overloaded. Please try again later.")
        if rpc == "streamGenerateContent":
            return self.stream(request, model, sse=self.query("alt") == "sse")
        usage = mg.usage_metadata(request)
        usage["trafficType"] = "ON_DEMAND"
        answer = {
            "candidates": [self.candidate(request, model, self.answer_parts(request), mg.finish_reason(model))],
            "usageMetadata": usage,
            "modelVersion": model,
            "createTime": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "responseId": self.response_id(),
        }
        self.complete(200, json.dumps(answer, indent=2, ensure_ascii=False).encode(), "application/json; charset=UTF-8")

    def count_tokens(self, request: dict) -> None:
        """Vertex's countTokens: the request's members at the top level (no generateContentRequest)."""
        if not isinstance(request, dict):
            return self.error(400, "Invalid JSON payload received. Expected an object.")
        unknown = sorted(set(request) - COUNT_MEMBERS)
        if unknown:
            return self.error(400, f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.')
        counted = {k: v for k, v in request.items() if k not in ("model", "instances")}
        try:
            mg.validate(counted)
        except mg.InvalidArgument as problem:
            return self.error(400, str(problem))
        characters = len(mg.parts_text([p for c in counted.get("contents") or [] for p in c.get("parts") or []]).replace(" ", ""))
        answer = {"totalTokens": mg.usage_metadata(counted)["promptTokenCount"], "totalBillableCharacters": characters}
        self.complete(200, json.dumps(answer, indent=2).encode(), "application/json; charset=UTF-8")

    def predict(self, request: dict) -> None:
        """Text embeddings as Vertex's predict API answers them (`embedding_prediction`)."""
        instances = request.get("instances") if isinstance(request, dict) else None
        if not isinstance(instances, list) or not instances or not all(
                isinstance(i, dict) and isinstance(i.get("content"), str) for i in instances):
            return self.error(400, "Invalid instances: each needs a string 'content'.")
        dimensions = (request.get("parameters") or {}).get("outputDimensionality") or 8
        predictions = [embedding_prediction(i["content"], dimensions) for i in instances]
        answer = {"predictions": predictions,
                  "metadata": {"billableCharacterCount": sum(len(i["content"]) for i in instances)}}
        self.complete(200, json.dumps(answer, indent=2).encode(), "application/json; charset=UTF-8")

    def claude(self, model: str, rpc: str, body: bytes) -> None:
        """Anthropic's Messages API as Vertex serves it: `anthropic_version` in the body, the model in the URL."""
        def refuse(type_: str, message: str) -> None:
            self.complete(ma.ERROR_STATUS[type_], ma.anthropic_error(type_, message, self.request_id))
        try:
            request = json.loads(body)
        except ValueError as problem:
            return refuse("invalid_request_error", f"There was an error parsing the body: {problem}")
        if not isinstance(request, dict):
            return refuse("invalid_request_error", "Input should be a valid dictionary")
        if request.get("anthropic_version") != VERTEX_ANTHROPIC_VERSION:
            return refuse("invalid_request_error", f"anthropic_version: {request.get('anthropic_version')!r} is not "
                                                   f"supported on Vertex AI (use {VERTEX_ANTHROPIC_VERSION!r})")
        if model == "count-tokens":  # Anthropic's token counter: the model named in the body
            request = {k: v for k, v in request.items() if k != "anthropic_version"}
            try:
                ma.validate(request, counting=True)
            except ma.InvalidRequest as problem:
                return refuse("invalid_request_error", str(problem))
            return self.complete(200, json.dumps({"input_tokens": ma.count_tokens(request)}).encode())
        if "model" in request:
            return refuse("invalid_request_error", "model: Extra inputs are not permitted (the model is in the URL)")
        if bool(request.get("stream")) != (rpc == "streamRawPredict"):
            return refuse("invalid_request_error", f"stream must be {rpc == 'streamRawPredict'} for {rpc}")
        request = {k: v for k, v in request.items() if k != "anthropic_version"}
        request["model"] = model
        try:
            ma.validate(request)
        except ma.InvalidRequest as problem:
            return refuse("invalid_request_error", str(problem))
        if request.get("stream"):
            return ma._Handler.stream(self, request)  # the mock Anthropic API's own event sequence
        answer = {"id": f"msg_vrtx_{self.request_id}", "type": "message", "role": "assistant", "model": model,
                  "content": ma.content_blocks(request), "stop_reason": ma.stop_reason(request), "stop_sequence": None,
                  "usage": ma.message_usage(request)}
        self.complete(200, json.dumps(answer, ensure_ascii=False).encode())

    def stream_events(self, request: dict) -> list[bytes]:  # used by ma._Handler.stream
        return ma._Handler.stream_events(self, request)

    def token(self, method: str, body: bytes) -> None:
        mock: MockVertex = self.server.mock  # type: ignore[assignment]
        if method != "POST":
            return self.oauth_error(405, "invalid_request", "Method not allowed")
        if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            return self.oauth_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace"), keep_blank_values=True).items()}
        if form.get("grant_type") != GRANT_TYPE:
            return self.oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}")
        if not form.get("assertion"):
            return self.oauth_error(400, "invalid_request", "Missing required parameter: assertion")
        try:
            claims = verify_assertion(form["assertion"], mock.accounts(), mock.token_uri)
        except TokenProblem as problem:
            mock.token_failures.append(str(problem))
            return self.oauth_error(400, problem.error, str(problem))
        mock.claims_seen.append(claims)
        token = mock.issue_token(claims["iss"])
        self.complete(200, json.dumps({"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"}).encode(),
                      content_type="application/json; charset=utf-8")


class MockVertex(MockServer):
    """The mock Vertex AI endpoint (`url`, a channel's `base_url`) and token endpoint (`token_uri`)."""

    handler = _Handler
    request_id_prefix = "vertex_"

    def __init__(self, project: str, location: str = "us-central1") -> None:
        super().__init__(api_key="")
        self.project = project
        self.location = location
        self.token_failures: list[str] = []
        self.tokens_issued: list[tuple[str, str]] = []  # (client_email, token)
        self.claims_seen: list[dict] = []  # the claims of every accepted assertion (kept across clear())
        self._accounts: dict[str, tuple[str, rsa.RSAPublicKey]] = {}
        self._valid: set[str] = set()
        self._token_lock = threading.Lock()

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def add_account(self, info: dict, key: rsa.RSAPrivateKey) -> None:
        with self._token_lock:
            self._accounts[info["private_key_id"]] = (info["client_email"], key.public_key())

    def new_service_account(self, email: str | None = None) -> dict:
        """A generated key file (as JSON data) whose public key this mock knows."""
        info, key = make_service_account(self.project, self.token_uri, email)
        self.add_account(info, key)
        return info

    def accounts(self) -> dict[str, tuple[str, rsa.RSAPublicKey]]:
        with self._token_lock:
            return dict(self._accounts)

    def issue_token(self, email: str) -> str:
        token = "ya29.mock-" + secrets.token_urlsafe(48)
        with self._token_lock:
            self._valid.add(token)
            self.tokens_issued.append((email, token))
        return token

    def valid_token(self, token: str) -> bool:
        with self._token_lock:
            return token in self._valid

    def revoke_tokens(self) -> None:
        with self._token_lock:
            self._valid.clear()

    def clear(self) -> None:
        super().clear()
        self.token_failures.clear()
