// Building DOM nodes from data. Text goes in as text nodes only, so nothing the server sends
// (an order note, a robot's log line) can ever become markup.

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) element.setAttribute(key, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

export function age(since, now = Date.now()) {
  const seconds = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  const m = Math.floor(seconds / 60);
  return { seconds, text: `${m}:${String(seconds % 60).padStart(2, "0")}` };
}

export function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString(document.documentElement.lang || undefined) : "";
}

// A page's status line: what the last action did, or why the server refused it (its error
// code kept on the element for the page's styles and tests).
export function showStatus(line, text, { kind = "info", code = "" } = {}) {
  line.textContent = text;
  line.dataset.kind = kind;
  if (code) line.dataset.code = code;
  else delete line.dataset.code;
}
