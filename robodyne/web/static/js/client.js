// The one WebSocket client every page uses (docs/protocol.md, "WebSocket topics"): snapshot + updates into a local store,
// seq gap detection, resume with since/epoch, full-jitter backoff, and a visible state.
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";

const TERMINAL = new Set([1003, 4401, 4403]); // never retried: unknown topic, no token, role
const NO_TOKEN = 4401; // missing or unknown: signing in at /login is the way in
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 20000;
// The server pings every 20 s; hearing nothing for this long means a dead (half-open) link.
const SILENCE_MS = 45000;
const LOG_TOPICS = new Set(["events", "systemlogs"]);
const LOG_KEEP = 2000;

export class Topic {
  // `key`: what names an item, its id unless the topic says otherwise (a place's name).
  constructor(name, { onChange = () => {}, onState = () => {}, key = (item) => item.id ?? "status" } = {}) {
    this.name = name;
    this.key = key;
    this.items = new Map(); // key -> item, in arrival order
    this.seq = null;
    this.epoch = null;
    this.state = "connecting"; // connecting | live | reconnecting | refused
    this.refusedWith = null; // the close code, once refused
    this.refusedReason = ""; // and the server's reason for it (a guest's "visit_closed")
    this.wasLive = false; // once live, a 4401 means the token was revoked, not never valid
    this.onChange = onChange;
    this.onState = onState;
    this.attempt = 0;
    this.retryAfterMs = null;
    this.ws = null;
    this.timer = null;
    this.silence = null;
    document.addEventListener("visibilitychange", () => {
      // Background tabs throttle timers: reconnect at once when the tablet wakes up.
      if (document.visibilityState === "visible" && this.state === "reconnecting") this.connect();
    });
    window.addEventListener("online", () => {
      if (this.state === "reconnecting") this.connect();
    });
    this.connect();
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const resume = this.seq !== null && this.epoch !== null
      ? `?since=${this.seq}&epoch=${encodeURIComponent(this.epoch)}` : "";
    return `${scheme}//${location.host}/ws/${this.name}${resume}`;
  }

  connect() {
    clearTimeout(this.timer);
    if (this.ws) { this.ws.onclose = null; this.ws.close(); }
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => this.closed(event.code, event.reason);
    this.heard();
  }

  heard() {
    clearTimeout(this.silence);
    this.silence = setTimeout(() => this.ws && this.ws.close(), SILENCE_MS);
  }

  setState(state) {
    if (state !== this.state) { this.state = state; this.onState(this); }
  }

  receive(raw) {
    this.heard();
    let message;
    try { message = JSON.parse(raw); } catch { return; }
    if (message.type === "ping") {
      this.ws.send(JSON.stringify({ type: "pong", topic: this.name, data: message.data }));
    } else if (message.type === "shutdown") {
      this.retryAfterMs = message.data.reconnect_after_ms;
    } else if (message.type === "update") {
      this.update(message);
    } else if (message.type === "error") {
      console.warn(`robodyne ${this.name}:`, message.data);
    }
  }

  update(message) {
    const data = message.data;
    if (data.kind === "snapshot") {
      this.items = new Map(data.items.map((item) => [this.key(item), item]));
      if (data.epoch) this.epoch = data.epoch;
    } else if (this.seq !== null && message.seq !== this.seq + 1) {
      // A gap: never show a state with holes in it. Start over from a fresh snapshot.
      this.seq = null;
      this.epoch = null;
      this.ws.close();
      return;
    } else if (data.kind === "delete") {
      for (const id of data.ids) this.items.delete(id);
    } else {
      for (const item of data.items) this.items.set(this.key(item), item);
      if (LOG_TOPICS.has(this.name)) this.trim();
    }
    this.seq = message.seq;
    this.attempt = 0;
    this.wasLive = true;
    this.setState("live");
    this.onChange(this, data);
  }

  trim() {
    while (this.items.size > LOG_KEEP) this.items.delete(this.items.keys().next().value);
  }

  closed(code, reason = "") {
    clearTimeout(this.silence);
    if (TERMINAL.has(code)) {
      this.refusedWith = code;
      this.refusedReason = reason;
      this.setState("refused");
      return;
    }
    this.setState("reconnecting");
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    const delay = this.retryAfterMs ?? Math.max(BACKOFF_MIN_MS / 2, Math.random() * cap);
    this.retryAfterMs = null;
    this.attempt += 1;
    this.timer = setTimeout(() => this.connect(), delay);
  }

  list() {
    return [...this.items.values()];
  }
}

// Where this page sends someone to sign in (/login), and back here afterwards.
export function loginUrl() {
  return `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}

// One state for the page (the staff's pages): live only when every topic is. Refused without a
// token (4401), the page says so and links to /login; refused for its role, it offers to sign
// in as another. A token that worked and is refused now was revoked: nobody is at a staff
// tablet to read a banner, so the tablet goes to /login itself, to be paired again. Topics a
// page opens later (the kitchen's side topics, the calls) join with `add`: one watcher a page.
export function watchConnection(watched, element, banner) {
  const topics = [];
  let leaving = false;
  const render = () => {
    if (leaving) return;
    if (topics.some((t) => t.wasLive && t.refusedWith === NO_TOKEN)) {
      // Once: every topic's socket closes with 4401, and a second navigation would abort the
      // first.
      leaving = true;
      location.assign(loginUrl());
      return;
    }
    const states = topics.map((t) => t.state);
    const state = states.includes("refused") ? "refused"
      : states.every((s) => s === "live") ? "live"
      : states.includes("reconnecting") ? "reconnecting" : "connecting";
    const unknown = topics.some((t) => t.refusedWith === NO_TOKEN);
    element.dataset.state = state;
    element.textContent = t(state === "refused" && unknown ? "conn.refused_login" : `conn.${state}`);
    if (state === "refused") element.dataset.reason = unknown ? "login" : "role";
    else delete element.dataset.reason;
    if (!banner) return;
    banner.hidden = state === "live" || state === "connecting";
    if (state === "refused") {
      replace(banner, element.textContent, " ", h("a", { class: "login-link", href: loginUrl() },
        t(unknown ? "conn.sign_in" : "conn.sign_in_other")));
    } else {
      banner.textContent = t("conn.banner");
    }
  };
  const add = (...more) => {
    for (const topic of more) {
      const previous = topic.onState;
      topic.onState = (t) => { previous(t); render(); };
      topics.push(topic);
    }
    render();
  };
  add(...watched);
  return { add };
}

// A fresh Idempotency-Key (docs/api.md, "Idempotency"). crypto.randomUUID exists only in a
// secure context, and tablets may reach the server over plain http on the LAN.
export function idempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)),
    (byte) => byte.toString(16).padStart(2, "0")).join("");
}

// How often, and after how long, a POST the network lost is sent again (with its key).
const POST_RETRIES = [500, 2000];

// JSON to the REST API; the HttpOnly cookie carries the token. A POST carries one key for all
// of its tries, so a click retried after a lost answer never does its work twice.
export async function api(method, path, body) {
  const headers = body === undefined ? {} : { "Content-Type": "application/json" };
  const retries = method === "POST" ? POST_RETRIES : [];
  if (method === "POST") headers["Idempotency-Key"] = idempotencyKey();
  let response;
  for (let attempt = 0; ; attempt++) {
    try {
      response = await fetch(path, {
        method, headers, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      break;
    } catch (err) {
      if (attempt >= retries.length) throw err;
      await new Promise((resolve) => setTimeout(resolve, retries[attempt]));
    }
  }
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error.message; } catch { /* not JSON */ }
    throw new Error(message);
  }
  return response.status === 204 ? null : response.json();
}

// A button's REST call: disabled while it runs; a refusal is shown to whoever pressed it.
export async function act(button, method, path, body) {
  button.disabled = true;
  try { return await api(method, path, body); }
  catch (err) { alert(err.message); return null; }
  finally { button.disabled = false; }
}
