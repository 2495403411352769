// Always on (SPEC §9): a Screen Wake Lock, taken again whenever the tab comes back (the browser
// drops it when the tab is hidden), and a full-screen toggle. body.dataset.wakeLock says where
// it stands: held, released, refused or unsupported.
export function keepAwake() {
  const state = (value) => { document.body.dataset.wakeLock = value; };
  if (!("wakeLock" in navigator)) { state("unsupported"); return; }
  let lock = null;
  const take = async () => {
    if (document.visibilityState !== "visible" || (lock && !lock.released)) return;
    try {
      lock = await navigator.wakeLock.request("screen");
      state("held");
      lock.addEventListener?.("release", () => state("released"));
    } catch (err) {
      state("refused");
      console.warn("no wake lock:", err);
    }
  };
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") take();
  });
  take();
}

export function toggleFullScreen() {
  if (document.fullscreenElement) return document.exitFullscreen().catch(() => {});
  return document.documentElement.requestFullscreen?.().catch((err) => console.warn("no full screen:", err));
}
