// Builds reservoir networks off the main thread and off the audio thread: W's spectral radius
// (the O(N³) part, over a second at N = 1000) and all the weights (O(N·K): a million draws at
// N = 1000 and full connectivity), written as bytes that the worklet only copies in. It also
// computes the radii the instrument starts with (web/networks.js, `networkRadius`). Radii are
// remembered, so going back to a network, or building one whose radius was asked for before, is
// quick. The eigenvalue code is only in the tools wasm module (pkg/tools/, the wasm crate's
// `tools` feature), not in the page's: this worker fetches and compiles it itself, from the start.
//
// main thread → worker: {id, which ("lfo" or "arp"), neurons, connectivity, seed, build}
// worker → main thread: {id, radius, bytes (an ArrayBuffer, transferred; only when build)}
//                       {id, error: string} when the tools module could not be loaded (or
//                       the request was bad)

import { initSync, network_bytes, network_radius_of } from "../pkg/tools/tidepool_wasm.js";

const TOOLS_WASM = new URL("../pkg/tools/tidepool_wasm_bg.wasm", import.meta.url);

async function loadTools() {
  const response = await fetch(TOOLS_WASM);
  if (!response.ok) throw new Error(`the network builder's wasm module (pkg/tools/) could not be fetched (${response.status})`);
  initSync({ module: await WebAssembly.compileStreaming(response) });
  warmUp();
}

// V8 runs a wasm function's first calls in its baseline compiler and switches to optimised code
// only for later calls (wasm has no on-stack replacement). The spectral radius is one large
// function called once per network: the first one the page asks for (300 neurons) took 0.5–0.7 s
// unoptimised against 0.15–0.2 s optimised. Three small networks right after loading (about 20 ms)
// make V8 optimise it, in the background, before the page's first request arrives.
function warmUp() {
  for (const seed of [1, 2, 3]) {
    const radius = network_radius_of(40, 0.2, seed);
    network_bytes("arp", 40, 0.2, seed, radius);
  }
}

// Requests wait for it in the order they came (each awaits this one promise).
const loaded = loadTools();
loaded.catch(() => {}); // reported to each request below

const radii = new Map();

self.onmessage = async (e) => {
  const m = e.data;
  try {
    await loaded;
    const key = `${m.neurons}/${m.connectivity}/${m.seed}`;
    if (!radii.has(key)) radii.set(key, network_radius_of(m.neurons, m.connectivity, m.seed));
    const radius = radii.get(key);
    if (!m.build) {
      self.postMessage({ id: m.id, radius });
      return;
    }
    const bytes = network_bytes(m.which, m.neurons, m.connectivity, m.seed, radius);
    self.postMessage({ id: m.id, radius, bytes: bytes.buffer }, [bytes.buffer]);
  } catch (error) {
    self.postMessage({ id: m.id, error: error?.message ?? String(error) });
  }
};
