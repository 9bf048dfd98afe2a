"""The admin web page (`GET /admin`) in a real headless browser (Debian's chromium and
chromium-driver, driven by selenium), on a gateway of its own whose ledger holds usage from real
requests today and rows seeded over the previous days. Each part is driven as an operator would
and checked on what the page shows: spend (split by key or model), top lists linking to the
recent requests, channel health as badges and plain text (no JSON anywhere), keys created, edited
(the new limit holds on the next request), rotated (old and new secrets both work, the old one is
refused after a short grace) and revoked, and a channel taken out of rotation and back. Also the
`/admin/keys` API behind it, and that the page needs no network. Screenshots go to
Tests/e2e/screenshots/ (or $TOLLGATE_SCREENSHOTS), which git ignores.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import textwrap
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from conftest import (
    CHANNEL_KEY, CLIENT_KEY, DEAD_CHANNEL, DEAD_MODEL, MOCK_CHANNEL, OPENAI_CHANNEL, REPO, closed_port, start_dedicated_gateway,
    stop_gateway, write_gateway_config,
)

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # scripts/test installs it from requirements.txt
    pytest.fail("the dashboard test needs selenium: pip install -r Tests/e2e/requirements.txt", pytrace=False)

ADMIN_KEY = "tg-admin-dashboard-e2e-0123456789abcdef"
ALPHA_KEY = "tg-e2e-team-alpha-key-0123456789abcdef"
BETA_KEY = "tg-e2e-team-beta-key-0123456789abcdefab"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT_SECONDS = 20
SCREENSHOTS = Path(os.environ.get("TOLLGATE_SCREENSHOTS", REPO / "Tests" / "e2e" / "screenshots"))

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
                       " VALUES (?, ?, 'seeded', 'openai', ?, 'openai', 'chat', 200, ?, ?, ?, 'USD', 1000, ?, ?)",
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
        - name: {DEAD_CHANNEL}
          provider: openai
          base_url: http://127.0.0.1:{closed_port()}/v1
          credentials:
            api_key: sk-dead-upstream-key
          models: [{DEAD_MODEL}]
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
        failed = chat(gw.url, CLIENT_KEY, DEAD_MODEL)  # an upstream that refuses connections: a 5xx with a last error
        assert failed.status_code >= 500, failed.text
        ids.append(failed.headers["x-request-id"])
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
        # The page redraws a table while it is read: such a read is tried again.
        return WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,)).until(condition)
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


def sign_in(driver, gw) -> None:
    """Opens the page signed in (the key is typed once per tab, then kept in sessionStorage)."""
    driver.get(gw.url + "/admin")
    if driver.find_element(By.ID, "admin-key").is_displayed():
        driver.find_element(By.ID, "admin-key").send_keys(ADMIN_KEY)
        driver.find_element(By.CSS_SELECTOR, "#signin-form button").click()
    wait(driver, lambda d: d.find_element(By.ID, "dashboard").get_attribute("data-refreshes"), "the dashboard did not load")


def page_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def assert_no_json(driver) -> None:
    text = page_text(driver)
    assert '{"' not in text, "the page shows JSON: " + text[max(0, text.find('{"') - 200):text.find('{"') + 200]


def screenshot(driver, name: str) -> Path:
    """The whole page in one picture: a window as tall as the document (plus the window's own frame)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(1280, driver.execute_script("return document.documentElement.scrollHeight") + 200)
    driver.execute_script("window.scrollTo(0, 0)")
    path = SCREENSHOTS / f"{name}.png"
    assert driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)
    print(f"\nadmin page screenshot: {path}")
    return path


def section_shot(driver, selector: str, name: str) -> None:
    """One part of the page at its natural size, easier to read than the whole page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Chromium captures only what is inside the window: make the window as tall as the page first.
    driver.set_window_size(1280, driver.execute_script("return document.documentElement.scrollHeight") + 200)
    assert driver.find_element(By.CSS_SELECTOR, selector).screenshot(str(SCREENSHOTS / f"{name}.png"))
    driver.set_window_size(1280, 1000)


def key_row(driver, name: str) -> list[str]:
    return table_rows(driver, "keys").get(name, [""] * 9)


def click_key_action(driver, name: str, action: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f"#keys button[data-name='{name}'][data-action='{action}']").click()


def type_into(driver, element_id: str, text: str) -> None:
    field = driver.find_element(By.ID, element_id)
    field.clear()
    if text:
        field.send_keys(text)


def test_dashboard_in_headless_chromium(dashboard, browser):
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
    assert_no_json(driver)

    # Spend over time: one bar per day of the last 30, each carrying that day's exact spend.
    bars = {bar.get_attribute("data-day"): bar for bar in driver.find_elements(By.CSS_SELECTOR, "#spend-svg rect.bar")}
    assert len(bars) == 30 and day(0) in bars and day(29) in bars, sorted(bars)
    for name, nano in expected["day"].items():
        assert int(bars[name].get_attribute("data-cost-nano")) == nano, name
        assert float(bars[name].get_attribute("height")) > 0, f"the bar of {name} is empty"
    assert float(bars[day(10)].get_attribute("height")) == 0 and bars[day(10)].get_attribute("data-cost-nano") == "0"
    tallest = max(bars.values(), key=lambda bar: float(bar.get_attribute("height")))
    assert tallest.get_attribute("data-day") == max(expected["day"], key=expected["day"].get)
    assert driver.find_element(By.ID, "chart-currency").get_attribute("value") == "USD"  # pricing.currency

    # Top keys and models: the seeded and real names with their exact costs, most expensive first.
    for table, group in (("top-keys", "key"), ("top-models", "model")):
        rows = table_rows(driver, table)
        for name, nano in expected[group].items():
            assert name in rows, f"{name} is missing from {table}: {rows}"
            assert rows[name][-1] == money(nano), (name, rows[name])
        assert list(rows)[0] == max(expected[group], key=expected[group].get), rows

    # Create a key from the page: its secret is shown once and works at once.
    driver.find_element(By.ID, "new-key-name").send_keys("browser-made")
    driver.find_element(By.ID, "new-key-models").send_keys("mock-*")
    driver.find_element(By.CSS_SELECTOR, "#create-key-form button").click()
    wait(driver, lambda d: d.find_element(By.ID, "new-key").is_displayed(), "the new key's secret was not shown")
    secret = driver.find_element(By.ID, "new-key-secret").text
    assert re.fullmatch(r"tg-[0-9A-Za-z]{40}", secret), secret
    wait(driver, lambda d: "browser-made" in table_rows(d, "keys"), "the new key is not listed")
    listed = key_row(driver, "browser-made")
    assert listed[1] == secret[:7] + "…" and listed[2] == "mock-*" and listed[5] == "active", listed
    assert chat(gw.url, secret, "mock-echo").status_code == 200
    # Config-file keys say so instead of a 1970 creation date, and offer no actions.
    assert key_row(driver, "team-alpha")[4] == "config" and "1970" not in page_text(driver)
    assert "in config file" in key_row(driver, "team-alpha")[8]

    # Revoke it from the page (after a confirm dialog): refused at once.
    click_key_action(driver, "browser-made", "revoke")
    wait(driver, EC.alert_is_present(), "no confirm dialog before revoking")
    driver.switch_to.alert.accept()
    wait(driver, lambda d: "revoked" in d.find_element(By.ID, "keys-message").text, "the page did not confirm the revocation")
    wait(driver, lambda d: key_row(d, "browser-made")[5] == "revoked", "the revoked key is not shown as revoked")
    assert not driver.find_element(By.ID, "new-key").is_displayed(), "the revoked key's secret is still on screen"
    assert chat(gw.url, secret, "mock-echo").status_code == 401

    # Everything the page loaded came from the gateway itself.
    loaded = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(gw.url + "/admin") for url in loaded), loaded

    driver.find_element(By.ID, "signout").click()
    assert driver.find_element(By.ID, "admin-key").is_displayed()
    assert driver.execute_script("return sessionStorage.length") == 0


def test_spend_split_by_key_and_by_model(dashboard, browser):
    gw, _ = dashboard
    driver = browser
    sign_in(driver, gw)
    for split, day1 in (("key", {"team-alpha": 1_250_000_000, "team-beta": 300_000_000}),
                        ("model", {"gpt-4o": 1_250_000_000, "claude-sonnet-4-5": 300_000_000})):
        Select(driver.find_element(By.ID, "split")).select_by_value(split)
        wait(driver, lambda d: set(day1) <= {s.get_attribute("data-series") for s in d.find_elements(By.CSS_SELECTOR, "#spend-legend span")},
             f"the legend does not list the {split}s")
        segments = driver.find_elements(By.CSS_SELECTOR, f"#spend-svg g.day[data-day='{day(1)}'] rect.segment")
        assert {s.get_attribute("data-series"): int(s.get_attribute("data-cost-nano")) for s in segments} == day1
        # Stacked: the segments of a day sit on each other and add up to the day's bar.
        total = driver.find_element(By.CSS_SELECTOR, f"#spend-svg g.day[data-day='{day(1)}'] rect.bar")
        assert abs(sum(float(s.get_attribute("height")) for s in segments) - float(total.get_attribute("height"))) < 0.5
        assert int(total.get_attribute("data-cost-nano")) == sum(day1.values())
        assert_no_json(driver)
        if split == "key":
            section_shot(driver, "section[aria-labelledby='spend-title']", "admin-spend-by-key")
    Select(driver.find_element(By.ID, "split")).select_by_value("")


def test_health_reads_as_badges_and_plain_text(dashboard, browser):
    gw, _ = dashboard
    driver = browser
    sign_in(driver, gw)
    cards = {card.get_attribute("data-channel"): card for card in driver.find_elements(By.CSS_SELECTOR, "#health .channel")}
    assert set(cards) == {OPENAI_CHANNEL, MOCK_CHANNEL, DEAD_CHANNEL}, set(cards)
    badges = {name: [b.text for b in card.find_elements(By.CSS_SELECTOR, ".badge")] for name, card in cards.items()}
    assert "healthy" in badges[OPENAI_CHANNEL] and badges[DEAD_CHANNEL][:2] == ["1 of 1 models failing", "temporarily down"], badges
    served = cards[OPENAI_CHANNEL].find_element(By.CSS_SELECTOR, "tr[data-model='gpt-4o-mini']")
    cells = [cell.text for cell in served.find_elements(By.TAG_NAME, "td")]
    assert cells[1] == "healthy" and cells[2] == "100%" and re.fullmatch(r"\d+ ms", cells[3]), cells
    assert re.fullmatch(r"Learning · limit \d+ · 0 in flight", cells[4]) and cells[5] == "none", cells
    dead = [cell.text for cell in cards[DEAD_CHANNEL].find_elements(By.CSS_SELECTOR, f"tr[data-model='{DEAD_MODEL}'] td")]
    assert dead[1] == "temporarily down" and re.fullmatch(r"\d+(\.\d)?%", dead[2]) and dead[2] != "100%", dead
    assert re.search(r"\S.* at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$", dead[5]), dead  # the error in words, with its time
    assert_no_json(driver)
    section_shot(driver, "section[aria-labelledby='health-title']", "admin-health")


def test_recent_requests_filtered_from_the_top_lists(dashboard, browser):
    gw, _ = dashboard
    driver = browser
    sign_in(driver, gw)
    rows = driver.find_elements(By.CSS_SELECTOR, "#requests tbody tr")
    assert 1 <= len(rows) <= 100
    loaded = driver.find_element(By.ID, "requests").get_attribute("data-loaded")
    driver.find_element(By.CSS_SELECTOR, "#top-keys button[data-filter='key']").click()  # the costliest key
    chosen = driver.find_element(By.ID, "filter-key").get_attribute("value")
    wait(driver, lambda d: d.find_element(By.ID, "requests").get_attribute("data-loaded") != loaded, "the filter did not reload")
    keys = [tr.find_elements(By.TAG_NAME, "td")[1].text for tr in driver.find_elements(By.CSS_SELECTOR, "#requests tbody tr")]
    assert keys and set(keys) == {chosen}, keys

    loaded = driver.find_element(By.ID, "requests").get_attribute("data-loaded")
    driver.find_element(By.ID, "filter-clear").click()
    wait(driver, lambda d: d.find_element(By.ID, "requests").get_attribute("data-loaded") != loaded, "clearing did not reload")
    loaded = driver.find_element(By.ID, "requests").get_attribute("data-loaded")
    Select(driver.find_element(By.ID, "filter-status")).select_by_value("5xx")
    driver.find_element(By.CSS_SELECTOR, "#requests-form button[type='submit']").click()
    wait(driver, lambda d: d.find_element(By.ID, "requests").get_attribute("data-loaded") != loaded, "the status filter did not reload")
    failed = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")] for tr in driver.find_elements(By.CSS_SELECTOR, "#requests tbody tr")]
    assert failed and all(int(r[5]) >= 500 and r[3] == DEAD_MODEL and r[4] == DEAD_CHANNEL for r in failed), failed
    assert_no_json(driver)
    driver.find_element(By.ID, "filter-clear").click()
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#requests tbody tr")) > len(failed), "clearing did not reload")
    routes = {tr.find_elements(By.TAG_NAME, "td")[2].text for tr in driver.find_elements(By.CSS_SELECTOR, "#requests tbody tr")}
    assert routes == {"chat"}, routes  # client requests only (model calls by route name), never the page's own admin calls
    section_shot(driver, "#requests-section", "admin-requests")


def test_edit_a_keys_limits_and_budget_from_the_page(dashboard, browser):
    gw, _ = dashboard
    driver = browser
    with httpx.Client(base_url=gw.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30) as http:
        created = http.post("/admin/keys", json={"name": "browser-edit", "rpm": 100})
        assert created.status_code == 201, created.text
    secret = created.json()["key"]
    assert chat(gw.url, secret, "mock-echo").status_code == 200  # one request this minute
    sign_in(driver, gw)
    click_key_action(driver, "browser-edit", "edit")
    wait(driver, lambda d: d.find_element(By.ID, "edit-key-form").is_displayed(), "no edit form")
    assert driver.find_element(By.ID, "edit-rpm").get_attribute("value") == "100"
    type_into(driver, "edit-rpm", "1")
    driver.find_element(By.CSS_SELECTOR, "#edit-key-form button[type='submit']").click()
    wait(driver, lambda d: "saved" in d.find_element(By.ID, "keys-message").text, "the page did not confirm the change")
    wait(driver, lambda d: key_row(d, "browser-edit")[6] == "1 req/min", "the new limit is not shown")
    limited = chat(gw.url, secret, "mock-echo")  # the next request: over the new limit
    assert limited.status_code == 429 and "requests per minute" in limited.json()["error"]["message"], limited.text

    # A tiny budget instead of the limit: the next request passes and spends it, the one after is refused.
    click_key_action(driver, "browser-edit", "edit")
    type_into(driver, "edit-rpm", "")
    type_into(driver, "edit-budget", "0.000001")
    Select(driver.find_element(By.ID, "edit-period")).select_by_value("daily")
    driver.find_element(By.CSS_SELECTOR, "#edit-key-form button[type='submit']").click()
    wait(driver, lambda d: key_row(d, "browser-edit")[7].startswith("0.000001 USD daily"), "the budget is not shown")
    assert key_row(driver, "browser-edit")[6] == "none"
    assert chat(gw.url, secret, "mock-echo").status_code == 200
    refused = chat(gw.url, secret, "mock-echo")
    assert refused.status_code == 402 and refused.json()["error"]["code"] == "insufficient_quota", refused.text

    # A mistake is said in words and changes nothing.
    click_key_action(driver, "browser-edit", "edit")
    type_into(driver, "edit-tpm", "lots")
    driver.find_element(By.CSS_SELECTOR, "#edit-key-form button[type='submit']").click()
    wait(driver, lambda d: "Tokens/min must be a positive whole number" in d.find_element(By.ID, "keys-message").text, "no error shown")
    type_into(driver, "edit-tpm", "")
    type_into(driver, "edit-budget", "lots")
    driver.find_element(By.CSS_SELECTOR, "#edit-key-form button[type='submit']").click()
    wait(driver, lambda d: "Budget must be an amount above zero" in d.find_element(By.ID, "keys-message").text, "no error shown")
    type_into(driver, "edit-budget", "0.000001")
    type_into(driver, "edit-currency", "XYZ")
    driver.find_element(By.CSS_SELECTOR, "#edit-key-form button[type='submit']").click()
    wait(driver, lambda d: "no exchange rate" in d.find_element(By.ID, "keys-message").text, "the server's refusal is not shown")
    driver.find_element(By.ID, "edit-cancel").click()
    assert key_row(driver, "browser-edit")[7].startswith("0.000001 USD daily")
    assert_no_json(driver)


def test_rotate_a_key_from_the_page(dashboard, browser):
    gw, _ = dashboard
    driver = browser
    with httpx.Client(base_url=gw.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30) as http:
        created = http.post("/admin/keys", json={"name": "browser-rotate"})
        assert created.status_code == 201, created.text
    old = created.json()["key"]
    sign_in(driver, gw)
    click_key_action(driver, "browser-rotate", "rotate")
    wait(driver, lambda d: d.find_element(By.ID, "rotate-key-form").is_displayed(), "no rotate form")
    # A short grace: long enough for the two requests below on a loaded machine, then it ends.
    grace = 8
    type_into(driver, "rotate-grace", f"{grace}s")
    driver.find_element(By.CSS_SELECTOR, "#rotate-key-form button[type='submit']").click()
    wait(driver, lambda d: d.find_element(By.ID, "new-key").is_displayed() and "Rotated" in d.find_element(By.ID, "new-key").text,
         "the rotated key's secret was not shown")
    new = driver.find_element(By.ID, "new-key-secret").text
    assert re.fullmatch(r"tg-[0-9A-Za-z]{40}", new) and new != old, new
    assert "The old key works until" in driver.find_element(By.ID, "new-key").text
    assert chat(gw.url, new, "mock-echo").status_code == 200
    assert chat(gw.url, old, "mock-echo").status_code == 200, "the old secret must work during its grace"
    wait(driver, lambda d: "old key valid until" in key_row(d, "browser-rotate")[5], "the grace is not shown on the key")
    screenshot(driver, "admin-dashboard")
    section_shot(driver, "section[aria-labelledby='keys-title']", "admin-keys-rotated")
    assert_no_json(driver)

    with httpx.Client(base_url=gw.url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30) as http:
        until = next(k for k in http.get("/admin/keys").json()["data"] if k["name"] == "browser-rotate")["previous_key_valid_until"]
    # Past the grace's last second the old secret is refused (bounded: polls until then, then at most 10 s more).
    while time.time() < until:
        time.sleep(0.2)
    deadline = time.time() + 10
    refused = chat(gw.url, old, "mock-echo")
    while refused.status_code == 200 and time.time() < deadline:
        time.sleep(0.2)
        refused = chat(gw.url, old, "mock-echo")
    assert refused.status_code == 401 and "rotated" in refused.json()["error"]["message"], refused.text
    assert chat(gw.url, new, "mock-echo").status_code == 200


def test_take_a_channel_out_of_rotation_from_the_page(dashboard, browser):
    gw, _ = dashboard
    driver = browser
    sign_in(driver, gw)
    driver.find_element(By.CSS_SELECTOR, f"#health button[data-rotation='{MOCK_CHANNEL}']").click()
    wait(driver, lambda d: "out of rotation" in d.find_element(By.ID, "health-message").text, "the page did not confirm")
    card = f"#health .channel[data-channel='{MOCK_CHANNEL}']"
    wait(driver, lambda d: "out of rotation" in [b.text for b in d.find_elements(By.CSS_SELECTOR, card + " .badge")], "no badge")
    resting = chat(gw.url, CLIENT_KEY, "mock-echo")
    assert resting.status_code == 503 and "out of rotation" in resting.json()["error"]["message"], resting.text
    assert_no_json(driver)
    section_shot(driver, "section[aria-labelledby='health-title']", "admin-channel-out-of-rotation")
    driver.find_element(By.CSS_SELECTOR, f"#health button[data-rotation='{MOCK_CHANNEL}']").click()
    wait(driver, lambda d: "back in rotation" in d.find_element(By.ID, "health-message").text, "the page did not confirm")
    assert chat(gw.url, CLIENT_KEY, "mock-echo").status_code == 200


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
