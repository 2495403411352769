// The guest page (SPEC §11.6), on the guest's phone: the menu in their language, a cart, the
// table's orders moving live from the kitchen to the robot that brings them, the call buttons
// and the check. Two topics: `guest` (one item, the table's view, §11.4) and `menu`.
import { Topic } from "./client.js";
import { h, replace } from "./dom.js";
import { lang, t } from "./i18n.js";
import { filled, parseLanguages } from "./pagedata.js";
import { post, Refused, Unreachable } from "./guest_api.js";
import { Cart } from "./guest_cart.js";
import { languageName } from "./guest_format.js";
import { DishSheet, MenuView } from "./guest_menu.js";
import { renderCalls, renderCheck, renderOrders, robotVisit } from "./guest_orders.js";

const page = document.body.dataset;
const $ = (id) => document.getElementById(id);
const TERMINAL_CLOSE = 4401;
const VISIT_CLOSED = "visit_closed"; // the close reason when the visit, not the link, ended

// --- the page's frame: who, where, which language ---------------------------------------------

const restaurant = filled(page.restaurantName);
const tableLabel = filled(page.tableLabel);
$("restaurant").textContent = restaurant;
$("table").textContent = tableLabel ? t("guest.table", { label: tableLabel }) : "";
document.title = [tableLabel && t("guest.table", { label: tableLabel }), restaurant || t("guest.title")]
  .filter(Boolean).join(" · ");

// The switcher is plain links: the server keeps ?lang= in its cookie (SPEC §11.6).
const languages = parseLanguages(page.languages);
replace($("langs"), languages.length < 2 ? [] : languages.map((code) => h("a", {
  class: "lang", href: `?lang=${encodeURIComponent(code)}`, hreflang: code, lang: code,
  "aria-current": code === lang ? "true" : null,
}, languageName(code))));

// --- the status line: the connection, what just happened, what went wrong ---------------------

let ended = false;
let notice = null;
const statusEl = $("status");
const alertEl = $("alert");

// One message at a time: news in the status line, trouble in the alert; "" clears both.
function say(text, { error = false, fadeMs = 0 } = {}) {
  const [shown, other] = error ? [alertEl, statusEl] : [statusEl, alertEl];
  shown.textContent = text;
  shown.hidden = !text;
  other.hidden = true;
  other.textContent = "";
  clearTimeout(notice);
  if (fadeMs) notice = setTimeout(() => { say(""); connection(); }, fadeMs);
}

// What the connection said last, taken down once both sockets are live again. A page that
// connects within a second says nothing at all.
let connectionNote = "";
let slow = null;
function connection() {
  if (ended) return;
  const states = [guest.state, menu.state];
  const state = states.every((s) => s === "live") ? "live"
    : states.includes("reconnecting") ? "reconnecting" : "connecting";
  document.body.dataset.conn = state;
  if (guest.state === "refused") { end(guest.refusedReason === VISIT_CLOSED ? "visit" : "link"); return; }
  clearTimeout(slow);
  if (state === "reconnecting") {
    connectionNote = t("guest.reconnecting");
    say(connectionNote, { error: true });
  } else if (state === "connecting") {
    slow = setTimeout(() => {
      if (document.body.dataset.conn !== "connecting") return;
      connectionNote = t("guest.connecting");
      say(connectionNote);
    }, 1000);
  } else if (connectionNote) {
    if ([statusEl.textContent, alertEl.textContent].includes(connectionNote)) say("");
    connectionNote = "";
  }
}

// The session is over (SPEC §11.3): the visit closed (thank you), or the link is no longer
// the table's (scan its code again). Nothing is retried after this.
function end(why) {
  if (ended) return;
  ended = true;
  document.body.dataset.conn = "ended";
  document.body.dataset.ended = why;
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  $("main").hidden = true;
  $("cart-bar").hidden = true;
  // Opening the link again would start a session for the next party: no link back into it.
  $("langs").hidden = true;
  const [title, hint] = why === "visit" ? [t("guest.visit_ended"), t("guest.visit_ended_hint")]
    : [t("guest.link_invalid"), t("guest.link_invalid_hint")];
  $("ended-title").textContent = title;
  $("ended-hint").textContent = hint;
  // The next party at this phone (a tablet fixed to the table) starts again on purpose: a
  // plain reload of an ended visit's page never joins whoever sits down next.
  if (why === "visit") {
    $("ended-again").href = `${location.pathname}?new=1`;
    $("ended-again").hidden = false;
  }
  $("ended").hidden = false; // it is the status now (role=status)
  say("");
  cart.forget();
}

// A refusal any write may meet: the session is over, or the server's answer is said as is.
function ending(err) {
  if (err instanceof Refused && err.status === 403 && err.code === VISIT_CLOSED) { end("visit"); return true; }
  if (err instanceof Refused && err.status === 401) { end("link"); return true; }
  return false;
}

// --- the menu, the dish sheet and the cart -----------------------------------------------------

const dishOf = (id) => menu.items.get(id);
const dishNamed = (name) => menu.list().find((dish) => dish.name === name);
const menuView = new MenuView({ menu: $("menu"), chips: $("categories"), empty: $("menu-empty"),
  onPick: (id) => sheet.open(id) });
const cart = new Cart({
  dish: dishOf, bar: $("cart-bar"), dialog: $("cart"),
  onPlaced: () => {
    say(t("guest.placed"), { fadeMs: 6000 });
    showOrders = true; // once the view has it: the first order is what shows the panel
    viewChanged();
  },
  onRefused: (err) => {
    if (ending(err)) return true;
    if (err.code === "table_closed") say(t("guest.err_table_closed"), { error: true });
    return false;
  },
});
const sheet = new DishSheet($("dish"), {
  dish: dishOf,
  onAdd: (line) => {
    if (!cart.add(line)) say(t("guest.cart_full"), { error: true });
    else say(t("guest.added"), { fadeMs: 2500 });
  },
});

function menuChanged() {
  const dishes = menu.list();
  menuView.render(dishes);
  sheet.refresh();
  cart.render();
}

// --- the table's view --------------------------------------------------------------------------

const callButtons = [...document.querySelectorAll("#calls .call")];
// Calls this phone made that the view has not shown yet (it follows within a moment).
const calledHere = new Set();
let view = null;
let showOrders = false;

function viewChanged() {
  view = guest.list()[0] ?? null;
  if (!view) return;
  const orders = view.orders ?? [];
  $("orders-panel").hidden = orders.length === 0 && !view.check;
  renderOrders($("orders"), view, { onCancel: cancelOrder, dishNamed });
  renderCheck($("check"), view.check);
  const open = new Set((view.calls ?? []).filter((c) => c.status === "open").map((c) => c.kind));
  calledHere.clear();
  renderCalls(callButtons, open);
  robotVisit($("robot-visit"), view.robot);
  $("wait-seat").hidden = !(page.selfSeat === "false" && !view.visit);
  if (view.visit?.status === "closed") end("visit");
  if (showOrders && orders.length) {
    showOrders = false;
    $("orders-panel").scrollIntoView({ behavior: "smooth", block: "start" });
  }
}

async function cancelOrder(order, button) {
  button.disabled = true;
  try {
    await post(`/api/guest/orders/${order.id}/cancel`, {});
    say(t("guest.cancelled"), { fadeMs: 4000 });
  } catch (err) {
    button.disabled = false;
    if (ending(err)) return;
    say(err instanceof Unreachable ? t("guest.err_network_retry") : t("guest.cancel_failed"), { error: true });
  }
}

async function call(button) {
  const kind = button.dataset.kind;
  if (button.classList.contains("called")) return;
  button.disabled = true;
  try {
    await post("/api/guest/calls", { kind });
    calledHere.add(kind);
    renderCalls(callButtons, new Set([...calledHere, ...openKinds()]));
    say(t("guest.call_sent"), { fadeMs: 4000 });
  } catch (err) {
    if (ending(err)) return;
    say(err instanceof Unreachable ? t("guest.err_network_retry")
      : err.status === 429 ? t("guest.err_rate_limited") : t("guest.err_other", { status: err.status }),
    { error: true });
  } finally {
    button.disabled = false;
  }
}

const openKinds = () => (view?.calls ?? []).filter((c) => c.status === "open").map((c) => c.kind);
for (const button of callButtons) button.addEventListener("click", () => call(button));

const guest = new Topic("guest", { onChange: viewChanged, onState: connection });
const menu = new Topic("menu", { onChange: menuChanged, onState: connection });
connection();
cart.render(); // a cart kept from before a reload shows at once, priced when the menu comes
