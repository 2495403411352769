// The dashboard's pairing panel (docs/operations.md, "Pairing a tablet"): an admin makes a
// six-digit code for a role and a label, and reads it out with where to type it, until it
// runs out.
import { idempotencyKey } from "./client.js";
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";

const TICK_MS = 1000;
// The Date header counts whole seconds: a smaller difference is that, not a wrong clock.
const SKEW_IGNORED_MS = 2000;

// How far the server's clock is ahead of this screen's, so that the countdown ends when the
// server stops taking the code even where this screen's clock is minutes off.
function clockSkew(response, sent) {
  const serverNow = Date.parse(response.headers.get("Date") ?? "") + 500;
  const skew = serverNow - (sent + Date.now()) / 2;
  return Number.isNaN(skew) || Math.abs(skew) < SKEW_IGNORED_MS ? 0 : skew;
}

export class PairingPanel {
  // Drawn into `root` (an empty section of the page: the dashboard's, the admin page's).
  constructor(root, roles) {
    this.root = root;
    this.role = h("select", { id: "pair-role", name: "role" }, roles.map((role) => h("option", { value: role }, t(`role.${role}`))));
    this.label = h("input", { id: "pair-label", name: "label", maxlength: 60, autocomplete: "off", placeholder: t("pair.label_placeholder") });
    this.button = h("button", { id: "pair-make", type: "submit", class: "primary" }, t("pair.make"));
    this.form = h("form", { id: "pair-form", class: "pair-form" },
      h("label", {}, h("span", {}, t("pair.role")), " ", this.role),
      h("label", {}, h("span", {}, t("pair.label")), " ", this.label), this.button);
    this.error = h("p", { id: "pair-error", class: "sev-error", role: "alert", hidden: true });
    this.shown = h("div", { id: "pair-code", class: "pair-code", "aria-live": "polite", hidden: true });
    replace(root, h("h2", {}, t("pair.heading")), this.form, this.error, this.shown);
    this.timer = null;
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.make(); });
  }

  // Shown to those who may make tokens (admin), once /api/me has said so.
  enable(allowed) {
    this.root.hidden = !allowed;
  }

  async make() {
    this.button.disabled = true;
    this.error.hidden = true;
    try {
      const sent = Date.now();
      const response = await fetch("/api/pairing", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Idempotency-Key": idempotencyKey() },
        body: JSON.stringify({ role: this.role.value, label: this.label.value.trim() }),
      });
      let body = null;
      try { body = await response.json(); } catch { /* not JSON */ }
      if (!response.ok) throw new Error(body?.error?.message ?? response.statusText);
      this.show(body, Date.parse(body.expires_at) - clockSkew(response, sent));
    } catch (err) {
      this.error.textContent = t("pair.failed", { message: err.message });
      this.error.hidden = false;
    } finally {
      this.button.disabled = false;
    }
  }

  show(pairing, expiresAt) {
    const login = `${location.origin}/login`;
    const [before, after = ""] = t("pair.instruction").split("{url}");
    const role = t(`role.${pairing.role}`);
    replace(this.shown,
      h("output", { class: "digits", id: "pair-digits", dataset: { code: pairing.code } }, pairing.code),
      h("p", { class: "pair-for", id: "pair-for" }, pairing.label ? t("pair.for", { role, label: pairing.label }) : role),
      h("p", { class: "expires", id: "pair-expires" }),
      h("p", { class: "how", id: "pair-how" }, before, h("strong", { class: "url" }, login), after));
    this.shown.hidden = false;
    this.shown.classList.remove("expired");
    const expires = this.shown.querySelector("#pair-expires");
    clearInterval(this.timer);
    const tick = () => {
      const left = Math.ceil((expiresAt - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(this.timer);
        this.shown.classList.add("expired");
        expires.textContent = t("pair.expired");
        return;
      }
      const time = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
      expires.textContent = t("pair.expires_in", { time });
    };
    tick();
    this.timer = setInterval(tick, TICK_MS);
  }
}
