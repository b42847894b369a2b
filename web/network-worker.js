// Builds reservoir networks off the main thread and off the audio thread: W's spectral radius
// (the O(N³) part, over a second at N = 1000) and all the weights (O(N·K): a million draws at
// N = 1000 and full connectivity), written as bytes that the worklet only copies in. Radii are
// remembered, so going back to a network, or building one whose radius was prefetched, is quick.

import { initSync, network_bytes, network_radius_of } from "../pkg/tidepool_wasm.js";

const radii = new Map();

self.onmessage = (e) => {
  const m = e.data;
  if (m.type === "init") {
    initSync({ module: m.module });
    return;
  }
  const key = `${m.neurons}/${m.connectivity}/${m.seed}`;
  if (!radii.has(key)) radii.set(key, network_radius_of(m.neurons, m.connectivity, m.seed));
  if (!m.build) {
    self.postMessage({ id: m.id });
    return;
  }
  const bytes = network_bytes(m.id.which, m.neurons, m.connectivity, m.seed, radii.get(key));
  self.postMessage({ id: m.id, bytes: bytes.buffer }, [bytes.buffer]);
};
