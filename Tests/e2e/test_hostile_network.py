"""Unauthenticated traffic from the open network, over raw sockets: the key is checked when the
request head arrives (no `100 Continue`, no body byte read, the connection closed when a body is
pending), keyless requests are counted and logged but never usage-ledger rows, and metric labels
come from a fixed route table however many paths a client makes up."""

from __future__ import annotations

import json
import random
import socket
import string
import subprocess
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from conftest import CLIENT_KEY, _gateway_binary, _stop_gateway, start_dedicated_gateway
from fault_support import OpenAIUpstream, ledger_ids, read_response

ADMIN_KEY = "tg-e2e-admin-key-network-0123456789"


def write_config(directory: Path, extra: str = "") -> Path:
    path = directory / "tollgate.yaml"
    path.write_text(textwrap.dedent(f"""\
        listen: 127.0.0.1:0
        data_dir: {directory / "data"}
        admin_key: {ADMIN_KEY}
        request_log: {directory / "requests.log"}
        ledger: {{ flush_interval: 50ms }}
        pricing: {{ sync_url: off }}
        health: {{ probes: false }}
        keys:
          - {{ name: e2e, key: {CLIENT_KEY} }}
        channels:
          - {{ name: builtin, provider: mock, models: [mock-echo] }}
        """) + textwrap.dedent(extra))
    return path


@pytest.fixture(scope="module")
def net_gateway(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tollgate-hostile-network")
    gateway = start_dedicated_gateway(write_config(directory))
    yield gateway
    _stop_gateway(gateway)


def connect(gateway) -> socket.socket:
    host, port = gateway.url.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    return s


def closed_by_server(s: socket.socket, timeout: float = 10) -> bool:
    """True once the server closed its side (reads whatever else it sent first)."""
    s.settimeout(timeout)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def head(path: str, *lines: str, method: str = "POST") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: t\r\n" + "".join(line + "\r\n" for line in lines) + "\r\n").encode()


CHAT = json.dumps({"model": "mock-echo", "messages": [{"role": "user", "content": "hi"}]}).encode()


# --- 1. authenticate at the head ---------------------------------------------------------------

@pytest.mark.parametrize("auth", [None, "Authorization: Bearer wrong-key-0123456789", "x-api-key: nope"])
def test_no_key_gets_no_100_continue_and_the_connection_closes(net_gateway, auth):
    lines = [line for line in [auth, "Content-Type: application/json", "Content-Length: 33554432", "Expect: 100-continue"] if line]
    with connect(net_gateway) as s:
        s.sendall(head("/v1/chat/completions", *lines))
        status, headers, body = read_response(s)
        assert status == 401, body
        assert json.loads(body)["error"]["code"] == "invalid_api_key"
        assert headers.get("connection") == "close"
        assert closed_by_server(s), "the connection stayed open for a body that will never be read"


def test_a_valid_key_gets_100_continue(net_gateway):
    with connect(net_gateway) as s:
        s.sendall(head("/v1/chat/completions", f"Authorization: Bearer {CLIENT_KEY}", f"Content-Length: {len(CHAT)}",
                       "Expect: 100-continue"))
        s.settimeout(10)
        first = s.recv(65536)
        assert first.startswith(b"HTTP/1.1 100"), first
        s.sendall(CHAT)
        status, _, body = read_response(s)
        assert status == 200, body


def test_a_body_streamed_without_a_key_is_not_read(net_gateway):
    """The body follows the head at once (no Expect): the answer comes after the head alone and
    the gateway closes instead of reading megabytes."""
    with connect(net_gateway) as s:
        s.sendall(head("/v1/messages", "Content-Length: 33554432", "anthropic-version: 2023-06-01"))
        status, headers, body = read_response(s)
        assert status == 401 and headers.get("connection") == "close"
        assert json.loads(body)["type"] == "error"  # the route's dialect (Anthropic)
        sent = 0
        s.settimeout(10)
        try:
            for _ in range(32 * 16):
                sent += s.send(b"x" * 65536)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        assert sent < 32 * 1024 * 1024, "the gateway kept reading a body it had refused"


def test_a_chunked_body_without_a_key_closes_the_connection(net_gateway):
    with connect(net_gateway) as s:
        s.sendall(head("/v1/chat/completions", "Transfer-Encoding: chunked"))
        status, headers, _ = read_response(s)
        assert status == 401 and headers.get("connection") == "close"
        assert closed_by_server(s)


def test_a_small_refused_body_keeps_the_connection(net_gateway):
    with connect(net_gateway) as s:
        s.sendall(head("/v1/chat/completions", f"Content-Length: {len(CHAT)}") + CHAT)
        status, headers, _ = read_response(s)
        assert status == 401 and headers.get("connection") != "close"
        s.sendall(head("/healthz", method="GET"))
        assert read_response(s)[0] == 200


def test_unknown_paths_need_a_key_too(net_gateway):
    assert httpx.post(net_gateway.url + "/v1/does-not-exist", content=b"{}").status_code == 401
    known = httpx.post(net_gateway.url + "/v1/does-not-exist", content=b"{}", headers={"Authorization": f"Bearer {CLIENT_KEY}"})
    assert known.status_code == 404 and known.json()["error"]["code"] == "unknown_route"


def test_the_admin_api_refuses_at_the_head_too(net_gateway):
    with connect(net_gateway) as s:
        s.sendall(head("/admin/channels/x", "Authorization: Bearer " + CLIENT_KEY, "Content-Length: 33554432",
                       "Expect: 100-continue", method="PUT"))
        status, headers, _ = read_response(s)
        assert status == 401 and headers.get("connection") == "close"
        assert closed_by_server(s)


def test_keyless_requests_are_counted_and_logged_but_not_ledger_rows(tmp_path):
    gateway = start_dedicated_gateway(write_config(tmp_path))
    try:
        refused = [httpx.post(gateway.v1 + "/chat/completions", content=CHAT, headers=h)
                   for h in ({}, {"Authorization": "Bearer not-a-key-at-all"}, {"x-goog-api-key": "x"})]
        assert [r.status_code for r in refused] == [401, 401, 401]
        served = httpx.post(gateway.v1 + "/chat/completions", content=CHAT, headers={"Authorization": f"Bearer {CLIENT_KEY}"})
        assert served.status_code == 200
        metrics = httpx.get(gateway.url + "/metrics").text
        assert 'tollgate_requests_total{route="chat",model="",channel="",status="401"} 3' in metrics
    finally:
        _stop_gateway(gateway)
    ids = ledger_ids(tmp_path)
    assert served.headers["x-request-id"] in ids
    assert not ids & {r.headers["x-request-id"] for r in refused}, "a keyless request became a ledger row"
    logged = [json.loads(line) for line in (tmp_path / "requests.log").read_text().splitlines()]
    assert {r.headers["x-request-id"] for r in refused} <= {line["request_id"] for line in logged}


# --- 2. bounded by construction ----------------------------------------------------------------

def series(metrics: str) -> set[str]:
    return {line.rsplit(" ", 1)[0] for line in metrics.splitlines() if line and not line.startswith("#")}


def routes(metrics: str) -> set[str]:
    return {line.split('route="', 1)[1].split('"', 1)[0] for line in metrics.splitlines() if 'route="' in line}


def test_made_up_paths_and_models_add_no_metric_series(net_gateway):
    auth = {"Authorization": f"Bearer {CLIENT_KEY}"}
    with httpx.Client(base_url=net_gateway.url, timeout=30) as http:
        def burst(tag: str) -> None:
            for i in range(150):
                junk = "".join(random.choices(string.ascii_letters, k=12))
                http.get(f"/{tag}{junk}/{i}")
                http.post(f"/v1/{junk}", content=b"{}", headers=auth if i % 2 else {})
                http.post(f"/admin/{junk}/{i}", content=b"{}", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
                http.post("/v1/chat/completions", headers=auth,
                          json={"model": f"made-up-{junk}", "messages": []})
                http.post(f"/v1beta/models/{junk}:generateContent", content=b"{}", headers={"x-goog-api-key": CLIENT_KEY})
        http.get("/metrics")
        burst("a")  # every label these (and a scrape) can reach now exists
        before = series(http.get("/metrics").text)
        burst("b")
        after_text = http.get("/metrics").text
    after = series(after_text)
    assert after == before, f"{len(after - before)} new series: {sorted(after - before)[:5]}"
    assert routes(after_text) <= ROUTE_LABELS, routes(after_text) - ROUTE_LABELS


ROUTE_LABELS = {"chat", "responses", "embeddings", "completions", "count_tokens", "stored_responses",
                "/v1/models", "/healthz", "/readyz", "/metrics", "/admin", "other", "/admin/other"} | {f"/admin/{name}" for name in ("usage", "requests", "budgets", "health", "plugins", "keys", "channels",
                                                                   "templates", "prices", "prices/sync", "exchange-rates")}


def eventually(check, attempts: int = 400) -> bool:
    """Waits for an event the gateway reports (a released connection), not for a time."""
    for _ in range(attempts):
        if check():
            return True
        time.sleep(0.05)
    return False


def served_ok(gateway) -> bool:
    try:
        return httpx.get(gateway.url + "/healthz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.parametrize("limit,status", [("max_connections: 3", 503), ("max_connections_per_ip: 3", 429)])
def test_connections_past_the_limit_get_a_clear_refusal(tmp_path, limit, status):
    gateway = start_dedicated_gateway(write_config(tmp_path, f"limits: {{ {limit} }}\n"))
    try:
        held = [connect(gateway) for _ in range(3)]
        for s in held:  # each is accepted and served: the gateway counts it
            s.sendall(head("/healthz", method="GET"))
            assert read_response(s)[0] == 200
        with connect(gateway) as extra:
            got, headers, body = read_response(extra)
            assert got == status, body
            assert json.loads(body)["error"]["code"] == "too_many_connections" and headers.get("connection") == "close"
            assert closed_by_server(extra)
        for s in held:
            s.close()
        assert eventually(lambda: served_ok(gateway)), "closed connections were not released"
        assert "tollgate_client_connections_refused_total 1" in httpx.get(gateway.url + "/metrics").text
    finally:
        _stop_gateway(gateway)


def test_an_idle_keep_alive_connection_is_closed(tmp_path):
    gateway = start_dedicated_gateway(write_config(tmp_path, "limits: { keep_alive_timeout: 1s, request_timeout: 60s }\n"))
    try:
        with connect(gateway) as s:
            for _ in range(2):  # requests in a row keep it
                s.sendall(head("/healthz", method="GET"))
                assert read_response(s)[0] == 200
            assert closed_by_server(s, timeout=30), "an idle keep-alive connection stayed open"
    finally:
        _stop_gateway(gateway)


# --- 4. admin on its own terms ----------------------------------------------------------------

@pytest.fixture(scope="module")
def split_gateway(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tollgate-admin-listener")
    gateway = start_dedicated_gateway(write_config(directory, "admin: { listen: 127.0.0.1:0, metrics_auth: admin_key }\n"))
    assert gateway.admin_url, "the admin listener's address was not printed"
    yield gateway
    _stop_gateway(gateway)


def test_the_admin_listener_serves_admin_and_metrics_only(split_gateway):
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    client = {"Authorization": f"Bearer {CLIENT_KEY}"}
    assert httpx.get(split_gateway.admin_url + "/admin/keys", headers=admin).status_code == 200
    assert httpx.get(split_gateway.admin_url + "/metrics", headers=admin).status_code == 200
    assert httpx.get(split_gateway.admin_url + "/admin").status_code == 200  # the page asks for the key itself
    assert httpx.post(split_gateway.admin_url + "/v1/chat/completions", content=CHAT, headers=client).status_code == 404
    for path in ("/admin/keys", "/metrics", "/admin"):
        assert httpx.get(split_gateway.url + path, headers=admin).status_code == 404, path
    assert httpx.post(split_gateway.v1 + "/chat/completions", content=CHAT, headers=client).status_code == 200
    for url in (split_gateway.url, split_gateway.admin_url):
        assert httpx.get(url + "/healthz").status_code == 200


def test_metrics_follow_metrics_auth(split_gateway):
    assert httpx.get(split_gateway.admin_url + "/metrics").status_code == 401
    assert httpx.get(split_gateway.admin_url + "/metrics", headers={"Authorization": f"Bearer {CLIENT_KEY}"}).status_code == 401


def test_the_admin_key_is_taken_from_authorization_only(tmp_path):
    gateway = start_dedicated_gateway(write_config(tmp_path))  # its own: each refusal counts toward the throttle
    try:
        for how in ({"params": {"key": ADMIN_KEY}}, {"headers": {"x-api-key": ADMIN_KEY}}, {"headers": {"x-goog-api-key": ADMIN_KEY}}):
            assert httpx.get(gateway.url + "/admin/keys", **how).status_code == 401, how
        assert httpx.get(gateway.url + "/admin/keys", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).status_code == 200
    finally:
        _stop_gateway(gateway)


def test_repeated_admin_failures_from_one_address_are_throttled(tmp_path):
    gateway = start_dedicated_gateway(write_config(tmp_path))
    try:
        with httpx.Client(base_url=gateway.url, timeout=30) as http:
            for attempt in range(5):
                assert http.get("/admin/keys", headers={"Authorization": f"Bearer wrong-{attempt}-0123456789abcdef"}).status_code == 401
            throttled = http.get("/admin/keys", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
            assert throttled.status_code == 429, throttled.text
            assert throttled.json()["error"]["code"] == "admin_throttled" and int(throttled.headers["retry-after"]) >= 1
            assert http.post("/v1/chat/completions", content=CHAT, headers={"Authorization": f"Bearer {CLIENT_KEY}"}).status_code == 200
    finally:
        _stop_gateway(gateway)


@pytest.mark.parametrize("key", ["short-admin-key", "x" * 23])
def test_a_short_admin_key_is_refused_at_start(tmp_path, key):
    config = write_config(tmp_path).read_text().replace(ADMIN_KEY, key)
    (tmp_path / "short.yaml").write_text(config)
    checked = subprocess.run([_gateway_binary(), "check-config", str(tmp_path / "short.yaml")], capture_output=True, text=True,
                             timeout=60)
    output = checked.stderr + checked.stdout
    assert checked.returncode != 0 and "admin_key" in output and "24" in output, output


# --- 6. small things an operator trips on -------------------------------------------------------

@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/admin"])
def test_head_probes_answer_200_without_a_body(net_gateway, path):
    """The gateway writes its answers as bytes itself: a HEAD answer (the admin page's too, whose
    handler writes the page) carries its head only, and the next answer on the connection parses."""
    with connect(net_gateway) as s:
        s.sendall(head(path, method="HEAD") + head("/healthz", method="GET"))
        s.settimeout(10)
        data = b""
        while data.count(b"HTTP/1.1 200") < 2 or not data.endswith(b'{"status":"ok"}'):
            chunk = s.recv(65536)
            assert chunk, data
            data += chunk
    first = data.split(b"HTTP/1.1 200", 2)[1]
    assert first.endswith(b"\r\n\r\n"), first  # nothing after the HEAD answer's head


# --- pipelined requests ---------------------------------------------------------------------------

def read_responses(s: socket.socket, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    """`count` responses read off one connection, however the bytes were split."""
    buffer, answers = b"", []
    s.settimeout(10)
    while len(answers) < count:
        if b"\r\n\r\n" in buffer:
            head_bytes, _, rest = buffer.partition(b"\r\n\r\n")
            lines = head_bytes.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            length = int(headers["content-length"])
            if len(rest) >= length:
                answers.append((int(lines[0].split()[1]), headers, rest[:length]))
                buffer = rest[length:]
                continue
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {len(answers)} responses")
        buffer += chunk
    return answers


def chat_request(text: str) -> bytes:
    body = json.dumps({"model": "mock-echo", "messages": [{"role": "user", "content": text}]}).encode()
    return head("/v1/chat/completions", f"Authorization: Bearer {CLIENT_KEY}", "Content-Type: application/json",
                f"Content-Length: {len(body)}") + body


def test_pipelined_requests_are_answered_in_order(net_gateway):
    """Requests sent back to back before any answer (HTTP/1.1 pipelining) are each served once,
    in order, on the one connection."""
    with connect(net_gateway) as s:
        s.sendall(chat_request("first") + head("/healthz", method="GET") + chat_request("third words"))
        answers = read_responses(s, 3)
        assert [status for status, _, _ in answers] == [200, 200, 200]
        assert json.loads(answers[0][2])["choices"][0]["message"]["content"] == "echo: first"
        assert json.loads(answers[1][2]) == {"status": "ok"}
        assert json.loads(answers[2][2])["choices"][0]["message"]["content"] == "echo: third words"
        ids = [headers["x-request-id"] for _, headers, _ in answers]
        assert len(set(ids)) == 3
        s.sendall(chat_request("after"))  # the connection is still usable
        assert json.loads(read_responses(s, 1)[0][2])["choices"][0]["message"]["content"] == "echo: after"


def test_a_pipelined_request_waits_for_the_answer_before_it(tmp_path):
    """While the first request waits on its upstream, the requests pipelined behind it are not
    served; once it is answered they are, in order."""
    upstream = OpenAIUpstream(hold=True)
    config = write_config(tmp_path)
    config.write_text(config.read_text() + upstream.channel("held", "held-model"))
    gateway = start_dedicated_gateway(config)
    try:
        held = json.dumps({"model": "held-model", "messages": [{"role": "user", "content": "wait"}]}).encode()
        with connect(gateway) as s:
            s.sendall(head("/v1/chat/completions", f"Authorization: Bearer {CLIENT_KEY}", f"Content-Length: {len(held)}") + held
                      + head("/healthz", method="GET") + chat_request("behind"))
            assert upstream.received.acquire(timeout=30), "the first request never reached its upstream"
            s.setblocking(False)
            try:
                early = s.recv(65536)
            except BlockingIOError:
                early = b""
            s.setblocking(True)
            assert early == b"", f"a pipelined request was answered before the one ahead of it: {early!r}"
            upstream.release.set()
            answers = read_responses(s, 3)
            assert json.loads(answers[0][2])["choices"][0]["message"]["content"] == "released"
            assert json.loads(answers[1][2]) == {"status": "ok"}
            assert json.loads(answers[2][2])["choices"][0]["message"]["content"] == "echo: behind"
    finally:
        _stop_gateway(gateway)
        upstream.close()


@pytest.mark.parametrize("request_bytes, read, expected", [
    (head("/healthz", method="GET"), lambda answer: answer, {"status": "ok"}),
    (chat_request("half closed"), lambda answer: answer["choices"][0]["message"]["content"], "echo: half closed"),
], ids=["healthz", "model"])
def test_a_client_that_half_closes_after_its_request_reads_the_answer(net_gateway, request_bytes, read, expected):
    """A client may end its side once the request is sent (shutdown(SHUT_WR)). The gateway closes
    on that end of input, and an answer it wrote in the same read is flushed first (kept-alive
    answers are otherwise flushed at the end of the loop's tick, see TickFlush)."""
    for _ in range(5):
        with connect(net_gateway) as s:
            s.sendall(request_bytes)
            s.shutdown(socket.SHUT_WR)
            answer = read_to_close(s)
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer[:80]
            assert read(json.loads(answer.partition(b"\r\n\r\n")[2])) == expected


def test_garbage_after_a_request_gets_400_once_it_is_answered(net_gateway):
    with connect(net_gateway) as s:
        s.sendall(chat_request("kept") + b"NOT HTTP AT ALL\r\n\r\n")
        answers = read_responses(s, 2)
        assert answers[0][0] == 200 and json.loads(answers[0][2])["choices"][0]["message"]["content"] == "echo: kept"
        assert answers[1][0] == 400 and answers[1][1].get("connection") == "close"
        assert closed_by_server(s)


def test_a_malformed_request_gets_400_and_the_connection_closes(net_gateway):
    with connect(net_gateway) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nBad Header Line\r\n\r\n")
        status, headers, body = read_response(s)
        assert status == 400 and json.loads(body)["error"]["code"] == "bad_http_request"
        assert headers.get("connection") == "close"
        assert closed_by_server(s)


@pytest.mark.parametrize("request_head, refusal", [
    (b"GET /healthz HTTP/1.1\r\n\r\n", "an HTTP/1.1 request without a host field"),
    (b"GET /healthz HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", "more than one host field"),
    (b"GET /healthz HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", "more than one host field"),
], ids=["none", "two", "two-on-1.0"])
def test_a_request_without_exactly_one_host_gets_400_and_the_connection_closes(net_gateway, request_head, refusal):
    """RFC 9112 §3.2: an HTTP/1.1 request names its host, and no request names it twice (a proxy
    in front may have gone by either). The healthz route answers anyone, so only the host refuses."""
    with connect(net_gateway) as s:
        s.sendall(request_head + head("/healthz", method="GET"))
        status, headers, body = read_response(s)
        assert status == 400, body
        error = json.loads(body)["error"]
        assert error["code"] == "bad_http_request" and refusal in error["message"], error
        assert headers.get("connection") == "close"
        assert closed_by_server(s), "the request behind the refused one was read"


def test_an_http_1_0_request_needs_no_host(net_gateway):
    with connect(net_gateway) as s:
        s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        status, _, body = read_response(s)
        assert status == 200 and json.loads(body) == {"status": "ok"}


# --- request framing: the gateway's own parser ---------------------------------------------------

AUTH = f"Authorization: Bearer {CLIENT_KEY}"


def test_a_chunked_body_with_extensions_and_trailers_is_served(net_gateway):
    body = json.dumps({"model": "mock-echo", "messages": [{"role": "user", "content": "in chunks"}]}).encode()
    chunks = b"".join(b"%x;part=%d\r\n%s\r\n" % (len(part), i, part) for i, part in enumerate([body[:10], body[10:25], body[25:]]))
    with connect(net_gateway) as s:
        s.sendall(head("/v1/chat/completions", AUTH, "Transfer-Encoding: chunked") + chunks + b"0\r\nX-Checksum: none\r\n\r\n")
        answers = read_responses(s, 1)
        assert answers[0][0] == 200
        assert json.loads(answers[0][2])["choices"][0]["message"]["content"] == "echo: in chunks"
        s.sendall(chat_request("still open"))
        assert json.loads(read_responses(s, 1)[0][2])["choices"][0]["message"]["content"] == "echo: still open"


@pytest.mark.parametrize("framing, reason", [
    ("Content-Length: 4\r\nTransfer-Encoding: chunked", "transfer-encoding and content-length together"),
    ("Transfer-Encoding: chunked\r\nContent-Length: 4", "transfer-encoding and content-length together"),
    ("Transfer-Encoding: gzip", "last transfer coding is not chunked"),
    ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", "chunked twice"),
    ("Content-Length: 4\r\nContent-Length: 5", "conflicting content-length"),
    ("X-Folded: a\r\n b", "obsolete line folding"),
    ("X-Bare: a\nContent-Length: 4", "lone LF"),
])
def test_a_request_that_could_be_framed_two_ways_gets_400_and_nothing_behind_it_is_served(net_gateway, framing, reason):
    """Request smuggling: where a proxy in front could read the message's end elsewhere, the
    gateway refuses it and reads nothing more from the connection (the request behind it could
    be the first one's body to that proxy)."""
    smuggled = head("/healthz", method="GET")
    with connect(net_gateway) as s:
        s.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: t\r\n{AUTH}\r\n{framing}\r\n\r\n".encode() + b"0\r\n\r\n" + smuggled)
        status, headers, body = read_response(s)
        assert status == 400, body
        error = json.loads(body)["error"]
        assert error["code"] == "bad_http_request" and reason in error["message"]
        assert headers.get("connection") == "close"
        assert len(body) == int(headers["content-length"]), "a second answer followed the 400"
        assert read_to_close(s) == b"", "a second answer followed the 400"


def read_to_close(s: socket.socket) -> bytes:
    """Whatever the server still sends before it closes its side."""
    s.settimeout(10)
    rest = b""
    while chunk := s.recv(65536):
        rest += chunk
    return rest


def test_a_request_on_http_1_0_with_transfer_encoding_gets_400(net_gateway):
    with connect(net_gateway) as s:
        s.sendall(f"POST /v1/chat/completions HTTP/1.0\r\n{AUTH}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".encode())
        status, _, body = read_response(s)
        assert status == 400 and "HTTP/1.0" in json.loads(body)["error"]["message"]


def test_requests_split_at_every_byte_are_served(net_gateway):
    """A client (or a network) that sends a request a byte at a time, and the next one pipelined
    behind it, gets the same answers."""
    with connect(net_gateway) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in chat_request("slowly") + head("/healthz", method="GET"):
            s.send(bytes([byte]))
        answers = read_responses(s, 2)
        assert json.loads(answers[0][2])["choices"][0]["message"]["content"] == "echo: slowly"
        assert json.loads(answers[1][2]) == {"status": "ok"}


def test_a_connect_request_is_answered_and_the_connection_closes(net_gateway):
    with connect(net_gateway) as s:
        s.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n" + head("/healthz", method="GET"))
        status, headers, _ = read_response(s)
        assert status >= 400 and headers.get("connection") == "close"
        assert closed_by_server(s)


def test_nothing_behind_a_connections_last_answer_is_served(tmp_path):
    """A refusal that closes the connection (no key, with `Expect: 100-continue`) is its last
    answer: a request pipelined behind it in the same write is not read, let alone sent upstream
    or billed."""
    gateway = start_dedicated_gateway(write_config(tmp_path))
    try:
        refused = head("/v1/chat/completions", "Expect: 100-continue", f"Content-Length: {len(CHAT)}") + CHAT
        with connect(gateway) as s:
            s.sendall(refused + chat_request("behind the last answer"))
            status, headers, body = read_response(s)
            assert status == 401 and headers.get("connection") == "close"
            assert len(body) == int(headers["content-length"]) and read_to_close(s) == b"", "a second answer followed"
    finally:
        _stop_gateway(gateway)
    logged = [json.loads(line) for line in (tmp_path / "requests.log").read_text().splitlines()]
    assert [line["status"] for line in logged] == [401], logged
    assert not ledger_ids(tmp_path)


@pytest.mark.parametrize("version, connection, stays_open", [
    ("1.1", None, True), ("1.1", "Connection: Close", False), ("1.1", "Connection: upgrade, close", False),
    ("1.0", None, False), ("1.0", "Connection: Keep-Alive", True), ("1.0", "Connection: keep-alive, close", False),
])
def test_the_request_head_says_whether_the_connection_stays_open(net_gateway, version, connection, stays_open):
    """HTTP/1.1 stays open unless `connection` names close; HTTP/1.0 only when it names
    keep-alive (any case; close wins). A connection kept open serves a second request."""
    lines = "".join(line + "\r\n" for line in (AUTH, "Host: t", f"Content-Length: {len(CHAT)}", connection) if line)
    with connect(net_gateway) as s:
        s.sendall(f"POST /v1/chat/completions HTTP/{version}\r\n{lines}\r\n".encode() + CHAT)
        status, headers, _ = read_response(s)
        assert status == 200
        assert (headers.get("connection") == "close") == (not stays_open)
        if stays_open:
            s.sendall(head("/healthz", method="GET"))
            assert read_response(s)[0] == 200
        else:
            assert closed_by_server(s)
