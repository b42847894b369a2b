// Stalled main thread: tidepool against a Tone.js arpeggio (a benchmark, not a test: it prints a
// markdown table and one JSON line per run, and exits 0 unless something broke).
//
//   node tests/bench/stall_tone.mjs        (needs pkg/, target/debug/xtask and `npm ci`; builds nothing)
//
// The same arpeggio on both: C4 E4 G4 over three octaves, upwards, 16ths at 120 BPM, each note
// half a 16th long with a short release, in a realtime AudioContext at 48 kHz in headless
// Chromium, recorded inside the audio graph by tests/e2e/recorder-worklet.js. Each instrument runs
// 8 s as is and 8 s with the page's main thread blocked by a 500 ms busy loop four times (the
// schedule of tests/e2e/stall.test.mjs), ROUNDS times (env STALL_ROUNDS, default 3).
//
// - tidepool: the real Instrument (web/engine.js) with `arp.mode=up&arp.oct=3`, the chord held
//   from engine frame 0; its grid starts at the engine's frame 0.
// - Tone.js (npm `tone`, pinned in package.json, served from node_modules by this script on the
//   page's origin): Tone.Transport at 120 BPM, Tone.Pattern "up" with interval "16n", a
//   Tone.Synth, Tone's default lookahead (0.1 s) and clock (a Worker ticker: the page's CSP here
//   also allows blob: workers, as usual pages do); its grid starts at the transport's start time.
//
// The notes are found in each recording by the same detector (an onset after 15 ms of near
// silence, named by pitch with a Goertzel filter at each fundamental) and matched to the grid:
// notes expected, heard, dropped (no onset of their own), and max / mean |displacement| from the
// ideal grid in ms. tidepool's stalled recordings are also compared with its calm ones bit for bit
// on the engine's frames, and Tone's callbacks are logged: how many ran after the time they were
// to schedule for.

import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { ROOT, startServer, launchBrowser, newPage, closePage, requireArtifacts, routeRepoFiles } from "../e2e/harness.mjs";
import { compareRuns, gridReport } from "../e2e/stall-page.js";

const SR = 48000;
const SECONDS = 8;
const ROUNDS = Number(process.env.STALL_ROUNDS ?? 3);
const STALLS = [1.1, 2.9, 4.75, 6.6].map((at) => ({ at, ms: 500 }));
const CHORD = [60, 64, 67];
// Three octaves up: nine pitches at least three semitones apart, so that each onset can be named
// by its pitch and a note up to 1.1 s late is still matched to its own step.
const PATTERN = [0, 12, 24].flatMap((o) => CHORD.map((p) => p + o));
const STEP = (SR * 60) / 120 / 4;
const TIDEPOOL_PATCH = "tp1&arp.mode=up&arp.oct=3&arp.gate=0.5&syn.r=10";
const TONE_FILE = "node_modules/tone/build/Tone.js";

requireArtifacts();
if (!existsSync(path.join(ROOT, TONE_FILE))) throw new Error(`missing ${TONE_FILE}: run \`npm ci\` (package.json pins tone)`);
const toneVersion = JSON.parse(readFileSync(path.join(ROOT, "node_modules/tone/package.json"), "utf8")).version;

const server = await startServer();
const browser = await launchBrowser();
const chromiumVersion = browser.version();
const BLANK_PATH = "/pkg/stall-blank";
// The server's CSP (its 404 page carries it too), and the same with blob: workers allowed.
const CSP = (await fetch(`${server.url}${BLANK_PATH}`)).headers.get("content-security-policy");
if (!CSP?.includes("worker-src 'self'")) throw new Error(`unexpected CSP: ${CSP}`);

/**
 * A same-origin page with the product's CSP, test modules and Tone.js served from disk;
 * `blobWorkers` also allows blob: workers there (Tone's Worker clock, as on usual pages).
 */
async function openPage({ blobWorkers }) {
  const page = await newPage(browser);
  const csp = blobWorkers ? CSP.replace("worker-src 'self'", "worker-src 'self' blob:") : CSP;
  await routeRepoFiles(page, server.url, (p) => {
    if (p === BLANK_PATH) return { status: 200, headers: { "content-type": "text/html", "content-security-policy": csp }, body: "<!doctype html><title>stall bench</title>" };
    if (p.startsWith("/tests/e2e/") && /^[\w./-]+\.js$/.test(p)) return p.slice(1);
    if (p === `/${TONE_FILE}`) return TONE_FILE;
    return null;
  });
  await page.goto(`${server.url}${BLANK_PATH}`);
  return page;
}

const results = [];
const record = (r) => {
  results.push(r);
  console.log(JSON.stringify(r));
};
const table = {};
const add = (key, g) => {
  const t = (table[key] ??= { runs: 0, expected: 0, played: 0, dropped: 0, max: 0, sum: 0, n: 0, over5: 0 });
  t.runs++;
  t.expected += g.expected;
  t.played += g.played;
  t.dropped += g.dropped;
  t.max = Math.max(t.max, g.maxMs ?? 0);
  t.sum += (g.meanMs ?? 0) * g.played;
  t.n += g.played;
  t.over5 += g.over5Ms;
};

let identical = true;
try {
  const tp = await openPage({ blobWorkers: false });
  const tn = await openPage({ blobWorkers: true });
  await tn.addScriptTag({ url: `/${TONE_FILE}` });
  for (let round = 0; round < ROUNDS; round++) {
    // tidepool: calm, then stalled; compared on engine frames, then each against its grid.
    const runs = {};
    for (const stalled of [false, true]) {
      const run = await tp.evaluate(async (arg) => {
        const { runTidepool } = await import("/tests/e2e/stall-page.js");
        const r = await runTidepool(arg);
        // Back to Node as plain arrays (a typed array does not serialise).
        return { ...r, rec: { ...r.rec, left: Array.from(r.rec.left.subarray(0, r.rec.length)), right: Array.from(r.rec.right.subarray(0, r.rec.length)), blockTimes: [] } };
      }, { patch: TIDEPOOL_PATCH, chord: CHORD, seconds: SECONDS, sampleRate: SR, stalls: stalled ? STALLS : [] });
      run.rec.left = Float32Array.from(run.rec.left);
      run.rec.right = Float32Array.from(run.rec.right);
      const zero = run.origin - run.rec.start;
      const g = gridReport(run.rec.left, SR, { zero, step: STEP, pattern: PATTERN, from: run.rec.connectedAt - run.rec.start });
      // The engine's own note-ons against the same grid.
      const ons = run.notes.filter((n) => n[2] > 0 && n[0] + zero < run.rec.length - 0.15 * SR);
      const engineOff = ons.map((n) => Math.abs(n[0] - Math.round(n[0] / STEP) * STEP));
      add(`tidepool|${stalled}`, g);
      runs[stalled] = run;
      record({ bench: "stall", instrument: "tidepool", round, stalled, ...g, engine_note_ons: ons.length, engine_max_off_grid_frames: Math.max(0, ...engineOff), stalls_ms: run.stalls.map((s) => Math.round(s.ms)), quanta_during_stalls: run.blocksDuringStalls });
    }
    const same = compareRuns(runs[false], runs[true]);
    identical &&= same.differingSamples === 0 && same.firstDifferingNote === -1;
    record({
      bench: "stall-identical", instrument: "tidepool", round, seconds: +same.seconds.toFixed(3), differing_samples: same.differingSamples,
      first_differing_frame: same.firstDifferingFrame, max_abs_diff: same.maxAbsDiff, first_differing_note: same.firstDifferingNote, compared_from_engine_frame: same.from,
      recorder_gap_in_window: same.gapInWindow, skipped: [runs[false].rec.skipped, runs[true].rec.skipped],
    });

    // Tone.js: calm, then stalled.
    for (const stalled of [false, true]) {
      const run = await tn.evaluate(async (arg) => {
        const { runTone } = await import("/tests/e2e/stall-page.js");
        const r = await runTone(arg);
        return { ...r, rec: { ...r.rec, left: Array.from(r.rec.left.subarray(0, r.rec.length)), right: [], blockTimes: [] } };
      }, { pitches: PATTERN, seconds: SECONDS, sampleRate: SR, stalls: stalled ? STALLS : [] });
      const left = Float32Array.from(run.rec.left);
      const zero = Math.round(run.startAt * SR) - run.rec.start;
      const g = gridReport(left, SR, { zero, step: STEP, pattern: PATTERN, from: run.rec.connectedAt - run.rec.start });
      const late = run.events.map((e) => e.ranAt - e.time).filter((d) => d > 0);
      add(`tone|${stalled}`, g);
      record({
        bench: "stall", instrument: "tone", round, stalled, ...g, callbacks: run.events.length,
        callbacks_after_their_time: late.length, worst_callback_lateness_ms: late.length ? Math.round(Math.max(...late) * 1000) : 0,
        stalls_ms: run.stalls.map((s) => Math.round(s.ms)), quanta_during_stalls: run.blocksDuringStalls, tone: run.info,
      });
    }
  }
  for (const page of [tp, tn]) {
    // Chromium asks for /favicon.ico, which the static server does not have.
    const problems = page.problems.filter((p) => !p.includes("status of 404"));
    if (problems.length || page.refused.length) record({ bench: "stall-page-problems", problems, refused: page.refused });
    await closePage(page);
  }
} finally {
  await browser.close();
  await server.stop();
}

const fmt = (v) => v.toFixed(1);
console.log(`\n## Arpeggio under main-thread stalls (4 × 500 ms in ${SECONDS} s), headless Chromium, realtime 48 kHz, ${ROUNDS} runs each, recorded in the audio graph\n`);
console.log("| instrument | main thread | notes expected | notes heard | dropped | max \\|displacement\\| | mean \\|displacement\\| | notes > 5 ms off |");
console.log("|---|---|---|---|---|---|---|---|");
for (const [name, key] of [["tidepool (engine clock in the worklet)", "tidepool"], [`Tone.js ${toneVersion} (Transport + Pattern, lookahead 0.1 s)`, "tone"]]) {
  for (const stalled of [false, true]) {
    const t = table[`${key}|${stalled}`];
    if (!t) continue;
    console.log(`| ${name} | ${stalled ? "stalled" : "free"} | ${t.expected} | ${t.played} | ${t.dropped} | ${fmt(t.max)} ms | ${fmt(t.n ? t.sum / t.n : 0)} ms | ${t.over5} |`);
  }
}
console.log(`\ntidepool stalled == calm, bit for bit on engine frames: ${identical ? "yes, every round" : "NO"}`);
console.log(`headless Chromium ${chromiumVersion}, tone ${toneVersion}, ${new Date().toISOString()}`);
if (!identical) process.exit(1);
