// The patch being edited, the page's only copy of it: one number per parameter (a Float64Array
// indexed by the table's ids), kept whether or not audio runs. A knob move sanitises one number
// by the engine's own rule and sends it to the running instrument by id, at once; the patch text
// is written only for the URL's fragment (debounced) and for network rebuilds. The MIDI learn
// bindings (web/midi-learn.js) are part of the patch: kept here, written into the URL with it,
// and so are the rhythm tracks' models (a built-in's name or "~" and a trained decoder's text)
// and the Markov chain's learned table (the engine learns it; the page keeps its latest copy).

import { parsePatch, sanitize } from "./engine.js";
// engine.js's patchText writes the values only; the URL needs the bindings too.
import { patch_text_of } from "../pkg/tidepool_wasm.js";

/** Binding sources in the order of the codec's SOURCE_NAMES (crates/engine/src/bindings.rs). */
export const BINDING_SOURCES = ["cc", "cc14", "bend", "pressure"];

// The URL is written this long after a change (a drag writes it every this often, not only when it
// stops): current whenever a link is copied, rare enough not to flood the browser's history API.
const URL_DELAY_MS = 200;
// Network-shaping parameters rebuild a reservoir: wait until a drag settles.
const STRUCTURAL_DELAY_MS = 150;

/** Dispatched as "bindings" when a MIDI learn binding is made, changed or removed. */
export class BindingsChange extends Event {
  constructor() {
    super("bindings");
  }
}

/** Dispatched as "models" when a rhythm track's model changes. */
export class ModelsChange extends Event {
  constructor() {
    super("models");
  }
}

/** Dispatched with the key that changed ("*": possibly all of them). */
export class PatchChange extends Event {
  constructor(key) {
    super("change");
    this.key = key;
  }
}

export class PatchState extends EventTarget {
  /**
   * `table`: the parameter table; `values`: one valid number per parameter, by id, and
   * `bindings`: the MIDI learn bindings (as `parsePatch` returns both); `networks`: a Networks
   * for rebuilds; `models`: the three rhythm tracks' model strings (`parsePatch`'s "models").
   */
  constructor(table, values, networks, bindings = [], models = ["model1", "model3", "prototype"], markov = "") {
    super();
    this.table = table;
    this.specs = new Map(table.map((p) => [p.key, p]));
    this.values = Float64Array.from(values);
    // {id, source: "cc"|"cc14"|"bend"|"pressure", cc, channel (0: any), soft}, one per id at most.
    this.bindings = bindings;
    this.models = [...models];
    // The Markov chain's learned table as a link's mk.table value ("" nothing learned).
    this.markov = markov;
    this.networks = networks;
    this.instrument = null;
    this.urlTimer = 0;
    this.structuralTimer = 0;
    addEventListener("pagehide", () => {
      if (this.urlTimer) this.writeUrl();
    });
  }

  spec(key) {
    return this.specs.get(key);
  }

  /** A parameter's value as a number (choices: the index). */
  value(key) {
    return this.values[this.specs.get(key).id];
  }

  /** The patch as canonical text: serialised on each call, so only for the URL and rebuilds. */
  get text() {
    const flat = this.bindings.flatMap((b) => [b.id, BINDING_SOURCES.indexOf(b.source), b.cc, b.channel, b.soft ? 1 : 0]);
    return patch_text_of(this.values, Uint32Array.from(flat), this.models, this.markov);
  }

  /** The binding of parameter `key`, if it has one. */
  binding(key) {
    const id = this.specs.get(key)?.id;
    return this.bindings.find((b) => b.id === id);
  }

  /** Binds (or rebinds) `binding.id`; the URL follows. */
  bind(binding) {
    this.bindings = [...this.bindings.filter((b) => b.id !== binding.id), binding];
    this.bindingsChanged();
  }

  /** Removes the bindings `drop` picks (all of them without it). */
  unbind(drop = () => true) {
    const kept = this.bindings.filter((b) => !drop(b));
    if (kept.length === this.bindings.length) return;
    this.bindings = kept;
    this.bindingsChanged();
  }

  bindingsChanged() {
    this.dispatchEvent(new BindingsChange());
    this.scheduleUrl();
  }

  /** Makes rhythm track `track` (0–2) play `model` (a built-in's name or "~" + a decoder's text). */
  setModel(track, model) {
    if (this.models[track] === model) return;
    this.models[track] = model;
    this.dispatchEvent(new ModelsChange());
    this.scheduleUrl();
    this.instrument?.setRhythmModel(track, model);
  }

  /**
   * The Markov chain's table as the engine reports it (it learns as the musician plays): only
   * the URL follows, the engine has it already.
   */
  learned(table) {
    if (this.markov === table) return;
    this.markov = table;
    this.scheduleUrl();
  }

  /** Sets one parameter (clamped and rounded as the engine does); heard at once, in the URL soon. */
  set(key, value) {
    const spec = this.specs.get(key);
    if (!spec || !Number.isFinite(value)) return;
    const valid = sanitize(spec.id, value);
    const changed = valid !== this.values[spec.id];
    this.values[spec.id] = valid;
    // Even an unchanged value is shown again: the control may be displaying an unclamped one.
    this.dispatchEvent(new PatchChange(key));
    if (!changed) return;
    this.scheduleUrl();
    if (!this.instrument) return;
    if (spec.structural) {
      clearTimeout(this.structuralTimer);
      this.structuralTimer = setTimeout(() => this.networks.apply(this.instrument, this.values), STRUCTURAL_DELAY_MS);
    } else {
      this.instrument.setParam(spec.id, valid);
    }
  }

  /** Replaces the whole patch (a link pasted into the address bar); returns the codec's errors. */
  load(text) {
    const parsed = parsePatch(text);
    const before = this.values;
    this.values = Float64Array.from(parsed.values);
    this.bindings = parsed.bindings;
    const models = this.models;
    this.models = [...(parsed.models ?? models)];
    this.markov = parsed.markov ?? "";
    this.dispatchEvent(new PatchChange("*"));
    this.dispatchEvent(new BindingsChange());
    this.dispatchEvent(new ModelsChange());
    this.sync((spec) => before[spec.id] !== this.values[spec.id]);
    this.models.forEach((m, k) => m !== models[k] && this.instrument?.setRhythmModel(k, m));
    // Always sent: the page's copy of the engine's table may lag what it learned since.
    this.instrument?.setMarkovTable(this.markov);
    return parsed.errors;
  }

  /** From now on, changes go to `instrument`; the whole patch is sent now. */
  attach(instrument) {
    this.instrument = instrument;
    // Knobs may have moved while the instrument was being created: send every value (the engine
    // ignores a value it already has), and every track's model.
    this.sync(() => true);
    this.models.forEach((m, k) => instrument.setRhythmModel(k, m));
  }

  /** Sends the instrument the knobs `differs` picks, then brings its networks to the patch. */
  sync(differs) {
    const instrument = this.instrument;
    if (!instrument) return;
    for (const spec of this.table) {
      if (!spec.structural && differs(spec)) instrument.setParam(spec.id, this.values[spec.id]);
    }
    this.networks.apply(instrument, this.values);
  }

  scheduleUrl() {
    if (!this.urlTimer) this.urlTimer = setTimeout(() => this.writeUrl(), URL_DELAY_MS);
  }

  writeUrl() {
    clearTimeout(this.urlTimer);
    this.urlTimer = 0;
    const hash = `#${this.text}`;
    if (location.hash !== hash) history.replaceState(history.state, "", hash);
  }
}
