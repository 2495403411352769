// The cart (SPEC §11.5, §11.6): lines of dishes with options, a note and a quantity, its bar at
// the bottom of the screen, and its sheet, from which the order is placed.
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { post, newKey, Refused, Unreachable } from "./guest_api.js";
import { dishName, money, optionName, orderable, unitPrice } from "./guest_format.js";

const MAX_LINES = 20; // guest.max_items on the server
const QTY_MAX = 20;
// The cart outlives a reload and the language switcher's links (this tab only, this table only).
const STORED = `robodyne.cart:${location.pathname}`;

function stored() {
  try {
    const kept = JSON.parse(sessionStorage.getItem(STORED) ?? "null");
    if (kept && Array.isArray(kept.lines)) return kept;
  } catch { /* storage off, or not ours */ }
  return { lines: [], key: null, note: "" };
}

export class Cart {
  constructor({ dish, bar, dialog, onPlaced, onRefused }) {
    this.dishOf = dish; // id -> the dish as the menu has it now
    this.bar = bar;
    this.dialog = dialog;
    this.onPlaced = onPlaced;
    this.onRefused = onRefused; // (Refused) -> true when the page took care of it
    const kept = stored();
    this.lines = kept.lines;
    // One key per placement, kept while the same cart is sent again after a lost answer, so
    // a retry never places it twice; any change to the cart is a new placement.
    this.key = kept.key;
    this.sending = false;
    this.el = (id) => document.getElementById(id);
    this.el("cart-open").addEventListener("click", () => this.open());
    dialog.querySelector(".close").addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
    this.el("order-note").value = kept.note ?? "";
    this.el("order-note").addEventListener("input", () => this.changed());
    this.el("cart-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.place();
    });
  }

  // Returns false when the cart already has as many lines as one order may.
  add({ menuId, qty, options, note }) {
    const same = this.lines.find((line) => line.menuId === menuId && line.note === note
      && line.options.join("\n") === options.join("\n"));
    if (same) same.qty = Math.min(QTY_MAX, same.qty + qty);
    else if (this.lines.length >= MAX_LINES) return false;
    else this.lines.push({ menuId, qty, options, note });
    this.changed();
    return true;
  }

  changed() {
    this.key = null;
    this.render();
  }

  save() {
    const kept = { lines: this.lines, key: this.key, note: this.el("order-note").value };
    try {
      if (this.lines.length || kept.note) sessionStorage.setItem(STORED, JSON.stringify(kept));
      else sessionStorage.removeItem(STORED);
    } catch { /* private mode: the cart lives as long as the page */ }
  }

  // The session is over: nothing of it is kept for the next party.
  forget() {
    this.lines = [];
    this.key = null;
    try { sessionStorage.removeItem(STORED); } catch { /* nothing kept */ }
  }

  count() {
    return this.lines.reduce((sum, line) => sum + line.qty, 0);
  }

  total() {
    return this.lines.reduce((sum, line) => {
      const dish = this.dishOf(line.menuId);
      return dish ? sum + line.qty * unitPrice(dish, line.options) : sum;
    }, 0);
  }

  // The lines whose dish can no longer be ordered (sold out, or gone from the menu).
  blocked() {
    return this.lines.filter((line) => !orderable(this.dishOf(line.menuId)));
  }

  render() {
    this.save();
    const count = this.count();
    this.bar.hidden = count === 0;
    this.el("cart-count").textContent = String(count);
    this.el("cart-total").textContent = money(this.total());
    document.body.classList.toggle("has-cart", count > 0);
    if (this.dialog.open) this.renderSheet();
  }

  renderSheet() {
    replace(this.el("cart-lines"), this.lines.map((line, index) => this.lineEl(line, index)));
    this.el("cart-empty").hidden = this.lines.length > 0;
    const place = this.el("place");
    const blocked = this.blocked();
    place.disabled = this.sending || this.lines.length === 0 || blocked.length > 0;
    place.textContent = this.sending ? t("guest.placing") : t("guest.place_order", { total: money(this.total()) });
    const hint = t("guest.remove_sold_out");
    if (blocked.length) this.error(hint);
    else if (this.el("cart-error").textContent === hint) this.error("");
  }

  lineEl(line, index) {
    const dish = this.dishOf(line.menuId);
    const options = (dish?.options ?? []).filter((o) => line.options.includes(o.name));
    const open = orderable(dish);
    const step = (delta) => () => {
      line.qty = Math.min(QTY_MAX, line.qty + delta);
      if (line.qty < 1) this.lines.splice(index, 1);
      this.changed();
    };
    const name = dish ? dishName(dish) : "";
    return h("li", { class: open ? "cart-line" : "cart-line sold-out", dataset: { menuId: line.menuId } },
      h("div", { class: "line-text" },
        h("span", { class: "line-name" }, name),
        options.length ? h("span", { class: "line-options" }, options.map(optionName).join(", ")) : null,
        line.note ? h("span", { class: "line-note" }, line.note) : null,
        open ? null : h("span", { class: "sold-out-mark" }, t("guest.sold_out"))),
      h("div", { class: "line-side" },
        h("span", { class: "price" }, dish ? money(line.qty * unitPrice(dish, line.options)) : ""),
        h("div", { class: "stepper small" },
          h("button", { type: "button", class: "less", "aria-label": line.qty > 1
            ? t("guest.less") : t("guest.remove_dish", { name }), onclick: step(-1) }, line.qty > 1 ? "−" : "×"),
          h("output", { class: "qty" }, String(line.qty)),
          h("button", { type: "button", class: "more", "aria-label": t("guest.more"),
            disabled: !open || line.qty >= QTY_MAX, onclick: step(1) }, "+"))));
  }

  open() {
    this.error("");
    this.dialog.showModal();
    this.renderSheet();
  }

  error(text) {
    const box = this.el("cart-error");
    box.textContent = text;
    box.hidden = !text;
  }

  async place() {
    if (this.sending || !this.lines.length || this.blocked().length) return;
    this.key ??= newKey();
    this.save();
    const note = this.el("order-note").value.trim();
    const body = {
      items: this.lines.map((line) => ({ menu_id: line.menuId, qty: line.qty, options: line.options,
        ...(line.note ? { note: line.note } : {}) })),
      ...(note ? { note } : {}),
    };
    this.sending = true;
    this.error("");
    this.renderSheet();
    try {
      const order = await post("/api/guest/orders", body, this.key);
      this.lines = [];
      this.el("order-note").value = "";
      this.key = null;
      this.dialog.close();
      this.onPlaced(order);
    } catch (err) {
      if (err instanceof Unreachable) {
        this.error(t("guest.err_network")); // the same key goes with the next try
      } else if (err instanceof Refused) {
        this.key = null; // answered: the next try is a new placement
        if (!this.onRefused(err)) this.error(this.refusal(err));
      } else {
        throw err;
      }
    } finally {
      this.sending = false;
      this.render();
    }
  }

  // What a refused order tells the guest; the server's message names a dish in the kitchen's
  // words, so the cart names its own unorderable dishes in the guest's language when it can.
  refusal(err) {
    if (err.status === 409 && err.code === "table_closed") return t("guest.err_table_closed");
    if (err.status === 429) return t("guest.err_rate_limited");
    if (err.status === 409) {
      const names = this.blocked().map((line) => dishName(this.dishOf(line.menuId) ?? { name: "?" }));
      return t("guest.err_unavailable", { dish: names.length ? names.join(", ") : err.message });
    }
    if (err.status === 400) return t("guest.err_invalid", { message: err.message });
    return t("guest.err_other", { status: err.status });
  }
}
