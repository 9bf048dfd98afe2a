"""The admin web page (`GET /admin`) in a real headless browser (Debian's chromium and
chromium-driver, driven by selenium), on a gateway of its own whose ledger holds usage from real
requests today and rows seeded over the previous days. Also the `/admin/keys` API behind it, and
that the page needs no network: nothing in it points outside the gateway.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
import textwrap
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from conftest import (
    CHANNEL_KEY, CLIENT_KEY, MOCK_CHANNEL, OPENAI_CHANNEL, start_dedicated_gateway, stop_gateway, write_gateway_config,
)

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # scripts/test installs it from requirements.txt
    pytest.fail("the dashboard test needs selenium: pip install -r Tests/e2e/requirements.txt", pytrace=False)

ADMIN_KEY = "tg-admin-dashboard-e2e-0123456789abcdef"
ALPHA_KEY = "tg-e2e-team-alpha-key-0123456789abcdef"
BETA_KEY = "tg-e2e-team-beta-key-0123456789abcdefab"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT_SECONDS = 20

# Seeded ledger rows: (days before today, key, model, cost in nano-USD, prompt, completion tokens).
SEEDED = [
    (1, "team-alpha", "gpt-4o", 1_250_000_000, 1200, 400),
    (1, "team-beta", "claude-sonnet-4-5", 300_000_000, 800, 200),
    (2, "team-alpha", "gpt-4o", 2_000_000_000, 3000, 900),
    (3, "team-beta", "claude-sonnet-4-5", 750_000_000, 1500, 600),
    (4, "team-alpha", "claude-sonnet-4-5", 500_000_000, 1000, 300),
    (5, "team-beta", "gpt-4o", 125_000_000, 300, 100),
]
# Real requests today: (client key, key name, model).
TRAFFIC = [(ALPHA_KEY, "team-alpha", "mock-echo"), (ALPHA_KEY, "team-alpha", "mock-echo"),
           (BETA_KEY, "team-beta", "gpt-4o-mini"), (CLIENT_KEY, "e2e", "mock-echo")]


def money(nano: int, currency: str = "USD") -> str:
    """The page's format: exact decimal, trailing zeros trimmed, at least two decimals."""
    digits = str(nano).rjust(10, "0")
    fraction = digits[-9:].rstrip("0").ljust(2, "0")
    return f"{digits[:-9]}.{fraction} {currency}"


def day(days_ago: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days_ago)).strftime("%Y-%m-%d")


def seed_ledger(db_path, rows) -> None:
    """Writes usage rows for past days straight into the gateway's SQLite ledger (WAL: the
    running gateway keeps writing beside us)."""
    with contextlib.closing(sqlite3.connect(db_path, timeout=10)) as db, db:
        for days_ago, key, model, cost, prompt, completion in rows:
            noon = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)
            started = int(noon.timestamp() * 1000)
            db.execute("INSERT INTO usage_ledger (request_id, key_name, channel, provider, model, dialect, route, status,"
                       " prompt_tokens, completion_tokens, cost_nano, currency, latency_us, started_at, ended_at)"
                       " VALUES (?, ?, 'seeded', 'openai', ?, 'openai', '/v1/chat/completions', 200, ?, ?, ?, 'USD', 1000, ?, ?)",
                       (f"seed-{uuid.uuid4().hex}", key, model, prompt, completion, cost, started, started + 1))


def wait_for_ledger(db_path, request_ids: list[str], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    marks = ",".join("?" * len(request_ids))
    while True:
        with contextlib.closing(sqlite3.connect(db_path, timeout=10)) as db:
            found = db.execute(f"SELECT COUNT(*) FROM usage_ledger WHERE request_id IN ({marks})", request_ids).fetchone()[0]
        if found == len(request_ids):
            return
        assert time.monotonic() < deadline, f"only {found} of {len(request_ids)} requests reached the ledger"
        time.sleep(0.1)


def chat(base_url: str, key: str, model: str) -> httpx.Response:
    return httpx.post(base_url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                      json={"model": model, "messages": [{"role": "user", "content": "hello dashboard"}]})


@pytest.fixture(scope="module")
def dashboard(mock_upstream, tmp_path_factory):
    """A gateway with an admin key, two team keys and a ledger seeded over six days; yields the
    gateway and the cost in nano-USD expected per key, per model and per day."""
    directory = tmp_path_factory.mktemp("tollgate-dashboard")
    channels = textwrap.dedent(f"""\
        - name: {OPENAI_CHANNEL}
          provider: openai
          base_url: {mock_upstream.base_url}
          credentials:
            api_key: {CHANNEL_KEY}
          models: ["gpt-*"]
        - name: {MOCK_CHANNEL}
          provider: mock
          models: [mock-echo]
        """)
    keys = f"- name: team-alpha\n  key: {ALPHA_KEY}\n- name: team-beta\n  key: {BETA_KEY}\n"
    gw = start_dedicated_gateway(write_gateway_config(directory, "dashboard", channels, settings=f"admin_key: {ADMIN_KEY}\n", keys=keys))
    try:
        expected = {"key": {}, "model": {}, "day": {}}

        def count(group: str, name: str, nano: int) -> None:
            expected[group][name] = expected[group].get(name, 0) + nano

        ids = []
        for key, name, model in TRAFFIC:
            response = chat(gw.url, key, model)
            assert response.status_code == 200, response.text
            ids.append(response.headers["x-request-id"])
            nano = int(Decimal(response.headers["x-tollgate-cost"]) * 10**9)
            assert nano > 0, "the real requests should be priced"
            for group, value in (("key", name), ("model", model), ("day", day(0))):
                count(group, value, nano)
        wait_for_ledger(gw.db_path, ids)
        seed_ledger(gw.db_path, SEEDED)
        for days_ago, key, model, nano, _, _ in SEEDED:
            for group, value in (("key", key), ("model", model), ("day", day(days_ago))):
                count(group, value, nano)
        yield gw, expected
    finally:
        stop_gateway(gw)


@pytest.fixture(scope="module")
def browser():
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not shutil.which(path):
            pytest.fail(f"{path} not found: install Debian's {package} (scripts/test does)", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--no-first-run", "--disable-extensions", "--disable-background-networking"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def wait(driver, condition, message: str):
    try:
        return WebDriverWait(driver, WAIT_SECONDS).until(condition)
    except TimeoutException:
        status = driver.execute_script("return (document.getElementById('status') || {}).textContent")
        raise AssertionError(f"{message} (page status: {status!r})") from None


def table_rows(driver, table_id: str) -> dict[str, list[str]]:
    """A table's body rows by their first cell's text."""
    rows = {}
    for tr in driver.find_elements(By.CSS_SELECTOR, f"#{table_id} tbody tr"):
        cells = [cell.text for cell in tr.find_elements(By.CSS_SELECTOR, "th, td")]
        rows[cells[0]] = cells
    return rows


def test_dashboard_in_headless_chromium(dashboard, browser, tmp_path):
    gw, expected = dashboard
    driver = browser
    driver.get(gw.url + "/admin")
    assert driver.title == "Tollgate admin"

    # A wrong key is refused and nothing is shown.
    driver.find_element(By.ID, "admin-key").send_keys("not-the-admin-key")
    driver.find_element(By.CSS_SELECTOR, "#signin-form button").click()
    wait(driver, lambda d: "not accepted" in d.find_element(By.ID, "signin-error").text, "a wrong admin key was not refused")
    assert not driver.find_element(By.ID, "dashboard").is_displayed()

    key_field = driver.find_element(By.ID, "admin-key")
    key_field.clear()
    key_field.send_keys(ADMIN_KEY)
    driver.find_element(By.CSS_SELECTOR, "#signin-form button").click()
    wait(driver, lambda d: d.find_element(By.ID, "dashboard").get_attribute("data-refreshes"), "the dashboard did not load")
    assert driver.find_element(By.ID, "status").text.startswith("Updated"), driver.find_element(By.ID, "status").text
    # The key lives in this tab's sessionStorage: a reload stays signed in.
    driver.refresh()
    wait(driver, lambda d: d.find_element(By.ID, "dashboard").get_attribute("data-refreshes"), "a reload lost the session")

    # Spend over time: one bar per day of the last 30, each carrying that day's exact spend.
    bars = {bar.get_attribute("data-day"): bar for bar in driver.find_elements(By.CSS_SELECTOR, "#spend-svg rect.bar")}
    assert len(bars) == 30 and day(0) in bars and day(29) in bars, sorted(bars)
    for name, nano in expected["day"].items():
        assert int(bars[name].get_attribute("data-cost-nano")) == nano, name
        assert float(bars[name].get_attribute("height")) > 0, f"the bar of {name} is empty"
    assert float(bars[day(10)].get_attribute("height")) == 0 and bars[day(10)].get_attribute("data-cost-nano") == "0"
    tallest = max(bars.values(), key=lambda bar: float(bar.get_attribute("height")))
    assert tallest.get_attribute("data-day") == max(expected["day"], key=expected["day"].get)

    # Top keys and models: the seeded and real names with their exact costs, most expensive first.
    for table, group in (("top-keys", "key"), ("top-models", "model")):
        rows = table_rows(driver, table)
        for name, nano in expected[group].items():
            assert name in rows, f"{name} is missing from {table}: {rows}"
            assert rows[name][-1] == money(nano), (name, rows[name])
        assert list(rows)[0] == max(expected[group], key=expected[group].get), rows

    # Channel health: a table when the gateway offers /admin/health, otherwise a plain note.
    health = httpx.get(gw.url + "/admin/health", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    if health.status_code == 404:
        assert "not available" in driver.find_element(By.ID, "health").text
    else:
        assert driver.find_elements(By.CSS_SELECTOR, "#health-table tbody tr"), driver.find_element(By.ID, "health").text

    # Create a key from the page: its secret is shown once and works at once.
    driver.find_element(By.ID, "new-key-name").send_keys("browser-made")
    driver.find_element(By.ID, "new-key-models").send_keys("mock-*")
    driver.find_element(By.CSS_SELECTOR, "#create-key-form button").click()
    wait(driver, lambda d: d.find_element(By.ID, "new-key").is_displayed(), "the new key's secret was not shown")
    secret = driver.find_element(By.ID, "new-key-secret").text
    assert re.fullmatch(r"tg-[0-9A-Za-z]{40}", secret), secret
    wait(driver, lambda d: "browser-made" in table_rows(d, "keys"), "the new key is not listed")
    listed = table_rows(driver, "keys")["browser-made"]
    assert listed[1] == secret[:7] + "…" and listed[2] == "mock-*" and listed[5] == "active", listed
    assert chat(gw.url, secret, "mock-echo").status_code == 200

    # The whole page in one picture: a window as tall as the document (plus the window's own frame).
    driver.set_window_size(1280, driver.execute_script("return document.documentElement.scrollHeight") + 200)
    driver.execute_script("window.scrollTo(0, 0)")
    screenshot = tmp_path / "admin-dashboard.png"
    assert driver.save_screenshot(str(screenshot))
    print(f"\nadmin page screenshot: {screenshot}")

    # Revoke it from the page (after a confirm dialog): refused at once.
    driver.find_element(By.CSS_SELECTOR, "#keys button[data-name='browser-made']").click()
    wait(driver, EC.alert_is_present(), "no confirm dialog before revoking")
    driver.switch_to.alert.accept()
    wait(driver, lambda d: "revoked" in d.find_element(By.ID, "keys-message").text, "the page did not confirm the revocation")
    wait(driver, lambda d: table_rows(d, "keys").get("browser-made", [""] * 6)[5] == "revoked",
         "the revoked key is not shown as revoked")
    assert not driver.find_element(By.ID, "new-key").is_displayed(), "the revoked key's secret is still on screen"
    assert chat(gw.url, secret, "mock-echo").status_code == 401

    # Everything the page loaded came from the gateway itself.
    loaded = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(gw.url + "/admin") for url in loaded), loaded

    driver.find_element(By.ID, "signout").click()
    assert driver.find_element(By.ID, "admin-key").is_displayed()
    assert driver.execute_script("return sessionStorage.length") == 0


def test_admin_page_is_self_contained(dashboard):
    gw, _ = dashboard
    for path in ("/admin", "/admin/"):
        response = httpx.get(gw.url + path)  # the page itself needs no key
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert re.findall(r"https?://|//[a-z0-9-]+\.[a-z]", html, re.IGNORECASE) == [], "the page must not reference other hosts"
    references = re.findall(r"\b(?:src|href)=\"([^\"]*)\"", html, re.IGNORECASE)
    assert all(ref.startswith("data:") for ref in references), f"the page loads nothing else: {references}"
    assert "@import" not in html and "url(" not in html
    assert "connect-src 'self'" in html and "default-src 'none'" in html  # the browser enforces it too


def test_admin_page_is_off_without_an_admin_key(gateway):
    response = httpx.get(gateway.url + "/admin")
    assert response.status_code == 404 and "admin_key" in response.text, response.text


def test_admin_keys_api(dashboard):
    gw, _ = dashboard
    with httpx.Client(base_url=gw.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30) as http:
        expiry = int(time.time()) + 3600
        created = http.post("/admin/keys", json={"name": "api-made", "models": ["gpt-*"], "expires_at": expiry})
        assert created.status_code == 201, created.text
        body = created.json()
        assert {"name", "key", "prefix"} <= set(body) and body["key"].startswith(body["prefix"]), body
        listed = {item["name"]: item for item in http.get("/admin/keys").json()["data"]}
        made = listed["api-made"]
        assert (made["prefix"], made["models"], made["expires_at"], made["revoked"]) == (body["prefix"], ["gpt-*"], expiry, False), made
        assert "key" not in made and "digest" not in made
        assert body["key"] not in http.get("/admin/keys").text
        assert chat(gw.url, body["key"], "mock-echo").status_code == 403, "the key is limited to gpt-*"

        for name in ("api-made", "team-alpha"):  # stored and config-file names are both taken
            assert http.post("/admin/keys", json={"name": name}).status_code == 409
        for bad in ({}, {"name": ""}, {"name": "x", "models": "gpt-*"},
                    {"name": "x", "expires_at": 1}, {"name": "x", "expires_at": "tomorrow"}):
            refused = http.post("/admin/keys", json=bad)
            assert refused.status_code == 400 and refused.json()["error"]["message"], (bad, refused.text)
        assert http.post("/admin/keys", content=b"not json").status_code == 400

        assert http.delete("/admin/keys/api-made").status_code == 200
        assert chat(gw.url, body["key"], "gpt-4o-mini").status_code == 401
        listed = {item["name"]: item for item in http.get("/admin/keys").json()["data"]}
        assert listed["api-made"]["revoked"] is True, "a revoked key stays listed, marked revoked"
        assert http.delete("/admin/keys/no-such-key").status_code == 404
        assert http.delete("/admin/keys/team-alpha").status_code in (404, 409), "config-file keys are not revoked here"
        assert http.get("/admin/keys", headers={"Authorization": f"Bearer {CLIENT_KEY}"}).status_code == 401
