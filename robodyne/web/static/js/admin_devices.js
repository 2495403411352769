// The admin page's Devices tab: every token the server knows (GET /api/tokens: by id, never
// the token), revoked after a confirmation as `robodyne tokens revoke` does — a token of the
// config file cannot be, and says so — and pairing codes for new tablets (pairing.js). Tokens
// are no topic: the list is read when the tab opens, after each change, and every 10 s.
import { h, replace } from "./dom.js";
import { lang, t, tOr } from "./i18n.js";
import { api } from "./client.js";
import { PairingPanel } from "./pairing.js";
import { listed, send, sure } from "./admin_forms.js";

const EVERY_MS = 10000;
const when = (iso) => new Date(iso).toLocaleString(lang, { dateStyle: "short", timeStyle: "short" });

export class DevicesTab {
  constructor() {
    this.body = document.getElementById("devices");
    this.pairing = new PairingPanel(document.getElementById("pair-panel"), listed("pairRoles"));
    this.enabled = false;
    // A code made here becomes a token when a tablet uses it: the list shows it then.
    this.pairing.form.addEventListener("submit", () => setTimeout(() => this.refresh(), 0));
  }

  enable() {
    this.enabled = true;
    this.refresh();
    setInterval(() => { if (document.body.dataset.tab === "devices") this.refresh(); }, EVERY_MS);
  }

  async refresh() {
    if (!this.enabled) return;
    try {
      const tokens = await api("GET", "/api/tokens");
      replace(this.body, tokens.items.map((token) => this.row(token)));
    } catch { /* shown again at the next refresh */ }
  }

  row(token) {
    const fromConfig = token.source === "config";
    const revoke = fromConfig
      ? h("span", { class: "muted why" }, t("admin.devices.config_only"))
      : h("button", { type: "button", class: "small danger revoke" }, t("admin.devices.revoke"));
    if (!fromConfig) {
      revoke.addEventListener("click", async () => {
        const name = token.label || token.id;
        if (!sure(t("admin.devices.revoke_confirm", { name }))) return;
        if (await send("DELETE", `/api/tokens/${token.id}`, undefined, revoke)) this.refresh();
      });
    }
    return h("tr", { class: "device", dataset: { tokenId: token.id, source: token.source } },
      h("td", {}, token.label || "—"), h("td", {}, tOr(`role.${token.role}`, token.role)),
      h("td", {}, token.robot_id ?? ""), h("td", {}, t(`admin.devices.source.${token.source}`)),
      h("td", {}, token.created_at ? when(token.created_at) : "—"),
      h("td", {}, token.last_seen_at ? when(token.last_seen_at) : t("admin.devices.never")), h("td", {}, revoke));
  }
}
