// /print/tables (docs/guests.md): the server drew the cards and their QR codes; here only the
// words in the page's language and the Print button.
import "./i18n.js";

document.getElementById("print").addEventListener("click", () => window.print());
