// The admin page's Cameras tab: the video streams live from their topic, each edited in place
// (name, address, robot, status) or deleted, a new one added, and every one shown as the
// console shows it (stream.js: an active http(s) stream live in an image, others a link).
import { h, replace } from "./dom.js";
import { t, tOr } from "./i18n.js";
import { StreamList, everyStream } from "./stream.js";
import { field, listed, send, sure } from "./admin_forms.js";

const STATUSES = listed("streamStatuses");
const statusOptions = () => STATUSES.map((s) => h("option", { value: s }, tOr(`admin.cameras.status.${s}`, s)));
const statusPick = (chosen) => {
  const pick = h("select", { name: "status" }, statusOptions());
  pick.value = chosen;
  return pick;
};

export class CamerasTab {
  constructor() {
    this.rows = document.getElementById("stream-rows");
    this.views = new StreamList(document.getElementById("stream-views"), {
      caption: (stream) => (stream.robot_id === null ? stream.name : `${stream.robot_id} · ${stream.name}`),
    });
    this.streams = [];
    // A row being typed in is not redrawn under the fingers: the list catches up on leaving it.
    this.rows.addEventListener("focusout", () => setTimeout(() => this.render(this.streams), 0));
    const add = document.getElementById("stream-add");
    replace(add.elements.status, statusOptions());
    add.elements.status.value = "active";
    add.addEventListener("submit", async (event) => {
      event.preventDefault();
      const el = add.elements;
      const made = await send("POST", "/api/video_streams", {
        name: el.name.value.trim(), url: el.url.value.trim(), robot_id: el.robot_id.value.trim() || null, status: el.status.value,
      }, event.submitter);
      if (made) { add.reset(); el.status.value = "active"; }
    });
  }

  render(streams) {
    this.streams = streams;
    const ordered = everyStream(streams);
    if (!this.rows.contains(document.activeElement)) replace(this.rows, ordered.map((stream) => this.row(stream)));
    document.getElementById("no-streams").hidden = ordered.length > 0;
    this.views.render(ordered);
  }

  // The robots a stream may belong to, offered as its robot's id.
  robots(robots) {
    replace(document.getElementById("robot-ids"), robots.map((robot) => h("option", { value: robot.id }, robot.name)));
  }

  row(stream) {
    const name = h("input", { name: "name", value: stream.name, required: true, maxlength: 100, autocomplete: "off" });
    const url = h("input", { name: "url", value: stream.url, required: true, autocomplete: "off" });
    const robot = h("input", { name: "robot_id", value: stream.robot_id ?? "", list: "robot-ids", autocomplete: "off" });
    const status = statusPick(stream.status);
    const save = h("button", { type: "submit", class: "small" }, t("admin.save"));
    const remove = h("button", { type: "button", class: "small danger delete" }, t("admin.delete"));
    const form = h("form", { class: "form row stream-row", dataset: { streamId: stream.id } },
      field(t("admin.cameras.name"), name), h("label", { class: "wide" }, h("span", {}, t("admin.cameras.url")), url),
      field(t("admin.cameras.robot"), robot), field(t("admin.cameras.status"), status), save, remove);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send("PATCH", `/api/video_streams/${stream.id}`, {
        name: name.value.trim(), url: url.value.trim(), robot_id: robot.value.trim() || null, status: status.value,
      }, save);
    });
    remove.addEventListener("click", () => {
      // Done, the row lets go of the focus, so the list redraws without it.
      if (sure(t("admin.cameras.delete_confirm", { name: stream.name }))) send("DELETE", `/api/video_streams/${stream.id}`, undefined, remove).then((done) => done && remove.blur());
    });
    return h("li", {}, form);
  }
}
