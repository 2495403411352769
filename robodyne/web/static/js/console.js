// The maintenance console: the live system log with level filter, search and pause; every
// camera stream (stream.js); events.
import { Topic, api, watchConnection } from "./client.js";
import { renderEvents } from "./feed.js";
import { clock, h, replace } from "./dom.js";
import { number, t } from "./i18n.js";
import { StreamList, everyStream } from "./stream.js";

const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
const SHOWN = 500;
const levelEl = document.getElementById("level");
const searchEl = document.getElementById("search");
const pauseEl = document.getElementById("pause");
const heldEl = document.getElementById("held");
let paused = false;
let frozen = []; // what the table shows while paused
let may = new Set();
api("GET", "/api/me").then((me) => { may = new Set(me.may_write); renderFeed(); }).catch(() => {});

const logs = new Topic("systemlogs", { onChange: render });
const events = new Topic("events", { onChange: renderFeed });
const cameraList = new StreamList(document.getElementById("cameras"), {
  caption: (stream) => (stream.robot_id === null ? stream.name : `${stream.robot_id} · ${stream.name}`),
});
const cameras = new Topic("video_streams", { onChange: renderCameras });
watchConnection([logs, events, cameras], document.getElementById("conn"), document.getElementById("banner"));

function renderCameras() {
  const streams = everyStream(cameras.list());
  cameraList.render(streams);
  document.getElementById("no-cameras").hidden = streams.length > 0;
}

function renderFeed() {
  renderEvents(document.getElementById("events"), events.list(), { canAck: may.has("event_ack") });
}

function render() {
  const all = logs.list();
  if (!paused) frozen = all;
  const held = all.length - frozen.length;
  heldEl.textContent = paused ? t("console.held", { n: number(held) }) : "";
  const minimum = LEVELS.indexOf(levelEl.value);
  const needle = searchEl.value.trim().toLowerCase();
  const rows = frozen.filter((r) => LEVELS.indexOf(r.level) >= minimum)
    .filter((r) => !needle || r.message.toLowerCase().includes(needle) || r.source.toLowerCase().includes(needle))
    .slice(-SHOWN).reverse();
  replace(document.getElementById("logs"), rows.map((r) => h("tr", { class: r.level, dataset: { logId: r.id } },
    h("td", { class: "when" }, clock(r.ts)), h("td", { class: "level" }, r.level),
    h("td", { class: "source" }, r.source), h("td", { class: "message" }, r.message,
      r.repeats > 1 ? h("span", { class: "repeats" }, " ", t("console.repeats", { n: number(r.repeats) })) : null))));
}

document.getElementById("filters").addEventListener("submit", (event) => event.preventDefault());
levelEl.addEventListener("change", render);
searchEl.addEventListener("input", render);
pauseEl.addEventListener("click", () => {
  paused = !paused;
  pauseEl.textContent = paused ? t("console.resume") : t("console.pause");
  pauseEl.setAttribute("aria-pressed", String(paused));
  render();
});
