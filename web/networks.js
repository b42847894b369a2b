// Network-shaping parameters (neurons, connectivity, seed of the LFO and the arpeggiator) reach
// the running instrument here: the parameter goes to the worklet at once, and the new network is
// built whole in a worker (web/network-worker.js) and handed over as bytes, which the worklet
// copies in and swaps at a block boundary. The engine keeps playing the old network meanwhile;
// nothing is built on the audio thread and nothing heavy on this one.

import { network_bytes } from "../pkg/tidepool_wasm.js";
import { networkRadius } from "./engine.js";

const WHICH = ["lfo", "arp"];
// The field of a shape each network-shaping key sets ("lfo.n" → lfo.neurons, …).
const FIELD = { n: "neurons", conn: "connectivity", seed: "seed" };
const keyOf = (shape) => `${shape.neurons}/${shape.connectivity}/${shape.seed}`;

export class Networks {
  constructor(module, table) {
    this.table = table;
    this.structural = table.filter((p) => p.structural);
    // One build per network at a time; the key of the network last handed to the instrument.
    this.busy = { lfo: false, arp: false };
    this.sent = { lfo: "", arp: "" };
    this.instrument = null;
    try {
      this.worker = new Worker(new URL("./network-worker.js", import.meta.url), { type: "module" });
      this.worker.postMessage({ type: "init", module });
      this.worker.onmessage = (e) => this.built(e.data);
      this.worker.onerror = () => this.fallBack();
    } catch {
      this.worker = null;
    }
  }

  /** Starts computing the radius of a network `which` ("lfo" or "arp") will probably need. */
  prefetch(which, shape) {
    if (!this.worker || this.busy[which]) return;
    this.busy[which] = true;
    this.worker.postMessage({ id: { which, key: keyOf(shape) }, ...shape, build: false });
  }

  /**
   * Brings `instrument`'s network-shaping parameters to `values` (the patch state's numbers, by
   * parameter id): each differing one is sent by id, and each network it reshapes is built.
   */
  apply(instrument, values) {
    this.instrument = instrument;
    const changed = new Set();
    for (const spec of this.structural) {
      const [which, key] = spec.key.split(".");
      const shape = instrument.shapes[which];
      const wanted = values[spec.id];
      if (shape[FIELD[key]] === wanted) continue;
      shape[FIELD[key]] = wanted;
      instrument.setParam(spec.id, wanted);
      changed.add(which);
    }
    for (const which of changed) this.install(which);
  }

  /** The shape `which` the instrument has been asked for. */
  wanted(which) {
    return this.instrument.shapes[which];
  }

  install(which) {
    const shape = this.wanted(which);
    if (!this.worker) {
      const radius = networkRadius(shape.neurons, shape.connectivity, shape.seed);
      const bytes = network_bytes(which, shape.neurons, shape.connectivity, shape.seed, radius);
      this.send(which, keyOf(shape), bytes.buffer);
    } else if (!this.busy[which]) {
      // While a build runs, later changes just wait for it, and only the shape wanted when it
      // finishes is built next.
      this.busy[which] = true;
      this.worker.postMessage({ id: { which, key: keyOf(shape) }, ...shape, build: true });
    }
  }

  /** The network goes to the worklet (transferred, not copied). */
  send(which, key, bytes) {
    this.sent[which] = key;
    this.instrument.post({ type: "network", bytes }, [bytes]);
  }

  /** Without a worker, networks are built here: the page waits, the audio does not. */
  fallBack() {
    this.worker = null;
    for (const which of WHICH) {
      if (this.busy[which] && this.instrument) {
        this.busy[which] = false;
        this.install(which);
      }
    }
  }

  built({ id, bytes }) {
    this.busy[id.which] = false;
    if (!this.instrument || !WHICH.includes(id.which)) return;
    const key = keyOf(this.wanted(id.which));
    if (key === this.sent[id.which]) return;
    if (bytes && key === id.key) this.send(id.which, key, bytes);
    else this.install(id.which);
  }
}
