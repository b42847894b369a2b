// Computes the spectral radius of a reservoir's W (the O(N³) part of rebuilding a network, over a
// second at N = 1000) off the main thread, so that dragging "LFO neurons" never freezes the page.

import { initSync, network_radius_of } from "../pkg/tidepool_wasm.js";

self.onmessage = (e) => {
  const m = e.data;
  if (m.type === "init") {
    initSync({ module: m.module });
    return;
  }
  const radius = network_radius_of(m.neurons, m.connectivity, m.seed);
  self.postMessage({ id: m.id, radius });
};
