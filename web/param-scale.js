// How a parameter's number maps onto a slider and back, how far a key press moves it, and how its
// value reads: all derived from the parameter table's kind, range and `log` flag.

/** Slider positions of a log parameter run from 0 to this (a fine grid: 0.1 % of the range). */
export const LOG_POSITIONS = 1000;

const span = (spec) => spec.max - spec.min;

/** Decimals that `step` needs. */
function decimalsOf(step) {
  return step >= 1 ? 0 : Math.ceil(-Math.log10(step) - 1e-9);
}

/** The finest meaningful difference of a linear real: a thousandth of its range, as a power of ten. */
function resolution(spec) {
  return 10 ** Math.floor(Math.log10(span(spec) / 1000));
}

/**
 * How far one arrow key press moves a linear number: about 1 % of the range, as a power of ten, so
 * that tempo moves by 1 BPM, a 0–1 knob by 0.01 and the pitch range by 10 cents.
 */
export function keyStep(spec) {
  if (spec.kind === "int") return 1;
  if (spec.log) return LOG_POSITIONS / 100;
  return 10 ** Math.round(Math.log10(span(spec) / 100));
}

/** The value rounded to what the control can express, so patch links stay short and readable. */
export function quantize(spec, value) {
  const v = Math.min(spec.max, Math.max(spec.min, value));
  if (spec.kind === "int" || spec.kind === "toggle" || spec.kind === "choice") return Math.round(v);
  if (spec.log) return Math.min(spec.max, Math.max(spec.min, Number(v.toPrecision(3))));
  const step = resolution(spec);
  return Number((Math.round(v / step) * step).toFixed(decimalsOf(step)));
}

/** The slider position of a value (log parameters: 0 … LOG_POSITIONS on a log scale). */
export function toPosition(spec, value) {
  if (!spec.log) return value;
  const t = Math.log(value / spec.min) / Math.log(spec.max / spec.min);
  return Math.min(LOG_POSITIONS, Math.max(0, t * LOG_POSITIONS));
}

/** The value at a slider position, quantized. */
export function fromPosition(spec, position) {
  if (!spec.log) return quantize(spec, position);
  const t = position / LOG_POSITIONS;
  return quantize(spec, spec.min * (spec.max / spec.min) ** t);
}

/** The value `steps` key presses away from `value` (a log parameter moves in position). */
export function stepped(spec, value, steps) {
  if (spec.log) {
    // Three significant digits can swallow a small step near the bottom: move on until it shows.
    let position = toPosition(spec, value);
    for (let i = 0; i < 20; i++) {
      position += steps * keyStep(spec);
      const next = fromPosition(spec, Math.min(LOG_POSITIONS, Math.max(0, position)));
      if (next !== value || position <= 0 || position >= LOG_POSITIONS) return next;
    }
    return value;
  }
  return quantize(spec, value + steps * keyStep(spec));
}

/** The value as text, without the unit: choices by name, toggles on/off, numbers rounded. */
export function formatValue(spec, value) {
  if (spec.kind === "choice") return spec.choices[value] ?? String(value);
  if (spec.kind === "toggle") return value ? "on" : "off";
  if (spec.kind === "int") return String(Math.round(value));
  if (spec.log) {
    if (Math.abs(value) >= 100) return String(Math.round(value));
    return String(Number(value.toPrecision(3)));
  }
  // Show as many decimals as one key step needs, more only when the value has them.
  const coarse = decimalsOf(keyStep(spec));
  const fine = decimalsOf(resolution(spec));
  const short = value.toFixed(coarse);
  return Math.abs(Number(short) - value) < resolution(spec) / 2 ? short : value.toFixed(fine);
}

/** The value as text with its unit ("1800 Hz", "0.50 of step"). */
export function formatWithUnit(spec, value) {
  const text = formatValue(spec, value);
  return spec.unit ? `${text} ${spec.unit}` : text;
}
