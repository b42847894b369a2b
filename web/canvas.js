// Canvas plumbing shared by the live views: backing store sized to the CSS box times the device
// pixel ratio (sharp on phones), a redraw on resize, and the palette the views and CSS share.

export const COLORS = {
  background: "#0b1118",
  grid: "#223040",
  text: "#a9b8c9",
  // One per LFO output, the same as the swatches in the outputs table (style.css).
  outputs: ["#35d0c0", "#ffb454", "#c792ea", "#7fd962"],
};

/** Keeps `canvas` sharp at its CSS size; calls `draw(ctx, width, height)` (CSS pixels). */
export function sharpCanvas(canvas, draw) {
  const ctx = canvas.getContext("2d");
  let width = 0;
  let height = 0;
  const resize = () => {
    const rect = canvas.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    width = Math.max(1, rect.width);
    height = Math.max(1, rect.height);
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    redraw();
  };
  const redraw = () => draw(ctx, width, height);
  new ResizeObserver(resize).observe(canvas);
  resize();
  return redraw;
}

/** A centred hint on an empty view. */
export function hint(ctx, width, height, text) {
  ctx.fillStyle = COLORS.text;
  ctx.font = "13px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(text, width / 2, height / 2, width - 16);
}
