// The LFO's outputs over the last few seconds, as a scrolling scope (values 0–1, one trace per
// active output, coloured like its row in the outputs table).

import { COLORS, hint, sharpCanvas } from "./canvas.js";

export class ScopeView {
  constructor(canvas, { seconds = 4 } = {}) {
    this.seconds = seconds;
    this.points = []; // {time (s), values}
    this.active = 4;
    this.labels = [];
    this.running = false;
    this.redraw = sharpCanvas(canvas, (ctx, w, h) => this.draw(ctx, w, h));
  }

  /** Adds a snapshot taken at `time` seconds (context clock). */
  push(time, values) {
    this.running = true;
    this.points.push({ time, values: Array.from(values) });
    while (this.points.length > 2 && this.points[0].time < time - this.seconds - 0.5) this.points.shift();
  }

  /** How many outputs are in use and where each goes ("cutoff", "pan", …). */
  configure(active, labels) {
    this.active = active;
    this.labels = labels;
  }

  draw(ctx, w, h) {
    ctx.fillStyle = COLORS.background;
    ctx.fillRect(0, 0, w, h);
    const top = 6;
    const bottom = h - 6;
    const y = (v) => bottom - Math.min(1, Math.max(0, v)) * (bottom - top);
    ctx.strokeStyle = COLORS.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const v of [0, 0.5, 1]) {
      ctx.moveTo(0, Math.round(y(v)) + 0.5);
      ctx.lineTo(w, Math.round(y(v)) + 0.5);
    }
    for (let s = 1; s < this.seconds; s++) {
      const x = Math.round(w - (s / this.seconds) * w) + 0.5;
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
    }
    ctx.stroke();
    if (!this.running) {
      hint(ctx, w, h, "Start audio to see the LFO");
      return;
    }
    const now = this.points.at(-1).time;
    const x = (t) => w - ((now - t) / this.seconds) * w;
    ctx.lineWidth = 2;
    ctx.lineJoin = "round";
    for (let k = 0; k < this.active; k++) {
      ctx.strokeStyle = COLORS.outputs[k];
      ctx.beginPath();
      this.points.forEach((p, i) => (i ? ctx.lineTo(x(p.time), y(p.values[k])) : ctx.moveTo(x(p.time), y(p.values[k]))));
      ctx.stroke();
    }
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    let lx = 8;
    for (let k = 0; k < this.active; k++) {
      const text = `${k + 1} → ${this.labels[k] ?? ""}`;
      ctx.fillStyle = COLORS.background;
      const tw = ctx.measureText(text).width;
      ctx.fillRect(lx - 3, 6, tw + 6, 16);
      ctx.fillStyle = COLORS.outputs[k];
      ctx.fillText(text, lx, 8);
      lx += tw + 14;
    }
  }
}
