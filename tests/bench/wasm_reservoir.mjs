// Times the wasm build in Node (V8): reservoir steps per second, and one 128-frame engine block.
//
// Build first (from the workspace root; `cargo xtask bench` does it): the `tools` feature's module,
// which alone has the benchmark exports (WasmReservoir, WasmMelody's runs):
//   cargo build -p tidepool-wasm --target wasm32-unknown-unknown --profile wasm --features tools
//   wasm-bindgen --target nodejs --out-dir target/pkg-node/tools \
//       target/wasm32-unknown-unknown/wasm/tidepool_wasm.wasm
//   (and a package.json saying {"type": "commonjs"} in target/pkg-node/)
// then run:
//   node tests/bench/wasm_reservoir.mjs
//
// Prints one JSON line per measurement. The reservoir is the network `tidepool bench-esn` and
// tools/bench_reservoirpy.py time (seed 42, 1 input, no feedback, spectral radius 0.9, leak 0.3);
// only `run` is timed, never the construction. No npm dependencies.

import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const gluePath = fileURLToPath(
  new URL("../../target/pkg-node/tools/tidepool_wasm.js", import.meta.url),
);
if (!existsSync(gluePath)) {
  console.error(`missing ${gluePath}: build it first (see the comment at the top of this file)`);
  process.exit(2);
}
const { WasmEngine, WasmReservoir, WasmMelody, wasm_memory } = createRequire(import.meta.url)(gluePath);

const runtime = `node ${process.versions.node} (V8 ${process.versions.v8})`;
const CONNECTIVITY = 0.1;
const STEPS = 10000;
const REPEATS = 3;

for (const n of [100, 300, 1000]) {
  const reservoir = new WasmReservoir(n, CONNECTIVITY);
  let checksum = reservoir.run(STEPS); // warm-up: lets V8 tier the module up
  let best = Infinity;
  for (let i = 0; i < REPEATS; i++) {
    const start = performance.now();
    const sum = reservoir.run(STEPS);
    best = Math.min(best, (performance.now() - start) / 1000);
    if (sum !== checksum) throw new Error(`run is not deterministic: ${sum} vs ${checksum}`);
    checksum = sum;
  }
  reservoir.free();
  console.log(
    JSON.stringify({
      impl: "tidepool-wasm",
      runtime,
      n,
      connectivity: CONNECTIVITY,
      steps: STEPS,
      steps_per_sec: Math.round(STEPS / best),
      checksum,
    }),
  );
}

// One render quantum of the default patch (reservoir LFO and arpeggiator, 8-voice synth) with a
// chord held, as the AudioWorklet would call it.
{
  const SAMPLE_RATE = 48000;
  const BLOCK = 128;
  const WARMUP = 200;
  const BLOCKS = 2000;
  const engine = new WasmEngine(SAMPLE_RATE, "");
  for (const pitch of [48, 55, 60, 63, 67]) engine.note_on(0, pitch, 100);
  for (let i = 0; i < WARMUP; i++) engine.process(BLOCK);
  engine.notes_flat();
  const start = performance.now();
  for (let i = 0; i < BLOCKS; i++) engine.process(BLOCK);
  const elapsed = (performance.now() - start) / 1000;
  const notes = engine.notes_flat().length / 5;
  // The blocks must have made sound: read them as the worklet does, through views on wasm memory
  // (re-created per block, since memory growth detaches old views).
  let peak = 0;
  for (let i = 0; i < 100; i++) {
    const frames = engine.process(BLOCK);
    const buffer = wasm_memory().buffer;
    for (const ptr of [engine.left_ptr(), engine.right_ptr()]) {
      for (const s of new Float32Array(buffer, ptr, frames)) peak = Math.max(peak, Math.abs(s));
    }
  }
  if (!(peak > 0.01)) throw new Error(`the engine is silent (peak ${peak})`);
  engine.free();
  const meanUs = (elapsed / BLOCKS) * 1e6;
  const blockUs = (BLOCK / SAMPLE_RATE) * 1e6;
  console.log(
    JSON.stringify({
      impl: "tidepool-wasm",
      what: "engine_block_128",
      runtime,
      patch: "default",
      held: [48, 55, 60, 63, 67],
      sample_rate: SAMPLE_RATE,
      blocks: BLOCKS,
      mean_us_per_block: Number(meanUs.toFixed(2)),
      block_budget_us: Number(blockUs.toFixed(2)),
      realtime_factor: Number((blockUs / meanUs).toFixed(1)),
      notes_played: notes,
      peak: Number(peak.toFixed(3)),
    }),
  );
}

// One step of the shipped melody LSTM (batch 1), best of 5 runs of 2000 steps after a warm-up:
// the f32 model (`run`) and its quantized copy (`run_quantized`, i8 weights; built by `quantize`
// before timing).
const modelPath = fileURLToPath(new URL("../../web/models/melody-lstm.safetensors", import.meta.url));
if (existsSync(modelPath)) {
  const { readFileSync } = await import("node:fs");
  const melody = new WasmMelody(new Uint8Array(readFileSync(modelPath)));
  melody.quantize();
  const msPerStep = (run) => {
    run(200);
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      run(2000);
      best = Math.min(best, (performance.now() - t) / 2000);
    }
    return best;
  };
  const f32 = msPerStep((n) => melody.run(n));
  const quant = msPerStep((n) => melody.run_quantized(n));
  melody.free();
  for (const [what, ms] of [["lstm_step_batch1", f32], ["lstm_step_batch1_quant", quant]]) {
    console.log(JSON.stringify({ impl: "tidepool-wasm", runtime: `node ${process.version} (V8)`, what, ms_per_step: +ms.toFixed(4), f32_over_this: +(f32 / ms).toFixed(2) }));
  }
}
