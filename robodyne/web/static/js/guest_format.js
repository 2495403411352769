// What the guest page says of money and dishes (SPEC §11.1): prices in the restaurant's currency
// for the guest's language, a dish's name and description in that language, allergen badges.
import { h } from "./dom.js";
import { lang, t, tOr } from "./i18n.js";

const page = document.body.dataset;
// The server fills the placeholder; anything else (a page not served by it) draws in won.
export const CURRENCY = /^[A-Z]{3}$/.test(page.currency ?? "") ? page.currency : "KRW";

const formats = new Map();
function format(currency) {
  if (!formats.has(currency)) {
    // A price is an integer in the currency's minor unit: KRW and JPY have none, USD two.
    const digits = new Intl.NumberFormat("en", { style: "currency", currency })
      .resolvedOptions().maximumFractionDigits;
    formats.set(currency, { digits, shown: new Intl.NumberFormat(lang, { style: "currency", currency }) });
  }
  return formats.get(currency);
}

// money(9000) -> "₩9,000"; money(1250, "USD") -> "$12.50".
export function money(minor, currency = CURRENCY) {
  const { digits, shown } = format(currency);
  return shown.format((minor ?? 0) / 10 ** digits);
}

// A guest reads the text in their language, else the kitchen's own name (SPEC §11.1).
export const dishName = (dish) => dish.names?.[lang] || dish.name;
export const optionName = (option) => option.names?.[lang] || option.name;
export const description = (dish) => dish.descriptions?.[lang] || "";

// A dish that may be ordered (js/dishes.js), for the guest page's modules that read it here.
export { orderable } from "./dishes.js";

// The unit price of a dish with the options chosen (by name), as the server will fix it.
export function unitPrice(dish, chosen) {
  const extra = (dish.options ?? []).filter((o) => chosen.includes(o.name))
    .reduce((sum, o) => sum + (o.price ?? 0), 0);
  return (dish.price ?? 0) + extra;
}

// Allergen codes (core/dishes.Allergen) as translated badges; a code no catalogue knows shows itself.
export function allergenBadges(codes = []) {
  if (!codes.length) return null;
  return h("ul", { class: "allergens", "aria-label": t("guest.allergens") },
    codes.map((code) => h("li", { class: "allergen", dataset: { allergen: code } },
      tOr(`guest.allergen.${code}`, code))));
}

// A language's own name, for the switcher.
export function languageName(code) {
  const names = { ko: t("guest.lang_ko"), en: t("guest.lang_en"), zh: t("guest.lang_zh"), ja: t("guest.lang_ja") };
  return names[code] ?? code;
}
