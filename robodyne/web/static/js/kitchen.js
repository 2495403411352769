// The kitchen display: one ticket per open order, tap to cross off items, bump and recall.
import { Topic, api, watchConnection } from "./client.js";
import { age, h, replace } from "./dom.js";

// The moves and the timer thresholds come from the server (core/orders.py, [kitchen]),
// written into the page's data attributes; nothing here restates them.
const settings = document.body.dataset;
const NEXT = JSON.parse(settings.orderNext);
const BACK = JSON.parse(settings.orderBack);
const SHOWN = Object.keys(NEXT);
const BUMP_LABEL = { placed: "Start", preparing: "Ready", ready: "Served" };
const amberAfter = Number(settings.amberAfterS);
const redAfter = Number(settings.redAfterS);

const ticketsEl = document.getElementById("tickets");
const emptyEl = document.getElementById("empty");
const muteEl = document.getElementById("mute");
let muted = localStorage.getItem("robodyne.kitchen.muted") === "1";
let audio = null;
const seen = new Set();
let primed = false;

const orders = new Topic("orders", { onChange: ordersChanged });
const tables = new Topic("tables", { onChange: render });
watchConnection([orders, tables], document.getElementById("conn"), document.getElementById("banner"));

function ordersChanged(topic, data) {
  // Chime for orders we have never seen; a snapshot after a reconnect chimes only for new ones.
  let fresh = 0;
  for (const order of topic.list()) {
    if (!seen.has(order.id)) { seen.add(order.id); if (primed && order.status === "placed") fresh += 1; }
  }
  primed = true;
  render(); // the ticket first: starting the sound can take a while
  if (fresh) chime();
}

function chime() {
  if (muted) return;
  try {
    audio = audio || new AudioContext();
    const now = audio.currentTime;
    for (const [i, freq] of [880, 1320].entries()) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.25, now + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.18 + 0.35);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.18);
      osc.stop(now + i * 0.18 + 0.4);
    }
  } catch (err) { console.warn("no sound:", err); }
  document.body.dataset.chimes = String(Number(document.body.dataset.chimes || 0) + 1);
}

function renderMute() {
  muteEl.textContent = muted ? "Sound off" : "Sound on";
  muteEl.setAttribute("aria-pressed", String(muted));
}
muteEl.addEventListener("click", () => {
  muted = !muted;
  localStorage.setItem("robodyne.kitchen.muted", muted ? "1" : "0");
  if (!muted) audio = audio || new AudioContext(); // a tap unlocks audio on tablets
  renderMute();
});
renderMute();

async function act(button, method, path, body) {
  button.disabled = true;
  try { await api(method, path, body); } catch (err) { alert(err.message); } finally { button.disabled = false; }
}

function ageLevel(seconds) {
  return seconds >= redAfter ? "red" : seconds >= amberAfter ? "amber" : "fresh";
}

function ticket(order, now) {
  const label = tables.items.get(order.table_id)?.label ?? `Table ${order.table_id}`;
  const { seconds, text } = age(order.created_at, now);
  const level = ageLevel(seconds);
  const items = order.items.map((item, index) => h("li", {
    class: item.done ? "item done" : "item",
    dataset: { index },
    role: "button",
    onclick: () => api("PATCH", `/api/orders/${order.id}`, { items: [{ index, done: !item.done }] })
      .catch((err) => alert(err.message)),
  },
  h("span", { class: "qty" }, `${item.qty}×`), h("span", { class: "name" }, item.name),
  item.modifiers.length ? h("span", { class: "mods" }, item.modifiers.join(", ")) : null,
  item.note ? h("span", { class: "note" }, item.note) : null));
  const bump = h("button", { class: "primary bump", type: "button" }, BUMP_LABEL[order.status]);
  bump.onclick = () => act(bump, "PATCH", `/api/orders/${order.id}`, { status: NEXT[order.status] });
  const recall = BACK[order.status] ? h("button", { class: "recall", type: "button" }, "Recall") : null;
  if (recall) recall.onclick = () => act(recall, "PATCH", `/api/orders/${order.id}`, { status: BACK[order.status] });
  return h("article", {
    class: "ticket", dataset: { orderId: order.id, age: level, status: order.status, created: order.created_at },
  },
    h("div", { class: "top" }, h("span", { class: "table" }, label),
      h("span", { class: "num" }, `#${order.id}`), h("span", { class: "timer" }, text)),
    h("span", { class: `status ${order.status}` }, order.status),
    h("ul", { class: "items" }, items),
    order.note ? h("div", { class: "order-note" }, order.note) : null,
    h("div", { class: "actions" }, recall, bump));
}

function render() {
  const now = Date.now();
  const open = orders.list().filter((o) => SHOWN.includes(o.status))
    .sort((a, b) => a.created_at.localeCompare(b.created_at));
  replace(ticketsEl, open.map((order) => ticket(order, now)));
  emptyEl.hidden = open.length > 0 || orders.state !== "live";
  document.getElementById("outstanding").textContent = `${open.length} open`;
}

// The age timers tick in place: re-rendering the tickets would swallow a tap in progress.
function tick() {
  const now = Date.now();
  for (const el of ticketsEl.querySelectorAll(".ticket")) {
    const { seconds, text } = age(el.dataset.created, now);
    el.dataset.age = ageLevel(seconds);
    el.querySelector(".timer").textContent = text;
  }
}
setInterval(tick, 1000);
