// One rhythm track's card: its model picker (the four built-ins, or the model trained for it),
// a status line, the X/Y pad over the scatter, the 32-step grid, and its knobs (every one an
// engine parameter, made by controls.js like any other, so links and MIDI learn work).

import { createControl } from "./controls.js";
import { element } from "./dom.js";
import { BUILTIN_MODELS } from "./rhythm-builtins.js";
import { RhythmGrid } from "./rhythm-grid.js";
import { RhythmPad } from "./rhythm-pad.js";

const TRAINED = "trained";
const LINKED = "linked";
// The knobs in the order shown, as groups: playing, pitches, output.
const KNOB_GROUPS = [
  ["on", "x", "y", "thr", "len"],
  ["np", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "tr", "pitch"],
  ["vel", "vfix", "gate", "mute", "solo", "ch", "synth"],
];

export class RhythmTrack extends EventTarget {
  /** `track` 1–3; `state`: the PatchState. Dispatches "model" ({model}) when the picker changes. */
  constructor(track, state) {
    super();
    this.track = track;
    this.index = track - 1;
    this.state = state;
    this.trained = null; // {text, arch, training, file, points, velocities, sources}
    this.linked = null; // a "~" model from a link that was not trained here
    this.root = element("section", "rhythm-track");
    this.root.dataset.track = String(track);
    this.root.setAttribute("aria-labelledby", `rhythm-track-${track}`);
    const head = element("div", "rhythm-track-head");
    const title = element("h3", "", `Track ${track}`);
    title.id = `rhythm-track-${track}`;
    this.picker = element("select", "rhythm-model");
    this.picker.id = `rhythm-model-${track}`;
    this.picker.setAttribute("aria-label", `Track ${track} model`);
    this.picker.addEventListener("change", () => this.picked());
    head.append(title, this.picker);
    this.status = element("p", "rhythm-status");
    this.status.setAttribute("aria-live", "polite");

    const padBox = element("div", "rhythm-pad");
    const pad = element("canvas");
    pad.tabIndex = 0;
    pad.setAttribute("role", "slider");
    pad.setAttribute("aria-label", `Track ${track} X/Y pad: arrow keys move X and Y`);
    pad.setAttribute("aria-valuemin", "-10");
    pad.setAttribute("aria-valuemax", "10");
    pad.id = `rhythm-pad-${track}`;
    const hover = element("p", "rhythm-hover");
    const jump = element("select", "rhythm-jump");
    jump.setAttribute("aria-label", `Track ${track}: move the pad to a training rhythm`);
    jump.id = `rhythm-jump-${track}`;
    padBox.append(pad, hover, jump);
    const grid = element("canvas", "rhythm-grid");
    grid.setAttribute("role", "img");
    grid.id = `rhythm-grid-${track}`;

    const knobs = element("div", "rhythm-knobs");
    for (const group of KNOB_GROUPS) {
      const box = element("div", "control-grid");
      for (const field of group) {
        const spec = state.spec(`rh${track}.${field}`);
        if (spec) box.append(shortNamed(createControl(spec, state), spec, track));
      }
      knobs.append(box);
    }
    this.root.append(head, this.status, padBox, grid, knobs);
    this.pad = new RhythmPad({ canvas: pad, hover, jump }, track, state);
    this.grid = new RhythmGrid(grid, track, state);
    this.fillPicker();
  }

  /** The model string the patch holds for this track. */
  model() {
    return this.state.models[this.index];
  }

  fillPicker() {
    const options = BUILTIN_MODELS.map((name) => new Option(`built-in ${name}`, name));
    const model = this.model();
    const embedded = model.startsWith("~");
    const mine = this.trained;
    const trained = new Option(mine ? `trained: ${mine.arch}${mine.training?.epochs ? `, ${mine.training.epochs} epochs` : ""}` : "trained: none yet", TRAINED);
    trained.disabled = !mine;
    options.push(trained);
    // A link's model that is not the one trained here: its own entry, kept while the page is open.
    if (embedded && mine?.text !== model) this.linked = model;
    if (this.linked && this.linked !== mine?.text) options.push(new Option("trained (from the link)", LINKED));
    this.picker.replaceChildren(...options);
    this.picker.value = !embedded ? model : mine?.text === model ? TRAINED : LINKED;
  }

  picked() {
    const value = this.picker.value;
    const model = value === TRAINED ? this.trained?.text ?? this.model() : value === LINKED ? this.linked : value;
    this.dispatchEvent(Object.assign(new Event("model"), { model }));
  }

  /** A model trained or loaded for this track (or null); its scatter goes on the pad when it plays. */
  setTrained(trained) {
    this.trained = trained;
    this.fillPicker();
  }

  /** The scatter for the model playing now (null: none known). */
  setScatter(scatter) {
    this.pad.setScatter(scatter);
  }

  note(text, state = "") {
    this.status.textContent = text;
    this.status.dataset.state = state;
  }

  snapshot(view, layout) {
    this.grid.snapshot(view, layout.at + this.index * layout.perTrack, layout.fields);
  }
}

/** The card says "threshold", not "Track 1 threshold"; the input keeps the full name. */
function shortNamed(control, spec, track) {
  const input = control.querySelector("input, select");
  input?.setAttribute("aria-label", spec.name);
  const label = control.querySelector(".control-name");
  if (label) label.textContent = spec.name.replace(`Track ${track} `, "");
  return control;
}
