// The floor map every page draws the same way (the dashboard, the admin page's Floor tab):
// metres in the robots' map frame, as the server gives its size (<body data-map-width,
// data-map-height>), one marker per table at its x, y sized by its seats and coloured by its
// status. Markers are kept and updated in place, so a focused or dragged table keeps its node.
import { svg } from "./dom.js";

const body = document.body.dataset;

export class FloorMap {
  constructor(element) {
    this.element = element;
    this.width = Number(body.mapWidth) || 20;
    this.height = Number(body.mapHeight) || 12;
    element.classList.add("floor-map");
    element.setAttribute("viewBox", `0 0 ${this.width} ${this.height}`);
    this.places = svg("g", { class: "places" });
    this.tables = svg("g", { class: "tables" });
    this.robots = svg("g", { class: "robots" });
    element.append(svg("rect", { class: "floor", x: 0, y: 0, width: this.width, height: this.height }),
      this.places, this.tables, this.robots);
    this.marks = new Map(); // table id -> { g, rect, text }
    this.placeMarks = new Map(); // place name -> its marker
  }

  // Draw the places set (the places topic: dock, pass, host), each labelled `label(name)`;
  // `made(mark, place)` runs once per new marker; a place no longer set loses its marker.
  drawPlaces(places, { label, made = () => {} }) {
    const seen = new Set();
    for (const place of places) {
      seen.add(place.name);
      let mark = this.placeMarks.get(place.name);
      if (!mark) {
        mark = svg("g", { class: `place place-${place.name}`, "data-place": place.name },
          svg("circle", { r: 0.6 }), svg("text", { y: 1.05 }, label(place.name)));
        this.places.append(mark);
        this.placeMarks.set(place.name, mark);
        made(mark, place);
      }
      mark.setAttribute("transform", `translate(${place.x} ${place.y})`);
      mark.dataset.x = place.x;
      mark.dataset.y = place.y;
    }
    for (const [name, mark] of this.placeMarks) {
      if (!seen.has(name)) { mark.remove(); this.placeMarks.delete(name); }
    }
  }

  // Draw every table that has a position; `made(mark, table)` runs once per new marker,
  // `drawn(mark, table)` after each update; a table gone or unplaced loses its marker
  // (`gone(mark)` first).
  drawTables(tables, { made = () => {}, drawn = () => {}, gone = () => {} } = {}) {
    const seen = new Set();
    for (const table of tables) {
      if (table.x === null || table.y === null) continue;
      seen.add(table.id);
      let mark = this.marks.get(table.id);
      if (!mark) {
        mark = { g: svg("g", { class: "table", "data-table-id": table.id }), rect: svg("rect"), text: svg("text") };
        mark.g.append(mark.rect, mark.text);
        this.tables.append(mark.g);
        this.marks.set(table.id, mark);
        made(mark, table);
      }
      const size = 0.6 + Math.min(table.seats, 8) * 0.12;
      mark.g.setAttribute("transform", `translate(${table.x} ${table.y})`);
      mark.g.dataset.label = table.label;
      for (const [key, value] of Object.entries({ class: `t-${table.status}`, x: -size, y: -size * 0.7, width: size * 2, height: size * 1.4 })) {
        mark.rect.setAttribute(key, String(value));
      }
      mark.text.textContent = table.label;
      drawn(mark, table);
    }
    for (const [id, mark] of this.marks) {
      if (!seen.has(id)) { gone(mark); mark.g.remove(); this.marks.delete(id); }
    }
  }

  // A point of the page (a pointer's clientX, clientY) in metres on the map, kept on the floor.
  toFloor(clientX, clientY) {
    const point = new DOMPoint(clientX, clientY).matrixTransform(this.element.getScreenCTM().inverse());
    return { x: Math.min(this.width, Math.max(0, point.x)), y: Math.min(this.height, Math.max(0, point.y)) };
  }

  // Whether a point of the page is over the map.
  covers(clientX, clientY) {
    const box = this.element.getBoundingClientRect();
    return clientX >= box.left && clientX <= box.right && clientY >= box.top && clientY <= box.bottom;
  }
}
