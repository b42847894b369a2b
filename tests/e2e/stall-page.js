// Browser side of the stall test (tests/e2e/stall.test.mjs) and benchmark
// (tests/bench/stall_tone.mjs): an instrument in a realtime AudioContext, recorded inside the
// audio graph by tests/e2e/recorder-worklet.js, while the page's main thread is blocked by busy
// loops. Loaded into a served page as /tests/e2e/stall-page.js; the analysis functions at the
// end touch no browser API, so Node can import them too.

/** Blocks the calling thread for `ms` (performance.now()), as a long task, GC or layout would. */
export function busy(ms) {
  const end = performance.now() + ms;
  let spins = 0;
  while (performance.now() < end) spins++;
  return spins;
}

const sleepUntil = (t) => new Promise((resolve) => setTimeout(resolve, Math.max(0, t - performance.now())));

/**
 * Runs `stalls` ([{at, ms}], `at` in seconds after `t0`, a performance.now() time), then waits
 * until `until` seconds after t0. Returns each stall as it happened: {from, to} in Date.now() ms
 * (the worklet's clock) and its measured length in ms.
 */
export async function stallAndWait(t0, stalls, until) {
  const done = [];
  for (const s of stalls) {
    await sleepUntil(t0 + s.at * 1000);
    const from = Date.now();
    const p0 = performance.now();
    busy(s.ms);
    done.push({ from, to: Date.now(), ms: performance.now() - p0 });
  }
  await sleepUntil(t0 + until * 1000);
  return done;
}

/** A recorder node (tests/e2e/recorder-worklet.js) keeping `frames` frames, connected to the output. */
export async function addRecorder(context, frames) {
  await context.audioWorklet.addModule("/tests/e2e/recorder-worklet.js");
  const node = new AudioWorkletNode(context, "recorder", {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    outputChannelCount: [2],
    channelCount: 2,
    channelCountMode: "explicit",
    processorOptions: { frames },
  });
  node.connect(context.destination);
  node.dump = () =>
    new Promise((resolve) => {
      node.port.onmessage = (e) => resolve(e.data);
      node.port.postMessage("dump");
    });
  return node;
}

/** How many recorded blocks were rendered during each stall (by their Date.now()). */
function blocksDuring(rec, stalls) {
  const recorded = Math.ceil(rec.length / 128);
  return stalls.map((s) => {
    let n = 0;
    for (let i = 0; i < recorded; i++) if (rec.blockTimes[i] > s.from && rec.blockTimes[i] < s.to) n++;
    return n;
  });
}

/**
 * tidepool's real Instrument (web/engine.js) in a realtime AudioContext, `chord` held from engine
 * frame 0 (`initial` events: in engine frames, so every run gets the same input on the same frame),
 * recorded after the instrument. Returns the recording, the engine's notes ([engine frame, pitch,
 * velocity, source]; velocity 0 is a note-off) and the engine's origin (the context frame of its
 * frame 0).
 */
export async function runTidepool({ patch = "", chord, seconds, stalls = [], sampleRate = 48000 }) {
  const { Instrument } = await import("/web/engine.js");
  const context = new AudioContext({ sampleRate, latencyHint: "interactive" });
  const recorder = await addRecorder(context, Math.ceil((seconds + 1) * sampleRate));
  const notes = [];
  let origin = null;
  const instrument = await Instrument.create(context, patch, {
    initial: chord.map((pitch) => ({ type: "note-on", frame: 0, pitch, velocity: 100 })),
    destination: recorder,
  });
  instrument.addEventListener("notes", (e) => {
    origin = e.data.origin;
    const f = e.data.notes;
    for (let i = 0; i < f.length; i += 5) notes.push([f[i] + f[i + 1] * 2 ** 32, f[i + 2], f[i + 3], f[i + 4]]);
  });
  await context.resume();
  const t0 = performance.now();
  const done = await stallAndWait(t0, stalls, seconds + 0.2);
  const rec = await recorder.dump();
  await context.close();
  return {
    sampleRate: context.sampleRate, origin, rec, notes, stalls: done, blocksDuringStalls: blocksDuring(rec, done),
    errors: instrument.errors,
  };
}

/**
 * A Tone.js arpeggio (global `Tone`, loaded by the caller) in the same kind of context, recorded
 * the same way: Tone.Transport at `bpm`, a Tone.Pattern ("up") over `pitches` every 16th, a
 * Tone.Synth, Tone's default lookahead. Returns the recording, the transport's start (context
 * seconds) and every callback's scheduled time next to the context time when it ran.
 */
export async function runTone({ pitches, seconds, stalls = [], sampleRate = 48000, bpm = 120, gate = "32n", startDelay = 0.3 }) {
  const Tone = globalThis.Tone;
  const context = new AudioContext({ sampleRate, latencyHint: "interactive" });
  Tone.setContext(context);
  const tone = Tone.getContext();
  const recorder = await addRecorder(context, Math.ceil((seconds + 1) * sampleRate));
  // Tone's defaults except a short release, so that every note ends before the next 16th (its
  // onset is then visible in the recording); the same shape as tidepool's patch in the benchmark.
  const synth = new Tone.Synth({ envelope: { attack: 0.004, decay: 0.1, sustain: 0.5, release: 0.01 } });
  synth.connect(recorder);
  const names = pitches.map((p) => Tone.Frequency(p, "midi").toNote());
  const events = [];
  const pattern = new Tone.Pattern((time, note) => {
    events.push({ time, note, ranAt: context.currentTime });
    synth.triggerAttackRelease(note, gate, time);
  }, names, "up");
  pattern.interval = "16n";
  const transport = Tone.getTransport();
  transport.bpm.value = bpm;
  pattern.start(0);
  await context.resume();
  const startAt = context.currentTime + startDelay;
  transport.start(startAt);
  const t0 = performance.now();
  const done = await stallAndWait(t0, stalls, seconds + 0.2);
  transport.stop();
  const rec = await recorder.dump();
  const info = { lookAhead: tone.lookAhead, updateInterval: tone.updateInterval, clockSource: tone.clockSource, version: Tone.version };
  pattern.dispose();
  synth.dispose();
  transport.cancel();
  await context.close();
  return { sampleRate: context.sampleRate, startAt, rec, events, stalls: done, blocksDuringStalls: blocksDuring(rec, done), info };
}

// ---------------------------------------------------------------------------------------------
// Analysis (no browser API).
// ---------------------------------------------------------------------------------------------

/**
 * Two tidepool runs compared on the engine's own frames: the recorder's sample i is the engine's
 * frame rec.start + i − origin (both nodes render the same quantum). Samples are compared as bits
 * from the first engine frame both recorders heard (Instrument.create connects the node once the
 * worklet is ready, and the engine may render a block or two before that) to the end of the
 * shorter recording; notes (frame, pitch, velocity, source) over the whole window, from frame 0.
 */
export function compareRuns(a, b) {
  const zeroA = a.origin - a.rec.start;
  const zeroB = b.origin - b.rec.start;
  if (!(zeroA >= 0 && zeroB >= 0)) throw new Error(`the recorder started after the engine (${zeroA}, ${zeroB})`);
  // Heard: connected, and past the last quantum Chromium skipped the recorder for. Such a skip
  // happens while the graph is being wired at the start (seen on CI: 14 quanta right after the
  // connection); one later in the run moves `from` past the test's 0.1 s limit and fails it.
  const heard = (r) => Math.max(0, (r.rec.connectedAt ?? Infinity) - r.origin, (r.rec.resumedAt ?? 0) - r.origin);
  const from = Math.max(heard(a), heard(b));
  const frames = Math.min(a.rec.length - zeroA, b.rec.length - zeroB);
  let differing = 0;
  let first = -1;
  let maxAbs = 0;
  for (const ch of ["left", "right"]) {
    const xa = a.rec[ch], xb = b.rec[ch];
    const ua = new Uint32Array(xa.buffer), ub = new Uint32Array(xb.buffer);
    for (let i = from; i < frames; i++) {
      if (ua[zeroA + i] !== ub[zeroB + i]) {
        differing++;
        if (first < 0 || i < first) first = i;
        maxAbs = Math.max(maxAbs, Math.abs(xa[zeroA + i] - xb[zeroB + i]));
      }
    }
  }
  const inWindow = (run) => run.notes.filter((n) => n[0] < frames).map((n) => n.join(":"));
  const na = inWindow(a), nb = inWindow(b);
  let firstNoteDiff = -1;
  for (let i = 0; i < Math.max(na.length, nb.length); i++) {
    if (na[i] !== nb[i]) {
      firstNoteDiff = i;
      break;
    }
  }
  let energy = 0;
  for (let i = from; i < frames; i++) energy += a.rec.left[zeroA + i] ** 2;
  // A quantum the recorder was not called for (zeros) inside the engine's window would compare
  // silence with silence there: the window must start after the last such gap.
  const gapInWindow = [a, b].some((r) => r.rec.resumedAt !== null && r.rec.resumedAt > r.origin + from);
  return {
    from, frames, seconds: (frames - from) / a.sampleRate, gapInWindow, differingSamples: differing, firstDifferingFrame: first, maxAbsDiff: maxAbs,
    notes: [na.length, nb.length], firstDifferingNote: firstNoteDiff,
    noteDiff: firstNoteDiff < 0 ? null : [na[firstNoteDiff] ?? null, nb[firstNoteDiff] ?? null],
    rms: Math.sqrt(energy / Math.max(1, frames - from)),
  };
}

/**
 * Note onsets in `x`: the first sample above `threshold` × the peak after at least `quietMs` of
 * samples below it.
 */
export function onsets(x, sampleRate, { threshold = 0.02, quietMs = 15 } = {}) {
  let peak = 0;
  for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]));
  const thr = threshold * peak;
  const quiet = Math.round((quietMs / 1000) * sampleRate);
  const found = [];
  let below = quiet;
  for (let i = 0; i < x.length; i++) {
    if (Math.abs(x[i]) > thr) {
      if (below >= quiet) found.push(i);
      below = 0;
    } else {
      below++;
    }
  }
  return found;
}

/**
 * Which of `pitches` (MIDI, a few semitones apart or more) sounds at `x[from..from+len)`: Goertzel
 * power (Hann window) at each fundamental; the lowest pitch with at least 4 % of the largest
 * power (20 % of its amplitude), since a note's second or third harmonic can be stronger than its
 * fundamental and fall on another candidate an octave or a twelfth up.
 */
export function pitchAt(x, from, len, sampleRate, pitches) {
  const power = pitches.map((p) => {
    const w = (2 * Math.PI * 440 * 2 ** ((p - 69) / 12)) / sampleRate;
    const c = 2 * Math.cos(w);
    let s1 = 0, s2 = 0;
    for (let i = 0; i < len && from + i < x.length; i++) {
      const h = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (len - 1));
      const s0 = h * x[from + i] + c * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    return s1 * s1 + s2 * s2 - c * s1 * s2;
  });
  const max = Math.max(...power);
  const order = pitches.map((p, i) => [p, power[i]]).sort((u, v) => u[0] - v[0]);
  return order.find(([, q]) => q >= 0.04 * max)[0];
}

/**
 * An arpeggio's recording against its ideal grid: step k should start at frame `zero + k·step`
 * (recording indices) with pitch `pattern[k % pattern.length]`. Onsets are found in the audio
 * and named by pitch; each is matched to the latest not yet matched step with that pitch whose
 * ideal frame is at most `earlyMs` after it (notes are never early; a pattern longer than any
 * delay keeps this unambiguous). Steps whose ideal frame is inside [max(zero, from), end − tail)
 * count as expected (`from`: where the recording starts to hear the instrument); an expected
 * step with no onset was dropped (not heard as a note of its own).
 */
export function gridReport(x, sampleRate, { zero, step, pattern, from = 0, tailMs = 150, earlyMs = 2 }) {
  const found = onsets(x, sampleRate);
  const win = Math.round(0.04 * sampleRate);
  const pad = Math.round(0.004 * sampleRate);
  const distinct = [...new Set(pattern)];
  const end = x.length - Math.round((tailMs / 1000) * sampleRate);
  const expected = [];
  for (let k = 0; zero + k * step < end; k++) if (zero + k * step >= from) expected.push(k);
  const matched = new Map();
  let last = -1;
  let unmatched = 0;
  for (const o of found) {
    if (o >= end) break;
    const pitch = pitchAt(x, o + pad, win, sampleRate, distinct);
    let k = Math.floor((o - zero + (earlyMs / 1000) * sampleRate) / step);
    while (k > last && pattern[((k % pattern.length) + pattern.length) % pattern.length] !== pitch) k--;
    if (k <= last || k < 0) {
      unmatched++;
      continue;
    }
    matched.set(k, (o - (zero + k * step)) / sampleRate * 1000);
    last = k;
  }
  const displacements = expected.filter((k) => matched.has(k)).map((k) => matched.get(k));
  const abs = displacements.map(Math.abs);
  return {
    expected: expected.length,
    played: displacements.length,
    dropped: expected.length - displacements.length,
    unmatchedOnsets: unmatched,
    maxMs: abs.length ? Math.max(...abs) : null,
    meanMs: abs.length ? abs.reduce((s, v) => s + v, 0) / abs.length : null,
    over5Ms: abs.filter((v) => v > 5).length,
  };
}
