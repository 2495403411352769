// A table's guest view link (SPEC §11.2): the table's own page, opened in a new tab. The
// url holds the table's secret code, which no topic carries: it is asked for (GET
// /api/tables/{id}/link) when someone points at or focuses the link, and at the latest on the
// click, so the page never holds every table's code.
import { api } from "./client.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";

async function fetchUrl(link) {
  link.pending ??= api("GET", `/api/tables/${link.dataset.tableId}/link`)
    .then((answer) => { link.href = answer.url; link.dataset.ready = "1"; return answer.url; })
    .finally(() => { link.pending = null; });
  return link.pending;
}

export function guestViewLink(tableId, label) {
  const link = h("a", {
    class: "guest-view", href: "#", target: "_blank", rel: "noopener noreferrer", dataset: { tableId },
    title: t("tablelink.guest_view_title", { table: label }), "aria-label": t("tablelink.guest_view_title", { table: label }),
  }, t("tablelink.guest_view"));
  // A link whose address is known opens natively (middle click, the browser's own menu too).
  const ready = () => { if (!link.dataset.ready) fetchUrl(link).catch(() => {}); };
  link.addEventListener("pointerenter", ready);
  link.addEventListener("focus", ready);
  link.addEventListener("click", async (event) => {
    if (link.dataset.ready) return;
    event.preventDefault();
    try {
      const url = await fetchUrl(link);
      window.open(url, "_blank", "noopener,noreferrer");
    } catch (err) { alert(err.message); }
  });
  return link;
}
