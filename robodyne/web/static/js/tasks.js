// The dashboard's task queue (SPEC §8): active tasks, then the queue in the order the server
// takes it, then the last few minutes' finished tasks greyed; with cancel, priority + and pin
// for a role that may write tasks.
import { act } from "./client.js";
import { age, h, replace } from "./dom.js";
import { t, tOr } from "./i18n.js";

// Which statuses hold a robot, which are final and which tasks may be re-prioritised or pinned
// come from the server (core/tasks.py, Dispatcher.change), in the page's data attributes.
const settings = document.body.dataset;
const ACTIVE = new Set(JSON.parse(settings.taskActive));
const FINISHED = new Set(JSON.parse(settings.taskFinished));
const CHANGES = JSON.parse(settings.taskChanges);
// Finished tasks stay on screen, greyed, this long, and no more than this many of them.
const RECENT_S = 300;
const RECENT_MAX = 5;

export function kindLabel(kind) {
  return tOr(`task.kind.${kind}`, kind);
}

export function isFinished(task) {
  return FINISHED.has(task.status);
}

export function isActive(task) {
  return ACTIVE.has(task.status);
}

// Where a task goes, in words: its tables' labels, or the dock for the kinds without stops.
export function destination(task, tableLabel) {
  if (task.stops.length) return task.stops.map((stop) => tableLabel(stop.table_id)).join(", ");
  return { return: t("task.dock"), charge: t("task.charger") }[task.kind] ?? "—";
}

// The task a robot is on: its unfinished task holding it, else the first one pinned to it.
export function taskOfRobot(tasks, robotId) {
  const mine = tasks.filter((t) => t.robot_id === robotId && !isFinished(t));
  return mine.find(isActive) ?? mine.find((t) => t.pinned) ?? null;
}

function recent(task, now) {
  return isFinished(task) && task.finished_at && now - Date.parse(task.finished_at) < RECENT_S * 1000;
}

// The shown tasks in order: those holding a robot, longest first, then the queue by priority
// and age as the dispatcher takes it, then the newest finished.
function shown(tasks, now) {
  const active = tasks.filter(isActive)
    .sort((a, b) => (a.assigned_at ?? a.created_at).localeCompare(b.assigned_at ?? b.created_at));
  const queued = tasks.filter((t) => !isFinished(t) && !isActive(t))
    .sort((a, b) => b.priority - a.priority || a.created_at.localeCompare(b.created_at) || a.id - b.id);
  const done = tasks.filter((t) => recent(t, now))
    .sort((a, b) => b.finished_at.localeCompare(a.finished_at)).slice(0, RECENT_MAX);
  return [...active, ...queued, ...done];
}

function ageText(task, now) {
  // A finished task's clock stops: it shows how long the task lived.
  return age(task.created_at, isFinished(task) && task.finished_at ? Date.parse(task.finished_at) : now).text;
}

export class TaskPanel {
  // list: the <ol>; empty, count: elements for "none" and the counts; lookups into other topics.
  constructor({ list, empty, count, tableLabel, robotName, robots }) {
    Object.assign(this, { list, empty, count, tableLabel, robotName, robots });
    this.cards = new Map(); // built once per task, updated in place
    this.canWrite = false;
    this.tasks = [];
    setInterval(() => this.tick(), 1000);
  }

  render(tasks = this.tasks) {
    this.tasks = tasks;
    const now = Date.now();
    const visible = shown(tasks, now);
    const keep = new Set(visible.map((t) => t.id));
    for (const [id, card] of this.cards) {
      if (!keep.has(id)) { card.root.remove(); this.cards.delete(id); }
    }
    for (const task of visible) {
      let card = this.cards.get(task.id);
      if (!card) { card = this.card(task); this.cards.set(task.id, card); }
      this.fill(card, task, now);
      this.list.append(card.root); // re-appending keeps the order without rebuilding
    }
    const open = tasks.filter((t) => !isFinished(t));
    const active = open.filter(isActive).length;
    this.count.textContent = t("tasks.count", { queued: open.length - active, active });
    this.empty.hidden = open.length > 0;
  }

  card(task) {
    const path = `/api/tasks/${task.id}`;
    const raise = h("button", { class: "small raise", type: "button", "aria-label": t("tasks.raise_label", { id: task.id }) }, t("tasks.raise"));
    raise.onclick = () => act(raise, "PATCH", path, { priority: this.byId(task.id).priority + 1 });
    const pick = h("select", { class: "pin-pick", "aria-label": t("tasks.pin_label", { id: task.id }) });
    pick.onchange = () => { pick.dataset.touched = "1"; };
    const pin = h("button", { class: "small pin", type: "button" }, t("tasks.pin"));
    pin.onclick = async () => {
      if (await act(pin, "PATCH", path, { robot_id: pick.value || null })) delete pick.dataset.touched;
    };
    const cancel = h("button", { class: "small cancel", type: "button", "aria-label": t("tasks.cancel_label", { id: task.id }) }, t("tasks.cancel"));
    cancel.onclick = () => act(cancel, "POST", `${path}/cancel`);
    const card = {
      root: h("li", { class: "task", dataset: { taskId: task.id } }),
      kind: h("span", { class: "kind" }), stops: h("span", { class: "stops" }), age: h("span", { class: "age" }),
      status: h("span", { class: "status" }), robot: h("span", { class: "robot" }),
      priority: h("span", { class: "priority" }), detail: h("span", { class: "detail" }),
      raise, pick, pin, cancel, pinning: h("span", { class: "pinning" }, pick, pin),
    };
    card.actions = h("div", { class: "actions" }, raise, card.pinning, cancel);
    card.root.append(h("div", { class: "line" }, card.kind, card.stops, card.age),
      h("div", { class: "line meta" }, card.status, card.robot, card.priority, card.detail), card.actions);
    return card;
  }

  byId(id) {
    return this.tasks.find((t) => t.id === id);
  }

  fill(card, task, now) {
    const finished = isFinished(task);
    card.root.dataset.status = task.status;
    card.root.dataset.kind = task.kind;
    card.root.classList.toggle("finished", finished);
    card.kind.textContent = kindLabel(task.kind);
    replace(card.stops, task.stops.length
      ? task.stops.map((stop) => h("span", { class: "stop", dataset: { tableId: stop.table_id, status: stop.status } },
        this.tableLabel(stop.table_id), " ", h("small", {}, tOr(`task.stop.${stop.status}`, stop.status))))
      : h("span", { class: "muted" }, destination(task, this.tableLabel)));
    card.age.textContent = ageText(task, now);
    card.status.textContent = tOr(`task.status.${task.status}`, task.status);
    card.status.className = `status s-${task.status}`;
    card.robot.textContent = task.robot_id ? this.robotName(task.robot_id) : "—";
    card.robot.classList.toggle("pinned", task.pinned);
    card.robot.title = task.pinned ? t("tasks.pinned") : "";
    card.priority.textContent = `P${task.priority}`;
    card.detail.textContent = task.detail;
    card.raise.hidden = !(this.canWrite && CHANGES.priority.includes(task.status));
    card.pinning.hidden = !(this.canWrite && CHANGES.pin.includes(task.status));
    card.cancel.hidden = !(this.canWrite && !finished);
    card.actions.hidden = card.raise.hidden && card.pinning.hidden && card.cancel.hidden;
    if (!card.pinning.hidden) this.fillPick(card, task);
  }

  fillPick(card, task) {
    // Options are rebuilt only when the robots change (not at telemetry rate), and a choice
    // being made survives updates; otherwise the picker shows what the server has.
    const robots = this.robots();
    const key = JSON.stringify(robots.map((r) => [r.id, r.name]));
    if (card.pickKey !== key) {
      const chosen = card.pick.value;
      replace(card.pick, h("option", { value: "" }, t("tasks.any_robot")),
        robots.map((r) => h("option", { value: r.id }, r.name)));
      card.pick.value = chosen;
      card.pickKey = key;
    }
    if (!card.pick.dataset.touched) card.pick.value = task.pinned ? task.robot_id : "";
  }

  refreshPicks() {
    for (const [id, card] of this.cards) {
      const task = this.byId(id);
      if (task && !card.pinning.hidden) this.fillPick(card, task);
    }
  }

  // The ages tick in place; a finished task that has grown old leaves the list.
  tick() {
    const now = Date.now();
    for (const [id, card] of this.cards) {
      const task = this.byId(id);
      if (!task) continue;
      if (isFinished(task) && !recent(task, now)) { this.render(); return; }
      card.age.textContent = ageText(task, now);
    }
  }
}
