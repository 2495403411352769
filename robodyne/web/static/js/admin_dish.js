// The admin page's dish editor: every field of a dish (SPEC §9, §11.1) — its kitchen name,
// category, position, price in the currency's minor unit, station, prep target, available,
// names and descriptions per guest language, options with prices, allergens from the fixed
// list — then, once it exists, its photo (the raw file as the body) and its recipe.
import { idempotencyKey } from "./client.js";
import { h, replace } from "./dom.js";
import { lang, t } from "./i18n.js";
import { field, listed, numberOf, send } from "./admin_forms.js";

const LANGUAGES = listed("dishLanguages");
const ALLERGENS = listed("allergens");
const STATIONS = listed("stations");
const languageName = new Intl.DisplayNames([lang], { type: "language" });

// The allergens' names are the guest page's (its catalogue speaks this page's languages too).
const allergenNames = await fetch(`/static/i18n/guest/${lang}.json`, { credentials: "same-origin" })
  .then((response) => (response.ok ? response.json() : {})).catch(() => ({}));
const allergenName = (code) => allergenNames[`guest.allergen.${code}`] ?? code;

function optionRow(option = { name: "", price: 0 }) {
  const remove = h("button", { type: "button", class: "small", "aria-label": t("admin.remove") }, "✕");
  const row = h("div", { class: "line option" },
    field(t("admin.menu.option_name"), h("input", { name: "option_name", value: option.name, required: true, maxlength: 80 })),
    field(t("admin.menu.option_price"), h("input", { name: "option_price", type: "number", min: 0, step: 1, value: option.price })),
    remove);
  remove.addEventListener("click", () => row.remove());
  return row;
}

export class DishEditor {
  constructor(money) {
    this.money = money;
    this.root = document.getElementById("dish-editor");
    this.form = document.getElementById("dish-form");
    this.heading = document.getElementById("dish-editor-heading");
    this.extras = document.getElementById("dish-extras");
    this.photo = document.getElementById("dish-photo");
    this.noPhoto = document.getElementById("dish-no-photo");
    this.file = document.getElementById("dish-photo-file");
    this.options = document.getElementById("dish-options");
    this.recipe = document.getElementById("recipe-lines");
    this.dish = null; // the dish edited, null for a new one
    this.inventory = [];
    const station = this.form.elements.station;
    replace(station, h("option", { value: "" }, t("admin.menu.no_station")), STATIONS.map((s) => h("option", { value: s }, s)));
    replace(document.getElementById("dish-languages"), LANGUAGES.map((code) => h("div", { class: "language", dataset: { lang: code } },
      h("strong", {}, languageName.of(code) ?? code),
      field(t("admin.menu.guest_name"), h("input", { name: `name_${code}`, maxlength: 80, autocomplete: "off" })),
      field(t("admin.menu.description"), h("textarea", { name: `description_${code}`, maxlength: 500, rows: 2 })))));
    replace(document.getElementById("dish-allergens"), ALLERGENS.map((code) => h("label", { class: "check" },
      h("input", { type: "checkbox", name: "allergen", value: code }), " ", allergenName(code))));
    const price = this.form.elements.price;
    price.addEventListener("input", () => this.showPrice());
    document.getElementById("option-add").addEventListener("click", () => this.options.append(optionRow()));
    document.getElementById("dish-cancel").addEventListener("click", () => this.close());
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.save(event.submitter); });
    this.file.addEventListener("change", () => this.upload());
    document.getElementById("dish-photo-remove").addEventListener("click", (event) => send("DELETE", `/api/menu/${this.dish.id}/image`, undefined, event.target));
    document.getElementById("recipe-add").addEventListener("click", () => this.recipe.append(this.recipeRow()));
    document.getElementById("recipe-form").addEventListener("submit", (event) => { event.preventDefault(); this.saveRecipe(event.submitter); });
  }

  showPrice() {
    const minor = numberOf(this.form.elements.price.value);
    document.getElementById("dish-price-shown").textContent = minor === null ? "" : this.money(minor);
  }

  open(dish) {
    this.dish = dish;
    this.root.hidden = false;
    this.root.dataset.dishId = dish?.id ?? "";
    this.heading.textContent = dish ? t("admin.menu.editing", { name: dish.name }) : t("admin.menu.new");
    const el = this.form.elements;
    el.name.value = dish?.name ?? "";
    el.category.value = dish?.category ?? "";
    el.position.value = dish?.position ?? 0;
    el.price.value = dish?.price ?? 0;
    el.station.value = dish?.station ?? "";
    el.prep_target_s.value = dish?.prep_target_s ?? "";
    el.available.checked = dish?.available ?? true;
    for (const code of LANGUAGES) {
      el[`name_${code}`].value = dish?.names?.[code] ?? "";
      el[`description_${code}`].value = dish?.descriptions?.[code] ?? "";
    }
    const allergens = new Set(dish?.allergens ?? []);
    for (const box of this.form.querySelectorAll('input[name="allergen"]')) box.checked = allergens.has(box.value);
    replace(this.options, (dish?.options ?? []).map((option) => optionRow(option)));
    replace(this.recipe, (dish?.recipe ?? []).map((line) => this.recipeRow(line)));
    this.showPrice();
    this.showPhoto();
    this.root.scrollIntoView({ block: "nearest" });
    el.name.focus();
  }

  close() {
    this.dish = null;
    this.root.hidden = true;
  }

  // The topic changed: the dish edited may have a new photo, or be gone; the recipe's skus are
  // the inventory's. Fields being typed in are left alone.
  refresh(dishes, inventory) {
    this.inventory = inventory;
    if (!this.dish) return;
    const now = dishes.find((dish) => dish.id === this.dish.id);
    if (!now) { this.close(); return; }
    this.dish = now;
    this.showPhoto();
  }

  showPhoto() {
    this.extras.hidden = !this.dish;
    const image = this.dish?.image ?? null;
    this.photo.hidden = !image;
    this.noPhoto.hidden = Boolean(image);
    document.getElementById("dish-photo-remove").hidden = !image;
    if (image && this.photo.getAttribute("src") !== image) this.photo.src = image;
  }

  body() {
    const el = this.form.elements;
    const per = (prefix) => Object.fromEntries(LANGUAGES.map((code) => [code, el[`${prefix}_${code}`].value.trim()]).filter(([, text]) => text));
    return {
      name: el.name.value.trim(), category: el.category.value.trim(), position: numberOf(el.position.value) ?? 0,
      price: numberOf(el.price.value) ?? 0, station: el.station.value || null,
      prep_target_s: numberOf(el.prep_target_s.value), available: el.available.checked,
      names: per("name"), descriptions: per("description"),
      allergens: [...this.form.querySelectorAll('input[name="allergen"]:checked')].map((box) => box.value),
      options: [...this.options.querySelectorAll(".option")].map((row) => ({
        name: row.querySelector('[name="option_name"]').value.trim(),
        price: numberOf(row.querySelector('[name="option_price"]').value) ?? 0,
      })),
    };
  }

  async save(button) {
    const body = this.body();
    const saved = this.dish ? await send("PATCH", `/api/menu/${this.dish.id}`, body, button)
      : await send("POST", "/api/menu", body, button);
    // A new dish stays open: its photo and recipe come next.
    if (saved && !this.dish) this.open(saved);
    else if (saved) this.dish = saved;
  }

  // The file as it is, its type saying what it is (the server decodes, checks and re-encodes it).
  async upload() {
    const file = this.file.files[0];
    if (!file || !this.dish) return;
    this.file.disabled = true;
    const failure = document.getElementById("failure");
    failure.hidden = true;
    try {
      const response = await fetch(`/api/menu/${this.dish.id}/image`, {
        method: "POST", credentials: "same-origin", body: file,
        headers: { "Content-Type": file.type || "application/octet-stream", "Idempotency-Key": idempotencyKey() },
      });
      let answer = null;
      try { answer = await response.json(); } catch { /* not JSON */ }
      if (!response.ok) throw new Error(answer?.error?.message ?? response.statusText);
      this.dish = answer;
      this.showPhoto();
    } catch (err) {
      failure.textContent = t("admin.failed", { message: err.message });
      failure.hidden = false;
    } finally {
      this.file.disabled = false;
      this.file.value = "";
    }
  }

  recipeRow(line = { sku: "", qty: 1 }) {
    const skus = this.inventory.map((item) => item.sku);
    const pick = h("select", { name: "sku", required: true },
      h("option", { value: "" }, t("admin.menu.recipe_pick")),
      [...new Set([...skus, line.sku].filter(Boolean))].map((sku) => {
        const item = this.inventory.find((i) => i.sku === sku);
        return h("option", { value: sku }, item ? `${item.name} (${sku})` : sku);
      }));
    pick.value = line.sku;
    const remove = h("button", { type: "button", class: "small", "aria-label": t("admin.remove") }, "✕");
    const row = h("div", { class: "line ingredient" }, field(t("admin.menu.recipe_sku"), pick),
      field(t("admin.menu.recipe_qty"), h("input", { name: "qty", type: "number", step: "any", min: 0, value: line.qty, required: true })), remove);
    remove.addEventListener("click", () => row.remove());
    return row;
  }

  saveRecipe(button) {
    const ingredients = [...this.recipe.querySelectorAll(".ingredient")].map((row) => ({
      sku: row.querySelector('[name="sku"]').value, qty: Number(row.querySelector('[name="qty"]').value),
    }));
    return send("PUT", `/api/menu/${this.dish.id}/recipe`, { ingredients }, button);
  }
}
