// Keeps "Start audio" fast whatever the patch's network sizes. Instrument.create (engine.js)
// computes its networks' W radii synchronously, O(N³): about 0.1 s at 300 neurons, over a second
// at 1000, a frozen page. So right after load the radii Start will need are computed ahead: the
// patch's own networks when that is quick, else a small stand-in while the worker (networks.js)
// computes the real one. Start creates the instrument with these shapes; PatchState.attach then
// sends the patch's own, installed as soon as their radii are ready.

import { fieldOf, networkRadius, patchWith, shapesOf } from "./engine.js";

// Networks up to this size are computed on the main thread, well under a second.
const QUICK_NEURONS = 400;
// The size a larger network starts at until its own radius is ready.
const STAND_IN_NEURONS = 100;

export class StartShapes {
  constructor(table, networks) {
    this.table = table;
    this.networks = networks;
    this.ready = ""; // patch text whose network shapes have their radii cached in engine.js
  }

  /** Computes (or asks the worker for) the radii that starting with `patchText` needs. */
  prepare(patchText) {
    let text = patchText;
    for (const [which, shape] of Object.entries(shapesOf(text, this.table))) {
      if (shape.neurons <= QUICK_NEURONS) continue;
      text = patchWith(text, `${which}.n`, STAND_IN_NEURONS);
      this.networks.prefetch(which, shape);
    }
    for (const s of Object.values(shapesOf(text, this.table))) networkRadius(s.neurons, s.connectivity, s.seed);
    this.ready = text;
  }

  /** `patchText` with network shapes that start without a wait (prepared earlier, or now). */
  startingPatch(patchText) {
    if (!this.ready) this.prepare(patchText);
    let text = patchText;
    for (const spec of this.table.filter((p) => p.structural)) {
      text = patchWith(text, spec.key, Number(fieldOf(this.ready, spec.key)));
    }
    return text;
  }
}
