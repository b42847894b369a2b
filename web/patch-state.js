// The patch being edited: canonical patch text, kept whether or not audio runs, mirrored into the
// page URL's fragment (debounced) and into the running instrument (at once).

import { fieldOf, parsePatch, patchWith } from "./engine.js";

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
  /** `table`: the parameter table; `text`: patch text; `networks`: a Networks for rebuilds. */
  constructor(table, text, networks) {
    super();
    this.table = table;
    this.specs = new Map(table.map((p) => [p.key, p]));
    this.text = parsePatch(text).text;
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
    const spec = this.specs.get(key);
    const raw = fieldOf(this.text, key);
    if (raw === undefined) return spec.default;
    if (spec.kind === "choice") return Math.max(0, spec.choices.indexOf(raw));
    return Number(raw);
  }

  /** Sets one parameter (clamped by the engine's codec); heard at once, in the URL soon. */
  set(key, value) {
    const spec = this.specs.get(key);
    if (!spec || !Number.isFinite(value)) return;
    const before = this.text;
    this.text = patchWith(this.text, key, value);
    // Even an unchanged value is shown again: the control may be displaying an unclamped one.
    this.dispatchEvent(new PatchChange(key));
    if (this.text === before) return;
    this.scheduleUrl();
    if (!this.instrument) return;
    if (spec.structural) {
      clearTimeout(this.structuralTimer);
      this.structuralTimer = setTimeout(() => this.networks.apply(this.instrument, this.text), STRUCTURAL_DELAY_MS);
    } else {
      this.instrument.setParam(key, this.value(key));
    }
  }

  /** Replaces the whole patch (a link pasted into the address bar); returns the codec's errors. */
  load(text) {
    const parsed = parsePatch(text);
    this.text = parsed.text;
    this.dispatchEvent(new PatchChange("*"));
    this.sync();
    return parsed.errors;
  }

  /** From now on, changes go to `instrument`; whatever differs already is sent now. */
  attach(instrument) {
    this.instrument = instrument;
    this.sync();
  }

  sync() {
    const instrument = this.instrument;
    if (!instrument) return;
    for (const spec of this.table) {
      if (!spec.structural && fieldOf(instrument.patch, spec.key) !== fieldOf(this.text, spec.key)) {
        instrument.setParam(spec.key, this.value(spec.key));
      }
    }
    this.networks.apply(instrument, this.text);
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
