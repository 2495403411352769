// The admin page (SPEC §13): tabs Menu, Floor, Stock, Devices, Cameras. Every list is live
// from its topic and every change goes through the REST API, so a change made anywhere else
// shows here at once and a change made here shows on every other page.
import { Topic, api, watchConnection } from "./client.js";
import { MenuTab } from "./admin_menu.js";
import { FloorTab } from "./admin_floor.js";
import { StockTab } from "./admin_stock.js";
import { DevicesTab } from "./admin_devices.js";
import { CamerasTab } from "./admin_cameras.js";

const TABS = ["menu", "floor", "stock", "devices", "cameras"];

const menu = new MenuTab();
const floor = new FloorTab();
const stock = new StockTab();
const devices = new DevicesTab();
const cameras = new CamerasTab();

const dishes = new Topic("menu", { onChange: () => menu.render(dishes.list(), inventory.list()) });
const inventory = new Topic("inventory", {
  onChange: () => { stock.render(inventory.list()); menu.render(dishes.list(), inventory.list()); },
});
const tables = new Topic("tables", { onChange: () => floor.render(tables.list(), places.list()) });
const places = new Topic("places", { key: (place) => place.name, onChange: () => floor.render(tables.list(), places.list()) });
const streams = new Topic("video_streams", { onChange: () => cameras.render(streams.list()) });
const robots = new Topic("robots", { onChange: () => cameras.robots(robots.list()) });
watchConnection([dishes, inventory, tables, places, streams, robots],
  document.getElementById("conn"), document.getElementById("banner"));

// Only the admin may use this page; any other role sees the banner the refused topics raise,
// and the devices, which are no topic, are asked for only by the admin.
api("GET", "/api/me").then((me) => {
  document.body.dataset.role = me.role;
  if (me.role === "admin") devices.enable();
}).catch(() => {});

function show(name) {
  const chosen = TABS.includes(name) ? name : TABS[0];
  for (const tab of TABS) {
    const selected = tab === chosen;
    const button = document.getElementById(`tab-${tab}`);
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    document.getElementById(`panel-${tab}`).hidden = !selected;
  }
  document.body.dataset.tab = chosen;
  if (chosen === "devices") devices.refresh();
}

const tablist = document.querySelector('[role="tablist"]');
tablist.addEventListener("click", (event) => {
  const tab = event.target.closest("[data-tab]");
  if (tab) location.hash = tab.dataset.tab;
});
// Arrow keys move between the tabs (the ARIA tabs pattern).
tablist.addEventListener("keydown", (event) => {
  const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
  if (!step) return;
  const next = TABS[(TABS.indexOf(document.body.dataset.tab) + step + TABS.length) % TABS.length];
  location.hash = next;
  document.getElementById(`tab-${next}`).focus();
});
window.addEventListener("hashchange", () => show(location.hash.slice(1)));
show(location.hash.slice(1));
