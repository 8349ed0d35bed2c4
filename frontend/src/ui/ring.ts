// ring.ts: the ring sound, made with WebAudio (no files): UK double ring,
// 400+450 Hz, 0.4 s on, 0.2 s off, 0.4 s on, 2 s off. Silent if the
// webview has no AudioContext or refuses to start one.

const cycle = 3.0;
const bursts: [number, number][] = [[0, 0.4], [0.6, 1.0]];

export class Ringer {
  private ctx: AudioContext | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private stopAt: ReturnType<typeof setTimeout> | null = null;
  private gain: GainNode | null = null;
  private oscs: OscillatorNode[] = [];
  ringing = false;

  /** start rings until stop, or maxSeconds as a safety net. */
  start(maxSeconds = 30): void {
    if (this.ringing) return;
    this.ringing = true;
    try {
      const AC = (globalThis as unknown as { AudioContext?: typeof AudioContext; webkitAudioContext?: typeof AudioContext }).AudioContext
        ?? (globalThis as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
      if (!AC) return;
      this.ctx = this.ctx ?? new AC();
      void this.ctx.resume?.().catch(() => {});
      this.gain = this.ctx.createGain();
      this.gain.gain.value = 0;
      this.gain.connect(this.ctx.destination);
      for (const f of [400, 450]) {
        const o = this.ctx.createOscillator();
        o.frequency.value = f;
        o.connect(this.gain);
        o.start();
        this.oscs.push(o);
      }
      this.schedule();
      this.timer = setInterval(() => this.schedule(), cycle * 1000);
    } catch {
      // no sound: the card and the desktop notification still show the call
    }
    this.stopAt = setTimeout(() => this.stop(), maxSeconds * 1000);
  }

  private schedule(): void {
    const ctx = this.ctx;
    const g = this.gain?.gain;
    if (!ctx || !g) return;
    try {
      const t0 = ctx.currentTime + 0.05;
      for (const [on, off] of bursts) {
        g.setValueAtTime(0, t0 + on);
        g.linearRampToValueAtTime(0.12, t0 + on + 0.02);
        g.setValueAtTime(0.12, t0 + off - 0.02);
        g.linearRampToValueAtTime(0, t0 + off);
      }
    } catch {
      // ignore
    }
  }

  stop(): void {
    this.ringing = false;
    if (this.timer) clearInterval(this.timer);
    if (this.stopAt) clearTimeout(this.stopAt);
    this.timer = this.stopAt = null;
    try {
      if (this.gain && this.ctx) {
        this.gain.gain.cancelScheduledValues(this.ctx.currentTime);
        this.gain.gain.setValueAtTime(0, this.ctx.currentTime);
        this.gain.disconnect();
      }
    } catch {
      // ignore
    }
    for (const o of this.oscs) {
      try {
        o.stop();
        o.disconnect();
      } catch {
        // ignore
      }
    }
    this.oscs = [];
    this.gain = null;
  }
}
