// The worst-case patch's real-time factor in the REAL worklet (issue 8): 1000-neuron reservoirs
// at full connectivity for the LFO and the arpeggiator, the LFO free at its top rate (1000
// steps/s), the arpeggiator at 1/64 at 300 BPM over four octaves with 10 s releases (every voice
// sounding), and the melody LSTM playing. Rendered by an OfflineAudioContext at 48 kHz, best of 3,
// so the number is the engine's cost in the worklet, not the machine's scheduling. The patch is
// the one `cargo xtask stress` measures natively (crates/stress/src/worst.rs, WORST_PATCH).
//
//   node tests/bench/worst_case.mjs        (needs pkg/ and target/debug/xtask; builds nothing)

import { startServer, launchBrowser, newPage, closePage, requireArtifacts } from "../e2e/harness.mjs";

const PATCH = "tp1&bpm=300&lfo.n=1000&lfo.conn=1&lfo.sync=free&lfo.hz=1000&lfo.outs=4" +
  "&arp.n=1000&arp.conn=1&arp.mode=reservoir&arp.div=1/64&arp.gate=1&arp.oct=4" +
  "&syn.poly=16&syn.a=0.5&syn.r=10000&mel.mode=free&mel.model=lstm&mel.dens=100";
const KEYS = [36, 43, 48, 52, 55, 60, 64, 67];
const SR = 48000;
const SECONDS = 20;

requireArtifacts();
const server = await startServer();
const browser = await launchBrowser();
try {
  const page = await newPage(browser);
  await page.goto(`${server.url}/pkg/bench-blank`);
  const r = await page.evaluate(async ({ PATCH, KEYS, SR, SECONDS }) => {
    const { Instrument } = await import("/web/engine.js");
    const model = await (await fetch("/web/models/melody-lstm.tpq")).arrayBuffer();
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const ctx = new OfflineAudioContext(2, SECONDS * SR, SR);
      const instrument = await Instrument.create(ctx, PATCH, {
        initial: KEYS.map((pitch) => ({ type: "note-on", frame: 0, pitch, velocity: 100 })),
        melodyModel: model.slice(0),
      });
      const notes = { arp: 0, melody: 0 };
      instrument.addEventListener("notes", (e) => {
        const { notes: flat, count } = e.data;
        const n = count ?? flat.length / 5;
        for (let j = 0; j < n; j++) {
          if (flat[5 * j + 3] === 0) continue;
          if (flat[5 * j + 4] === 1) notes.arp += 1;
          if (flat[5 * j + 4] === 2) notes.melody += 1;
        }
      });
      const t0 = performance.now();
      const buffer = await ctx.startRendering();
      const ms = performance.now() - t0;
      const left = buffer.getChannelData(0);
      let peak = 0;
      for (let j = 0; j < left.length; j++) peak = Math.max(peak, Math.abs(left[j]));
      await new Promise((res) => setTimeout(res, 300));
      runs.push({ ms, peak, notes });
    }
    return runs;
  }, { PATCH, KEYS, SR, SECONDS });
  await closePage(page);
  const best = Math.min(...r.map((x) => x.ms));
  const rtf = SECONDS / (best / 1000);
  if (!(r[0].peak > 0.01 && r[0].notes.arp > 100 && r[0].notes.melody > 10)) {
    throw new Error(`the worst-case patch did not play: ${JSON.stringify(r)}`);
  }
  console.log(JSON.stringify({ bench: "worst-case-offline-rtf", seconds: SECONDS, runs_ms: r.map((x) => Math.round(x.ms)), rtf: +rtf.toFixed(2), notes: r[0].notes }));
  console.log("\n| measurement | result |\n|---|---|");
  console.log(`| worst-case patch in the worklet, OfflineAudioContext, ${SECONDS} s at 48 kHz, best of 3 | ${rtf.toFixed(2)}× real time (${Math.round(best)} ms; ${r[0].notes.arp} arp and ${r[0].notes.melody} melody notes) |`);
} finally {
  await browser.close();
  await server.stop();
}
