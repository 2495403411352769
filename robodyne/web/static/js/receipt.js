// /receipt/{visit_id} (docs/pages.md "Receipt"): the server drew the receipt in the page's
// language; here only the Print button.
document.getElementById("print").addEventListener("click", () => window.print());
