// The admin page's Menu tab: the dishes in the guests' order (the menu topic keeps that order,
// core/dishes.menu_order), each category's dishes moved up or down by renumbering their
// `position`, deleted after a confirmation, and edited in the dish editor (admin_dish.js).
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { formatter } from "./money.js";
import { DishEditor } from "./admin_dish.js";
import { page, send, sure } from "./admin_forms.js";

const money = formatter(page.currency) ?? ((minor) => String(minor));

// A dish's category as the list groups it (the empty one too).
function groups(dishes) {
  const byCategory = new Map();
  for (const dish of dishes) {
    if (!byCategory.has(dish.category)) byCategory.set(dish.category, []);
    byCategory.get(dish.category).push(dish);
  }
  return byCategory;
}

export class MenuTab {
  constructor() {
    this.list = document.getElementById("dishes");
    this.empty = document.getElementById("no-dishes");
    this.editor = new DishEditor(money);
    this.dishes = [];
    document.getElementById("dish-new").addEventListener("click", () => this.editor.open(null));
  }

  render(dishes, inventory) {
    this.dishes = dishes;
    const byCategory = groups(dishes);
    replace(this.list, [...byCategory].map(([category, members]) => h("section", { class: "category", dataset: { category } },
      h("h3", {}, category || t("admin.menu.no_category")),
      h("ul", { class: "rows" }, members.map((dish, n) => this.row(dish, members, n))))));
    this.empty.hidden = dishes.length > 0;
    replace(document.getElementById("categories"), [...byCategory.keys()].filter(Boolean).map((c) => h("option", { value: c })));
    this.editor.refresh(dishes, inventory);
  }

  row(dish, members, n) {
    const up = h("button", { type: "button", class: "small up", "aria-label": t("admin.menu.up", { name: dish.name }), disabled: n === 0 }, "↑");
    const down = h("button", { type: "button", class: "small down", "aria-label": t("admin.menu.down", { name: dish.name }), disabled: n === members.length - 1 }, "↓");
    const edit = h("button", { type: "button", class: "small edit" }, t("admin.edit"));
    const remove = h("button", { type: "button", class: "small danger delete" }, t("admin.delete"));
    up.addEventListener("click", () => this.move(members, n, n - 1, up));
    down.addEventListener("click", () => this.move(members, n, n + 1, down));
    edit.addEventListener("click", () => this.editor.open(dish));
    remove.addEventListener("click", () => {
      if (sure(t("admin.menu.delete_confirm", { name: dish.name }))) send("DELETE", `/api/menu/${dish.id}`, undefined, remove);
    });
    const state = dish.sold_out ? h("span", { class: "badge sold-out", title: dish.sold_out_reason ?? "" },
      t("admin.menu.sold_out", { reason: dish.sold_out_reason ?? "" }))
      : !dish.available ? h("span", { class: "badge off" }, t("admin.menu.off")) : null;
    return h("li", { class: "dish", dataset: { dishId: dish.id, name: dish.name } },
      dish.image ? h("img", { class: "thumb", src: dish.image, alt: "" }) : h("span", { class: "thumb none" }),
      h("span", { class: "what" }, h("strong", {}, dish.name), " ", h("span", { class: "muted" }, dish.station ?? ""), " ", state),
      h("span", { class: "price" }, money(dish.price)),
      h("span", { class: "buttons" }, up, down, edit, remove));
  }

  // The dish at `from` moved to `to` within its category: the category numbered 0, 1, 2… in
  // the new order, so that dishes of equal positions move too; only those that change are sent.
  async move(members, from, to, button) {
    const order = [...members];
    const [moved] = order.splice(from, 1);
    order.splice(to, 0, moved);
    button.disabled = true;
    for (const [position, dish] of order.entries()) {
      if (dish.position !== position && !await send("PATCH", `/api/menu/${dish.id}`, { position })) break;
    }
    button.disabled = false;
  }
}
