// Renders a recorded performance off the main thread with the engine crate's offline renderer
// (crates/wasm/src/offline.rs), so the WAV is byte for byte the one `tidepool render --performance`
// writes. Renders in pieces and reports progress between them. The renderer lives in the tools
// wasm module (pkg/tools/, the wasm crate's `tools` feature), not in the page's: this worker
// fetches and compiles it itself, and is only started when a render starts, so the page and the
// worklet never load it.
//
// main thread → worker: {type: "render", performance: string}
// worker → main thread: {type: "progress", done: 0..1}
//                       {type: "done", wav: Blob, midi: Blob, errors: [string]}
//   (Blobs made here: copying a long WAV into a Blob takes a good part of a second, which the page's
//   main thread is spared)
//                       {type: "failed", error: string}

import { initSync, OfflineRender } from "../pkg/tools/tidepool_wasm.js";

// Frames per piece: a tenth of a second at 48 kHz renders in a few milliseconds, so progress moves
// often and a long recording still takes few messages.
const PIECE_FRAMES = 4800;
// The melody and rhythm models the CLI renders with (`--models web/models`).
const MODELS = new URL("./models/", import.meta.url);
const TOOLS_WASM = new URL("../pkg/tools/tidepool_wasm_bg.wasm", import.meta.url);

/** Fetches and compiles the tools module (once per worker: one render each). */
async function loadTools() {
  const response = await fetch(TOOLS_WASM);
  if (!response.ok) throw new Error(`the renderer's wasm module (pkg/tools/) could not be fetched (${response.status})`);
  initSync({ module: await WebAssembly.compileStreaming(response) });
}

/**
 * Fetches and installs the melody model the patch asks for, if any (as `tidepool render` does);
 * `fileModel`: the .tpq bytes the page's file slot played (the musician's model, or the shipped
 * LSTM standing in), for mel.model=file.
 */
async function installMelody(job, fileModel, fileChoice) {
  const missing = job.missing_melody_model();
  if (missing < 0) return;
  if (missing === fileChoice) {
    if (!fileModel) throw new Error("the recording plays your own model file, which the page no longer has");
    job.install_melody_file(fileModel);
    return;
  }
  const file = missing === 0 ? "melody-lstm.tpq" : `melody-ngram-${missing}.tpng`;
  const response = await fetch(new URL(file, MODELS));
  if (!response.ok) throw new Error(`the melody model ${file} could not be fetched (${response.status})`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (missing === 0) job.install_melody_lstm(bytes);
  else job.install_melody_ngram(bytes);
}

/** Fetches and installs the built-in rhythm models the patch's tracks use (as `tidepool render` does). */
async function installRhythm(job) {
  for (const name of job.missing_rhythm_models().split(",").filter(Boolean)) {
    const file = `rhythm-${name}.tprd`;
    const response = await fetch(new URL(file, MODELS));
    if (!response.ok) throw new Error(`the rhythm model ${file} could not be fetched (${response.status})`);
    job.install_rhythm_builtin(name, new Uint8Array(await response.arrayBuffer()));
  }
}

self.onmessage = async (e) => {
  const m = e.data;
  if (m.type !== "render") return;
  let job = null;
  try {
    await loadTools();
    job = new OfflineRender(m.performance);
    await installMelody(job, m.fileModel, m.fileChoice);
    await installRhythm(job);
    let done = 0;
    while (done < 1) {
      done = job.run(PIECE_FRAMES);
      self.postMessage({ type: "progress", done });
    }
    const wav = new Blob([job.wav()], { type: "audio/wav" });
    const midi = new Blob([job.midi()], { type: "audio/midi" });
    self.postMessage({ type: "done", wav, midi, errors: job.errors() });
  } catch (error) {
    self.postMessage({ type: "failed", error: String(error && error.message ? error.message : error) });
  } finally {
    job?.free();
    // One render per worker. Closing from here rather than terminate() on the page: tearing down
    // hundreds of megabytes of wasm memory then happens on this thread, not the page's.
    self.close();
  }
};
