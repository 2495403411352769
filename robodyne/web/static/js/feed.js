// The events feed, shared by the dashboard and the console: newest first, with acknowledge.
import { api } from "./client.js";
import { clock, h, replace } from "./dom.js";
import { t, tOr } from "./i18n.js";

export function renderEvents(list, events, { canAck = true, limit = 200 } = {}) {
  const newest = events.slice(-limit).reverse();
  replace(list, newest.map((event) => {
    const ack = canAck && !event.acknowledged_at
      ? h("button", { class: "small ack", type: "button" }, t("events.ack")) : null;
    if (ack) {
      ack.onclick = async () => {
        ack.disabled = true;
        try { await api("POST", `/api/events/${event.id}/ack`); } catch (err) { alert(err.message); ack.disabled = false; }
      };
    }
    return h("li", { class: event.acknowledged_at ? "acked" : "", dataset: { eventId: event.id, type: event.type } },
      h("span", { class: "when" }, clock(event.created_at)),
      h("span", { class: `sev-${event.severity}` }, tOr(`severity.${event.severity}`, event.severity)),
      h("strong", {}, event.type),
      h("span", { class: "msg" }, event.message),
      h("span", { class: "muted" }, event.source),
      ack);
  }));
}
