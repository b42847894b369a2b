// A rhythm track's X/Y pad: the point fed to the track's decoder (parameters rhN.x, rhN.y, so
// links and MIDI learn work as for any knob), drawn over the scatter of the training set's latent
// points. Pointer: press or drag sets the point; hovering a training rhythm shows its pattern.
// Keyboard (the canvas is focusable, role slider): arrows move X (left/right) and Y (up/down),
// Shift for fine steps, Page Up/Down for big ones. A select beside it jumps to a training rhythm.

import { COLORS, hint, sharpCanvas } from "./canvas.js";
import { patternText } from "./rhythm-grid.js";

// The view when there is no scatter: the latent values the paper's models give are about 0..5.
const DEFAULT_VIEW = [-2, 8, -2, 8];
// Parameter range of X and Y (the engine's rhN.x / rhN.y).
const LIMIT = 50;
// Arrow-key steps per view width (Shift: ten times finer; Page keys: ten times coarser).
const KEY_STEPS = 50;
// A hovered point is the nearest within this many CSS pixels.
const HOVER_PX = 10;

export class RhythmPad {
  /**
   * `elements`: {canvas, hover (text under the pad), jump (a select of the training rhythms)};
   * `track` 1–3; `state`: the PatchState.
   */
  constructor(elements, track, state) {
    this.canvas = elements.canvas;
    this.hoverEl = elements.hover;
    this.jump = elements.jump;
    this.state = state;
    this.keys = { x: `rh${track}.x`, y: `rh${track}.y` };
    this.track = track;
    this.scatter = null;
    this.view = DEFAULT_VIEW;
    this.hovered = -1;
    this.size = { width: 1, height: 1 };
    this.redraw = sharpCanvas(this.canvas, (ctx, width, height) => this.draw(ctx, width, height));
    this.listen();
    state.addEventListener("change", (e) => {
      if (e.key === this.keys.x || e.key === this.keys.y || e.key === "*") this.moved();
    });
    this.jump.addEventListener("change", () => this.jumpTo(Number(this.jump.value)));
    this.moved();
  }

  /** The training set's points: `{points: [x, y …], velocities (32 per rhythm), sources}`, or null. */
  setScatter(scatter) {
    this.scatter = scatter && scatter.points.length > 0 ? scatter : null;
    this.view = this.scatter ? fit(this.scatter.points) : DEFAULT_VIEW;
    this.canvas.dataset.view = this.view.map((v) => v.toFixed(4)).join(",");
    this.hovered = -1;
    this.hoverEl.textContent = "";
    this.fillJump();
    this.redraw();
  }

  fillJump() {
    const options = [new Option(this.scatter ? "Jump to a training rhythm…" : "No training rhythms yet", "")];
    const n = this.scatter ? this.scatter.points.length / 2 : 0;
    for (let i = 0; i < n; i++) {
      const name = this.scatter.sources[i] ?? `rhythm ${i + 1}`;
      options.push(new Option(`${name}: ${patternText(this.velocitiesOf(i))}`, String(i)));
    }
    this.jump.replaceChildren(...options);
    this.jump.disabled = n === 0;
  }

  velocitiesOf(i) {
    return this.scatter.velocities.subarray(32 * i, 32 * i + 32);
  }

  jumpTo(i) {
    if (!this.scatter || !(i >= 0)) return;
    this.set(this.scatter.points[2 * i], this.scatter.points[2 * i + 1]);
    this.jump.value = "";
  }

  set(x, y) {
    this.state.set(this.keys.x, clamp(x));
    this.state.set(this.keys.y, clamp(y));
  }

  point() {
    return { x: this.state.value(this.keys.x), y: this.state.value(this.keys.y) };
  }

  moved() {
    const { x, y } = this.point();
    this.canvas.setAttribute("aria-valuenow", x.toFixed(2));
    this.canvas.setAttribute("aria-valuetext", `X ${x.toFixed(2)}, Y ${y.toFixed(2)}`);
    this.redraw();
  }

  /** CSS pixel of latent point (x, y) and back. */
  toPixel(x, y) {
    const [x0, x1, y0, y1] = this.view;
    return [((x - x0) / (x1 - x0)) * this.size.width, (1 - (y - y0) / (y1 - y0)) * this.size.height];
  }

  fromPixel(px, py) {
    const [x0, x1, y0, y1] = this.view;
    return [x0 + (px / this.size.width) * (x1 - x0), y0 + (1 - py / this.size.height) * (y1 - y0)];
  }

  listen() {
    const c = this.canvas;
    const at = (e) => {
      const rect = c.getBoundingClientRect();
      return [e.clientX - rect.left, e.clientY - rect.top];
    };
    c.addEventListener("pointerdown", (e) => {
      c.setPointerCapture(e.pointerId);
      c.focus();
      this.set(...this.fromPixel(...at(e)));
      e.preventDefault();
    });
    c.addEventListener("pointermove", (e) => {
      if (c.hasPointerCapture(e.pointerId)) this.set(...this.fromPixel(...at(e)));
      this.hover(...at(e));
    });
    c.addEventListener("pointerleave", () => this.hover(-1e9, -1e9));
    c.addEventListener("keydown", (e) => this.key(e));
  }

  key(e) {
    const dirs = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    let dir = dirs[e.key];
    let scale = e.shiftKey ? 0.1 : 1;
    if (e.key === "PageUp" || e.key === "PageDown") {
      dir = [0, e.key === "PageUp" ? 1 : -1];
      scale = 10;
    }
    if (!dir) return;
    e.preventDefault();
    const [x0, x1, y0, y1] = this.view;
    const { x, y } = this.point();
    this.set(x + (dir[0] * scale * (x1 - x0)) / KEY_STEPS, y + (dir[1] * scale * (y1 - y0)) / KEY_STEPS);
  }

  hover(px, py) {
    let best = -1;
    let bestD = HOVER_PX * HOVER_PX;
    const n = this.scatter ? this.scatter.points.length / 2 : 0;
    for (let i = 0; i < n; i++) {
      const [qx, qy] = this.toPixel(this.scatter.points[2 * i], this.scatter.points[2 * i + 1]);
      const d = (qx - px) ** 2 + (qy - py) ** 2;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    if (best === this.hovered) return;
    this.hovered = best;
    this.hoverEl.textContent = best < 0 ? "" : `${this.scatter.sources[best] ?? `rhythm ${best + 1}`}: ${patternText(this.velocitiesOf(best))}`;
    this.redraw();
  }

  /** Shades the part of the view outside the reachable X, Y (±LIMIT). */
  shadeUnreachable(ctx, width, height) {
    const [left, top] = this.toPixel(-LIMIT, LIMIT);
    const [right, bottom] = this.toPixel(LIMIT, -LIMIT);
    ctx.fillStyle = "rgba(255, 255, 255, 0.06)";
    ctx.fillRect(0, 0, width, Math.max(0, top));
    ctx.fillRect(0, bottom, width, Math.max(0, height - bottom));
    ctx.fillRect(0, 0, Math.max(0, left), height);
    ctx.fillRect(right, 0, Math.max(0, width - right), height);
  }

  draw(ctx, width, height) {
    this.size = { width, height };
    ctx.fillStyle = COLORS.background;
    ctx.fillRect(0, 0, width, height);
    this.shadeUnreachable(ctx, width, height);
    const n = this.scatter ? this.scatter.points.length / 2 : 0;
    if (n === 0) hint(ctx, width, height / 4, "No scatter: train a model, or load one");
    ctx.fillStyle = "rgba(169, 184, 201, 0.55)";
    for (let i = 0; i < n; i++) {
      const [px, py] = this.toPixel(this.scatter.points[2 * i], this.scatter.points[2 * i + 1]);
      ctx.fillRect(px - 1.5, py - 1.5, 3, 3);
    }
    if (this.hovered >= 0) {
      const [px, py] = this.toPixel(this.scatter.points[2 * this.hovered], this.scatter.points[2 * this.hovered + 1]);
      ctx.strokeStyle = COLORS.outputs[1];
      ctx.lineWidth = 1.5;
      ctx.strokeRect(px - 4, py - 4, 8, 8);
    }
    const { x, y } = this.point();
    const [px, py] = this.toPixel(x, y);
    const cx = Math.min(width - 2, Math.max(2, px));
    const cy = Math.min(height - 2, Math.max(2, py));
    ctx.strokeStyle = COLORS.outputs[0];
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(cx, 0);
    ctx.lineTo(cx, height);
    ctx.moveTo(0, cy);
    ctx.lineTo(width, cy);
    ctx.stroke();
    ctx.fillStyle = COLORS.outputs[0];
    ctx.beginPath();
    ctx.arc(cx, cy, 5, 0, 2 * Math.PI);
    ctx.fill();
  }
}

const clamp = (v) => Math.max(-LIMIT, Math.min(LIMIT, v));

/**
 * The points' bounding box with a margin, at least 1 wide. It may reach past the parameters'
 * range (a linear latent layer is unbounded): the pad shades what X and Y cannot reach.
 */
function fit(points) {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < points.length; i += 2) {
    if (!Number.isFinite(points[i]) || !Number.isFinite(points[i + 1])) continue;
    x0 = Math.min(x0, points[i]);
    x1 = Math.max(x1, points[i]);
    y0 = Math.min(y0, points[i + 1]);
    y1 = Math.max(y1, points[i + 1]);
  }
  if (!(x0 <= x1)) return DEFAULT_VIEW;
  const pad = (lo, hi) => {
    const mid = (lo + hi) / 2;
    const half = Math.max(0.5, ((hi - lo) / 2) * 1.15);
    return [mid - half, mid + half];
  };
  return [...pad(x0, x1), ...pad(y0, y1)];
}
