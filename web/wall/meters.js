// Vertical audio meters for one tile, fed with the server's levels (peak and
// RMS in dBFS per channel, five times a second); the browser decodes no
// audio for them. Bars move by transform only (no layout work), with a
// peak-hold line that falls back after PEAK_HOLD_MS.
import { meterLevel } from '../format.js';

const PEAK_HOLD_MS = 1500;

export class Meters {
  constructor(parent) {
    this.root = document.createElement('div');
    this.root.className = 'meters';
    this.root.setAttribute('aria-hidden', 'true');
    this.channels = [];
    parent.append(this.root);
  }

  // `peak` and `rms`: arrays of dBFS numbers, or null for a silent channel.
  update(peak, rms, now = performance.now()) {
    const count = Math.min(8, Array.isArray(peak) ? peak.length : 0);
    this.resize(count);
    for (let i = 0; i < count; i++) {
      const ch = this.channels[i];
      const p = meterLevel(peak[i]);
      const r = meterLevel(Array.isArray(rms) ? rms[i] : null);
      ch.level = p;
      ch.rms.style.transform = `scaleY(${r})`;
      ch.peak.style.transform = `scaleY(${p})`;
      if (p >= ch.held || now - ch.heldAt > PEAK_HOLD_MS) {
        ch.held = p;
        ch.heldAt = now;
        ch.hold.style.bottom = `${(p * 100).toFixed(1)}%`;
        ch.hold.hidden = p <= 0;
      }
      ch.bar.classList.toggle('is-clipping', typeof peak[i] === 'number' && peak[i] > -1);
    }
  }

  // No levels (no stream, no audio, the stream ended): every bar at the floor.
  clear() {
    for (const ch of this.channels) {
      ch.level = 0;
      ch.held = 0;
      ch.rms.style.transform = 'scaleY(0)';
      ch.peak.style.transform = 'scaleY(0)';
      ch.hold.hidden = true;
      ch.bar.classList.remove('is-clipping');
    }
  }

  // What the bars show now (0..1 per channel), for the page's tests.
  levels() {
    return this.channels.map((ch) => ch.level);
  }

  resize(count) {
    while (this.channels.length > count) this.channels.pop().bar.remove();
    while (this.channels.length < count) {
      const bar = document.createElement('span');
      bar.className = 'meter';
      const peak = document.createElement('span');
      peak.className = 'meter-peak';
      const rms = document.createElement('span');
      rms.className = 'meter-rms';
      const hold = document.createElement('span');
      hold.className = 'meter-hold';
      hold.hidden = true;
      bar.append(peak, rms, hold);
      this.root.append(bar);
      this.channels.push({ bar, peak, rms, hold, level: 0, held: 0, heldAt: 0 });
    }
  }
}
