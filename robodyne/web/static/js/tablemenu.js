// The little menu at a table on the floor map: "Summon robot" and "Send to bus". It opens on a
// click, or Enter / Space on a focused table; arrow keys move between its items, Escape closes
// it and gives the focus back to the table.
import { act } from "./client.js";
import { t } from "./i18n.js";

export class TableMenu {
  constructor(menu, title) {
    this.menu = menu;
    this.title = title;
    this.items = [...menu.querySelectorAll('[role="menuitem"]')];
    this.anchor = null; // the table's <g> it was opened from
    this.tableId = null;
    for (const item of this.items) {
      item.addEventListener("click", () => this.pick(item));
    }
    menu.addEventListener("keydown", (event) => this.key(event));
    // A press anywhere else closes it.
    document.addEventListener("pointerdown", (event) => {
      if (!this.menu.hidden && !this.menu.contains(event.target) && !this.anchor?.contains(event.target)) this.close(false);
    });
  }

  // Make a table's marker open the menu (once per marker; the marker is kept across updates).
  attach(g, table) {
    g.addEventListener("click", () => this.toggle(g, Number(g.dataset.tableId)));
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        this.open(g, Number(g.dataset.tableId));
      }
    });
    g.setAttribute("aria-haspopup", "menu");
    g.setAttribute("aria-expanded", "false");
    this.label(g, table);
  }

  label(g, table) {
    g.setAttribute("aria-label", t("tablemenu.label", { table: table.label }));
    if (this.anchor === g) this.title.textContent = table.label;
  }

  toggle(g, tableId) {
    if (!this.menu.hidden && this.anchor === g) this.close(true);
    else this.open(g, tableId);
  }

  open(g, tableId) {
    if (this.anchor && this.anchor !== g) this.anchor.setAttribute("aria-expanded", "false");
    this.anchor = g;
    this.tableId = tableId;
    this.title.textContent = g.dataset.label;
    this.menu.hidden = false;
    g.setAttribute("aria-expanded", "true");
    this.place();
    this.items[0].focus();
  }

  // Just under the table, kept inside the map's panel (CSSOM, so CSP-clean).
  place() {
    const box = this.menu.offsetParent.getBoundingClientRect();
    const at = this.anchor.getBoundingClientRect();
    const left = at.left + at.width / 2 - box.left - this.menu.offsetWidth / 2;
    let top = at.bottom - box.top + 6;
    if (top + this.menu.offsetHeight > box.height) top = at.top - box.top - 6 - this.menu.offsetHeight;
    this.menu.style.left = `${Math.max(4, Math.min(left, box.width - this.menu.offsetWidth - 4))}px`;
    this.menu.style.top = `${Math.max(4, top)}px`;
  }

  close(refocus) {
    if (this.menu.hidden) return;
    this.menu.hidden = true;
    this.anchor?.setAttribute("aria-expanded", "false");
    if (refocus) this.anchor?.focus();
  }

  // A table that left the map takes its menu with it.
  forget(g) {
    if (this.anchor === g) { this.close(false); this.anchor = null; }
  }

  async pick(item) {
    const created = await act(item, "POST", "/api/tasks", { kind: item.dataset.kind, table_id: this.tableId });
    if (created) this.close(true);
  }

  key(event) {
    const at = this.items.indexOf(document.activeElement);
    const move = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 }[event.key];
    if (move) {
      event.preventDefault();
      this.items[(at + move + this.items.length) % this.items.length].focus();
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      this.items[event.key === "Home" ? 0 : this.items.length - 1].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      this.close(true);
    } else if (event.key === "Tab") {
      this.close(false); // the focus moves on, as it would from any control
    }
  }
}
