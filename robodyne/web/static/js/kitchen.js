// The kitchen display (SPEC §9): a station screen (?station=grill) with only that station's
// items, or the expo (?station=expo, and plain /kitchen) with whole orders and each station's
// progress. Tickets, the all-day counts, the 86 list, prep times, and the bump bar.
import { Topic, api, watchConnection } from "./client.js";
import { age, h, replace } from "./dom.js";
import { day, duration, lang, number, t, tOr } from "./i18n.js";
import { Chime } from "./chime.js";
import { orderable } from "./dishes.js";
import { bindBumpBar } from "./bumpbar.js";
import { keepAwake, toggleFullScreen } from "./awake.js";

// The moves, the timer thresholds and the stations come from the server (core/orders.py,
// [kitchen]), written into the page's data attributes; nothing here restates them.
const settings = document.body.dataset;
const NEXT = JSON.parse(settings.orderNext);
const BACK = JSON.parse(settings.orderBack);
// A task in one of these holds nothing any more (core/tasks.py, said by the server).
const TASK_FINISHED = new Set(JSON.parse(settings.taskFinished));
const SHOWN = Object.keys(NEXT);
const amberAfter = Number(settings.amberAfterS);
const redAfter = Number(settings.redAfterS);
const STATIONS = parseList(settings.stations) ?? ["kitchen"];
const DEFAULT_STATION = settings.defaultStation && !settings.defaultStation.startsWith("{")
  ? settings.defaultStation : STATIONS[0];
const EXPO = "expo";
const asked = new URLSearchParams(location.search).get("station");
const station = asked || EXPO;
const expo = station === EXPO;
// With one station the expo is also that station's screen: its all-day counts and 86 list.
const stationsHere = expo ? (STATIONS.length === 1 ? STATIONS : []) : [station];
const PREP_REFRESH_MS = 30000;

function parseList(text) {
  try { const list = JSON.parse(text); return Array.isArray(list) && list.length ? list : null; }
  catch { return null; }
}

const stationName = (name) => tOr(`station.${name}`, name);
const ticketsEl = document.getElementById("tickets");
const emptyEl = document.getElementById("empty");
const flashEl = document.getElementById("flash");
document.body.dataset.station = station;
document.body.dataset.view = expo ? "expo" : "station";
document.title = `${expo ? t("kitchen.expo") : stationName(station)} — ${t("kitchen.title")}`;
document.getElementById("heading").textContent = expo ? t("kitchen.expo") : stationName(station);
document.getElementById("keys-help").textContent = t(expo ? "kitchen.keys_expo" : "kitchen.keys_station");
drawStationNav();

const chime = new Chime(document.getElementById("mute"), { on: t("kitchen.sound_on"), off: t("kitchen.sound_off") });
const seen = new Set();
let primed = false;
let may = new Set();
api("GET", "/api/me").then((me) => { may = new Set(me.may_write); render(); }).catch(() => {});

const orders = new Topic("orders", { onChange: ordersChanged, onState: startSideTopics });
const tables = new Topic("tables", { onChange: render });
// The menu and the robots' tasks are opened once the orders are live: a page the server
// refuses opens nothing more than it must.
let menu = null;
let tasks = null;
function startSideTopics(topic) {
  if (topic.state !== "live" || menu) return;
  menu = new Topic("menu", { onChange: render });
  tasks = new Topic("tasks", { onChange: render });
  connection.add(menu, tasks);
}
const connection = watchConnection([orders, tables], document.getElementById("conn"), document.getElementById("banner"));

// --- what a screen shows --------------------------------------------------------------------

const stationOf = (item) => item.station || DEFAULT_STATION;
const here = (order) => order.items.map((item, index) => ({ item, index }))
  .filter(({ item }) => expo || stationOf(item) === station);
const menuItem = (name) => menu?.list().find((m) => m.name.toLowerCase() === name.toLowerCase());

// Station tickets a cook bumped and then recalled: shown again, crossed-off items and all.
const recalled = new Set();
// The expo's and the station's bumps, newest last, for R.
const bumped = [];

function openOrders() {
  return orders.list().filter((o) => SHOWN.includes(o.status));
}

function visible() {
  const shown = openOrders().filter((order) => {
    const mine = here(order);
    if (expo) return true;
    return mine.length > 0 && (mine.some(({ item }) => !item.done) || recalled.has(order.id));
  });
  // Rush first, then oldest first.
  return shown.sort((a, b) => (b.priority === "rush") - (a.priority === "rush")
    || a.created_at.localeCompare(b.created_at) || a.id - b.id);
}

// Carried by a robot: on its way, or on an unfinished task (SPEC §8); the expo may not serve it.
function carried(order) {
  if (order.status === "delivering" || order.task_id !== null && order.task_id !== undefined) return true;
  return (tasks?.list() ?? []).some((task) => !TASK_FINISHED.has(task.status)
    && task.stops.some((stop) => stop.order_ids?.includes(order.id)));
}

// Amber at the largest prep target of the ticket's items and red at twice that; else the config.
function thresholds(items) {
  const targets = items.map(({ item }) => menuItem(item.name)?.prep_target_s).filter((s) => s > 0);
  if (!targets.length) return { amber: amberAfter, red: redAfter };
  const largest = Math.max(...targets);
  return { amber: largest, red: 2 * largest };
}

function ageLevel(seconds, { amber, red }) {
  return seconds >= red ? "red" : seconds >= amber ? "amber" : "fresh";
}

// --- changes ----------------------------------------------------------------------------------

function ordersChanged(topic) {
  // Chime for tickets this screen has never seen; a snapshot after a reconnect chimes only for new ones.
  let fresh = 0;
  for (const order of topic.list()) {
    if (seen.has(order.id)) continue;
    seen.add(order.id);
    if (primed && order.status === "placed" && here(order).length) fresh += 1;
  }
  primed = true;
  render(); // the ticket first: starting the sound can take a while
  if (fresh) chime.play();
  schedulePrep();
}

function say(text) {
  flashEl.textContent = text;
  flashEl.hidden = false;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { flashEl.hidden = true; }, 4000);
}

async function send(path, body, button) {
  if (button) button.disabled = true;
  try { return await api("PATCH", path, body); }
  catch (err) { say(err.message); return null; }
  finally { if (button) button.disabled = false; }
}

function toggleItem(order, index) {
  const item = order.items[index];
  return send(`/api/orders/${order.id}`, { items: [{ index, done: !item.done }] });
}

async function bump(order, button) {
  if (expo) {
    const next = NEXT[order.status];
    if (!next || (order.status === "ready" && carried(order))) { say(t("kitchen.carried")); return; }
    // Remembered at once, so R pressed right after a bump finds it; forgotten if refused.
    bumped.push(order.id);
    if (!await send(`/api/orders/${order.id}`, { status: next }, button)) forget(order.id);
    return;
  }
  const left = here(order).filter(({ item }) => !item.done);
  recalled.delete(order.id);
  if (!left.length) { render(); return; } // a recalled ticket, bumped away again
  bumped.push(order.id);
  const done = await send(`/api/orders/${order.id}`,
    { items: left.map(({ index }) => ({ index, done: true })) }, button);
  if (!done) forget(order.id);
}

function forget(id) {
  const at = bumped.lastIndexOf(id);
  if (at >= 0) bumped.splice(at, 1);
}

async function recall() {
  if (expo) {
    while (bumped.length) {
      const order = orders.items.get(bumped.pop());
      if (!order) continue;
      if (!BACK[order.status]) { say(t("kitchen.recall_final", { id: order.id })); return; }
      if (await send(`/api/orders/${order.id}`, { status: BACK[order.status] })) select(order.id);
      return;
    }
    say(t("kitchen.recall_none"));
    return;
  }
  // The station's last bumped ticket still open, else the one whose last item here was done last.
  const candidates = openOrders().filter((o) => !recalled.has(o.id)
    && here(o).length && here(o).every(({ item }) => item.done));
  const byBump = [...bumped].reverse().map((id) => candidates.find((o) => o.id === id)).find(Boolean);
  const lastDone = (o) => here(o).map(({ item }) => item.done_at ?? "").sort().at(-1);
  const pick = byBump ?? candidates.sort((a, b) => lastDone(b).localeCompare(lastDone(a)))[0];
  if (!pick) { say(t("kitchen.recall_none")); return; }
  recalled.add(pick.id);
  selectedId = pick.id;
  render();
}

function toggleRush(order, button) {
  return send(`/api/orders/${order.id}`, { priority: order.priority === "rush" ? "normal" : "rush" }, button);
}

// --- the selection (bump bar) ----------------------------------------------------------------

let selectedId = null;
let selectedAt = -1; // where the selection was, so a bumped ticket hands it to its neighbour
let cursor = -1; // the item under the cursor in the selected ticket, or -1
let shownNow = [];

function select(id) {
  selectedId = id;
  cursor = -1;
  render();
  ticketsEl.querySelector(".ticket.selected")?.scrollIntoView({ block: "nearest" });
}

const selectedOrder = () => shownNow.find((o) => o.id === selectedId) ?? null;

bindBumpBar({
  select: (n) => { if (shownNow[n]) select(shownNow[n].id); else say(t("kitchen.no_ticket", { n: n + 1 })); },
  move: (step) => {
    if (!shownNow.length) return;
    const at = shownNow.findIndex((o) => o.id === selectedId);
    const to = at < 0 ? (step > 0 ? 0 : shownNow.length - 1) : Math.min(Math.max(at + step, 0), shownNow.length - 1);
    select(shownNow[to].id);
  },
  cursor: (step) => {
    const order = selectedOrder();
    if (!order) { if (shownNow.length) select(shownNow[0].id); return; }
    const count = here(order).length;
    cursor = Math.min(Math.max(cursor + step, -1), count - 1);
    render();
  },
  enter: () => {
    const order = selectedOrder();
    if (!order) { say(t("kitchen.select_first")); return; }
    if (cursor >= 0) toggleItem(order, here(order)[cursor].index);
    else bump(order, null);
  },
  recall,
  rush: () => { const order = selectedOrder(); if (expo && order) toggleRush(order, null); },
  fullscreen: toggleFullScreen,
  clear: () => {
    if (cursor >= 0) cursor = -1; else { selectedId = null; selectedAt = -1; }
    render();
  },
});

// --- drawing ------------------------------------------------------------------------------------

function tableLabel(id) {
  return tables.items.get(id)?.label ?? t("table.fallback", { id });
}

function itemRow(order, { item, index }, position, selected) {
  const row = h("li", {
    class: ["item", item.done ? "done" : "", selected && position === cursor ? "cursor" : ""].join(" ").trim(),
    dataset: { index, station: stationOf(item) },
    role: "button",
    "aria-pressed": String(item.done),
    onclick: () => toggleItem(order, index),
  },
  h("span", { class: "qty" }, `${number(item.qty)}×`), h("span", { class: "name" }, item.name),
  expo && STATIONS.length > 1 ? h("span", { class: "where" }, stationName(stationOf(item))) : null,
  item.modifiers.length ? h("span", { class: "mods" }, item.modifiers.join(", ")) : null,
  item.note ? h("span", { class: "note" }, item.note) : null);
  return row;
}

// Each station's part of an order at the expo: "grill 1/2", complete ones ticked.
function progress(order) {
  const by = new Map();
  for (const item of order.items) {
    const name = stationOf(item);
    const part = by.get(name) ?? { done: 0, total: 0 };
    part.total += 1;
    part.done += item.done ? 1 : 0;
    by.set(name, part);
  }
  const order_ = [...STATIONS, ...[...by.keys()].filter((s) => !STATIONS.includes(s))];
  return h("div", { class: "progress" }, order_.filter((s) => by.has(s)).map((s) => {
    const part = by.get(s);
    const complete = part.done === part.total;
    return h("span", { class: complete ? "part complete" : "part", dataset: { station: s, done: part.done, total: part.total } },
      `${complete ? "✓ " : ""}${stationName(s)} ${number(part.done)}/${number(part.total)}`);
  }));
}

function bumpLabel(order, mine) {
  if (!expo) return mine.every(({ item }) => item.done) ? t("kitchen.dismiss") : t("kitchen.bump_station");
  if (order.status === "ready" && carried(order)) return t("kitchen.carried_short");
  return t(`kitchen.bump.${order.status}`);
}

function ticket(order, position, now) {
  const mine = here(order);
  const limits = thresholds(mine);
  const { seconds, text } = age(order.created_at, now);
  const selected = order.id === selectedId;
  const rush = order.priority === "rush";
  const bumpButton = h("button", { class: "primary bump", type: "button" }, bumpLabel(order, mine));
  bumpButton.disabled = expo && order.status === "ready" && carried(order);
  bumpButton.addEventListener("click", () => bump(order, bumpButton));
  let recallButton = null;
  if (expo && BACK[order.status]) {
    recallButton = h("button", { class: "recall", type: "button" }, t("kitchen.recall"));
    recallButton.addEventListener("click", () => send(`/api/orders/${order.id}`, { status: BACK[order.status] }, recallButton));
  }
  let rushButton = null;
  if (expo) {
    rushButton = h("button", { class: rush ? "rush-toggle on" : "rush-toggle", type: "button", "aria-pressed": String(rush) },
      rush ? t("kitchen.rush_off") : t("kitchen.rush_on"));
    rushButton.addEventListener("click", () => toggleRush(order, rushButton));
  }
  const classes = ["ticket", selected ? "selected" : "", rush ? "rush" : "", recalled.has(order.id) ? "recalled" : ""];
  return h("article", {
    class: classes.join(" ").replace(/\s+/g, " ").trim(),
    dataset: {
      orderId: order.id, age: ageLevel(seconds, limits), status: order.status, created: order.created_at,
      amber: limits.amber, red: limits.red, priority: order.priority, position: position + 1,
    },
    "aria-current": selected ? "true" : null,
    onclick: (event) => { if (event.target === event.currentTarget) select(order.id); },
  },
  h("div", { class: "top" },
    position < 9 ? h("span", { class: "pos", "aria-label": t("kitchen.key_n", { n: position + 1 }) }, String(position + 1)) : null,
    h("span", { class: "table" }, tableLabel(order.table_id)),
    h("span", { class: "num" }, `#${order.id}`), h("span", { class: "timer" }, text)),
  h("div", { class: "tags" },
    rush ? h("span", { class: "rush-mark" }, t("kitchen.rush_mark")) : null,
    h("span", { class: `status ${order.status}` }, tOr(`order.status.${order.status}`, order.status)),
    selected ? h("span", { class: "selected-mark" }, t("kitchen.selected")) : null,
    recalled.has(order.id) ? h("span", { class: "recalled-mark" }, t("kitchen.recalled")) : null),
  expo ? progress(order) : null,
  h("ul", { class: "items" }, mine.map((entry, n) => itemRow(order, entry, n, selected))),
  order.note ? h("div", { class: "order-note" }, order.note) : null,
  h("div", { class: "actions" }, rushButton, recallButton, bumpButton));
}

function render() {
  const now = Date.now();
  const list = visible();
  // A selected ticket that left (bumped) hands the selection to the one now in its place.
  if (selectedId !== null && !list.some((o) => o.id === selectedId)) {
    selectedId = selectedAt >= 0 && list.length ? list[Math.min(selectedAt, list.length - 1)].id : null;
    cursor = -1;
  }
  selectedAt = list.findIndex((o) => o.id === selectedId);
  shownNow = list;
  replace(ticketsEl, list.map((order, n) => ticket(order, n, now)));
  emptyEl.hidden = list.length > 0 || orders.state !== "live";
  document.getElementById("outstanding").textContent = t("kitchen.open", { n: number(list.length) });
  document.body.dataset.selected = selectedId ?? "";
  drawAllDay();
  drawMenu();
}

function drawStationNav() {
  const nav = document.getElementById("stations");
  const link = (name, label) => {
    const query = new URLSearchParams({ station: name });
    return h("a", { href: `/kitchen?${query}`, class: name === station ? "current" : "",
      "aria-current": name === station ? "page" : null, dataset: { station: name } }, label);
  };
  replace(nav, link(EXPO, t("kitchen.expo")), STATIONS.length > 1 ? STATIONS.map((s) => link(s, stationName(s))) : null);
}

// The total of each dish not yet done on open orders at this station.
function drawAllDay() {
  const panel = document.getElementById("allday-panel");
  panel.hidden = false;
  const totals = new Map();
  for (const order of openOrders()) {
    for (const { item } of here(order)) {
      if (item.done) continue;
      const key = item.name.toLowerCase();
      const entry = totals.get(key) ?? { name: item.name, qty: 0 };
      entry.qty += item.qty;
      totals.set(key, entry);
    }
  }
  const rows = [...totals.values()].sort((a, b) => b.qty - a.qty || a.name.localeCompare(b.name, lang));
  replace(document.getElementById("allday"), rows.map((row) => h("li", { dataset: { name: row.name, qty: row.qty } },
    h("span", { class: "qty" }, number(row.qty)), h("span", { class: "name" }, row.name))));
  document.getElementById("allday-empty").hidden = rows.length > 0;
}

// This station's dishes, each with "86" (sold out) or "back on"; any station's from the expo
// of a one-station kitchen.
function drawMenu() {
  const panel = document.getElementById("menu-panel");
  const mayChange = may.has("menu") || may.has("menu_available");
  const dishes = (menu?.list() ?? []).filter((m) => stationsHere.includes(m.station || DEFAULT_STATION))
    .sort((a, b) => a.name.localeCompare(b.name, lang));
  panel.hidden = !stationsHere.length || !dishes.length;
  replace(document.getElementById("menu86"), dishes.map((dish) => {
    const button = mayChange ? h("button", { class: dish.available ? "small eighty-six" : "small back-on", type: "button",
      "aria-label": t(dish.available ? "kitchen.86_label" : "kitchen.back_on_label", { name: dish.name }) },
    dish.available ? t("kitchen.86") : t("kitchen.back_on")) : null;
    if (button) {
      button.addEventListener("click", () => {
        button.disabled = true;
        api("PATCH", `/api/menu/${dish.id}`, { available: !dish.available })
          .then(() => say(t(dish.available ? "kitchen.86_done" : "kitchen.back_on_done", { name: dish.name })))
          .catch((err) => { say(err.message); button.disabled = false; });
      });
    }
    // Out when 86 or when its stock cannot make a portion (the reason, from the server, as
    // its tooltip); the button is the 86 alone: restocking never turns a dish back on.
    const can = orderable(dish);
    return h("li", { class: can ? "dish" : "dish out", dataset: { menuId: dish.id, available: dish.available } },
      h("span", { class: "name" }, dish.name),
      can ? null : h("span", { class: "out-mark", title: dish.sold_out_reason ?? "" }, t("kitchen.sold_out")), button);
  }));
}

// Today's station times at the expo: placed until a station's last item was done.
let prepTimer = null;
function schedulePrep() {
  if (!expo || prepTimer) return;
  prepTimer = setTimeout(() => { prepTimer = null; loadPrep(); }, 1000);
}
async function loadPrep() {
  let body;
  try { body = await api("GET", "/api/kitchen/prep_times"); } catch { return; }
  document.getElementById("prep-panel").hidden = false;
  document.getElementById("prep-date").textContent = day(body.date);
  const names = [...STATIONS, ...Object.keys(body.stations).filter((s) => !STATIONS.includes(s))];
  replace(document.getElementById("prep"), names.filter((s) => body.stations[s]).map((s) => {
    const row = body.stations[s];
    return h("tr", { dataset: { station: s } }, h("th", {}, stationName(s)), h("td", {}, number(row.count)),
      h("td", { class: "median" }, duration(row.median_s)), h("td", { class: "p90" }, duration(row.p90_s)));
  }));
}
if (expo) { loadPrep(); setInterval(loadPrep, PREP_REFRESH_MS); }

document.getElementById("recall-last").addEventListener("click", recall);
document.getElementById("fullscreen").addEventListener("click", toggleFullScreen);
document.addEventListener("fullscreenchange", () => {
  document.getElementById("fullscreen").textContent = document.fullscreenElement ? t("kitchen.exit_fullscreen") : t("kitchen.fullscreen");
});
keepAwake();

// The age timers tick in place: re-rendering the tickets would swallow a tap in progress.
function tick() {
  const now = Date.now();
  for (const el of ticketsEl.querySelectorAll(".ticket")) {
    const { seconds, text } = age(el.dataset.created, now);
    el.dataset.age = ageLevel(seconds, { amber: Number(el.dataset.amber), red: Number(el.dataset.red) });
    el.querySelector(".timer").textContent = text;
  }
}
setInterval(tick, 1000);
