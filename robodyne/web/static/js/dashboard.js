// The admin dashboard: live floor map, the task queue, robots with commands, tables, events,
// system status, and for the owner the day's numbers (today.js).
import { Topic, act, api, watchConnection } from "./client.js";
import { CallsPanel } from "./calls.js";
import { renderEvents } from "./feed.js";
import { guestViewLink } from "./tablelink.js";
import { h, replace, svg } from "./dom.js";
import { duration, number, t, tOr } from "./i18n.js";

const tr = t; // where `t` names a table
import { FloorMap } from "./floormap.js";
import { layoutLabels, leaderEnd } from "./maplabels.js";
import { PairingPanel } from "./pairing.js";
import { StreamList, activeStreamsOf } from "./stream.js";
import { TableMenu } from "./tablemenu.js";
import { kindLabel, TaskPanel, destination, isActive, taskOfRobot } from "./tasks.js";
import { TodayPanel } from "./today.js";

const body = document.body.dataset;
const floorMap = new FloorMap(document.getElementById("map"));
const W = floorMap.width;
const H = floorMap.height;
const robotLayer = floorMap.robots;

let may = new Set();
const pairing = new PairingPanel(document.getElementById("pair-panel"), JSON.parse(body.pairRoles));
const today = new TodayPanel(document.getElementById("today-panel"), { robotName: (id) => robotName(id) });
api("GET", "/api/me").then((me) => {
  may = new Set(me.may_write);
  document.body.dataset.role = me.role;
  panel.canWrite = may.has("tasks");
  pairing.enable(may.has("tokens"));
  today.enable(me.may_report);
  const callsTopic = calls.enable(me.may_read.includes("calls"), may.has("calls"));
  if (callsTopic) connection.add(callsTopic);
  renderRobots(); drawTables(); renderTables(); panel.render();
}).catch(() => {});

const tableLabel = (id) => tables.items.get(id)?.label ?? t("table.fallback", { id });
const robotName = (id) => robots.items.get(id)?.name ?? id;
const byName = (a, b) => a.name.localeCompare(b.name, undefined, { numeric: true });
const panel = new TaskPanel({
  list: document.getElementById("tasks"), empty: document.getElementById("no-tasks"),
  count: document.getElementById("task-count"), tableLabel, robotName,
  robots: () => robots.list().sort(byName),
});
const calls = new CallsPanel(document.getElementById("calls-panel"), { tableLabel });
const menu = new TableMenu(document.getElementById("table-menu"), document.getElementById("table-menu-title"));

const robots = new Topic("robots", { onChange: () => { drawRobots(); renderRobots(); panel.refreshPicks(); } });
const tables = new Topic("tables", {
  onChange: () => {
    drawTables(); renderTables(); panel.render(); drawRobots(); renderRobots(); calls.render();
    for (const card of cards.values()) fillTablePick(card.pick);
  },
});
const tasks = new Topic("tasks", { onChange: () => { panel.render(tasks.list()); drawRobots(); renderRobots(); } });
const events = new Topic("events", { onChange: () => renderEvents(document.getElementById("events"), events.list(), { canAck: may.has("event_ack") }) });
const status = new Topic("status", { onChange: renderStatus });
// Those who read the robots read their cameras too (admin, floor, maintenance).
const cameras = new Topic("video_streams", { onChange: renderCameras });
// Where the dock, the pass and the host stand are, as the admin page set them.
const places = new Topic("places", {
  key: (place) => place.name, onChange: () => floorMap.drawPlaces(places.list(), { label: (name) => t(`map.${name}`) }),
});
const connection = watchConnection([robots, tables, tasks, events, status, cameras, places],
  document.getElementById("conn"), document.getElementById("banner"));

// Table markers are kept and updated in place (floormap.js), so a focused table keeps its
// focus and its menu.
function drawTables() {
  floorMap.drawTables(tables.list(), {
    drawn: (mark, t) => {
      // A role that may write tasks summons or buses a robot from the table itself.
      if (may.has("tasks") && !mark.menu) {
        mark.menu = true;
        mark.g.setAttribute("tabindex", "0");
        mark.g.setAttribute("role", "button");
        mark.g.classList.add("actionable");
        menu.attach(mark.g, t);
      } else if (mark.menu) {
        menu.label(mark.g, t);
      }
    },
    gone: (mark) => menu.forget(mark.g),
  });
}

// What a robot is doing, in a few words: "deliver → T3", or "next: summon → T5" when a task
// waits pinned to it.
function robotTask(robot) {
  const task = taskOfRobot(tasks.list(), robot.id);
  if (!task) return "";
  const what = `${kindLabel(task.kind)} → ${destination(task, tableLabel)}`;
  return isActive(task) ? what : t("robot.next", { what });
}

const RADIUS = 0.38;
const markers = new Map();
function drawRobots() {
  const seen = new Set();
  for (const robot of robots.list().sort(byName)) {
    if (!robot.pose) continue;
    seen.add(robot.id);
    let marker = markers.get(robot.id);
    if (!marker) {
      marker = {
        g: svg("g", { class: "robot", "data-robot-id": robot.id }),
        body: svg("circle", { r: RADIUS }),
        heading: svg("line", { x1: 0, y1: 0, x2: RADIUS, y2: 0 }),
        leader: svg("line", { class: "leader none" }),
        label: svg("g", { class: "robot-label", "data-robot-id": robot.id }),
        name: svg("text", { class: "name", y: 0 }),
        task: svg("text", { class: "doing none", y: 0.4 }),
      };
      marker.label.append(marker.name, marker.task);
      marker.g.append(marker.leader, marker.body, marker.heading, marker.label);
      robotLayer.append(marker.g);
      markers.set(robot.id, marker);
    }
    const { x, y, yaw } = robot.pose;
    marker.g.setAttribute("transform", `translate(${x} ${y})`);
    marker.g.classList.toggle("offline", !robot.connected);
    marker.body.setAttribute("class", `r-${robot.status}`);
    marker.heading.setAttribute("x2", String(Math.cos(yaw) * RADIUS));
    marker.heading.setAttribute("y2", String(Math.sin(yaw) * RADIUS));
    marker.name.textContent = `${robot.name} ${robot.battery === null ? "" : percent(robot.battery)}`;
    const doing = robotTask(robot);
    marker.task.textContent = doing;
    marker.task.classList.toggle("none", !doing);
    marker.g.dataset.x = x;
    marker.g.dataset.y = y;
    marker.x = x;
    marker.y = y;
  }
  for (const [id, marker] of markers) {
    if (!seen.has(id)) { marker.g.remove(); markers.delete(id); }
  }
  placeLabels();
}

// Lay the labels out so none overlaps another (maplabels.js): each label is drawn inside its
// robot's marker, offset from it, so it rides along with the marker's transition.
function placeLabels() {
  const placed = [...markers.entries()].map(([id, m]) => {
    const box = m.label.getBBox();
    // Not rendered (a hidden tab): a fair guess of the text's size.
    const w = box.width || m.name.textContent.length * 0.2;
    const h = box.height || (m.task.textContent ? 0.8 : 0.4);
    return { id, x: m.x, y: m.y, w, h };
  });
  const layout = layoutLabels(placed, { width: W, height: H, radius: RADIUS });
  for (const [id, m] of markers) {
    const at = layout.get(id);
    for (const text of [m.name, m.task]) text.setAttribute("text-anchor", at.align);
    const box = m.label.getBBox(); // again: the alignment moved the text
    const bx = box.width ? box.x : { middle: -at.w / 2, start: 0, end: -at.w }[at.align];
    const by = box.height ? box.y : -0.3;
    m.label.setAttribute("transform", `translate(${at.x - m.x - bx} ${at.y - m.y - by})`);
    m.leader.classList.toggle("none", !at.leader);
    if (at.leader) {
      // From the rim of the robot to the near edge of its label, at the label's middle.
      const end = leaderEnd(at);
      const dx = end.x - m.x;
      const dy = end.y - m.y;
      const length = Math.hypot(dx, dy) || 1;
      for (const [key, value] of Object.entries({ x1: (dx / length) * RADIUS, y1: (dy / length) * RADIUS, x2: dx, y2: dy })) {
        m.leader.setAttribute(key, String(value));
      }
    }
  }
}

function robotStatus(status) {
  return tOr(`robot.status.${status}`, status);
}

function percent(value) {
  return `${number(Math.round(value))}%`;
}

function command(button, robotId, body) {
  return act(button, "POST", `/api/robots/${encodeURIComponent(robotId)}/commands`, body);
}

const ROBOT_COLOURS = {
  idle: "#3ddc84", delivering: "#4fb3ff", returning: "#7fd1ff", charging: "#ffb020", paused: "#b48cff",
  error: "#ff4d4f", emergency_stop: "#ff4d4f", maintenance: "#9aa6b2", offline: "#59636e",
};

// Cards are built once per robot and updated in place at telemetry rate, so a table being
// picked in a card's select is never reset under the user's finger.
const cards = new Map();

function robotCard(robot) {
  const pick = h("select", { class: "table-pick", "aria-label": t("robot.table_for", { name: robot.name }) });
  const go = h("button", { class: "small go", type: "button" }, t("robot.send_to_table"));
  go.onclick = () => command(go, robot.id, { command: "go_to", table_id: Number(pick.value) });
  const back = h("button", { class: "small return", type: "button" }, t("robot.return"));
  back.onclick = () => command(back, robot.id, { command: "return" });
  const charge = h("button", { class: "small charge", type: "button" }, t("robot.charge"));
  charge.onclick = () => command(charge, robot.id, { command: "charge" });
  const card = {
    root: h("div", { class: "robot-card", dataset: { robotId: robot.id } }),
    dot: h("span", { class: "dot" }), name: h("span", { class: "name" }),
    state: h("span", { class: "state" }), battery: h("span", { class: "battery" }),
    task: h("div", { class: "muted doing" }),
    issues: h("div", { class: "sev-warning issues" }), pick,
    commands: h("div", { class: "commands" }, pick, go, back, charge),
    streamBox: h("div", { class: "streams" }),
  };
  card.streams = new StreamList(card.streamBox);
  card.root.append(h("div", { class: "line" }, card.dot, card.name, card.state, card.battery),
    card.task, card.issues, card.streamBox, card.commands);
  fillTablePick(pick);
  return card;
}

function fillTablePick(pick) {
  const chosen = pick.value;
  replace(pick, tables.list().map((t) => h("option", { value: t.id }, t.label)));
  if (chosen) pick.value = chosen;
}

function renderRobots() {
  const list = document.getElementById("robots");
  const sorted = robots.list().sort(byName);
  for (const robot of sorted) {
    let card = cards.get(robot.id);
    if (!card) { card = robotCard(robot); cards.set(robot.id, card); }
    card.dot.style.background = ROBOT_COLOURS[robot.status] ?? "#59636e";
    card.name.textContent = robot.name;
    card.state.textContent = robotStatus(robot.connected ? robot.status : "offline");
    card.battery.textContent = robot.battery === null ? "—" : percent(robot.battery);
    card.battery.classList.toggle("low", robot.battery !== null && robot.battery < 20);
    card.task.textContent = robotTask(robot);
    card.issues.textContent = robot.issues.map((i) => `${i.category}: ${i.detail}`).join("; ");
    card.commands.hidden = !(may.has("robot_commands") && robot.connected);
    card.streams.render(activeStreamsOf(cameras.list(), robot.id));
    list.append(card.root); // re-appending keeps the sorted order without rebuilding
  }
  for (const [id, card] of cards) {
    if (!robots.items.has(id)) { card.root.remove(); cards.delete(id); }
  }
}

function renderCameras() {
  for (const [id, card] of cards) card.streams.render(activeStreamsOf(cameras.list(), id));
}

function renderTables() {
  replace(document.getElementById("tables"), tables.list().map((t) => h("div", {
    class: `table-card tc-${t.status}`, dataset: { tableId: t.id },
  }, t.label, h("small", {}, tr("table.line", { status: tOr(`table.status.${t.status}`, t.status.replace("_", " ")), seats: number(t.seats) })),
  h("small", {}, t.open_order_ids.length ? tr("table.open_orders", { n: number(t.open_order_ids.length) }) : ""),
  // Those who may send robots to tables (admin, floor) are those who may read its link.
  may.has("tasks") ? guestViewLink(t.id, t.label) : null)));
}

function renderStatus() {
  const s = status.items.get("status");
  if (!s) return;
  const up = duration(s.uptime_s);
  const connections = Object.entries(s.connections).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${number(n)}`).join(", ");
  replace(document.getElementById("system"),
    h("dt", {}, t("system.health")), h("dd", { class: s.health === "ok" ? "sev-info" : "sev-error", id: "health", dataset: { health: s.health } }, tOr(`system.health.${s.health}`, s.health)),
    h("dt", {}, t("system.uptime")), h("dd", {}, up),
    h("dt", {}, t("system.robots_online")), h("dd", { id: "robots-online" }, `${number(s.robots.online)} / ${number(s.robots.total)}`),
    h("dt", {}, t("system.open_orders")), h("dd", { id: "open-orders" }, number(s.orders.open)),
    h("dt", {}, t("system.connections")), h("dd", {}, connections || "—"),
    h("dt", {}, t("system.version")), h("dd", {}, s.version));
  document.getElementById("summary").textContent = t("dashboard.summary", { online: number(s.robots.online), open: number(s.orders.open) });
}
