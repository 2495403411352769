// The two-tone chime for a new ticket (or a guest's call on the dashboard); "Sound on / off" is
// remembered per tablet, under the key of the screen that chimes.
// document.body.dataset.chimes counts the chimes, for the tests and for whoever wonders.
const KEY = "robodyne.kitchen.muted";

export class Chime {
  constructor(button, labels, key = KEY) {
    this.button = button;
    this.labels = labels; // { on, off }
    this.key = key;
    this.muted = localStorage.getItem(key) === "1";
    this.audio = null;
    button.addEventListener("click", () => {
      this.muted = !this.muted;
      localStorage.setItem(this.key, this.muted ? "1" : "0");
      if (!this.muted) this.unlock(); // a tap unlocks audio on tablets
      this.render();
    });
    this.render();
  }

  unlock() {
    try { this.audio = this.audio || new AudioContext(); } catch { /* no audio here */ }
  }

  render() {
    this.button.textContent = this.muted ? this.labels.off : this.labels.on;
    this.button.setAttribute("aria-pressed", String(this.muted));
  }

  play() {
    if (this.muted) return;
    try {
      this.unlock();
      const now = this.audio.currentTime;
      for (const [i, freq] of [880, 1320].entries()) {
        const osc = this.audio.createOscillator();
        const gain = this.audio.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.25, now + i * 0.18);
        gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.18 + 0.35);
        osc.connect(gain).connect(this.audio.destination);
        osc.start(now + i * 0.18);
        osc.stop(now + i * 0.18 + 0.4);
      }
    } catch (err) { console.warn("no sound:", err); }
    document.body.dataset.chimes = String(Number(document.body.dataset.chimes || 0) + 1);
  }
}
