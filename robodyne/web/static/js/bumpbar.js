// The bump bar (SPEC §9): a bump bar types keys, so the whole screen works from a keyboard.
// 1–9 select the n-th ticket; ← → move between tickets; ↑ ↓ move through the selected ticket's
// items; Enter or Space crosses off the item under the cursor, or else bumps the ticket;
// R recalls; U toggles rush (expo); F full screen; Escape clears the item cursor, then the
// selection. Letters are read from event.code, so a Korean keyboard layout works the same.
const INTERACTIVE = new Set(["BUTTON", "A", "INPUT", "SELECT", "TEXTAREA"]);
const TAPPED = new Set(["BUTTON", "A"]);

export function bindBumpBar(actions) {
  const focused = () => INTERACTIVE.has(document.activeElement?.tagName);
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const digit = /^(Digit|Numpad)([1-9])$/.exec(event.code) ?? /^()([1-9])$/.exec(event.key);
    // A digit or an arrow means the bump bar took over from a tap: Space and Enter must then
    // act on the selection, not press the item button the finger left focused.
    if ((digit || event.key.startsWith("Arrow")) && TAPPED.has(document.activeElement?.tagName)) {
      document.activeElement.blur();
    }
    let handled = true;
    if (digit) actions.select(Number(digit[2]) - 1);
    else if (event.key === "ArrowLeft") actions.move(-1);
    else if (event.key === "ArrowRight") actions.move(1);
    else if (event.key === "ArrowUp") actions.cursor(-1);
    else if (event.key === "ArrowDown") actions.cursor(1);
    else if ((event.key === "Enter" || event.key === " ") && !focused()) actions.enter();
    else if (event.code === "KeyR") actions.recall();
    else if (event.code === "KeyU") actions.rush();
    else if (event.code === "KeyF") actions.fullscreen();
    else if (event.key === "Escape") { actions.clear(); if (focused()) document.activeElement.blur(); }
    else handled = false;
    if (handled) event.preventDefault();
  });
}
