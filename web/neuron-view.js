// The LFO reservoir's first 64 neurons over time: one row per neuron, newest on the right,
// blue for negative and amber for positive activity (tanh, so −1…1).

import { COLORS, hint, sharpCanvas } from "./canvas.js";

const COLUMNS = 120; // snapshots kept: about 4 s at the worklet's 30 per second

/** An RGB triple for an activity in −1…1 over the view's dark background. */
function shade(v) {
  const a = Math.min(1, Math.abs(v));
  const base = [11, 17, 24];
  const hot = v >= 0 ? [255, 180, 84] : [80, 150, 255];
  return base.map((b, i) => Math.round(b + (hot[i] - b) * Math.sqrt(a)));
}

export class NeuronView {
  constructor(canvas, neurons = 64) {
    this.neurons = neurons;
    this.columns = 0;
    // The history lives in a small offscreen image (one pixel per neuron and snapshot) that is
    // scrolled by one column per snapshot and scaled up to the canvas without smoothing.
    this.image = document.createElement("canvas");
    this.image.width = COLUMNS;
    this.image.height = neurons;
    this.imageCtx = this.image.getContext("2d");
    this.imageCtx.fillStyle = COLORS.background;
    this.imageCtx.fillRect(0, 0, COLUMNS, neurons);
    this.column = this.imageCtx.createImageData(1, neurons);
    this.redraw = sharpCanvas(canvas, (ctx, w, h) => this.draw(ctx, w, h));
  }

  push(activities) {
    const ctx = this.imageCtx;
    ctx.drawImage(this.image, -1, 0);
    const data = this.column.data;
    for (let i = 0; i < this.neurons; i++) {
      const [r, g, b] = shade(activities[i] ?? 0);
      data.set([r, g, b, 255], i * 4);
    }
    ctx.putImageData(this.column, COLUMNS - 1, 0);
    this.columns += 1;
  }

  draw(ctx, w, h) {
    ctx.fillStyle = COLORS.background;
    ctx.fillRect(0, 0, w, h);
    if (this.columns === 0) {
      hint(ctx, w, h, "Start audio");
      return;
    }
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.image, 0, 0, w, h);
  }
}
