// Network-shaping parameters (neurons, connectivity, seed of the LFO and the arpeggiator) reach
// the running instrument here: the parameter goes to the worklet at once, and the new network is
// built whole in a worker (web/network-worker.js) and handed over as bytes, which the worklet
// copies in and swaps at a block boundary. The engine keeps playing the old network meanwhile;
// nothing is built on the audio thread and nothing heavy on this one. The same worker computes
// the W radii the instrument starts with (`networkRadius`, for engine.js): the eigenvalue code is
// only in the tools wasm module it runs, not in the page's.

// The field of a shape each network-shaping key sets ("lfo.n" → lfo.neurons, …).
const FIELD = { n: "neurons", conn: "connectivity", seed: "seed" };
const keyOf = (shape) => `${shape.neurons}/${shape.connectivity}/${shape.seed}`;
const TOOLS_WASM = new URL("../pkg/tools/tidepool_wasm_bg.wasm", import.meta.url);

/**
 * The network worker, one per page, behind promises: radii (cached here) and network bytes.
 * Where no module worker runs, the tools module is loaded on this thread instead: the page then
 * waits while a radius is computed, the audio does not.
 */
class Builder {
  constructor() {
    this.radii = new Map(); // shape key → Promise of its radius
    this.waiting = new Map(); // request id → {message, resolve, reject}
    this.next = 0;
    this.here = null; // the tools module's glue on this thread, when the worker failed
    try {
      this.worker = new Worker(new URL("./network-worker.js", import.meta.url), { type: "module" });
      this.worker.onmessage = (e) => this.answered(e.data);
      this.worker.onerror = () => this.fallBack();
    } catch {
      this.worker = null;
    }
  }

  /** W's spectral radius for `shape` ({neurons, connectivity, seed}), computed once. */
  radius(shape) {
    const key = keyOf(shape);
    if (!this.radii.has(key)) {
      const radius = this.request({ neurons: shape.neurons, connectivity: shape.connectivity, seed: shape.seed, build: false })
        .then((reply) => reply.radius);
      radius.catch(() => this.radii.delete(key)); // asked again next time
      this.radii.set(key, radius);
    }
    return this.radii.get(key);
  }

  /** The bytes (an ArrayBuffer) of network `which` ("lfo" or "arp") of `shape`. */
  async build(which, shape) {
    const reply = await this.request({ which, neurons: shape.neurons, connectivity: shape.connectivity, seed: shape.seed, build: true });
    return reply.bytes;
  }

  request(message) {
    return new Promise((resolve, reject) => {
      const id = this.next++;
      this.waiting.set(id, { message, resolve, reject });
      if (this.worker) this.worker.postMessage({ id, ...message });
      else this.runHere(id);
    });
  }

  answered({ id, error, ...reply }) {
    const request = this.waiting.get(id);
    if (!request) return;
    this.waiting.delete(id);
    if (error === undefined) request.resolve(reply);
    else request.reject(new Error(error));
  }

  /** Without a worker, what is asked and what was waiting runs here. */
  fallBack() {
    this.worker?.terminate();
    this.worker = null;
    for (const id of [...this.waiting.keys()]) this.runHere(id);
  }

  async runHere(id) {
    const { message: m } = this.waiting.get(id);
    try {
      this.here ??= import("../pkg/tools/tidepool_wasm.js").then(async (glue) => {
        await glue.default({ module_or_path: TOOLS_WASM });
        return glue;
      });
      const glue = await this.here;
      const radius = m.build ? await this.radius(m) : glue.network_radius_of(m.neurons, m.connectivity, m.seed);
      const bytes = m.build ? glue.network_bytes(m.which, m.neurons, m.connectivity, m.seed, radius).buffer : undefined;
      this.answered({ id, radius, bytes });
    } catch (e) {
      this.here = null;
      this.answered({ id, error: e?.message ?? String(e) });
    }
  }
}

let builder = null;

/** The page's network worker, started on first use (main.js starts it at load). */
export function networkBuilder() {
  builder ??= new Builder();
  return builder;
}

/**
 * W's spectral radius (before normalisation) for a network shape {neurons, connectivity, seed}:
 * a promise, computed once by the network worker. What the worklet's engine is built with.
 */
export function networkRadius(shape) {
  return networkBuilder().radius(shape);
}

export class Networks {
  constructor(table) {
    this.table = table;
    this.structural = table.filter((p) => p.structural);
    // One build per network at a time; the key of the network last handed to the instrument.
    this.busy = { lfo: false, arp: false };
    this.sent = { lfo: "", arp: "" };
    this.instrument = null;
    this.builder = networkBuilder();
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
    // While a build runs, later changes just wait for it, and only the shape wanted when it
    // finishes is built next.
    if (this.busy[which]) return;
    this.busy[which] = true;
    const shape = this.wanted(which);
    const key = keyOf(shape);
    this.builder.build(which, shape).then(
      (bytes) => this.built(which, key, bytes),
      (error) => {
        this.busy[which] = false;
        console.error(`The ${which === "lfo" ? "LFO" : "arpeggiator"} network could not be built: ${error.message}`);
      },
    );
  }

  /** The network goes to the worklet (transferred, not copied). */
  send(which, key, bytes) {
    this.sent[which] = key;
    this.instrument.post({ type: "network", bytes }, [bytes]);
  }

  built(which, key, bytes) {
    this.busy[which] = false;
    const wanted = keyOf(this.wanted(which));
    if (wanted === this.sent[which]) return;
    if (wanted === key) this.send(which, key, bytes);
    else this.install(which);
  }
}
