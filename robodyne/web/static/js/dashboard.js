// The admin dashboard: live floor map, robots with commands, tables, events and system status.
import { Topic, api, watchConnection } from "./client.js";
import { renderEvents } from "./feed.js";
import { h, replace, svg } from "./dom.js";

const body = document.body.dataset;
const W = Number(body.mapWidth) || 20;
const H = Number(body.mapHeight) || 12;
const map = document.getElementById("map");
map.setAttribute("viewBox", `0 0 ${W} ${H}`);
const tableLayer = svg("g", { class: "tables" });
const robotLayer = svg("g", { class: "robots" });
map.append(
  svg("rect", { class: "floor", x: 0, y: 0, width: W, height: H }),
  svg("circle", { class: "dock", cx: body.dockX, cy: body.dockY, r: 0.9 }),
  svg("text", { class: "dock-label", x: body.dockX, y: Number(body.dockY) + 1.35 }, "dock"),
  tableLayer, robotLayer);

let may = new Set();
api("GET", "/api/me").then((me) => { may = new Set(me.may_write); renderRobots(); }).catch(() => {});

const robots = new Topic("robots", { onChange: () => { drawRobots(); renderRobots(); } });
const tables = new Topic("tables", {
  onChange: () => { drawTables(); renderTables(); for (const card of cards.values()) fillTablePick(card.pick); },
});
const events = new Topic("events", { onChange: () => renderEvents(document.getElementById("events"), events.list(), { canAck: may.has("event_ack") }) });
const status = new Topic("status", { onChange: renderStatus });
watchConnection([robots, tables, events, status], document.getElementById("conn"), document.getElementById("banner"));

function drawTables() {
  replace(tableLayer, tables.list().filter((t) => t.x !== null && t.y !== null).map((t) => {
    const size = 0.6 + Math.min(t.seats, 8) * 0.12;
    return svg("g", { class: "table", transform: `translate(${t.x} ${t.y})`, "data-table-id": t.id },
      svg("rect", { class: `t-${t.status}`, x: -size, y: -size * 0.7, width: size * 2, height: size * 1.4 }),
      svg("text", {}, t.label));
  }));
}

const markers = new Map();
function drawRobots() {
  const seen = new Set();
  for (const robot of robots.list()) {
    if (!robot.pose) continue;
    seen.add(robot.id);
    let marker = markers.get(robot.id);
    if (!marker) {
      marker = {
        g: svg("g", { class: "robot", "data-robot-id": robot.id }),
        body: svg("circle", { r: 0.38 }),
        heading: svg("line", { x1: 0, y1: 0, x2: 0.38, y2: 0 }),
        label: svg("text", { y: -0.55 }),
      };
      marker.g.append(marker.body, marker.heading, marker.label);
      robotLayer.append(marker.g);
      markers.set(robot.id, marker);
    }
    const { x, y, yaw } = robot.pose;
    marker.g.setAttribute("transform", `translate(${x} ${y})`);
    marker.g.classList.toggle("offline", !robot.connected);
    marker.body.setAttribute("class", `r-${robot.status}`);
    marker.heading.setAttribute("x2", String(Math.cos(yaw) * 0.38));
    marker.heading.setAttribute("y2", String(Math.sin(yaw) * 0.38));
    marker.label.textContent = `${robot.name} ${robot.battery === null ? "" : Math.round(robot.battery) + "%"}`;
    marker.g.dataset.x = x;
    marker.g.dataset.y = y;
  }
  for (const [id, marker] of markers) {
    if (!seen.has(id)) { marker.g.remove(); markers.delete(id); }
  }
}

async function command(button, robotId, body) {
  button.disabled = true;
  try { await api("POST", `/api/robots/${encodeURIComponent(robotId)}/commands`, body); }
  catch (err) { alert(err.message); }
  finally { button.disabled = false; }
}

const ROBOT_COLOURS = {
  idle: "#3ddc84", delivering: "#4fb3ff", returning: "#7fd1ff", charging: "#ffb020", paused: "#b48cff",
  error: "#ff4d4f", emergency_stop: "#ff4d4f", maintenance: "#9aa6b2", offline: "#59636e",
};

// Cards are built once per robot and updated in place at telemetry rate, so a table being
// picked in a card's select is never reset under the user's finger.
const cards = new Map();

function robotCard(robot) {
  const pick = h("select", { class: "table-pick", "aria-label": `table for ${robot.name}` });
  const go = h("button", { class: "small go", type: "button" }, "Send to table");
  go.onclick = () => command(go, robot.id, { command: "go_to", table_id: Number(pick.value) });
  const back = h("button", { class: "small return", type: "button" }, "Return");
  back.onclick = () => command(back, robot.id, { command: "return" });
  const charge = h("button", { class: "small charge", type: "button" }, "Charge");
  charge.onclick = () => command(charge, robot.id, { command: "charge" });
  const card = {
    root: h("div", { class: "robot-card", dataset: { robotId: robot.id } }),
    dot: h("span", { class: "dot" }), name: h("span", { class: "name" }),
    state: h("span", { class: "state" }), battery: h("span", { class: "battery" }),
    issues: h("div", { class: "sev-warning issues" }), pick,
    commands: h("div", { class: "commands" }, pick, go, back, charge),
  };
  card.root.append(h("div", { class: "line" }, card.dot, card.name, card.state, card.battery),
    card.issues, card.commands);
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
  const sorted = robots.list().sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  for (const robot of sorted) {
    let card = cards.get(robot.id);
    if (!card) { card = robotCard(robot); cards.set(robot.id, card); }
    card.dot.style.background = ROBOT_COLOURS[robot.status] ?? "#59636e";
    card.name.textContent = robot.name;
    card.state.textContent = robot.connected ? robot.status : "offline";
    card.battery.textContent = robot.battery === null ? "—" : `${Math.round(robot.battery)}%`;
    card.battery.classList.toggle("low", robot.battery !== null && robot.battery < 20);
    card.issues.textContent = robot.issues.map((i) => `${i.category}: ${i.detail}`).join("; ");
    card.commands.hidden = !(may.has("robot_commands") && robot.connected);
    list.append(card.root); // re-appending keeps the sorted order without rebuilding
  }
  for (const [id, card] of cards) {
    if (!robots.items.has(id)) { card.root.remove(); cards.delete(id); }
  }
}

const TABLE_COLOURS = { available: "#3ddc84", occupied: "#ffb020", reserved: "#4fb3ff", needs_cleaning: "#b48cff", out_of_service: "#6b7785" };
function renderTables() {
  replace(document.getElementById("tables"), tables.list().map((t) => h("div", {
    class: "table-card", style: `background: ${TABLE_COLOURS[t.status] ?? "#6b7785"}`, dataset: { tableId: t.id },
  }, t.label, h("small", {}, `${t.status.replace("_", " ")} · ${t.seats} seats`),
  h("small", {}, t.open_order_ids.length ? `${t.open_order_ids.length} open order(s)` : ""))));
}

function renderStatus() {
  const s = status.items.get("status");
  if (!s) return;
  const up = `${Math.floor(s.uptime_s / 3600)}h ${Math.floor((s.uptime_s % 3600) / 60)}m ${s.uptime_s % 60}s`;
  const connections = Object.entries(s.connections).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${n}`).join(", ");
  replace(document.getElementById("system"),
    h("dt", {}, "Health"), h("dd", { class: s.health === "ok" ? "sev-info" : "sev-error", id: "health" }, s.health),
    h("dt", {}, "Uptime"), h("dd", {}, up),
    h("dt", {}, "Robots online"), h("dd", { id: "robots-online" }, `${s.robots.online} / ${s.robots.total}`),
    h("dt", {}, "Open orders"), h("dd", { id: "open-orders" }, String(s.orders.open)),
    h("dt", {}, "Connections"), h("dd", {}, connections || "—"),
    h("dt", {}, "Version"), h("dd", {}, s.version));
  document.getElementById("summary").textContent = `${s.robots.online} robots online · ${s.orders.open} open orders`;
}
