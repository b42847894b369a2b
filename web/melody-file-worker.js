// The melody-file Web Worker: reads a musician's melody model (.safetensors, a PyTorch token
// LSTM) with the tools wasm module (pkg/tools/, crates/wasm/src/melody_tools.rs), checks it
// exactly as the shipped model is checked, and quantizes it to the .tpq bytes the engine plays.
// The page's own module has no safetensors reader or quantizer; the audio thread never sees the
// file, only the checked .tpq.
//
// main thread → worker: {id, bytes: Uint8Array}
// worker → main thread: {id, ok: true, tpq: Uint8Array, info: {layers, hidden, embedding,
//   positionInput, bytes, metadata}} or {id, ok: false, error} (what is wrong with the file).

import { initSync, MelodyFile } from "../pkg/tools/tidepool_wasm.js";

const TOOLS_WASM = new URL("../pkg/tools/tidepool_wasm_bg.wasm", import.meta.url);

let loaded = null;

function load() {
  loaded ??= (async () => {
    const response = await fetch(TOOLS_WASM);
    if (!response.ok) throw new Error(`the tools module (pkg/tools/) could not be fetched (${response.status})`);
    initSync({ module: await WebAssembly.compileStreaming(response) });
  })();
  return loaded;
}

self.onmessage = async ({ data: { id, bytes } }) => {
  try {
    await load();
    const file = MelodyFile.from_safetensors(bytes);
    try {
      const tpq = file.tpq();
      self.postMessage({ id, ok: true, tpq, info: JSON.parse(file.info()) }, [tpq.buffer]);
    } finally {
      file.free();
    }
  } catch (error) {
    self.postMessage({ id, ok: false, error: String(error && error.message ? error.message : error) });
  }
};
