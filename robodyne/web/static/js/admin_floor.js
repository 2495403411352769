// The admin page's Floor tab: the dashboard's map (floormap.js) with the tables and the places
// (dock, pass, host) dragged into place with a pointer — a table is PATCHed and a place PUT on
// drop, at the nearest 0.1 m — tables and places not yet on the map listed aside to be dropped
// onto it, and the tables added, renamed, given seats and deleted.
import { h, replace, svg } from "./dom.js";
import { number, t, tOr } from "./i18n.js";
import { FloorMap } from "./floormap.js";
import { listed, numberOf, send, sure } from "./admin_forms.js";

const PLACES = listed("placeNames");
const tenth = (metres) => Math.round(metres * 10) / 10;
const placeLabel = (name) => tOr(`map.${name}`, name);

// Where a thing goes when it is dropped at (x, y).
const tablePlaced = (id) => ({ x, y }) => send("PATCH", `/api/tables/${id}`, { x, y });
const placePlaced = (name) => ({ x, y }) => send("PUT", `/api/places/${name}`, { x, y });

export class FloorTab {
  constructor() {
    this.map = new FloorMap(document.getElementById("floor-map"));
    this.ghost = svg("circle", { class: "ghost", r: 0.5 });
    this.ghost.style.display = "none";
    this.map.element.append(this.ghost);
    this.unplaced = document.getElementById("unplaced");
    this.rows = document.getElementById("table-list");
    this.dragging = false;
    this.last = [[], []];
    // A row being typed in is not redrawn under the fingers: the list catches up on leaving it.
    this.rows.addEventListener("focusout", () => setTimeout(() => this.render(...this.last), 0));
    const add = document.getElementById("table-add");
    add.addEventListener("submit", async (event) => {
      event.preventDefault();
      const made = await send("POST", "/api/tables", { label: add.elements.label.value.trim(), seats: Number(add.elements.seats.value) }, event.submitter);
      if (made) add.reset();
    });
  }

  render(tables, places) {
    this.last = [tables, places];
    // A drag under way is not redrawn under the pointer; the drop redraws it.
    if (this.dragging) return;
    this.map.drawTables(tables, {
      made: (mark, table) => {
        mark.g.classList.add("draggable");
        this.drag(mark.g, mark.g, tablePlaced(table.id));
      },
      drawn: (mark, table) => mark.g.setAttribute("aria-label", t("admin.floor.table_at", { label: table.label, x: number(table.x), y: number(table.y) })),
    });
    this.drawPlaces(places);
    const set = new Set(places.map((place) => place.name));
    const loose = [
      ...tables.filter((table) => table.x === null || table.y === null).map((table) => this.chip(table.label, { tableId: table.id }, tablePlaced(table.id))),
      ...PLACES.filter((name) => !set.has(name)).map((name) => this.chip(placeLabel(name), { place: name }, placePlaced(name))),
    ];
    replace(this.unplaced, loose);
    document.getElementById("all-placed").hidden = loose.length > 0;
    if (!this.rows.contains(document.activeElement)) replace(this.rows, tables.map((table) => this.row(table)));
  }

  drawPlaces(places) {
    this.map.drawPlaces(places, {
      label: placeLabel,
      made: (mark, place) => { mark.classList.add("draggable"); this.drag(mark, mark, placePlaced(place.name)); },
    });
  }

  chip(label, data, placed) {
    const chip = h("li", { class: "chip", dataset: data, tabindex: 0 }, label);
    this.drag(chip, this.ghost, placed);
    return chip;
  }

  // Dragging `handle` moves `shown` on the map (a marker, or the ghost for a chip); a drop on
  // the map calls `placed` with the point at the nearest 0.1 m. A press that never moves is
  // no drag (a click).
  drag(handle, shown, placed) {
    handle.addEventListener("pointerdown", (down) => {
      if (down.button !== 0) return;
      down.preventDefault();
      handle.setPointerCapture(down.pointerId);
      let moved = false;
      const move = (event) => {
        moved = true;
        this.dragging = true;
        handle.classList.add("dragging");
        const at = this.map.toFloor(event.clientX, event.clientY);
        shown.style.display = this.map.covers(event.clientX, event.clientY) ? "" : "none";
        shown.setAttribute("transform", `translate(${at.x} ${at.y})`);
      };
      const up = async (event) => {
        handle.removeEventListener("pointermove", move);
        handle.removeEventListener("pointerup", up);
        handle.removeEventListener("pointercancel", up);
        handle.classList.remove("dragging");
        this.ghost.style.display = "none";
        if (shown !== this.ghost) shown.style.display = "";
        const over = this.map.covers(event.clientX, event.clientY);
        this.dragging = false;
        if (moved && over && event.type === "pointerup") {
          const at = this.map.toFloor(event.clientX, event.clientY);
          await placed({ x: tenth(at.x), y: tenth(at.y) });
        }
        // Where the topic has it: the drop's update moves it again, a drop off the map puts it back.
        if (moved) this.render(...this.last);
      };
      handle.addEventListener("pointermove", move);
      handle.addEventListener("pointerup", up);
      handle.addEventListener("pointercancel", up);
    });
  }

  row(table) {
    const label = h("input", { name: "label", value: table.label, required: true, maxlength: 50, autocomplete: "off", "aria-label": t("admin.floor.label") });
    const seats = h("input", { name: "seats", type: "number", min: 1, max: 100, value: table.seats, required: true, "aria-label": t("admin.floor.seats") });
    const save = h("button", { type: "submit", class: "small" }, t("admin.save"));
    const remove = h("button", { type: "button", class: "small danger delete" }, t("admin.delete"));
    const where = table.x === null ? t("admin.floor.not_placed") : t("admin.floor.at", { x: number(table.x), y: number(table.y) });
    const form = h("form", { class: "form row" }, label, seats, save, remove, h("span", { class: "muted where" }, where));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send("PATCH", `/api/tables/${table.id}`, { label: label.value.trim(), seats: numberOf(seats.value) }, save);
    });
    remove.addEventListener("click", () => {
      // Done, the row lets go of the focus, so the list redraws without it.
      if (sure(t("admin.floor.delete_confirm", { label: table.label }))) send("DELETE", `/api/tables/${table.id}`, undefined, remove).then((done) => done && remove.blur());
    });
    return h("li", { class: "table-row", dataset: { tableId: table.id } }, form);
  }
}
