// A camera stream drawn the same way on every page that shows one (SPEC §13 "Cameras"): the
// dashboard's robot cards and the console's Cameras panel. An active stream of a scheme a
// browser shows in an image (the server names them: <body data-stream-schemes>) plays live in
// an <img>, an MJPEG stream and a JPEG alike; any other stream is a link; an image that fails
// to load says "no signal" beside its link. The page's policy allows images from the
// cameras the server knew when it served the page: a camera added later shows after a reload.
import { h, replace } from "./dom.js";
import { t, tOr } from "./i18n.js";

const SCHEMES = JSON.parse(document.body.dataset.streamSchemes || '{"image": [], "link": []}');
const IMAGE = new Set(SCHEMES.image);
const LINK = new Set(SCHEMES.link);

function scheme(url) {
  try { return new URL(url).protocol.slice(0, -1); } catch { return ""; }
}

// A link to the stream, for a player; only for a stream's own schemes (a row another program
// wrote may hold anything), else its address as text.
function link(stream) {
  if (!LINK.has(scheme(stream.url))) return h("span", { class: "stream-link" }, stream.url);
  return h("a", { class: "stream-link", href: stream.url, target: "_blank", rel: "noopener noreferrer" }, stream.url);
}

// One stream's view, rebuilt only when its address or status changes: a robot card redrawn at
// telemetry rate keeps its image playing.
class StreamView {
  constructor(stream, { caption }) {
    this.caption = caption;
    this.root = h("figure", { class: "stream", dataset: { streamId: stream.id } });
    this.key = null;
    this.update(stream);
  }

  update(stream) {
    const key = `${stream.url}\n${stream.status}\n${stream.name}\n${this.caption(stream)}`;
    if (key === this.key) return;
    this.key = key;
    this.root.dataset.name = stream.name;
    const live = stream.status === "active" && IMAGE.has(scheme(stream.url));
    const caption = h("figcaption", {}, h("span", { class: "stream-name" }, this.caption(stream)),
      stream.status === "active" ? null
        : h("span", { class: `stream-status ss-${stream.status}` }, tOr(`stream.status.${stream.status}`, stream.status)));
    if (!live) {
      this.root.dataset.state = "link";
      replace(this.root, caption, link(stream));
      return;
    }
    const image = h("img", { class: "stream-image", src: stream.url, alt: stream.name, decoding: "async" });
    image.addEventListener("load", () => { this.root.dataset.state = "live"; }, { once: true });
    image.addEventListener("error", () => {
      this.root.dataset.state = "no-signal";
      replace(this.root, caption, h("div", { class: "no-signal" }, t("stream.no_signal")), link(stream));
    }, { once: true });
    this.root.dataset.state = "loading";
    replace(this.root, caption, image);
  }
}

// The streams of one place on a page (a robot's card, the Cameras panel), kept by id.
export class StreamList {
  constructor(container, { caption = (stream) => stream.name } = {}) {
    this.container = container;
    this.caption = caption;
    this.views = new Map();
  }

  render(streams) {
    const shown = new Set();
    for (const stream of streams) {
      shown.add(stream.id);
      let view = this.views.get(stream.id);
      if (view) view.update(stream);
      else { view = new StreamView(stream, { caption: this.caption }); this.views.set(stream.id, view); }
      this.container.append(view.root); // re-appending keeps the given order without rebuilding
    }
    for (const [id, view] of this.views) {
      if (!shown.has(id)) { view.root.remove(); this.views.delete(id); }
    }
  }
}

const byName = (a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }) || a.id - b.id;

// A robot's active streams, in name order (the dashboard's robot cards).
export function activeStreamsOf(streams, robotId) {
  return streams.filter((s) => s.robot_id === robotId && s.status === "active").sort(byName);
}

// Every stream: the robots' first, each robot's by name, then the others by name.
export function everyStream(streams) {
  return [...streams].sort((a, b) => (a.robot_id === null) - (b.robot_id === null)
    || (a.robot_id ?? "").localeCompare(b.robot_id ?? "", undefined, { numeric: true }) || byName(a, b));
}
