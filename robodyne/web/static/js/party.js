// The party's page (SPEC §12.4, docs/pages.md "Party page"), on the phone of a party waiting
// for a table: its place in line, the quote and the wait so far; then "your table is ready"
// with a beep and a vibration; then its table (and the robot to follow). One topic, `party`:
// one item, the party's own view (docs/protocol.md, "The party stream").
import { Topic } from "./client.js";
import { h, replace } from "./dom.js";
import { lang, t } from "./i18n.js";
import { filled, parseLanguages } from "./pagedata.js";
import { Alarm } from "./party_sound.js";

const page = document.body.dataset;
const $ = (id) => document.getElementById(id);
const WAITED_TICK_MS = 15000;

// --- the frame: the restaurant and the languages -----------------------------------------------

const restaurant = filled(page.restaurantName);
const joinedAt = filled(page.joinedAt);
$("restaurant").textContent = restaurant;
document.title = [t("party.title"), restaurant].filter(Boolean).join(" · ");

const LANGUAGE_NAMES = { ko: t("party.lang_ko"), en: t("party.lang_en"), zh: t("party.lang_zh"), ja: t("party.lang_ja") };
const languages = parseLanguages(page.languages);
// Plain links: the server keeps ?lang= in its cookie.
replace($("langs"), languages.length < 2 ? [] : languages.map((code) => h("a", {
  class: "lang", href: `?lang=${encodeURIComponent(code)}`, hreflang: code, lang: code,
  "aria-current": code === lang ? "true" : null,
}, LANGUAGE_NAMES[code] ?? code)));

// --- words for numbers and times -----------------------------------------------------------------

const ordinals = new Intl.PluralRules(lang, { type: "ordinal" });
const NTH = {
  one: (n) => t("party.nth_one", { n }), two: (n) => t("party.nth_two", { n }),
  few: (n) => t("party.nth_few", { n }), other: (n) => t("party.nth_other", { n }),
};
const nth = (n) => (NTH[ordinals.select(n)] ?? NTH.other)(n);

const minuteFormat = new Intl.NumberFormat(lang, { style: "unit", unit: "minute", unitDisplay: "long" });
// A wait in whole minutes ("15 minutes", "15분"); under one, said so.
function minutes(seconds) {
  const whole = Math.floor(Math.max(0, seconds) / 60);
  return whole < 1 ? t("party.under_minute") : minuteFormat.format(whole);
}

const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString(lang, { hour: "numeric", minute: "2-digit" }) : "");

// --- the connection and the end --------------------------------------------------------------

let ended = false;
let slow = null;
const statusEl = $("status");

function say(text, tone = "alert") {
  statusEl.textContent = text;
  statusEl.dataset.tone = tone;
  statusEl.hidden = !text;
}

function connection() {
  if (ended) return;
  document.body.dataset.conn = party.state;
  clearTimeout(slow);
  if (party.state === "refused") { end(); return; }
  if (party.state === "reconnecting") say(t("party.reconnecting"));
  else if (party.state === "connecting") {
    // A page that connects within a second says nothing at all.
    slow = setTimeout(() => { if (party.state === "connecting") say(t("party.connecting"), "info"); }, 1000);
  } else say("");
}

// The session is over (4401): the party left, never came, or sat down a while ago; or the
// link opens no party any more. A short goodbye by the last view it had; nothing is retried.
function end() {
  if (ended) return;
  ended = true;
  clearInterval(ticking);
  const status = view?.status ?? "";
  document.body.dataset.conn = "ended";
  document.body.dataset.ended = status || "link";
  $("main").hidden = true;
  $("langs").hidden = true;
  $("ended-text").textContent = status === "seated" ? t("party.bye_seated")
    : status === "left" ? t("party.bye_left")
    : status === "no_show" ? t("party.bye_no_show") : t("party.link_invalid");
  $("ended").hidden = false;
  say("");
}

// --- the party's view ------------------------------------------------------------------------

const alarm = new Alarm($("sound-button"), { off: t("party.sound_turn_on"), on: t("party.sound_is_on") });
let view = null;
let ticking = null;

function waited() {
  if (!joinedAt) { $("waited").textContent = "—"; return; }
  $("waited").textContent = minutes((Date.now() - Date.parse(joinedAt)) / 1000);
}

function viewChanged() {
  const previous = view?.status;
  view = party.list()[0] ?? null;
  if (!view) return;
  const status = view.status;
  document.body.dataset.status = status;
  $("party-name").textContent = view.name;
  $("party-size").textContent = t("party.size", { n: view.party_size });

  $("waiting").hidden = status !== "waiting";
  $("called").hidden = status !== "called";
  $("seated").hidden = status !== "seated";
  // The sound is for the call: once it came, nothing more will ring.
  $("sound").hidden = status !== "waiting";

  if (status === "waiting") {
    $("position").textContent = view.position === 1 ? t("party.next")
      : t("party.position", { nth: nth(view.position ?? 0) });
    $("quoted").textContent = view.quoted_wait_s === null || view.quoted_wait_s === undefined ? "—"
      : view.quoted_wait_s <= 0 ? t("party.quoted_none")
      : t("party.quoted_about", { wait: minutes(Math.max(60, view.quoted_wait_s)) });
    $("joined").textContent = clock(joinedAt) || "—";
    waited();
  }
  if (status === "called") {
    $("called-at").textContent = view.called_at ? t("party.called_at", { time: clock(view.called_at) }) : "";
    // Rung when the call arrives while the page watches (a socket back from sleep counts);
    // a page opened already called just shows it.
    if (previous && previous !== "called") alarm.ring();
  }
  if (status === "seated") {
    const label = view.table?.label ?? "";
    $("table").textContent = label ? t("party.table", { label }) : t("party.seated");
    $("follow").hidden = !(view.robot?.name && label);
    $("follow").textContent = $("follow").hidden ? ""
      : t("party.follow", { robot: view.robot.name, label });
  }
  clearInterval(ticking);
  if (status === "waiting") ticking = setInterval(waited, WAITED_TICK_MS);
  // left / no_show: the final view, then the socket closes (4401) and end() says goodbye.
}

const party = new Topic("party", { onChange: viewChanged, onState: connection });
connection();
