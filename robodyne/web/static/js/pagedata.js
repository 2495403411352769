// What the server wrote into a guest's or a party's page (<body data-…>, web/guests.py and
// web/waitlist.py fill the page's {placeholders} in one pass).
import { lang } from "./i18n.js";

// A value the server filled in, or "": an attribute it did not fill still holds its
// {placeholder}.
export function filled(value) {
  return value && !/^\{\w+\}$/.test(value) ? value : "";
}

// The page's languages (a JSON list), or the page's own language alone.
export function parseLanguages(text) {
  try {
    const list = JSON.parse(text);
    if (Array.isArray(list) && list.length) return list;
  } catch { /* not filled in */ }
  return [lang];
}
