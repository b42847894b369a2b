// The engine in the REAL worklet (served page, CSP applied, OfflineAudioContext) renders the
// same notes and the same samples as `tidepool render` of the same patch and score.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CLI, serverAndBrowser, newPage, closePage } from "./harness.mjs";

const SECONDS = 10;
// Non-default choices on purpose: beat pulses into the LFO, two octaves, swing, a faster tempo.
const PATCH =
  "tp1&bpm=132&swing=56&arp.mode=reservoir&arp.oct=2&arp.swing=58&arp.gate=0.6&arp.vel=accent" +
  "&lfo.dest1=cutoff&lfo.depth1=0.8&lfo.pulse=beat&lfo.pamp=2&syn.cut=1400&syn.res=0.5";
// A chord held 0–8 s, one note added later in the chord, and a lone note after the release.
const SCORE = [
  { name: "C4", pitch: 60, velocity: 100, start: 0, end: 8 },
  { name: "Eb4", pitch: 63, velocity: 90, start: 0, end: 8 },
  { name: "G4", pitch: 67, velocity: 80, start: 0, end: 8 },
  { name: "Bb4", pitch: 70, velocity: 70, start: 2.345, end: 7.5 },
  { name: "D5", pitch: 74, velocity: 110, start: 8.5, end: 9.6 },
];
const TOLERANCE = 1e-6;
// The same with the melody LSTM playing freely over it in E♭ (the model handed to the worklet as
// the page does; the CLI reads the same file).
const MELODY_PATCH = `${PATCH}&mel.mode=free&mel.key=Eb&mel.temp=1.5&mel.seed=7&mel.dens=60`;
// The same following an external MIDI clock (Start, then ticks at 100 BPM with up to ±2 ms of
// seeded jitter, 140 BPM from 5 s), sending its own clock and LFO output 1 as CC 74: the
// follower, the clock sender and the CC sender all run in both renders.
const CLOCK_PATCH = `${PATCH}&clock.follow=1&clock.out=1&lfo.cc1=74`;
// The same with the rhythm sequencer's three tracks playing their built-in models (the decoders
// handed to the worklet as the page does; the CLI reads the same files): points, thresholds,
// lengths, one track's pitches from the held keys, the trained velocity head, another channel.
const RHYTHM_PATCH =
  `${PATCH}&rh1.on=1&rh1.x=0.8&rh1.y=1.6&rh1.thr=0.35&rh2.on=1&rh2.x=2.5&rh2.y=0.3&rh2.len=12` +
  "&rh2.pitch=keys&rh2.vel=head&rh2.tr=12&rh3.on=1&rh3.x=0.4&rh3.y=0.9&rh3.thr=0.2&rh3.ch=9&rh3.gate=0.9";
const RHYTHM_MODELS = ["model1", "model3", "prototype"];

/** The clock's events as [frame, status]: Start, then ticks. */
function clockEvents(sampleRate) {
  let seed = 99;
  const jitter = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return (seed / 2147483648) * 4 - 2;
  };
  const events = [[Math.round(0.05 * sampleRate), 0xfa]];
  let t = 0.1;
  while (t < SECONDS) {
    events.push([Math.round((t + jitter() / 1000) * sampleRate), 0xf8]);
    t += 60 / (t < 5 ? 100 : 140) / 24;
  }
  return events;
}

const ctx = serverAndBrowser({ workDir: "tidepool-e2e-" });

/** `tidepool render` → {left, right, notes: [[frame, pitch, velocity]]}. */
function renderNative(sampleRate, patch) {
  const wav = path.join(ctx.work, `native-${sampleRate}.wav`);
  const json = path.join(ctx.work, `native-${sampleRate}.json`);
  const score = SCORE.map((n) => `${n.name}/${n.velocity}@${n.start}-${n.end}`).join(" ");
  // A followed clock comes as a performance file: the score's notes and the clock's messages.
  const input = patch === CLOCK_PATCH
    ? ["--performance", performanceFile(sampleRate, patch)]
    : ["--patch", patch, "--score", score, "--seconds", String(SECONDS), "--sample-rate", String(sampleRate)];
  execFileSync(CLI, ["render", ...input, "-o", wav, "--notes-json", json], { stdio: ["ignore", "pipe", "pipe"] });
  const bytes = readFileSync(wav);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The CLI writes a 44-byte header: check it says what we read.
  assert.equal(bytes.toString("ascii", 0, 4), "RIFF");
  assert.equal(bytes.toString("ascii", 8, 12), "WAVE");
  assert.equal(view.getUint16(20, true), 3, "WAV format is IEEE float");
  assert.equal(view.getUint16(22, true), 2, "WAV is stereo");
  assert.equal(view.getUint32(24, true), sampleRate, "WAV sample rate");
  assert.equal(view.getUint16(34, true), 32, "WAV is 32-bit");
  assert.equal(bytes.toString("ascii", 36, 40), "data");
  const dataBytes = view.getUint32(40, true);
  const frames = dataBytes / 8;
  const left = new Float32Array(frames);
  const right = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    left[i] = view.getFloat32(44 + 8 * i, true);
    right[i] = view.getFloat32(44 + 8 * i + 4, true);
  }
  return { left, right, notes: JSON.parse(readFileSync(json, "utf8")) };
}

/** The score (and, for the clock patch, the clock) as the worklet's messages, in engine frames. */
function initialMessages(sampleRate, patch) {
  const initial = [];
  for (const n of SCORE) {
    initial.push({ type: "note-on", frame: Math.round(n.start * sampleRate), pitch: n.pitch, velocity: n.velocity });
    initial.push({ type: "note-off", frame: Math.round(n.end * sampleRate), pitch: n.pitch });
  }
  if (patch === CLOCK_PATCH) {
    for (const [frame, status] of clockEvents(sampleRate)) initial.push({ type: "clock", frame, status, position: 0 });
  }
  return initial;
}

/** The same inputs as a performance file for `tidepool render --performance`; returns its path. */
function performanceFile(sampleRate, patch) {
  const names = { 0xf8: "tick", 0xfa: "start" };
  const events = initialMessages(sampleRate, patch).map((m) =>
    m.type === "note-on" ? [m.frame, "on", m.pitch, m.velocity]
      : m.type === "note-off" ? [m.frame, "off", m.pitch]
        : [m.frame, "clock", names[m.status]]);
  const file = path.join(ctx.work, `performance-${sampleRate}.json`);
  const frames = Math.round(SECONDS * sampleRate);
  writeFileSync(file, JSON.stringify({ format: "tidepool-performance", version: 1, sample_rate: sampleRate, frames, patch, events }));
  return file;
}

/** The served page renders the patch in the worklet with an OfflineAudioContext. */
async function renderInWorklet(page, sampleRate, patch) {
  const frames = Math.round(SECONDS * sampleRate);
  const initial = initialMessages(sampleRate, patch);
  const result = await page.evaluate(
    async ({ patch, frames, sampleRate, initial, rhythmNames }) => {
      const { Instrument } = await import("/web/engine.js");
      const ctx = new OfflineAudioContext(2, frames, sampleRate);
      const melodyModel = /mel\.mode=(free|answer)/.test(patch)
        ? await (await fetch("/web/models/melody-lstm.tpq")).arrayBuffer()
        : null;
      const rhythmModels = {};
      for (const name of /rh1\.on=1/.test(patch) ? rhythmNames : []) {
        rhythmModels[name] = await (await fetch(`/web/models/rhythm-${name}.tprd`)).arrayBuffer();
      }
      const instrument = await Instrument.create(ctx, patch, { initial, melodyModel, rhythmModels });
      const notes = [];
      const origins = new Set();
      let lastMessage = performance.now();
      let refused = [];
      instrument.addEventListener("notes", (e) => {
        lastMessage = performance.now();
        origins.add(e.data.origin);
        notes.push(...e.data.notes);
      });
      instrument.addEventListener("view", () => { lastMessage = performance.now(); });
      instrument.addEventListener("refused", (e) => refused.push(e.data.what));
      const started = performance.now();
      const buffer = await ctx.startRendering();
      const renderMs = performance.now() - started;
      // Messages from the worklet may still be in flight: wait for a quiet 400 ms.
      while (performance.now() - lastMessage < 400) await new Promise((r) => setTimeout(r, 50));
      const b64 = (f32) => {
        const bytes = new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength);
        let s = "";
        for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
        return btoa(s);
      };
      return {
        length: buffer.length,
        sampleRate: buffer.sampleRate,
        left: b64(buffer.getChannelData(0)),
        right: b64(buffer.getChannelData(1)),
        notes,
        origins: [...origins],
        errors: instrument.errors,
        melody: instrument.melodyStatus,
        rhythm: instrument.rhythmStatus,
        refused,
        renderMs,
      };
    },
    { patch, frames, sampleRate, initial, rhythmNames: RHYTHM_MODELS },
  );
  const f32 = (b64) => {
    const buf = Buffer.from(b64, "base64");
    return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  };
  const notes = [];
  for (let i = 0; i < result.notes.length; i += 5) {
    const [lo, hi, pitch, velocity, word] = result.notes.slice(i, i + 5);
    // A note's fifth number is its source plus 256 × its channel.
    notes.push({ frame: hi * 2 ** 32 + lo, pitch, velocity, source: word & 0xff, channel: word >> 8 });
  }
  return { ...result, left: f32(result.left), right: f32(result.right), notes };
}

function compareChannels(a, b) {
  let maxAbs = 0, differ = 0, beyond = 0, firstDiff = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > 0 || Number.isNaN(d)) {
      differ++;
      if (firstDiff < 0) firstDiff = i;
    }
    if (!(d <= TOLERANCE)) beyond++;
    if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(d) ? NaN : d;
  }
  return { maxAbs, differ, beyond, firstDiff };
}

const rms = (x) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);

const CASES = [
  { sampleRate: 44100, patch: PATCH, what: "arpeggiator and LFO" },
  { sampleRate: 48000, patch: PATCH, what: "arpeggiator and LFO" },
  { sampleRate: 48000, patch: MELODY_PATCH, what: "with the melody LSTM" },
  { sampleRate: 48000, patch: CLOCK_PATCH, what: "following a jittery MIDI clock, sending clock and CC" },
  { sampleRate: 44100, patch: RHYTHM_PATCH, what: "with the three rhythm tracks" },
];

for (const { sampleRate, patch, what } of CASES) {
  test(`worklet render == tidepool render at ${sampleRate} Hz, ${what}`, { timeout: 120_000 }, async (t) => {
    const native = renderNative(sampleRate, patch);
    const page = await newPage(ctx.browser);
    let web;
    try {
      await page.goto(`${ctx.server.url}/`);
      web = await renderInWorklet(page, sampleRate, patch);
    } finally {
      await closePage(page);
    }
    const frames = Math.round(SECONDS * sampleRate);

    assert.deepEqual(page.problems, [], "no console errors/warnings or page errors");
    assert.deepEqual(web.errors, [], "the worklet accepted the whole patch");
    assert.deepEqual(web.refused, [], "the worklet refused no initial event");
    assert.deepEqual(web.origins, [0], "an offline context's engine starts at context frame 0");
    assert.equal(web.sampleRate, sampleRate);
    assert.equal(web.length, frames);
    assert.equal(native.left.length, frames, "native render length");

    // The MIDI clock and CC messages (source 3) ride with the notes: only the clock patch sends.
    const midi = web.notes.filter((n) => n.source === 3);
    const ticks = midi.filter((n) => (n.pitch & 0xff) === 0xf8).length;
    const ccs = midi.filter((n) => (n.pitch & 0xff) === 0xb0).length;
    if (patch === CLOCK_PATCH) {
      t.diagnostic(`clock: ${ticks} ticks and ${ccs} CCs sent while following`);
      assert.ok(ticks >= 300 && ccs >= 20, `the engine followed and sent (${ticks} ticks, ${ccs} CCs)`);
    } else {
      assert.equal(midi.length, 0, "no MIDI clock or CC without the connection settings");
    }
    // Notes: both sides' full lists (keys and arpeggiator), in order.
    // The worklet renders whole 128-frame quanta: notes from its last, partly past the end
    // (frame ≥ the render's length), are not in the native render of exactly that length.
    const webNotes = web.notes
      .filter((n) => n.source !== 3 && n.frame < frames)
      .map((n) => [n.frame, n.pitch, n.velocity]);
    const arpOns = web.notes.filter((n) => n.source === 1 && n.velocity > 0);
    const arpPitches = new Set(arpOns.map((n) => n.pitch));
    t.diagnostic(`${webNotes.length} notes in the worklet (${arpOns.length} arpeggiated note-ons over ${arpPitches.size} pitches), ${native.notes.length} natively; worklet rendered in ${web.renderMs.toFixed(0)} ms`);
    assert.ok(arpOns.length >= 40, `the arpeggiator played (${arpOns.length} arp note-ons)`);
    assert.ok([...arpPitches].some((p) => p >= 72), "arp.oct=2 reaches the second octave");
    assert.ok(arpOns.some((n) => n.pitch === 74 || n.pitch === 86), "the later lone note D5 was arpeggiated");
    const melodyOns = web.notes.filter((n) => n.source === 2 && n.velocity > 0);
    if (patch === MELODY_PATCH) {
      t.diagnostic(`melody: model ${JSON.stringify(web.melody)}, ${melodyOns.length} note-ons: ${melodyOns.slice(0, 16).map((n) => n.pitch).join(" ")}`);
      assert.equal(web.melody?.ok, true, "the worklet installed the melody model");
      assert.ok(melodyOns.length >= 10, `the melody played (${melodyOns.length} note-ons)`);
    } else {
      assert.equal(melodyOns.length, 0, "no melody when it is off");
    }
    // The rhythm tracks (sources 4–6, the channel in the high byte) play only in the rhythm patch.
    const rhythmOns = [0, 1, 2].map((t) => web.notes.filter((n) => n.source === 4 + t && n.velocity > 0));
    if (patch === RHYTHM_PATCH) {
      t.diagnostic(`rhythm: ${JSON.stringify(web.rhythm)}, note-ons per track ${rhythmOns.map((o) => o.length).join(", ")}`);
      assert.deepEqual(web.rhythm.map((r) => r.ok), [true, true, true], "the worklet installed the three built-in decoders");
      for (const [t, ons] of rhythmOns.entries()) assert.ok(ons.length >= 8, `track ${t + 1} played (${ons.length} note-ons)`);
      assert.ok(rhythmOns[0].every((n) => n.channel === 2), "track 1 on channel 3");
      assert.ok(rhythmOns[2].every((n) => n.channel === 8), "track 3 on channel 9");
      assert.ok(rhythmOns[1].every((n) => [72, 75, 79, 82, 86].includes(n.pitch)), "track 2 plays the held keys an octave up");
    } else {
      assert.ok(rhythmOns.every((o) => o.length === 0), "no rhythm notes when the tracks are off");
    }
    const firstMismatch = webNotes.findIndex((n, i) => JSON.stringify(n) !== JSON.stringify(native.notes[i]));
    assert.equal(webNotes.length, native.notes.length, `note count: worklet ${webNotes.length}, native ${native.notes.length}`);
    assert.equal(firstMismatch, -1, `first differing note #${firstMismatch}: worklet ${JSON.stringify(webNotes[firstMismatch])}, native ${JSON.stringify(native.notes[firstMismatch])}`);

    // Samples.
    const l = compareChannels(web.left, native.left);
    const r = compareChannels(web.right, native.right);
    const level = rms(native.left);
    t.diagnostic(
      `${sampleRate} Hz: left max |Δ| ${l.maxAbs.toExponential(2)} (${l.differ} of ${frames} samples differ, ${l.beyond} beyond ${TOLERANCE}); ` +
        `right max |Δ| ${r.maxAbs.toExponential(2)} (${r.differ} differ, ${r.beyond} beyond); ` +
        `rms ${level.toFixed(4)}; bit-identical: ${l.differ === 0 && r.differ === 0}`,
    );
    console.log(JSON.stringify({ test: "offline-equivalence", sampleRate, melody: patch === MELODY_PATCH, notes: webNotes.length, arpNoteOns: arpOns.length, maxAbsLeft: l.maxAbs, maxAbsRight: r.maxAbs, differLeft: l.differ, differRight: r.differ, bitIdentical: l.differ === 0 && r.differ === 0, workletRenderMs: Math.round(web.renderMs) }));
    assert.ok(level > 0.01, `the render is not silent (rms ${level})`);
    assert.ok(rms(native.right) > 0.01 && rms(web.left) > 0.01, "both renders have sound");
    assert.ok(l.beyond === 0, `left: ${l.beyond} samples differ by more than ${TOLERANCE} (max ${l.maxAbs}, first at frame ${l.firstDiff})`);
    assert.ok(r.beyond === 0, `right: ${r.beyond} samples differ by more than ${TOLERANCE} (max ${r.maxAbs}, first at frame ${r.firstDiff})`);
  });
}
