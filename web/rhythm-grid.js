// A rhythm track's 32-step grid, from the worklet's "view" snapshot (snapshot_layout().rhythm):
// each step shaded by the decoder's probability, the hits (probability ≥ threshold, within the
// length) marked, steps past the length dimmed, and the step playing outlined. Two rows of 16:
// bar 1 over bar 2. Its text alternative is the hit pattern, updated only when it changes.

import { COLORS, sharpCanvas } from "./canvas.js";

const STEPS = 32;

/** "x...x..x" per bar, bars separated by "|": a rhythm as text (velocities or hits, 0 = rest). */
export function patternText(steps) {
  let out = "";
  for (let i = 0; i < STEPS; i++) {
    if (i === 16) out += " | ";
    else if (i > 0 && i % 4 === 0) out += " ";
    out += steps[i] > 0 ? "x" : ".";
  }
  return out;
}

export class RhythmGrid {
  /** `canvas`; `track` 1–3; `state`: the PatchState (threshold and length). */
  constructor(canvas, track, state) {
    this.canvas = canvas;
    this.state = state;
    this.keys = { thr: `rh${track}.thr`, len: `rh${track}.len` };
    this.prob = new Float32Array(STEPS);
    this.step = -1;
    this.ready = false;
    this.label = "";
    this.track = track;
    this.redraw = sharpCanvas(canvas, (ctx, w, h) => this.draw(ctx, w, h));
    state.addEventListener("change", (e) => {
      if (e.key === this.keys.thr || e.key === this.keys.len || e.key === "*") this.redraw();
    });
  }

  /** The track's values from a "view" snapshot: `at` is its first value (prob, then velocity, step, ready). */
  snapshot(view, at, fields) {
    const prob = view.subarray(at + fields.prob, at + fields.prob + STEPS);
    const step = Math.round(view[at + fields.step]);
    const ready = view[at + fields.ready] > 0.5;
    let same = step === this.step && ready === this.ready;
    for (let i = 0; same && i < STEPS; i++) same = prob[i] === this.prob[i];
    if (same) return;
    this.prob.set(prob);
    this.step = step;
    this.ready = ready;
    this.redraw();
  }

  /** Steps that play: probability at or above the threshold, within the length. */
  hits() {
    const thr = this.state.value(this.keys.thr);
    const len = this.state.value(this.keys.len);
    return Array.from(this.prob, (p, i) => (this.ready && i < len && p >= thr ? 1 : 0));
  }

  draw(ctx, width, height) {
    ctx.fillStyle = COLORS.background;
    ctx.fillRect(0, 0, width, height);
    const hits = this.hits();
    const len = this.state.value(this.keys.len);
    const cw = width / 16;
    const ch = height / 2;
    for (let i = 0; i < STEPS; i++) {
      const x = (i % 16) * cw;
      const y = Math.floor(i / 16) * ch;
      const p = this.ready ? this.prob[i] : 0;
      ctx.globalAlpha = i < len ? 1 : 0.3;
      ctx.fillStyle = `rgba(53, 208, 192, ${(0.08 + 0.72 * p).toFixed(3)})`;
      ctx.fillRect(x + 1, y + 1, cw - 2, ch - 2);
      if (hits[i]) {
        ctx.fillStyle = COLORS.outputs[1];
        ctx.beginPath();
        ctx.arc(x + cw / 2, y + ch / 2, Math.min(cw, ch) * 0.2, 0, 2 * Math.PI);
        ctx.fill();
      }
      if (i % 4 === 0) {
        ctx.fillStyle = COLORS.grid;
        ctx.fillRect(x, y, 1, ch);
      }
    }
    ctx.globalAlpha = 1;
    if (this.step >= 0 && this.step < STEPS) {
      ctx.strokeStyle = "#e6edf3";
      ctx.lineWidth = 2;
      ctx.strokeRect((this.step % 16) * cw + 1, Math.floor(this.step / 16) * ch + 1, cw - 2, ch - 2);
    }
    const label = this.ready
      ? `Track ${this.track} pattern (x: a hit): ${patternText(hits)}`
      : `Track ${this.track}: no model to play yet`;
    if (label !== this.label) {
      this.canvas.setAttribute("aria-label", label);
      this.canvas.dataset.hits = hits.join("");
      this.label = label;
    }
  }
}
