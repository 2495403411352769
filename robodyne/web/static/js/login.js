// /login (docs/operations.md, "Pairing a tablet"): the form posts the secret itself; the server
// filled in where to go afterwards and whether the last try failed. Here only the words, and a
// code typed the way the dashboard shows it ("123 456") sent as its six digits.
import "./i18n.js";

const form = document.getElementById("login");
const secret = document.getElementById("secret");
form.addEventListener("submit", () => {
  const typed = secret.value.trim();
  const digits = typed.replace(/[\s-]/g, "");
  secret.value = /^\d{6}$/.test(digits) ? digits : typed;
});
