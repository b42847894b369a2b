// Keeps "Start audio" fast whatever the patch's network sizes. Instrument.create (engine.js)
// waits for its networks' W radii, which the network worker (networks.js) computes in O(N³):
// about 0.1 s at 300 neurons, over a second at 1000. So right after load the radii Start will
// need are asked for ahead: the patch's own networks when that is quick, else a small stand-in,
// whose radius the worker computes before the real one's. Start creates the instrument with these
// shapes; PatchState.attach then sends the patch's own, installed as soon as they are built.

import { fieldOf, patchWith, shapesOf } from "./engine.js";
import { networkRadius } from "./networks.js";

// Networks up to this size start as they are: their radii take well under a second.
const QUICK_NEURONS = 400;
// The size a larger network starts at until its own is built.
const STAND_IN_NEURONS = 100;

export class StartShapes {
  constructor(table) {
    this.table = table;
    this.ready = ""; // patch text whose network shapes' radii have been asked for
  }

  /** Asks the network worker for the radii that starting with `patchText` needs. */
  prepare(patchText) {
    let text = patchText;
    const later = [];
    for (const [which, shape] of Object.entries(shapesOf(text, this.table))) {
      if (shape.neurons <= QUICK_NEURONS) continue;
      text = patchWith(text, `${which}.n`, STAND_IN_NEURONS);
      later.push(shape);
    }
    // The worker answers in order: what Start waits for first, then the patch's larger networks.
    for (const shape of [...Object.values(shapesOf(text, this.table)), ...later]) networkRadius(shape);
    this.ready = text;
  }

  /** `patchText` with network shapes that start without a long wait (prepared earlier, or now). */
  startingPatch(patchText) {
    if (!this.ready) this.prepare(patchText);
    let text = patchText;
    for (const spec of this.table.filter((p) => p.structural)) {
      text = patchWith(text, spec.key, Number(fieldOf(this.ready, spec.key)));
    }
    return text;
  }
}
