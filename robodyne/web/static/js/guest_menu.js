// The menu as a guest sees it (SPEC §11.1, §11.6): category chips that scroll to their section,
// dish cards, and the sheet that opens on a dish (options, note, how many) and adds it to the cart.
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { allergenBadges, description, dishName, money, optionName, orderable, unitPrice } from "./guest_format.js";

const QTY_MAX = 20;

// The menu topic's items arrive in the guests' order (core/dishes.menu_order on the server):
// grouping them by category as they come keeps that order without restating the rule here.
function byCategory(dishes) {
  const groups = new Map();
  for (const dish of dishes) {
    const category = dish.category ?? "";
    if (!groups.has(category)) groups.set(category, []);
    groups.get(category).push(dish);
  }
  return groups;
}

const categoryLabel = (category) => category || t("guest.category_other");

export class MenuView {
  constructor({ menu, chips, empty, onPick }) {
    this.menuEl = menu;
    this.chipsEl = chips;
    this.emptyEl = empty;
    this.onPick = onPick;
    this.sections = [];
    // The chip of the section at the top of the screen is marked while the guest scrolls.
    let queued = false;
    window.addEventListener("scroll", () => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => { queued = false; this.markCurrent(); });
    }, { passive: true });
  }

  render(dishes) {
    const groups = byCategory(dishes);
    this.sections = [];
    const chips = [];
    let n = 0;
    for (const [category, list] of groups) {
      const id = `category-${n++}`;
      const section = h("section", { class: "category", id, "aria-labelledby": `${id}-title` },
        h("h2", { id: `${id}-title`, class: "category-title" }, categoryLabel(category)),
        list.map((dish) => this.card(dish)));
      this.sections.push(section);
      chips.push(h("a", { class: "chip", href: `#${id}`, dataset: { target: id },
        onclick: (event) => { event.preventDefault(); this.jump(id); } }, categoryLabel(category)));
    }
    replace(this.menuEl, this.sections);
    replace(this.chipsEl, chips);
    this.chipsEl.hidden = chips.length < 2;
    this.emptyEl.hidden = dishes.length > 0;
    this.markCurrent();
  }

  card(dish) {
    const open = orderable(dish);
    const name = dishName(dish);
    const text = description(dish);
    const pick = () => { if (orderable(dish)) this.onPick(dish.id); };
    return h("article", {
      class: open ? "dish" : "dish sold-out", dataset: { menuId: dish.id },
      "aria-disabled": open ? null : "true", onclick: pick,
    },
    h("div", { class: "dish-text" },
      h("h3", { class: "dish-name" }, name),
      text ? h("p", { class: "dish-description" }, text) : null,
      allergenBadges(dish.allergens),
      h("div", { class: "dish-foot" },
        h("span", { class: "price" }, money(dish.price)),
        open ? null : h("span", { class: "sold-out-mark" }, t("guest.sold_out")),
        h("button", { type: "button", class: "add", disabled: !open,
          "aria-label": t("guest.add_dish", { name }),
          onclick: (event) => { event.stopPropagation(); pick(); } }, "+"))),
    dish.image ? h("img", { class: "dish-image", src: dish.image, alt: "", loading: "lazy",
      width: 96, height: 96, decoding: "async" }) : null);
  }

  jump(id) {
    const section = document.getElementById(id);
    if (!section) return;
    section.scrollIntoView({ behavior: "smooth", block: "start" });
    this.mark(id);
  }

  markCurrent() {
    const top = this.chipsEl.getBoundingClientRect().bottom + 8;
    let current = this.sections[0]?.id;
    for (const section of this.sections) {
      if (section.getBoundingClientRect().top <= top) current = section.id;
    }
    if (current) this.mark(current);
  }

  mark(id) {
    for (const chip of this.chipsEl.children) {
      const on = chip.dataset.target === id;
      chip.classList.toggle("current", on);
      if (on) chip.setAttribute("aria-current", "true");
      else chip.removeAttribute("aria-current");
    }
  }
}

// The sheet a dish opens in: options (each adds its price), a note, 1–20, then "Add".
export class DishSheet {
  constructor(dialog, { dish: dishOf, onAdd }) {
    this.dialog = dialog;
    this.dishOf = dishOf; // id -> the dish as the menu has it now
    this.onAdd = onAdd;
    this.dishId = null;
    this.qty = 1;
    this.el = (id) => dialog.querySelector(`#${id}`);
    this.el("qty-less").addEventListener("click", () => this.setQty(this.qty - 1));
    this.el("qty-more").addEventListener("click", () => this.setQty(this.qty + 1));
    this.el("dish-option-list").addEventListener("change", () => this.refresh());
    dialog.querySelector(".close").addEventListener("click", () => dialog.close());
    // A tap on the backdrop (the dialog itself, outside its body) closes it.
    dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
    this.el("dish-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.add();
    });
  }

  open(dishId) {
    const dish = this.dishOf(dishId);
    if (!orderable(dish)) return;
    this.dishId = dishId;
    this.qty = 1;
    const image = this.el("dish-image");
    image.hidden = !dish.image;
    if (dish.image) image.src = dish.image;
    else image.removeAttribute("src");
    this.el("dish-name").textContent = dishName(dish);
    this.el("dish-description").textContent = description(dish);
    const badges = allergenBadges(dish.allergens);
    replace(this.el("dish-allergens"), badges ? [...badges.children] : []);
    const options = dish.options ?? [];
    this.el("dish-options").hidden = options.length === 0;
    replace(this.el("dish-option-list"), options.map((option) =>
      h("label", { class: "option" },
        h("input", { type: "checkbox", name: "option", value: option.name }),
        h("span", { class: "option-name" }, optionName(option)),
        option.price ? h("span", { class: "option-price" }, t("guest.option_price", { price: money(option.price) })) : null)));
    this.el("dish-note").value = "";
    this.refresh();
    this.dialog.showModal();
  }

  chosen() {
    return [...this.dialog.querySelectorAll('input[name="option"]:checked')].map((box) => box.value);
  }

  setQty(qty) {
    this.qty = Math.min(QTY_MAX, Math.max(1, qty));
    this.refresh();
  }

  // Called on every menu change too: a dish sold out while its sheet is open cannot be added.
  refresh() {
    if (this.dishId === null) return;
    const dish = this.dishOf(this.dishId);
    const add = this.el("dish-add");
    this.el("qty").textContent = String(this.qty);
    this.el("qty-less").disabled = this.qty <= 1;
    this.el("qty-more").disabled = this.qty >= QTY_MAX;
    if (!orderable(dish)) {
      add.disabled = true;
      add.textContent = t("guest.sold_out");
      return;
    }
    add.disabled = false;
    add.textContent = t("guest.add_to_cart", { price: money(this.qty * unitPrice(dish, this.chosen())) });
  }

  add() {
    const dish = this.dishOf(this.dishId);
    if (!orderable(dish)) { this.refresh(); return; }
    this.onAdd({ menuId: dish.id, qty: this.qty, options: this.chosen(), note: this.el("dish-note").value.trim() });
    this.dialog.close();
  }
}
