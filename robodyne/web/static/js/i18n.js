// The page's language (SPEC §7): the server chose it (?lang=, the robodyne_lang cookie, or
// Accept-Language, else English) and wrote it into <body data-lang>. Every visible string comes
// from one catalogue per language, web/static/i18n/{lang}.json; times, durations and numbers
// are formatted for that language with Intl.
// A page with languages of its own (the guests' pages speak ko, en, zh and ja; staff pages en
// and ko) names its catalogue folder and its languages: <body data-catalogue="guest"
// data-catalogue-languages="ko en zh ja"> reads web/static/i18n/guest/{lang}.json.

const page = document.body.dataset;
const SUPPORTED = page.catalogueLanguages ? page.catalogueLanguages.split(/\s+/) : ["en", "ko"];
const FOLDER = page.catalogue ? `/static/i18n/${page.catalogue}/` : "/static/i18n/";
export const lang = SUPPORTED.includes(page.lang) ? page.lang : "en";
// Simplified Chinese: the browser then draws Han characters with a Chinese font, not a Japanese one.
document.documentElement.lang = lang === "zh" ? "zh-Hans" : lang;

async function load(code) {
  try {
    const response = await fetch(`${FOLDER}${code}.json`, { credentials: "same-origin" });
    if (response.ok) return await response.json();
  } catch { /* offline at start: the English fallback below */ }
  return null;
}

// Modules wait for the catalogue (top-level await), so nothing draws a key instead of a word.
const messages = (await load(lang)) ?? {};
const fallback = lang === "en" ? messages : (await load("en")) ?? {};

// t("kitchen.open", { n: 3 }) -> "3 open". A missing key shows as the English text, else the key.
export function t(key, vars = {}) {
  return fill(messages[key] ?? fallback[key] ?? key, vars);
}

// For a key built from data (a station's or a status's name): the data itself when no
// catalogue names it.
export function tOr(key, otherwise, vars = {}) {
  return key in messages || key in fallback ? t(key, vars) : otherwise;
}

function fill(text, vars) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

const numbers = new Intl.NumberFormat(lang);
export function number(value) {
  return numbers.format(value);
}

export function percent(value) {
  return new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 0 }).format(value / 100);
}

// A length of time in words for the language: "4 min 5 sec", "4분 5초".
export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  const whole = Math.max(0, Math.round(seconds));
  const parts = { hours: Math.floor(whole / 3600), minutes: Math.floor((whole % 3600) / 60), seconds: whole % 60 };
  if (!parts.hours) delete parts.hours;
  if (!parts.hours && !parts.minutes) delete parts.minutes;
  if (typeof Intl.DurationFormat === "function") {
    return new Intl.DurationFormat(lang, { style: "short", secondsDisplay: "always" }).format(parts);
  }
  const unit = { hours: "hour", minutes: "minute", seconds: "second" };
  return Object.entries(parts).map(([key, value]) => new Intl.NumberFormat(lang,
    { style: "unit", unit: unit[key], unitDisplay: "short" }).format(value)).join(" ");
}

export function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString(lang) : "";
}

// A calendar day ("YYYY-MM-DD", the server's day) in the language's own style.
export function day(isoDate) {
  const [y, m, d] = isoDate.split("-").map(Number);
  return new Intl.DateTimeFormat(lang, { dateStyle: "medium" }).format(new Date(y, m - 1, d));
}

// Static text in the html: data-i18n="key" sets the text, data-i18n-{attr}="key" an attribute.
export function translatePage(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const attr of ["title", "placeholder", "aria-label"]) {
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      el.setAttribute(attr, t(el.getAttribute(`data-i18n-${attr}`)));
    }
  }
}
translatePage();
