// What the admin page's tabs share: a refusal shown in the page's failure line, forms read as
// plain values, and the page's data from the server.
import { api } from "./client.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";

export const page = document.body.dataset;
export const listed = (name) => JSON.parse(page[name] || "[]");

const failure = document.getElementById("failure");

// A REST call whose refusal is shown (the server's message: it names what was wrong); null
// then. `button` is disabled while it runs.
export async function send(method, path, body, button = null) {
  if (button) button.disabled = true;
  failure.hidden = true;
  try {
    return (await api(method, path, body)) ?? {};
  } catch (err) {
    failure.textContent = t("admin.failed", { message: err.message });
    failure.hidden = false;
    return null;
  } finally {
    if (button) button.disabled = false;
  }
}

// A number typed in a form, or null when the field is empty.
export function numberOf(value) {
  return value === "" || value === null ? null : Number(value);
}

// A labelled input, as the forms lay them out.
export function field(label, input) {
  return h("label", {}, h("span", {}, label), input);
}

// Asks before a change that cannot be undone.
export function sure(question) {
  return window.confirm(question);
}
