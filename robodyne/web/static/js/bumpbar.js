// The bump bar (SPEC §9): a bump bar types keys, so the whole screen works from a keyboard.
// 1–9 select the n-th ticket; ← → move between tickets; ↑ ↓ move through the selected ticket's
// items; Enter or Space crosses off the item under the cursor, or else bumps the ticket;
// R recalls; U toggles rush (expo); F full screen; Escape clears the item cursor, then the
// selection. Letters are read from event.code, so a Korean keyboard layout works the same.
const INTERACTIVE = new Set(["BUTTON", "A", "INPUT", "SELECT", "TEXTAREA"]);

export function bindBumpBar(actions) {
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const onControl = INTERACTIVE.has(event.target?.tagName);
    const digit = /^(Digit|Numpad)([1-9])$/.exec(event.code) ?? /^()([1-9])$/.exec(event.key);
    let handled = true;
    if (digit) actions.select(Number(digit[2]) - 1);
    else if (event.key === "ArrowLeft") actions.move(-1);
    else if (event.key === "ArrowRight") actions.move(1);
    else if (event.key === "ArrowUp") actions.cursor(-1);
    else if (event.key === "ArrowDown") actions.cursor(1);
    else if ((event.key === "Enter" || event.key === " ") && !onControl) actions.enter();
    else if (event.code === "KeyR") actions.recall();
    else if (event.code === "KeyU") actions.rush();
    else if (event.code === "KeyF") actions.fullscreen();
    else if (event.key === "Escape") { actions.clear(); if (onControl) event.target.blur(); }
    else handled = false;
    if (handled) event.preventDefault();
  });
}
