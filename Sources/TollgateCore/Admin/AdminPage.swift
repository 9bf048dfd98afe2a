/// `GET /admin`: the operator's web page. One self-contained document (HTML, CSS and plain
/// JavaScript inline, no CDN, no build step) so it works on an offline machine. The page itself
/// holds nothing secret: it asks for the admin key, keeps it in sessionStorage and calls the JSON
/// admin API with it.
enum AdminPage {
    static func serve(_ handler: RequestHandler) {
        handler.writeText(status: 200, contentType: "text/html; charset=utf-8", body: Array(html.utf8))
        handler.requestEnded(status: 200, channel: nil, usage: TokenUsage())
    }

    // The CSP forbids every other origin, so a stray external reference fails loudly in the test.
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'none'; base-uri 'none'">
<title>Tollgate admin</title>
<link rel="icon" href="data:,">
<style>
  :root { --fg: #1d2430; --muted: #5b6473; --line: #d8dde6; --accent: #2f6fde; --bad: #b42318; --good: #1a7f37; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: #f5f7fa; }
  header { display: flex; align-items: center; justify-content: space-between; padding: .6rem 1.5rem; background: #1d2430; color: #fff; }
  header h1 { font-size: 1.2rem; margin: 0; }
  main { max-width: 1100px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem 1rem; margin: 1rem 0; }
  h2 { font-size: 1.05rem; margin: 0 0 .6rem; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 0 1rem; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  label { font-weight: 600; margin-right: .3rem; }
  input, select, button { font: inherit; padding: .3rem .5rem; }
  button { cursor: pointer; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; }
  button.secondary { background: #fff; color: var(--accent); }
  button.danger { border-color: var(--bad); background: #fff; color: var(--bad); }
  form.inline { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; margin-bottom: .8rem; }
  .muted { color: var(--muted); }
  .error { color: var(--bad); }
  .secret { border: 2px solid var(--good); background: #effaf1; padding: .6rem .8rem; border-radius: 6px; margin-bottom: .8rem; }
  .secret code { font-size: 1rem; word-break: break-all; user-select: all; }
  svg { width: 100%; height: auto; display: block; }
  svg .bar { fill: var(--accent); }
  svg .axis { stroke: var(--muted); stroke-width: 1; }
  svg .grid { stroke: var(--line); stroke-width: 1; }
  svg text { fill: var(--muted); font-size: 11px; }
  .state-ok { color: var(--good); } .state-bad { color: var(--bad); }
</style>
</head>
<body>
<header>
  <h1>Tollgate admin</h1>
  <button id="signout" class="secondary" type="button" hidden>Sign out</button>
</header>
<main>
  <section id="signin" aria-labelledby="signin-title">
    <h2 id="signin-title">Sign in</h2>
    <form id="signin-form" class="inline">
      <label for="admin-key">Admin key</label>
      <input id="admin-key" type="password" autocomplete="current-password" required size="40">
      <button type="submit">Sign in</button>
    </form>
    <p class="muted">The key is kept in this browser tab only (sessionStorage) and sent as <code>Authorization: Bearer</code>.</p>
    <p id="signin-error" class="error" role="alert"></p>
  </section>

  <div id="dashboard" hidden>
    <form id="period-form" class="inline">
      <label for="period">Period</label>
      <select id="period">
        <option value="7">Last 7 days</option>
        <option value="30" selected>Last 30 days</option>
        <option value="90">Last 90 days</option>
      </select>
      <button type="submit">Refresh</button>
      <span id="status" class="muted" role="status"></span>
    </form>

    <section aria-labelledby="spend-title">
      <h2 id="spend-title">Spend over time</h2>
      <div id="spend-chart"></div>
      <details>
        <summary>Spend per day as a table</summary>
        <table id="spend-table">
          <thead><tr><th scope="col">Day (UTC)</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Cost</th></tr></thead>
          <tbody></tbody>
        </table>
      </details>
    </section>

    <div class="grid">
      <section aria-labelledby="top-keys-title">
        <h2 id="top-keys-title">Top keys</h2>
        <table id="top-keys">
          <thead><tr><th scope="col">Key</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Tokens</th><th scope="col" class="num">Cost</th></tr></thead>
          <tbody></tbody>
        </table>
      </section>
      <section aria-labelledby="top-models-title">
        <h2 id="top-models-title">Top models</h2>
        <table id="top-models">
          <thead><tr><th scope="col">Model</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Tokens</th><th scope="col" class="num">Cost</th></tr></thead>
          <tbody></tbody>
        </table>
      </section>
    </div>

    <section aria-labelledby="health-title">
      <h2 id="health-title">Channel health</h2>
      <div id="health"></div>
    </section>

    <section aria-labelledby="keys-title">
      <h2 id="keys-title">Keys</h2>
      <form id="create-key-form" class="inline">
        <label for="new-key-name">Name</label>
        <input id="new-key-name" required maxlength="64" pattern="[A-Za-z0-9._\-]+" title="letters, digits, '-', '_' or '.'">
        <label for="new-key-models">Models</label>
        <input id="new-key-models" placeholder="all (or e.g. gpt-*, claude-*)">
        <label for="new-key-expires">Expires (UTC)</label>
        <input id="new-key-expires" type="date">
        <button type="submit">Create key</button>
      </form>
      <div id="new-key" class="secret" hidden>
        <p>Key <strong id="new-key-label"></strong> created. Copy it now: it is shown only once.</p>
        <code id="new-key-secret"></code>
      </div>
      <p id="keys-message" role="status"></p>
      <table id="keys">
        <thead><tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Models</th><th scope="col">Expires</th><th scope="col">Created</th><th scope="col">Status</th><th scope="col"><span class="muted">Action</span></th></tr></thead>
        <tbody></tbody>
      </table>
      <p class="muted">Keys from the config file are managed there and are not listed.</p>
    </section>
  </div>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const KEY_SLOT = "tollgate-admin-key";
let adminKey = sessionStorage.getItem(KEY_SLOT) || "";
let refreshes = 0;

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const init = { method, headers: { Authorization: "Bearer " + adminKey } };
  if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { /* not JSON: the status says enough */ }
  if (!response.ok) {
    const message = (data && data.error && data.error.message) || (response.status + " " + response.statusText);
    if (response.status === 401) signOut("The admin key was not accepted.");
    throw new ApiError(response.status, message);
  }
  return data;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function cellWith(node) {
  const td = document.createElement("td");
  td.append(node);
  return td;
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) tr.append(cell instanceof Node ? cell : el("td", String(cell)));
  return tr;
}

// Costs arrive as integer nano-units; they are summed as BigInt and printed as exact decimals,
// never through binary floating point (the gateway's bills are exact, so is the page).
function money(nano, currency) {
  const negative = nano < 0n;
  const digits = (negative ? -nano : nano).toString().padStart(10, "0");
  let fraction = digits.slice(-9).replace(/0+$/, "");
  if (fraction.length < 2) fraction = fraction.padEnd(2, "0");
  return (negative ? "-" : "") + digits.slice(0, -9) + "." + fraction + " " + currency;
}

function costText(costs) {
  const parts = [...costs].map(([currency, nano]) => money(nano, currency));
  return parts.length ? parts.join(", ") : money(0n, "USD");
}

// The usage API answers one row per (group, currency); the tables want one row per group.
function byGroup(rows) {
  const groups = new Map();
  for (const r of rows) {
    const g = groups.get(r.group) || { group: r.group, requests: 0, tokens: 0, costs: new Map(), total: 0n };
    g.requests += r.requests;
    g.tokens += r.prompt_tokens + r.completion_tokens;
    g.costs.set(r.currency, (g.costs.get(r.currency) || 0n) + BigInt(r.cost_nano));
    g.total += BigInt(r.cost_nano);
    groups.set(r.group, g);
  }
  return [...groups.values()];
}

function utcDay(date) { return date.toISOString().slice(0, 10); }

function periodDays() {
  const count = Number($("period").value);
  const days = [];
  const today = new Date();
  for (let i = count - 1; i >= 0; i--) days.push(utcDay(new Date(today.getTime() - i * 86400000)));
  return days;
}

function usage(groupBy, from) {
  return api("GET", "/admin/usage?group_by=" + groupBy + "&from=" + from).then((body) => body.data);
}

function fillTopTable(id, rows, emptyLabel) {
  const tbody = $(id).tBodies[0];
  tbody.replaceChildren();
  // Requests that never reached a model (admin calls, refused keys) have no group and no cost.
  const shown = byGroup(rows).filter((g) => g.group !== "" || g.total !== 0n)
    .sort((a, b) => (b.total > a.total ? 1 : b.total < a.total ? -1 : b.requests - a.requests)).slice(0, 10);
  for (const g of shown) {
    const name = el("th", g.group || emptyLabel);
    name.scope = "row";
    tbody.append(row([name, el("td", String(g.requests), "num"), el("td", g.tokens.toLocaleString("en-US"), "num"),
                      el("td", costText(g.costs), "num")]));
  }
  if (!shown.length) tbody.append(row([el("td", "No requests in this period.", "muted")]));
}

function drawSpendChart(days, rows) {
  // The chart shows the currency with the most spend; a table below lists every currency.
  const totals = new Map();
  for (const r of rows) totals.set(r.currency, (totals.get(r.currency) || 0n) + BigInt(r.cost_nano));
  const currency = [...totals].sort((a, b) => (b[1] > a[1] ? 1 : -1))[0]?.[0] || "USD";
  const perDay = new Map(days.map((d) => [d, 0n]));
  for (const r of rows) if (r.currency === currency && perDay.has(r.group)) perDay.set(r.group, perDay.get(r.group) + BigInt(r.cost_nano));
  const max = [...perDay.values()].reduce((m, v) => (v > m ? v : m), 0n);

  const W = 760, H = 260, left = 90, right = 12, top = 12, bottom = 36;
  // The HTML parser puts <svg> in the SVG namespace, so the page spells out no namespace URL.
  const scratch = document.createElement("div");
  scratch.innerHTML = "<svg></svg>";
  const svg = scratch.firstChild, ns = svg.namespaceURI;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Spend per day in ${currency}, ${days[0]} to ${days[days.length - 1]}; highest day ${money(max, currency)}`);
  svg.id = "spend-svg";
  const add = (tag, attrs, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
    return node;
  };
  const plotH = H - top - bottom, plotW = W - left - right, slot = plotW / days.length;
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plotH * (1 - fraction);
    add("line", { x1: left, x2: W - right, y1: y, y2: y, class: fraction === 0 ? "axis" : "grid" });
    const label = max === 0n ? (fraction === 0 ? money(0n, currency) : "") : money(max * BigInt(fraction * 2) / 2n, currency);
    add("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, label);
  }
  const labelEvery = Math.ceil(days.length / 10);
  days.forEach((day, i) => {
    const nano = perDay.get(day);
    // Scaled in BigInt to thousandths, so large totals never lose their proportions; a day with
    // any spend keeps at least a sliver, so it never looks like a day without traffic.
    const height = nano === 0n ? 0 : Math.max(Number(nano * 1000n / max) / 1000 * plotH, 1.5);
    const x = left + i * slot + slot * 0.15;
    const bar = add("rect", { class: "bar", x: x.toFixed(1), y: (top + plotH - height).toFixed(1),
                               width: (slot * 0.7).toFixed(1), height: height.toFixed(1),
                               "data-day": day, "data-cost-nano": nano.toString() });
    const tip = document.createElementNS(ns, "title");
    tip.textContent = `${day}: ${money(nano, currency)}`;
    bar.append(tip);
    if (i % labelEvery === 0) add("text", { x: (left + i * slot + slot / 2).toFixed(1), y: H - bottom + 16, "text-anchor": "middle" }, day.slice(5));
  });
  const holder = $("spend-chart");
  holder.replaceChildren(svg);
  if (max === 0n) holder.append(el("p", "No spend in this period.", "muted"));

  const tbody = $("spend-table").tBodies[0];
  tbody.replaceChildren();
  for (const g of byGroup(rows).sort((a, b) => a.group.localeCompare(b.group))) {
    tbody.append(row([g.group, el("td", String(g.requests), "num"), el("td", costText(g.costs), "num")]));
  }
}

async function loadUsage() {
  const days = periodDays();
  const [perDay, perKey, perModel] = await Promise.all([usage("day", days[0]), usage("key", days[0]), usage("model", days[0])]);
  drawSpendChart(days, perDay);
  fillTopTable("top-keys", perKey, "(no key)");
  fillTopTable("top-models", perModel, "(no model)");
}

async function loadHealth() {
  const holder = $("health");
  let body;
  try {
    body = await api("GET", "/admin/health");
  } catch (error) {
    holder.replaceChildren(el("p", error.status === 404 ? "Channel health is not available on this gateway." : "Could not load channel health: " + error.message,
                              error.status === 404 ? "muted" : "error"));
    return;
  }
  // The health API's shape is not fixed yet: show any list of records as a table.
  const items = Array.isArray(body) ? body : (body && (body.data || body.channels)) || [];
  if (!Array.isArray(items) || !items.length) { holder.replaceChildren(el("p", "No channels reported.", "muted")); return; }
  const columns = [...new Set(items.flatMap((item) => Object.keys(item)))];
  const table = el("table");
  table.id = "health-table";
  const head = document.createElement("tr");
  for (const c of columns) { const th = el("th", c.replace(/_/g, " ")); th.scope = "col"; head.append(th); }
  table.createTHead().append(head);
  const tbody = table.createTBody();
  for (const item of items) {
    tbody.append(row(columns.map((c) => {
      const v = item[c];
      const td = el("td", v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
      if (/^(healthy|ok|up|closed|available)$/i.test(String(v))) td.className = "state-ok";
      if (/^(unhealthy|down|open|unavailable|disabled)$/i.test(String(v))) td.className = "state-bad";
      return td;
    })));
  }
  holder.replaceChildren(table);
}

function when(unix) { return unix === null || unix === undefined ? "never" : new Date(unix * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC"; }

async function loadKeys() {
  const body = await api("GET", "/admin/keys");
  const tbody = $("keys").tBodies[0];
  tbody.replaceChildren();
  const now = Date.now() / 1000;
  for (const key of body.data) {
    const name = el("th", key.name);
    name.scope = "row";
    const status = key.revoked ? "revoked" : key.expires_at !== null && key.expires_at <= now ? "expired" : "active";
    const revoke = el("button", "Revoke", "danger");
    revoke.type = "button";
    revoke.dataset.name = key.name;
    revoke.setAttribute("aria-label", "Revoke key " + key.name);
    revoke.addEventListener("click", () => revokeKey(key.name));
    tbody.append(row([name, el("td", key.prefix + "…"), el("td", key.models.length ? key.models.join(", ") : "all"),
                      el("td", when(key.expires_at)), el("td", when(key.created_at)),
                      el("td", status, status === "active" ? "state-ok" : "state-bad"), cellWith(revoke)]));
  }
  if (!body.data.length) tbody.append(row([el("td", "No stored keys yet.", "muted")]));
}

async function revokeKey(name) {
  if (!confirm(`Revoke key "${name}"? Requests with it are refused at once.`)) return;
  try {
    await api("DELETE", "/admin/keys/" + encodeURIComponent(name));
    $("keys-message").textContent = `Key "${name}" revoked.`;
    $("keys-message").className = "";
    if ($("new-key-label").textContent === name) $("new-key").hidden = true;
    await loadKeys();
  } catch (error) {
    $("keys-message").textContent = "Could not revoke: " + error.message;
    $("keys-message").className = "error";
  }
}

async function createKey(event) {
  event.preventDefault();
  const request = { name: $("new-key-name").value.trim() };
  const models = $("new-key-models").value.split(/[\s,]+/).filter(Boolean);
  if (models.length) request.models = models;
  if ($("new-key-expires").value) request.expires_at = Date.parse($("new-key-expires").value + "T00:00:00Z") / 1000;
  try {
    const created = await api("POST", "/admin/keys", request);
    $("new-key-label").textContent = created.name;
    $("new-key-secret").textContent = created.key;
    $("new-key").hidden = false;
    $("keys-message").textContent = "";
    $("create-key-form").reset();
    await loadKeys();
  } catch (error) {
    $("keys-message").textContent = "Could not create the key: " + error.message;
    $("keys-message").className = "error";
  }
}

async function refresh() {
  $("status").textContent = "Loading…";
  // Each part loads on its own, so one failing route does not blank the others.
  const parts = [["usage", loadUsage], ["health", loadHealth], ["keys", loadKeys]];
  const results = await Promise.allSettled(parts.map(([, load]) => load()));
  const failed = results.map((r, i) => (r.status === "rejected" ? `${parts[i][0]}: ${r.reason.message}` : null)).filter(Boolean);
  if (!adminKey) return;
  $("status").textContent = failed.length ? "Some parts failed to load: " + failed.join("; ") : "Updated " + new Date().toLocaleTimeString();
  $("status").className = failed.length ? "error" : "muted";
  $("dashboard").dataset.refreshes = String(++refreshes);
}

function showDashboard(signedIn) {
  $("signin").hidden = signedIn;
  $("dashboard").hidden = !signedIn;
  $("signout").hidden = !signedIn;
}

function signOut(message) {
  adminKey = "";
  sessionStorage.removeItem(KEY_SLOT);
  $("new-key").hidden = true;
  $("new-key-secret").textContent = "";
  showDashboard(false);
  $("signin-error").textContent = message || "";
  $("admin-key").focus();
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  adminKey = $("admin-key").value.trim();
  $("signin-error").textContent = "";
  try {
    await api("GET", "/admin/budgets");  // cheap check of the key before showing anything
  } catch (error) {
    if (error.status !== 401) $("signin-error").textContent = "Could not reach the admin API: " + error.message;
    return;
  }
  sessionStorage.setItem(KEY_SLOT, adminKey);
  $("admin-key").value = "";
  showDashboard(true);
  refresh();
});
$("signout").addEventListener("click", () => signOut());
$("period-form").addEventListener("submit", (event) => { event.preventDefault(); refresh(); });
$("period").addEventListener("change", () => refresh());
$("create-key-form").addEventListener("submit", createKey);

if (adminKey) { showDashboard(true); refresh(); } else { $("admin-key").focus(); }
</script>
</body>
</html>
"""#
}
