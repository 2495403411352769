// The party page's alert (SPEC §12.4): a WebAudio beep — no <audio>, no file — and a vibration
// where the phone allows. Browsers start audio only after a tap on the page, so the sound is off
// until the party taps "Turn on sound" (which beeps once, to show it works); a tap turns it off.
// document.body.dataset.beeps counts the beeps played, for the tests and for whoever wonders.
const PATTERN = [[880, 0], [1175, 0.22], [880, 0.6], [1175, 0.82]]; // (Hz, start s): two pairs
const BUZZ = [300, 150, 300, 150, 600]; // ms on, off, on…

export class Alarm {
  constructor(button, labels) {
    this.button = button;
    this.labels = labels; // { off: "Turn on sound", on: "Sound on" }
    this.audio = null;
    this.on = false;
    button.addEventListener("click", () => {
      this.on = !this.on;
      if (this.on) {
        this.unlock();
        this.beep([[880, 0]]);
      }
      this.render();
    });
    this.render();
  }

  unlock() {
    try {
      this.audio = this.audio || new AudioContext();
      if (this.audio.state === "suspended") this.audio.resume();
    } catch { /* no audio on this phone: the vibration and the page remain */ }
  }

  render() {
    this.button.textContent = this.on ? this.labels.on : this.labels.off;
    this.button.setAttribute("aria-pressed", String(this.on));
  }

  // The table is ready: beep (when sound is on) and vibrate (where the phone can).
  ring() {
    if (this.on) this.beep(PATTERN);
    try { navigator.vibrate?.(BUZZ); } catch { /* not allowed here */ }
  }

  beep(notes) {
    if (!this.audio) return;
    try {
      const now = this.audio.currentTime;
      for (const [freq, at] of notes) {
        const osc = this.audio.createOscillator();
        const gain = this.audio.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.3, now + at);
        gain.gain.exponentialRampToValueAtTime(0.001, now + at + 0.2);
        osc.connect(gain).connect(this.audio.destination);
        osc.start(now + at);
        osc.stop(now + at + 0.22);
      }
    } catch (err) { console.warn("no sound:", err); }
    document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
  }
}
