// A stalled page never moves a note: the real Instrument (web/engine.js, worklet/processor.js)
// plays the default reservoir arpeggio from a held chord in a realtime AudioContext while a
// recorder worklet after it keeps every sample (tests/e2e/recorder-worklet.js). One run as is,
// one with the page's main thread blocked by a 500 ms busy loop four times in 8 s: the two
// recordings, aligned on the engine's own frames, must be identical bit for bit, and so must the
// engine's notes (frame, pitch, velocity, source). Two runs with a patch differing in the arp
// seed and in the filter cutoff by 1 Hz show that the comparison sees a difference.

import { test } from "node:test";
import assert from "node:assert/strict";
import { serverAndBrowser, newPage, closePage, routeRepoFiles } from "./harness.mjs";

const ctx = serverAndBrowser();

const SR = 48000;
const SECONDS = 8;
const CHORD = [60, 64, 67, 71];
// Four 500 ms stalls, not in step with the 16th grid (125 ms).
const STALLS = [1.1, 2.9, 4.75, 6.6].map((at) => ({ at, ms: 500 }));
const FILES = { "/tests/e2e/recorder-worklet.js": "tests/e2e/recorder-worklet.js", "/tests/e2e/stall-page.js": "tests/e2e/stall-page.js" };

test("main-thread stalls change no sample and no note of the arpeggio", { timeout: 90_000 }, async () => {
  const page = await newPage(ctx.browser);
  await routeRepoFiles(page, ctx.server.url, FILES);
  // A same-origin page with the server's CSP (the static server's 404).
  await page.goto(`${ctx.server.url}/pkg/stall-blank`);
  const r = await page.evaluate(async ({ SR, SECONDS, CHORD, STALLS }) => {
    const { runTidepool, compareRuns } = await import("/tests/e2e/stall-page.js");
    const calm = await runTidepool({ chord: CHORD, seconds: SECONDS, sampleRate: SR });
    const stalled = await runTidepool({ chord: CHORD, seconds: SECONDS, sampleRate: SR, stalls: STALLS });
    const other = {
      seed: await runTidepool({ patch: "tp1&arp.seed=2", chord: CHORD, seconds: 3, sampleRate: SR }),
      cutoff: await runTidepool({ patch: "tp1&syn.cut=1801", chord: CHORD, seconds: 3, sampleRate: SR }),
    };
    const summary = (run) => ({
      origin: run.origin, recStart: run.rec.start, recorded: run.rec.length, blocks: run.rec.blocks,
      notes: run.notes.length, stalls: run.stalls, blocksDuringStalls: run.blocksDuringStalls, errors: run.errors,
    });
    return {
      sampleRate: calm.sampleRate,
      calm: summary(calm),
      stalled: summary(stalled),
      same: compareRuns(calm, stalled),
      seed: compareRuns(calm, other.seed),
      cutoff: compareRuns(calm, other.cutoff),
      // Arpeggio note-ons of the stalled run, for the grid check below.
      onsets: stalled.notes.filter((n) => n[2] > 0).map((n) => n[0]),
    };
  }, { SR, SECONDS, CHORD, STALLS });
  const problems = page.problems.filter((p) => !p.includes("status of 404"));
  await closePage(page);
  console.log(JSON.stringify({ calm: r.calm, stalled: r.stalled, same: r.same, seed: r.seed, cutoff: r.cutoff }));

  assert.equal(r.sampleRate, SR);
  assert.deepEqual(problems, []);
  // The stalls happened: each blocked the main thread ≥ 500 ms, while the audio thread kept
  // rendering (a 500 ms stall spans 187 quanta at 48 kHz; allow for the coarse Date.now()).
  assert.equal(r.stalled.stalls.length, STALLS.length);
  for (const s of r.stalled.stalls) assert.ok(s.ms >= 500, `a stall lasted only ${s.ms} ms`);
  for (const n of r.stalled.blocksDuringStalls) assert.ok(n >= 150, `audio stopped during a stall: ${r.stalled.blocksDuringStalls}`);
  // The runs played music over a long enough common window.
  assert.ok(r.same.seconds >= SECONDS - 1, `common window only ${r.same.seconds} s`);
  // Samples are compared from the first block both recorders heard (the node is connected once
  // the worklet is ready): a few quanta at most.
  assert.ok(r.same.from <= 0.1 * SR, `samples compared only from engine frame ${r.same.from}`);
  assert.ok(r.same.rms > 1e-3, `silent recording (rms ${r.same.rms})`);
  assert.ok(r.same.notes[0] >= 40, `only ${r.same.notes[0]} note events in the window`);
  // Identical, bit for bit and note for note, with every frame of the window recorded.
  assert.equal(r.same.gapInWindow, false, "the recorder missed quanta inside the engine's window");
  assert.equal(r.same.firstDifferingNote, -1, `notes differ: ${JSON.stringify(r.same.noteDiff)}`);
  assert.deepEqual(r.same.notes, [r.same.notes[0], r.same.notes[0]]);
  assert.equal(r.same.differingSamples, 0, `samples differ from engine frame ${r.same.firstDifferingFrame} (max |Δ| ${r.same.maxAbsDiff})`);
  // Every arpeggio note-on is on the 16th grid of 120 BPM at 48 kHz (6000 frames).
  for (const f of r.onsets) assert.equal(f % 6000, 0, `a note-on at engine frame ${f}`);
  // The comparison can fail: another seed plays other notes, 1 Hz of cutoff other samples.
  assert.notEqual(r.seed.firstDifferingNote, -1, "another arp seed gave the same notes");
  assert.ok(r.seed.differingSamples > 0);
  assert.equal(r.cutoff.firstDifferingNote, -1, "a cutoff change changed the notes");
  assert.ok(r.cutoff.differingSamples > 0, "a 1 Hz cutoff change went unnoticed");
});
