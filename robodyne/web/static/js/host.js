// The host page (SPEC §12.4, docs/pages.md "Host page"): the waitlist first come first, each
// party's wait so far against its quote, call / seat / no-show; adding a party, with its quote
// and its link's QR code to scan; the free tables that fit the chosen party, smallest first,
// each a one-tap "Seat here"; the floor's tables; and the guests' open calls (calls.js).
import { Topic, api, idempotencyKey, watchConnection } from "./client.js";
import { CallsPanel } from "./calls.js";
import { age, h, replace, showStatus } from "./dom.js";
import { lang, number, t, tOr } from "./i18n.js";

const TICK_MS = 1000;
// The statuses of a party still in line (the server's core/waitlist.py IN_LINE).
const IN_LINE = new Set(["waiting", "called"]);

const el = (id) => document.getElementById(id);
let chosenId = null; // the party being seated
let may = new Set();

const customers = new Topic("customers", { onChange: render });
const tables = new Topic("tables", { onChange: render });
const visits = new Topic("visits", { onChange: render });
const byLabel = (a, b) => a.label.localeCompare(b.label, lang, { numeric: true });
const tableLabel = (id) => tables.items.get(id)?.label ?? `#${id}`;
const calls = new CallsPanel(el("calls-panel"), { tableLabel });
const connection = watchConnection([customers, tables, visits], el("conn"), el("banner"));

api("GET", "/api/me").then((me) => {
  may = new Set(me.may_write);
  const callsTopic = calls.enable(me.may_read.includes("calls"), may.has("calls"));
  if (callsTopic) connection.add(callsTopic);
  render();
}).catch(() => {});

const clock = new Intl.DateTimeFormat(lang, { timeStyle: "short" });
const time = (iso) => (iso ? clock.format(new Date(iso)) : "—");
const tableStatus = (status) => tOr(`table.status.${status}`, status.replaceAll("_", " "));

// First come first: by when each party joined (then by id, for two in one second).
function inLine() {
  return customers.list().filter((c) => IN_LINE.has(c.status))
    .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id);
}

// What a party was told: no wait, a wait in whole minutes (rounded up), or that no table
// seats it.
const minutes = new Intl.NumberFormat(lang, { style: "unit", unit: "minute", unitDisplay: "long" });
function quoteText(party) {
  if (party.quoted_wait_s === null || party.quoted_wait_s === undefined) return t("host.quote_none");
  if (party.quoted_wait_s === 0) return t("host.quote_now");
  return t("host.quote", { wait: minutes.format(Math.ceil(party.quoted_wait_s / 60)) });
}

// --- the waitlist ------------------------------------------------------------------------

function render() {
  const line = inLine();
  if (chosenId !== null && !line.some((c) => c.id === chosenId)) chosenId = null;
  if (chosenId === null && line.length) chosenId = line[0].id;
  el("no-line").hidden = line.length > 0 || customers.state !== "live";
  el("line-count").textContent = line.length ? t("host.in_line", { n: number(line.length) }) : "";
  const writes = may.has("customers");
  replace(el("line"), line.map((party) => h("li", {
    class: "party", "aria-current": String(party.id === chosenId),
    dataset: { customerId: party.id, status: party.status },
  },
  h("div", { class: "who" },
    h("span", { class: "name" }, party.name),
    h("span", { class: "size" }, t("host.party_of", { n: number(party.party_size) })),
    party.status === "called" ? h("span", { class: "called" }, t("host.called_at", { time: time(party.called_at) })) : null),
  h("div", { class: "wait" },
    h("span", { class: "waited", dataset: { since: party.created_at, quote: party.quoted_wait_s ?? "" } }),
    h("span", { class: "quote" }, quoteText(party))),
  party.note ? h("div", { class: "note" }, party.note) : null,
  h("div", { class: "actions" },
    writes ? h("button", { type: "button", class: "small call-party", onclick: (e) => write(e.currentTarget, "POST", `/api/customers/${party.id}/call`, undefined, t("host.done_called", { name: party.name })) }, t("host.call")) : null,
    writes ? h("button", { type: "button", class: "small seat", "aria-pressed": String(party.id === chosenId), onclick: () => choose(party.id) }, t("host.seat")) : null,
    writes ? h("button", { type: "button", class: "small no-show", onclick: (e) => write(e.currentTarget, "PATCH", `/api/customers/${party.id}`, { status: "no_show" }, t("host.done_no_show", { name: party.name })) }, t("host.no_show")) : null,
    party.link ? h("button", { type: "button", class: "small show-qr", onclick: () => showTicket(party) }, t("host.qr")) : null))));
  tick();
  renderFits();
  renderFloor();
  calls.render();
}

function choose(id) {
  chosenId = id;
  setStatus("");
  render();
  el("fits").querySelector("button")?.focus();
}

// The wait so far, ticking, red once it is past the quote.
function tick() {
  const now = Date.now();
  for (const span of el("line").querySelectorAll(".waited")) {
    const waited = age(span.dataset.since, now);
    span.textContent = waited.text;
    const quote = span.dataset.quote === "" ? null : Number(span.dataset.quote);
    span.closest(".party").classList.toggle("late", quote !== null && waited.seconds > quote);
  }
}
setInterval(tick, TICK_MS);

// --- seating: the free tables that fit the chosen party, smallest first ------------------

function fitting(party) {
  return tables.list().filter((table) => table.status === "available" && table.seats >= party.party_size)
    .sort((a, b) => a.seats - b.seats || byLabel(a, b));
}

function renderFits() {
  const party = chosenId === null ? undefined : customers.items.get(chosenId);
  el("pick-party").hidden = Boolean(party);
  el("chosen-party").hidden = !party;
  if (!party) { replace(el("fits")); el("no-fit").hidden = true; return; }
  el("chosen-party").textContent = t("host.chosen", { name: party.name, n: number(party.party_size) });
  const fits = fitting(party);
  el("no-fit").hidden = fits.length > 0;
  replace(el("fits"), fits.map((table) => h("button", {
    type: "button", class: "fit", dataset: { tableId: table.id }, disabled: !may.has("customers"),
    onclick: (e) => write(e.currentTarget, "POST", `/api/customers/${party.id}/seat`, { table_id: table.id },
      t("host.done_seated", { name: party.name, table: table.label })),
  }, h("span", { class: "label" }, table.label),
  h("small", {}, t("host.seats", { n: number(table.seats) })),
  h("strong", {}, t("host.seat_here")))));
}

// --- the floor ----------------------------------------------------------------------------

function renderFloor() {
  const list = tables.list().sort(byLabel);
  el("no-tables").hidden = list.length > 0 || tables.state !== "live";
  const open = new Map(visits.list().filter((v) => v.status === "open").map((v) => [v.table_id, v]));
  replace(el("floor"), list.map((table) => {
    const visit = open.get(table.id);
    const party = visit?.customer_id ? customers.items.get(visit.customer_id) : undefined;
    const who = party ? t("host.table_party", { name: party.name, n: number(visit.party_size ?? party.party_size) })
      : visit?.party_size ? t("host.party_of", { n: number(visit.party_size) }) : null;
    return h("li", { class: `floor-table tc-${table.status}`, dataset: { tableId: table.id, status: table.status } },
      h("span", { class: "label" }, table.label),
      h("small", { class: "status" }, `${tableStatus(table.status)} · ${t("host.seats", { n: number(table.seats) })}`),
      who ? h("small", { class: "who" }, who) : null,
      visit ? h("small", { class: "since" }, t("host.seated_at", { time: time(visit.opened_at) })) : null);
  }));
}

// --- adding a party -----------------------------------------------------------------------

function showTicket(party) {
  el("ticket-name").textContent = t("host.chosen", { name: party.name, n: number(party.party_size) });
  el("ticket-quote").textContent = quoteText(party);
  const qr = el("ticket-qr");
  qr.alt = t("host.qr_alt", { name: party.name });
  qr.src = `/api/customers/${party.id}/qr.svg`;
  el("ticket").hidden = false;
}
el("ticket-close").addEventListener("click", () => {
  el("ticket").hidden = true;
  el("ticket-qr").removeAttribute("src");
});

el("add-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {
    name: el("add-name").value.trim(),
    party_size: Math.round(Number(el("add-size").value)) || 1,
  };
  const phone = el("add-phone").value.trim();
  const note = el("add-note").value.trim();
  if (phone) body.phone = phone;
  if (note) body.note = note;
  const party = await write(el("add"), "POST", "/api/customers", body, null);
  if (!party) return;
  setStatus(t("host.done_added", { name: party.name, quote: quoteText(party) }), { kind: "ok" });
  showTicket(party);
  for (const id of ["add-name", "add-phone", "add-note"]) el(id).value = "";
  el("add-size").value = "2";
});

// --- writes -------------------------------------------------------------------------------

// The status line (under the cart on the order page): dom.js's, on this page's element.
function setStatus(text, options) { showStatus(el("status"), text, options); }

// One write, its button disabled while it runs; the answer, or null with the server's
// {"error": {"code", "message"}} in the status line.
async function write(button, method, path, body, done) {
  button.disabled = true;
  const headers = body === undefined ? {} : { "Content-Type": "application/json" };
  if (method === "POST") headers["Idempotency-Key"] = idempotencyKey();
  try {
    let response;
    try {
      response = await fetch(path, {
        method, headers, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      setStatus(t("host.failed", { reason: t("host.network") }), { kind: "error", code: "network" });
      return null;
    }
    let answer = null;
    try { answer = await response.json(); } catch { /* not JSON */ }
    if (!response.ok) {
      const error = answer?.error ?? { code: String(response.status), message: response.statusText };
      setStatus(t("host.failed", { reason: error.message }), { kind: "error", code: error.code });
      return null;
    }
    if (done) setStatus(done, { kind: "ok" });
    return answer;
  } finally {
    button.disabled = false;
  }
}

render();
