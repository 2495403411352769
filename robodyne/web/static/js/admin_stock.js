// The admin page's Stock tab: the inventory live from its topic (quantity, unit, status), a new
// line, and for the line picked: a move (received, count, waste, correction — each a
// POST …/adjust, its delta signed as the server says each reason's is), its low threshold, and
// its last moves (GET …/moves, read again after every change of the line).
import { h, replace } from "./dom.js";
import { number, t, time, tOr } from "./i18n.js";
import { api } from "./client.js";
import { numberOf, page, send } from "./admin_forms.js";

// reason -> the sign of its delta (1 up, -1 down, 0 either); "count" gives the quantity.
const SIGNS = JSON.parse(page.stockSigns || "{}");
const REASONS = ["received", "count", "waste", "correction"].filter((r) => r === "count" || r in SIGNS);

const amount = (item, value) => `${number(value)}${item.unit ? ` ${item.unit}` : ""}`;

export class StockTab {
  constructor() {
    this.body = document.getElementById("stock-lines");
    this.panel = document.getElementById("stock-line");
    this.adjust = document.getElementById("stock-adjust");
    this.threshold = document.getElementById("stock-threshold");
    this.items = [];
    this.chosen = null; // the line's id
    this.seen = null; // its quantity when its moves were last read
    replace(this.adjust.elements.reason, REASONS.map((r) => h("option", { value: r }, tOr(`admin.stock.reason.${r}`, r))));
    this.adjust.elements.reason.addEventListener("change", () => this.labelAmount());
    this.adjust.addEventListener("submit", (event) => { event.preventDefault(); this.move(event.submitter); });
    this.threshold.addEventListener("submit", (event) => {
      event.preventDefault();
      send("PATCH", `/api/inventory/${this.chosen}`, { low_threshold: Number(this.threshold.elements.low_threshold.value) }, event.submitter);
    });
    const add = document.getElementById("stock-add");
    add.addEventListener("submit", async (event) => {
      event.preventDefault();
      const el = add.elements;
      const made = await send("POST", "/api/inventory", {
        sku: el.sku.value.trim(), name: el.name.value.trim(), quantity: Number(el.quantity.value),
        unit: el.unit.value.trim(), low_threshold: numberOf(el.low_threshold.value) ?? 0,
      }, event.submitter);
      if (made) { add.reset(); this.choose(made.id); }
    });
    this.labelAmount();
  }

  render(items) {
    this.items = items;
    replace(this.body, items.map((item) => {
      const row = h("tr", { class: `stock-line ${item.id === this.chosen ? "chosen" : ""}`, dataset: { sku: item.sku, id: item.id }, tabindex: 0 },
        h("td", {}, item.sku), h("td", {}, item.name),
        h("td", { class: "num quantity" }, amount(item, item.quantity)),
        h("td", { class: "num" }, amount(item, item.low_threshold)),
        h("td", {}, h("span", { class: `badge st-${item.status}` }, tOr(`admin.stock.status.${item.status}`, item.status))));
      row.addEventListener("click", () => this.choose(item.id));
      row.addEventListener("keydown", (event) => { if (event.key === "Enter") this.choose(item.id); });
      return row;
    }));
    document.getElementById("no-stock").hidden = items.length > 0;
    this.show();
  }

  choose(id) {
    this.chosen = id;
    this.seen = null;
    const item = this.items.find((i) => i.id === id);
    if (item) this.threshold.elements.low_threshold.value = item.low_threshold;
    this.render(this.items);
  }

  // The picked line's panel; its moves read again when its quantity changed.
  show() {
    const item = this.items.find((i) => i.id === this.chosen);
    this.panel.hidden = !item;
    if (!item) return;
    this.panel.dataset.sku = item.sku;
    document.getElementById("stock-line-heading").textContent = t("admin.stock.line", { name: item.name, quantity: amount(item, item.quantity) });
    if (this.seen === item.quantity) return;
    this.seen = item.quantity;
    api("GET", `/api/inventory/${item.id}/moves`).then((moves) => {
      if (this.chosen !== item.id) return;
      replace(document.getElementById("stock-moves"), moves.items.map((m) => h("tr", { class: "move", dataset: { reason: m.reason } },
        h("td", {}, time(m.created_at)), h("td", {}, tOr(`admin.stock.reason.${m.reason}`, m.reason),
          m.order_id ? h("span", { class: "muted" }, ` #${m.order_id}`) : null),
        h("td", { class: "num" }, `${m.delta > 0 ? "+" : ""}${number(m.delta)}`), h("td", { class: "num" }, number(m.quantity_after)))));
    }).catch(() => {});
  }

  labelAmount() {
    const reason = this.adjust.elements.reason.value;
    const input = this.adjust.elements.amount;
    document.getElementById("stock-amount-label").textContent = t(reason === "count" ? "admin.stock.counted" : SIGNS[reason] === 0 ? "admin.stock.change" : "admin.stock.amount");
    // Received and waste take a positive amount, signed here; a correction any but 0.
    input.min = SIGNS[reason] === 0 ? "" : "0";
  }

  async move(button) {
    const el = this.adjust.elements;
    const reason = el.reason.value;
    const value = Number(el.amount.value);
    const body = reason === "count" ? { reason, quantity: value }
      : { reason, delta: SIGNS[reason] === 0 ? value : SIGNS[reason] * Math.abs(value) };
    if (el.note.value.trim()) body.note = el.note.value.trim();
    if (await send("POST", `/api/inventory/${this.chosen}/adjust`, body, button)) this.adjust.reset();
    this.labelAmount();
  }
}
