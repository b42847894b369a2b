// The reservoir arpeggiator at work, as in ReMi's Fig. 2: one row per note it can choose (the
// held notes, over its octaves), the probability p of each over the last seconds as a heat map,
// the notes it chose as dots, and the current p as labelled bars.

import { COLORS, hint, sharpCanvas } from "./canvas.js";
import { noteName } from "./notes.js";

const HEAT = [53, 208, 192]; // COLORS.outputs[0] as RGB: p = 1
const ROW_PX = 18;
const MIN_HEIGHT = 150;
const MAX_HEIGHT = 380;

export class ArpView {
  constructor(canvas, { seconds = 4 } = {}) {
    this.canvas = canvas;
    this.seconds = seconds;
    this.history = []; // {time, pitches, probs}
    this.chosen = []; // {time, pitch}
    this.now = 0;
    this.mode = "reservoir";
    this.rows = 0;
    this.redraw = sharpCanvas(canvas, (ctx, w, h) => this.draw(ctx, w, h));
  }

  /** A snapshot at `time` seconds: the entries' pitches and their p. */
  push(time, pitches, probs) {
    this.now = time;
    this.history.push({ time, pitches: Array.from(pitches), probs: Array.from(probs) });
    const old = time - this.seconds - 0.5;
    while (this.history.length > 2 && this.history[0].time < old) this.history.shift();
    while (this.chosen.length && this.chosen[0].time < old) this.chosen.shift();
    this.fit(pitches.length);
  }

  /** A note the arpeggiator chose, at `time` seconds. */
  choose(time, pitch) {
    this.chosen.push({ time, pitch });
  }

  /** The arpeggiator mode's name: p only drives the choice in "reservoir" mode. */
  setMode(name) {
    this.mode = name;
  }

  /** Grows the canvas with the number of rows so note names stay readable. */
  fit(rows) {
    if (rows === this.rows) return;
    this.rows = rows;
    const height = Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, rows * ROW_PX + 12));
    this.canvas.style.height = `${height}px`;
  }

  draw(ctx, w, h) {
    ctx.fillStyle = COLORS.background;
    ctx.fillRect(0, 0, w, h);
    const latest = this.history.at(-1);
    if (!latest || latest.pitches.length === 0) {
      hint(ctx, w, h, latest ? "Hold a chord: p per note shows here" : "Start audio, then hold a chord");
      return;
    }
    // Highest note on top, like a piano roll.
    const rows = latest.pitches.map((pitch, i) => ({ pitch, p: latest.probs[i] ?? 0 }))
      .sort((a, b) => b.pitch - a.pitch);
    const rowOf = new Map(rows.map((r, i) => [r.pitch, i]));
    const top = 6;
    const rowH = (h - 2 * top) / rows.length;
    const labelW = 40;
    const barW = Math.max(80, Math.min(180, w * 0.28));
    const heatX = labelW;
    const heatW = w - labelW - barW - 8;
    const x = (t) => heatX + heatW - ((this.now - t) / this.seconds) * heatW;

    // History: each snapshot's p, held until the next one.
    for (let s = 0; s < this.history.length; s++) {
      const snap = this.history[s];
      const x0 = Math.max(heatX, x(snap.time));
      const x1 = s + 1 < this.history.length ? x(this.history[s + 1].time) : heatX + heatW;
      if (x1 <= heatX) continue;
      snap.pitches.forEach((pitch, i) => {
        const row = rowOf.get(pitch);
        if (row === undefined) return;
        ctx.fillStyle = heat(snap.probs[i] ?? 0);
        ctx.fillRect(x0, top + row * rowH, x1 - x0 + 0.5, rowH - 1);
      });
    }
    // The chosen notes.
    ctx.fillStyle = "#ffffff";
    const r = Math.max(2, Math.min(4, rowH / 3));
    for (const c of this.chosen) {
      const row = rowOf.get(c.pitch);
      const cx = x(c.time);
      if (row === undefined || cx < heatX) continue;
      ctx.beginPath();
      ctx.arc(cx, top + (row + 0.5) * rowH - 0.5, r, 0, 2 * Math.PI);
      ctx.fill();
    }
    // Labels and the current p as bars.
    const font = Math.max(9, Math.min(12, rowH - 3));
    ctx.font = `${font}px system-ui, sans-serif`;
    ctx.textBaseline = "middle";
    const barX = w - barW;
    rows.forEach((row, i) => {
      const cy = top + (i + 0.5) * rowH - 0.5;
      ctx.fillStyle = COLORS.text;
      ctx.textAlign = "right";
      ctx.fillText(noteName(row.pitch), labelW - 6, cy);
      ctx.fillStyle = COLORS.grid;
      ctx.fillRect(barX, top + i * rowH + 1, barW - 40, rowH - 3);
      ctx.fillStyle = COLORS.outputs[0];
      ctx.fillRect(barX, top + i * rowH + 1, (barW - 40) * Math.min(1, row.p), rowH - 3);
      ctx.fillStyle = COLORS.text;
      ctx.textAlign = "left";
      ctx.fillText(`${Math.round(row.p * 100)}%`, w - 36, cy);
    });
    if (this.mode !== "reservoir") {
      ctx.fillStyle = "rgba(11, 17, 24, 0.8)";
      ctx.fillRect(heatX, top, heatW, 20);
      ctx.fillStyle = COLORS.text;
      ctx.textAlign = "left";
      ctx.font = "12px system-ui, sans-serif";
      ctx.fillText(`Mode "${this.mode}" does not use p`, heatX + 6, top + 10);
    }
  }
}

function heat(p) {
  // Square root: with a dozen notes most p are small, and they should still be told apart.
  const a = Math.sqrt(Math.min(1, Math.max(0, p)));
  const base = [11, 17, 24];
  const [r, g, b] = base.map((c, i) => Math.round(c + (HEAT[i] - c) * a));
  return `rgb(${r}, ${g}, ${b})`;
}
