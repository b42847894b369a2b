// The patch being edited, the page's only copy of it: one number per parameter (a Float64Array
// indexed by the table's ids), kept whether or not audio runs. A knob move sanitises one number
// by the engine's own rule and sends it to the running instrument by id, at once; the patch text
// is written only for the URL's fragment (debounced) and for network rebuilds.

import { parsePatch, patchText, sanitize } from "./engine.js";

// The URL is written this long after a change (a drag writes it every this often, not only when it
// stops): current whenever a link is copied, rare enough not to flood the browser's history API.
const URL_DELAY_MS = 200;
// Network-shaping parameters rebuild a reservoir: wait until a drag settles.
const STRUCTURAL_DELAY_MS = 150;

/** Dispatched with the key that changed ("*": possibly all of them). */
export class PatchChange extends Event {
  constructor(key) {
    super("change");
    this.key = key;
  }
}

export class PatchState extends EventTarget {
  /**
   * `table`: the parameter table; `values`: one valid number per parameter, by id (as
   * `parsePatch` returns them); `networks`: a Networks for rebuilds.
   */
  constructor(table, values, networks) {
    super();
    this.table = table;
    this.specs = new Map(table.map((p) => [p.key, p]));
    this.values = Float64Array.from(values);
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
    return patchText(this.values);
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
    this.dispatchEvent(new PatchChange("*"));
    this.sync((spec) => before[spec.id] !== this.values[spec.id]);
    return parsed.errors;
  }

  /** From now on, changes go to `instrument`; the whole patch is sent now. */
  attach(instrument) {
    this.instrument = instrument;
    // Knobs may have moved while the instrument was being created: send every value (the engine
    // ignores a value it already has).
    this.sync(() => true);
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
