// The order page (SPEC §11.6, docs/pages.md "Order page"): staff choose one of the floor's
// tables, add dishes from the menu with their options, notes and quantities, and place the
// order for that table (source staff); or seat a party there (SPEC §12.1).
import { Topic, api, idempotencyKey, watchConnection } from "./client.js";
import { h, replace, showStatus } from "./dom.js";
import { orderable } from "./dishes.js";
import { lang, number, t, tOr } from "./i18n.js";
import { formatter } from "./money.js";

const QTY_MIN = 1;
const QTY_MAX = 20;
const NOTE_MAX = 140;

// --- money: an integer in the currency's minor unit (SPEC §11.1) -----------------------------

// The restaurant's currency comes from the server (the page's data-currency); a visit's check
// names it too, for a page served without it.
let money = formatter(document.body.dataset.currency);

function price(minor) {
  return money ? money(minor) : number(minor);
}

// --- state --------------------------------------------------------------------------------

const el = (id) => document.getElementById(id);
let chosenId = Number(new URLSearchParams(location.search).get("table")) || null;
let cart = []; // [{ dish, options: [option], qty, note }]
// The last order sent whose answer was lost (the network, or a 5xx): sent again unchanged, it
// carries the same Idempotency-Key, so it is placed once. Any other answer is the key's for
// good (docs/api.md, "Idempotency"): the next press gets a new key.
let unanswered = null; // { body, key }
let placing = false;
let may = new Set(["orders", "visits"]);
api("GET", "/api/me").then((me) => { may = new Set(me.may_write); renderChosen(); }).catch(() => {});

const tables = new Topic("tables", { onChange: () => { renderTables(); renderChosen(); } });
const visits = new Topic("visits", { onChange: visitsChanged });
const menu = new Topic("menu", { onChange: () => { renderMenu(); renderCart(); dialog.refresh(); } });
watchConnection([tables, visits, menu], el("conn"), el("banner"));

const byLabel = (a, b) => a.label.localeCompare(b.label, lang, { numeric: true });
const openVisit = (tableId) => visits.list().find((v) => v.table_id === tableId && v.status === "open");
const dishName = (dish) => dish.names?.[lang] || dish.name;
const tableStatus = (status) => tOr(`table.status.${status}`, status.replaceAll("_", " "));

function visitsChanged() {
  if (!money) {
    const named = visits.list().find((v) => v.check?.currency);
    if (named) money = formatter(named.check.currency);
  }
  renderTables(); renderChosen(); renderMenu(); renderCart();
}

// --- the tables ---------------------------------------------------------------------------

const clock = new Intl.DateTimeFormat(lang, { timeStyle: "short" });
const time = (iso) => (iso ? clock.format(new Date(iso)) : "—");

function visitLine(visit) {
  if (!visit) return null;
  const check = visit.check ?? { total: 0, due: 0 };
  return t("order.visit_line", { orders: number(visit.order_ids.length), due: price(check.due) });
}

function renderTables() {
  const list = tables.list().sort(byLabel);
  el("no-tables").hidden = list.length > 0 || tables.state !== "live";
  replace(el("tables"), list.map((table) => {
    const visit = openVisit(table.id);
    return h("button", {
      type: "button", class: `order-table tc-${table.status}`, "aria-pressed": String(table.id === chosenId),
      dataset: { tableId: table.id, status: table.status }, onclick: () => choose(table.id),
    }, h("span", { class: "label" }, table.label),
    h("small", { class: "status" }, tableStatus(table.status)),
    h("small", { class: "visit" }, visitLine(visit)));
  }));
}

function choose(tableId) {
  chosenId = tableId;
  const url = new URL(location.href);
  url.searchParams.set("table", String(tableId));
  history.replaceState(null, "", url);
  setStatus("");
  renderTables(); renderChosen(); renderCart();
}

function renderChosen() {
  const table = chosenId === null ? undefined : tables.items.get(chosenId);
  el("pick-table").hidden = Boolean(table);
  el("chosen").hidden = !table;
  el("chosen-heading").textContent = table ? t("order.for_table", { table: table.label }) : "";
  if (!table) return;
  const visit = openVisit(table.id);
  el("chosen-label").textContent = table.label;
  const chip = el("chosen-status");
  chip.textContent = tableStatus(table.status);
  chip.className = `status-chip tc-${table.status}`;
  el("chosen-visit").textContent = visit ? [
    t("order.visit_seated", { since: time(visit.opened_at) }),
    visit.party_size ? t("order.visit_party", { n: number(visit.party_size) }) : null,
    t("order.visit_check", {
      orders: number(visit.order_ids.length), total: price(visit.check?.total ?? 0), due: price(visit.check?.due ?? 0),
    }),
  ].filter(Boolean).join(" · ") : t("order.no_visit");
  // The visit's printable receipt (/receipt/{id}), in a tab of its own.
  const receipt = el("chosen-receipt");
  receipt.hidden = !visit;
  if (visit) receipt.href = `/receipt/${visit.id}`;
  else receipt.removeAttribute("href");
  el("seat-form").hidden = Boolean(visit) || !may.has("visits");
}

// --- the menu -----------------------------------------------------------------------------

function renderMenu() {
  const dishes = menu.list(); // in the menu's order, as the server sends it
  el("no-menu").hidden = dishes.length > 0 || menu.state !== "live";
  const categories = new Map();
  for (const dish of dishes) {
    if (!categories.has(dish.category)) categories.set(dish.category, []);
    categories.get(dish.category).push(dish);
  }
  replace(el("menu"), [...categories].map(([category, list]) => h("section", { class: "category" },
    h("h3", {}, category || t("order.other")),
    h("div", { class: "dishes" }, list.map(dishButton)))));
}

function dishButton(dish) {
  const can = orderable(dish);
  const shown = dishName(dish);
  return h("button", {
    type: "button", class: `dish${can ? "" : " unavailable"}`, disabled: !can,
    dataset: { menuId: dish.id }, onclick: () => dialog.open(dish),
  }, h("span", { class: "name" }, shown),
  shown !== dish.name ? h("small", { class: "kitchen-name" }, dish.name) : null,
  h("span", { class: "price" }, price(dish.price ?? 0)),
  dish.options?.length ? h("small", { class: "muted" }, t("order.n_options", { n: number(dish.options.length) })) : null,
  can ? null : h("small", { class: "sold-out" }, t("order.sold_out")));
}

// --- one dish: its options, note and quantity -------------------------------------------

class DishDialog {
  constructor(root) {
    this.root = root;
    this.dish = null;
    this.qty = el("dish-qty");
    this.note = el("dish-note");
    this.note.maxLength = NOTE_MAX;
    this.add = el("dish-add");
    el("qty-less").onclick = () => this.step(-1);
    el("qty-more").onclick = () => this.step(1);
    el("dish-cancel").onclick = () => root.close();
    this.qty.oninput = () => this.refresh();
    el("dish-form").addEventListener("submit", (event) => {
      event.preventDefault();
      if (this.take()) root.close();
    });
    root.addEventListener("close", () => { this.dish = null; });
  }

  open(dish) {
    this.dish = dish;
    el("dish-name").textContent = dishName(dish);
    this.qty.value = "1";
    this.note.value = "";
    el("dish-options").hidden = !dish.options?.length;
    replace(el("dish-option-list"), (dish.options ?? []).map((option, index) => h("label", { class: "option" },
      h("input", { type: "checkbox", value: String(index), dataset: { option: option.name }, onchange: () => this.refresh() }),
      h("span", {}, option.names?.[lang] || option.name),
      option.price ? h("small", { class: "muted" }, t("order.plus", { price: price(option.price) })) : null)));
    this.refresh();
    this.root.showModal();
  }

  chosen() {
    const boxes = [...el("dish-option-list").querySelectorAll("input:checked")];
    return boxes.map((box) => this.dish.options[Number(box.value)]).filter(Boolean);
  }

  count() {
    const n = Math.round(Number(this.qty.value));
    return Number.isFinite(n) ? Math.min(QTY_MAX, Math.max(QTY_MIN, n)) : QTY_MIN;
  }

  step(by) {
    this.qty.value = String(Math.min(QTY_MAX, Math.max(QTY_MIN, this.count() + by)));
    this.refresh();
  }

  // The dish as the menu has it now: a change while the dialog is open shows at once.
  refresh() {
    if (!this.dish) return;
    const now = menu.items.get(this.dish.id);
    if (now) this.dish = now;
    const can = orderable(now);
    el("dish-price").textContent = can ? price(this.dish.price ?? 0) : t("order.sold_out");
    const unit = unitPrice(this.dish, this.chosen());
    this.add.textContent = t("order.add", { price: price(unit * this.count()) });
    this.add.disabled = !can;
  }

  take() {
    if (!orderable(menu.items.get(this.dish.id))) return false;
    addLine(this.dish, this.chosen(), this.count(), this.note.value.trim().slice(0, NOTE_MAX));
    return true;
  }
}
const dialog = new DishDialog(el("dish"));

// --- the cart -----------------------------------------------------------------------------

const unitPrice = (dish, options) => (dish.price ?? 0) + options.reduce((sum, o) => sum + (o.price ?? 0), 0);
const sameLine = (line, dish, names, note) => line.dish.id === dish.id && line.note === note
  && line.options.map((o) => o.name).join("\n") === names.join("\n");

function addLine(dish, options, qty, note) {
  const names = options.map((o) => o.name);
  const same = cart.find((line) => sameLine(line, dish, names, note));
  if (same) same.qty = Math.min(QTY_MAX, same.qty + qty);
  else cart.push({ dish, options, qty, note });
  renderCart();
  setStatus(t("order.added", { qty: number(qty), dish: dishName(dish) }));
}

function renderCart() {
  for (const line of cart) line.dish = menu.items.get(line.dish.id) ?? line.dish;
  el("cart-empty").hidden = cart.length > 0;
  replace(el("cart"), cart.map((line, index) => {
    const can = orderable(menu.items.get(line.dish.id));
    const change = (by) => () => {
      line.qty = Math.min(QTY_MAX, Math.max(QTY_MIN, line.qty + by));
      renderCart();
    };
    const remove = () => { cart.splice(index, 1); renderCart(); };
    return h("li", { class: `cart-line${can ? "" : " unavailable"}`, dataset: { menuId: line.dish.id } },
      h("div", { class: "what" },
        h("span", { class: "name" }, dishName(line.dish)),
        line.options.length ? h("small", { class: "options" }, line.options.map((o) => o.names?.[lang] || o.name).join(", ")) : null,
        line.note ? h("small", { class: "note" }, line.note) : null,
        can ? null : h("small", { class: "sold-out" }, t("order.sold_out"))),
      h("div", { class: "qty" },
        h("button", { type: "button", class: "step less", "aria-label": t("order.less"), disabled: line.qty <= QTY_MIN, onclick: change(-1) }, "−"),
        h("span", { class: "n" }, number(line.qty)),
        h("button", { type: "button", class: "step more", "aria-label": t("order.more"), disabled: line.qty >= QTY_MAX, onclick: change(1) }, "+")),
      h("span", { class: "amount" }, price(unitPrice(line.dish, line.options) * line.qty)),
      h("button", { type: "button", class: "small remove", "aria-label": t("order.remove_line", { dish: dishName(line.dish) }), onclick: remove }, "×"));
  }));
  const total = cart.reduce((sum, line) => sum + unitPrice(line.dish, line.options) * line.qty, 0);
  el("total").textContent = price(total);
  el("place").disabled = placing || !cart.length || chosenId === null || !may.has("orders");
}

// --- writes -------------------------------------------------------------------------------

// The status line (under the cart on the order page): dom.js's, on this page's element.
function setStatus(text, options) { showStatus(el("status"), text, options); }

// POST with a key; the server's {"error": {"code", "message"}} thrown as it is.
async function post(path, body, key) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Idempotency-Key": key },
      body: JSON.stringify(body),
    });
  } catch {
    throw { status: 0, code: "network", message: t("order.network") };
  }
  let answer = null;
  try { answer = await response.json(); } catch { /* not JSON */ }
  if (!response.ok) {
    const error = answer?.error ?? { code: String(response.status), message: response.statusText };
    throw { status: response.status, code: error.code, message: error.message };
  }
  return answer;
}

function refusal(err) {
  const named = tOr(`order.error.${err.code}`, "");
  return named && named !== err.message ? `${named} — ${err.message}` : err.message;
}

el("place").addEventListener("click", async () => {
  const table = tables.items.get(chosenId);
  if (!table || !cart.length) return;
  const body = {
    table_id: table.id,
    items: cart.map((line) => ({
      menu_id: line.dish.id, qty: line.qty,
      ...(line.options.length ? { options: line.options.map((o) => o.name) } : {}),
      ...(line.note ? { note: line.note } : {}),
    })),
  };
  const note = el("order-note").value.trim();
  if (note) body.note = note;
  const sent = JSON.stringify(body);
  if (unanswered?.body !== sent) unanswered = { body: sent, key: idempotencyKey() };
  const key = unanswered.key;
  placing = true;
  renderCart();
  setStatus(t("order.placing"));
  try {
    const order = await post("/api/orders", body, key);
    unanswered = null;
    cart = [];
    el("order-note").value = "";
    renderCart();
    setStatus(t("order.placed", { id: order.id, table: table.label, total: price(order.total ?? 0) }), { kind: "ok" });
  } catch (err) {
    if (err.status > 0 && err.status < 500) unanswered = null;
    setStatus(t("order.not_placed", { reason: refusal(err) }), { kind: "error", code: err.code });
  } finally {
    placing = false;
    renderCart();
  }
});

el("seat-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const table = tables.items.get(chosenId);
  if (!table) return;
  const button = el("seat");
  const size = Math.round(Number(el("party-size").value));
  const body = { table_id: table.id, ...(size >= 1 ? { party_size: size } : {}) };
  button.disabled = true;
  try {
    await post("/api/visits", body, idempotencyKey());
    el("party-size").value = "";
    setStatus(t("order.seated", { table: table.label }), { kind: "ok" });
  } catch (err) {
    setStatus(t("order.not_seated", { reason: refusal(err) }), { kind: "error", code: err.code });
  } finally {
    button.disabled = false;
  }
});

renderCart();
