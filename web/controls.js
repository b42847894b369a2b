// One control per parameter, generated from its row of the parameter table: a range for numbers
// (log-scaled when the table says so), a checkbox for toggles, a select for choices. Each shows
// its name, value and unit, resets on double-click (or Delete), and follows the patch state.

import {
  formatWithUnit, fromPosition, keyStep, LOG_POSITIONS, quantize, stepped, toPosition,
} from "./param-scale.js";
import { element } from "./dom.js";

/**
 * A control for `spec` bound to `state` (a PatchState). `hideLabel` keeps the name for assistive
 * technology only (the LFO outputs table shows it in its headers instead); `shortLabel` is then
 * shown where the headers are not (on a phone).
 */
export function createControl(spec, state, { hideLabel = false, shortLabel } = {}) {
  const id = `param-${spec.key}`;
  const box = element("div", `control control-${spec.kind}${spec.log ? " control-log" : ""}`);
  box.dataset.control = spec.key;
  const label = element("label", hideLabel ? "control-name visually-hidden" : "control-name", spec.name);
  label.htmlFor = id;
  const output = element("output", "control-value");
  output.dataset.valueFor = spec.key;
  output.htmlFor = id;

  const input = spec.kind === "choice" ? choiceInput(spec) : document.createElement("input");
  input.id = id;
  input.dataset.key = spec.key;
  if (spec.kind === "toggle") input.type = "checkbox";
  else if (spec.kind !== "choice") rangeInput(input, spec);
  input.title = "Double-click or press Delete to reset";

  const reset = () => state.set(spec.key, spec.default);
  input.addEventListener("dblclick", reset);
  label.addEventListener("dblclick", reset);
  input.addEventListener("keydown", (e) => {
    if ((e.key === "Delete" || e.key === "Backspace") && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      reset();
    } else if (input.type === "range") {
      rangeKey(e, spec, state);
    }
  });
  if (spec.kind === "choice") {
    input.addEventListener("change", () => state.set(spec.key, spec.choices.indexOf(input.value)));
  } else if (spec.kind === "toggle") {
    input.addEventListener("change", () => state.set(spec.key, input.checked ? 1 : 0));
  } else {
    input.addEventListener("input", () => state.set(spec.key, fromPosition(spec, Number(input.value))));
  }

  const head = element("div", "control-head");
  if (spec.kind === "toggle") {
    head.append(input, label, output);
    box.append(head);
  } else if (spec.kind === "choice") {
    // A select shows its own value; the output is kept, visually hidden, so every control has
    // the same parts for assistive technology and scripts alike.
    output.classList.add("visually-hidden");
    head.append(label, input, output);
    box.append(head);
  } else {
    head.append(label, output);
    box.append(head, input);
  }
  if (shortLabel) {
    const short = element("span", "control-short", shortLabel);
    short.setAttribute("aria-hidden", "true");
    label.after(short);
  }

  const show = () => {
    const value = state.value(spec.key);
    const text = formatWithUnit(spec, value);
    output.textContent = text;
    if (spec.kind === "choice") input.value = spec.choices[value] ?? spec.choices[0];
    else if (spec.kind === "toggle") input.checked = value !== 0;
    else {
      input.value = String(toPosition(spec, value));
      input.dataset.paramValue = String(value);
      input.setAttribute("aria-valuetext", text);
    }
    box.classList.toggle("changed", value !== spec.default);
  };
  state.addEventListener("change", (e) => {
    if (e.key === spec.key || e.key === "*") show();
  });
  show();
  return box;
}

function choiceInput(spec) {
  const select = document.createElement("select");
  for (const name of spec.choices) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    select.append(option);
  }
  return select;
}

function rangeInput(input, spec) {
  input.type = "range";
  // The control quantizes values itself (param-scale.js); "any" keeps the browser from snapping
  // a value from a link (say 0.05 on a 0.1 grid) to a different one.
  input.step = spec.kind === "int" ? "1" : "any";
  input.min = String(spec.log ? 0 : spec.min);
  input.max = String(spec.log ? LOG_POSITIONS : spec.max);
}

/** Arrow keys step (Shift: fine for real numbers), Page keys step ten times, Home/End go to the ends. */
function rangeKey(e, spec, state) {
  const steps = {
    ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1, PageUp: 10, PageDown: -10,
  }[e.key];
  const value = state.value(spec.key);
  let next;
  if (steps !== undefined) {
    const fine = e.shiftKey && spec.kind === "real" ? 0.1 : 1;
    next = fine === 1 ? stepped(spec, value, steps) : fineStep(spec, value, steps * fine);
  } else if (e.key === "Home") next = spec.min;
  else if (e.key === "End") next = spec.max;
  else return;
  e.preventDefault();
  state.set(spec.key, next);
}

function fineStep(spec, value, steps) {
  if (spec.log) return fromPosition(spec, toPosition(spec, value) + steps * keyStep(spec));
  return quantize(spec, value + steps * keyStep(spec));
}
