// Network-shaping parameters (neurons, connectivity, seed of the LFO and the arpeggiator) reach
// the running instrument here: the parameter goes to the worklet at once, and the new network is
// installed when its W radius, computed in a worker, is ready. The engine keeps playing the old
// network meanwhile. This does what Instrument.setParam does for these keys, minus the
// synchronous radius computation that would block the page for up to a second.

import { fieldOf, networkRadius, patchWith, shapesOf } from "./engine.js";

const WHICH = ["lfo", "arp"];
const keyOf = (shape) => `${shape.neurons}/${shape.connectivity}/${shape.seed}`;

export class Networks {
  constructor(module, table) {
    this.table = table;
    this.structural = table.filter((p) => p.structural);
    this.radii = new Map();
    this.busy = { lfo: false, arp: false };
    this.instrument = null;
    try {
      this.worker = new Worker(new URL("./radius-worker.js", import.meta.url), { type: "module" });
      this.worker.postMessage({ type: "init", module });
      this.worker.onmessage = (e) => this.computed(e.data);
      this.worker.onerror = () => this.fallBack();
    } catch {
      this.worker = null;
    }
  }

  /** Starts computing the radius of a network `which` ("lfo" or "arp") will probably need. */
  prefetch(which, shape) {
    if (!this.worker || this.busy[which] || this.radii.has(keyOf(shape))) return;
    this.busy[which] = true;
    this.worker.postMessage({ id: { which, key: keyOf(shape) }, ...shape });
  }

  /** Brings `instrument`'s network-shaping parameters to those of `patchText`. */
  apply(instrument, patchText) {
    this.instrument = instrument;
    const changed = new Set();
    for (const spec of this.structural) {
      const wanted = fieldOf(patchText, spec.key);
      if (fieldOf(instrument.patch, spec.key) === wanted) continue;
      instrument.patch = patchWith(instrument.patch, spec.key, Number(wanted));
      instrument.post({ type: "param", frame: 0, key: spec.key, value: Number(wanted) });
      const which = spec.key.split(".")[0];
      changed.add(which);
    }
    for (const which of changed) this.install(which);
  }

  install(which) {
    const shape = shapesOf(this.instrument.patch, this.table)[which];
    const key = keyOf(shape);
    if (this.radii.has(key)) {
      // The worklet installs it after the block that applies the parameters sent before it.
      this.instrument.post({ type: "network", which, ...shape, radius: this.radii.get(key) });
    } else if (!this.worker) {
      this.radii.set(key, networkRadius(shape.neurons, shape.connectivity, shape.seed));
      this.install(which);
    } else if (!this.busy[which]) {
      // One computation per network at a time: while it runs, later changes just wait for it
      // and only the shape wanted when it finishes is computed next.
      this.busy[which] = true;
      this.worker.postMessage({ id: { which, key }, ...shape });
    }
  }

  /** Without a worker, radii are computed here: slower, still correct. */
  fallBack() {
    this.worker = null;
    for (const which of WHICH) {
      if (this.busy[which] && this.instrument) {
        this.busy[which] = false;
        this.install(which);
      }
    }
  }

  computed({ id, radius }) {
    this.radii.set(id.key, radius);
    this.busy[id.which] = false;
    if (this.instrument && WHICH.includes(id.which)) this.install(id.which);
  }
}
