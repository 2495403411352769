// The open calls on the dashboard and the host page (SPEC §11.5, docs/pages.md "Dashboard"): guests asking for staff,
// a robot, water or the bill. Each open call with its table, kind and an age that ticks; a
// chime for a call this screen has not seen; "Answer" (POST /api/calls/{id}/answer).
import { Topic, act } from "./client.js";
import { Chime } from "./chime.js";
import { age, h, replace } from "./dom.js";
import { number, t, tOr } from "./i18n.js";

const TICK_MS = 1000;
// Muted or not, per tablet, apart from the kitchen's tickets.
const MUTED_KEY = "robodyne.calls.muted";

export class CallsPanel {
  // Drawn into `root` (the calls section of the dashboard or of the host page).
  constructor(root, { tableLabel }) {
    this.root = root;
    this.list = h("ul", { id: "calls", class: "calls", "aria-live": "polite" });
    this.empty = h("p", { id: "no-calls", class: "muted empty" }, t("calls.none"));
    this.count = h("span", { id: "call-count", class: "count" });
    const mute = h("button", { id: "calls-mute", type: "button", class: "small", "aria-pressed": "false" },
      t("calls.sound_on"));
    replace(root, h("div", { class: "calls-head" },
      h("h2", { id: "calls-heading" }, h("span", {}, t("calls.heading")), " ", this.count), mute),
    this.list, this.empty);
    this.tableLabel = tableLabel;
    this.chime = new Chime(mute, { on: t("calls.sound_on"), off: t("calls.sound_off") }, MUTED_KEY);
    this.topic = null;
    this.canAnswer = false;
    this.rows = new Map(); // call id -> its row, kept so a ticking age never rebuilds a button
    this.seen = new Set();
    this.primed = false;
  }

  // Opened for a role that may read calls (GET /api/me, may_read): the topic, and its ticking.
  enable(readable, canAnswer) {
    this.canAnswer = canAnswer;
    if (!readable || this.topic) { this.render(); return this.topic; }
    this.root.hidden = false;
    this.topic = new Topic("calls", { onChange: () => this.changed() });
    setInterval(() => this.tick(), TICK_MS);
    return this.topic;
  }

  changed() {
    // A chime for each open call never seen here; a snapshot after a reconnect chimes only for
    // the new ones, and the first snapshot for none.
    let fresh = 0;
    for (const call of this.topic.list()) {
      if (call.status !== "open" || this.seen.has(call.id)) continue;
      this.seen.add(call.id);
      if (this.primed) fresh += 1;
    }
    this.primed = true;
    if (fresh) this.chime.play();
    this.render();
  }

  open() {
    if (!this.topic) return [];
    return this.topic.list().filter((call) => call.status === "open")
      .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id);
  }

  render() {
    const open = this.open();
    const now = Date.now();
    for (const call of open) {
      let row = this.rows.get(call.id);
      if (!row) { row = this.row(call); this.rows.set(call.id, row); }
      row.table.textContent = this.tableLabel(call.table_id);
      row.age.textContent = age(call.created_at, now).text;
      row.answer.hidden = !this.canAnswer;
      this.list.append(row.root); // re-appending keeps the oldest-first order
    }
    const ids = new Set(open.map((call) => call.id));
    for (const [id, row] of this.rows) {
      if (!ids.has(id)) { row.root.remove(); this.rows.delete(id); }
    }
    this.empty.hidden = open.length > 0;
    this.count.textContent = open.length ? number(open.length) : "";
  }

  row(call) {
    const answer = h("button", { type: "button", class: "small answer" }, t("calls.answer"));
    answer.onclick = () => act(answer, "POST", `/api/calls/${call.id}/answer`);
    const row = {
      root: h("li", { class: "call", dataset: { callId: call.id, kind: call.kind } }),
      table: h("strong", { class: "table" }),
      kind: h("span", { class: "kind" }, tOr(`calls.kind.${call.kind}`, call.kind)),
      age: h("span", { class: "age", title: t("calls.age") }),
      answer,
    };
    row.root.append(row.table, row.kind, row.age, answer);
    return row;
  }

  tick() {
    const now = Date.now();
    for (const call of this.open()) {
      const row = this.rows.get(call.id);
      if (row) row.age.textContent = age(call.created_at, now).text;
    }
  }
}
