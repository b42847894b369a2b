// The AudioWorkletProcessor: runs the Rust engine (wasm) and copies its audio out. Thin by design:
// every musical decision is the engine's. One `switch` over the message types below, which mirror
// the engine's `Input` enum (crates/engine/src/events.rs).
//
// main thread → worklet                          worklet → main thread
//   {type: "note-on", frame, pitch, velocity}      {type: "ready", errors, sampleRate}
//   {type: "note-off", frame, pitch}               {type: "notes", origin, count, notes: Uint32Array}
//   {type: "sustain", frame, down}                   (lent; 5 numbers per note in its first 5·count:
//   {type: "all-notes-off", frame}                   engine frame lo, hi, pitch, velocity, source;
//   {type: "clock", frame, status, position}         then MIDI clock/CC messages as lo, hi, bytes,
//     (MIDI clock in: 0xF8/FA/FB/FC, 0xF2 + position)  byte count, 3 (see drain_notes in crates/wasm);
//   {type: "param", frame, id, value}                context frame = engine frame + origin)
//     (id: a row of param_table(); value as        {type: "view", frame, view: Float32Array, load}
//     param_sanitize() gives it; {key, value}        (lent; laid out as snapshot_layout() says)
//     by name is still understood)                 {type: "refused", what}
//   {type: "recycle", what: "notes"|"view", array}
//     (a lent array given back)
//   {type: "network", bytes: ArrayBuffer}          {type: "melody", model, ok, error}
//     (a whole network built by web/network-        {type: "network", ok, error, ms}
//     worker.js; swapped in at a block boundary)     (read in, or why not; ms: handler time)
//   {type: "melody-lstm", bytes: ArrayBuffer}      (melody-lstm.tpq, validated on the main thread)
//   {type: "melody-ngram", bytes: ArrayBuffer}     (an n-gram model file, melody-ngram-N.tpng)
//   {type: "melody-file", bytes: ArrayBuffer}      (the musician's model file as .tpq, made by
//     web/melody-file-worker.js; "melody" answers with model "file")
//   {type: "rhythm-builtin", name, bytes}          {type: "rhythm-builtin", name, ok, error}
//     (a built-in rhythm decoder, web/models/rhythm-<name>.tprd)
//   {type: "rhythm-model", track, model}           {type: "rhythm-model", track, ok, error}
//     (track 0–2 plays a built-in by name or "~" + an embedded decoder, as in patch text)
//   {type: "played-rhythms"}                       {type: "played-rhythms", rhythms: Uint32Array}
//     (the keys' last 2-bar rhythms on the sixteenth grid, 33 numbers each)
//   {type: "markov-clear"}                         {type: "markov", ok, error, table}
//   {type: "markov-table", table}                    (what the Markov chain learned now, as a
//     (a link's mk.table value; "" clears)            link's mk.table value; "" nothing; after
//   {type: "markov-get"}                              a refused table, ok false and why)
//
// Recording (web/recorder.js): {type: "record", on: true, keys, held} starts it (keys: the parameter
// keys by id, for the performance file; held: "note-on" and "sustain" messages for what is held
// down at that moment, recorded at its first frame, not played again), {type: "record", on: false}
// stops it and the worklet answers
// {type: "recording", sampleRate, patch, frames, events, dropped}: the inputs the engine took since
// the last flush, at the engine frame each applied at, as crates/engine/src/performance.rs writes
// events. {type: "record", flush: true} while recording answers {type: "recording-part", …} with
// the events since the last flush (and the frames so far): the page saves a recording as it goes,
// so a reload cannot lose it, and the audio thread never copies a long recording at once.
// Appended here in the message handler, never in process().
//
// Lent arrays come from the worklet's pools: their buffers are transferred, and the main thread
// gives each back with "recycle" once its listeners have read it.
//
// Frames in messages are the context's frames (the AudioContext's sample clock); the engine
// counts from its own first block, so the processor shifts them by the frame that block started
// at. `initial` events (processorOptions) are in engine frames already. A frame in the past (or
// absent) applies at the start of the next block.

import "./text-polyfill.js";
import { initSync, WasmEngine, reserve_heap, wasm_memory } from "../pkg/tidepool_wasm.js";

// Heap grown and touched in the constructor: a 1000-neuron, fully connected network swap needs
// its 4.3 MB of bytes and the 4.3 MB network read from them at once. Measured: the first swap's
// copy-in took 6.5 ms while the memory grew, later ones 1–3 ms.
const SWAP_HEAP_BYTES = 9 << 20;
// Blocks between live-view snapshots (about 30 per second at 44.1–48 kHz).
const VIEW_EVERY = 12;
// Arrays per pool for "notes" and "view" messages. Each is transferred to the main thread and
// lent back ("recycle") once read, so a steady stream of messages allocates no buffer; a stalled
// main thread holds them all, then a "notes" message gets a new array (the pool grows to what the
// stall needed) and a view is skipped (the next one shows the same things, later).
const POOL_SIZE = 4;
// Blocks the load meter averages over (about 3 s): Date.now() ticks in whole milliseconds, so a
// long window is what makes the mean usable when a block takes a few microseconds.
const LOAD_WINDOW = 1024;
// Inputs one recording keeps (the performance reader's limit is 2 000 000): hours of playing.
const MAX_RECORDED_EVENTS = 1_000_000;

class TidepoolProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { module, patch, lfoRadius, arpRadius, initial, clock, melodyModel, rhythmModels } = options.processorOptions;
    // The worklet has no performance.now(). A cross-origin-isolated host may share a clock: a
    // SharedArrayBuffer whose one f64 another thread keeps at performance.now(); otherwise
    // Date.now(), whose 1 ms ticks only make the mean meaningful.
    const shared = clock ? new Float64Array(clock) : null;
    this.now = shared ? () => shared[0] : Date.now;
    initSync({ module });
    this.engine = WasmEngine.with_radii(sampleRate, patch ?? "", lfoRadius ?? NaN, arpRadius ?? NaN);
    const melody = melodyModel ? this.installMelody({ type: "melody-lstm", bytes: melodyModel }) : null;
    // Built-in rhythm decoders fetched by the page ({name: ArrayBuffer}); a bad one is reported.
    const rhythm = Object.entries(rhythmModels ?? {}).map(([name, bytes]) => this.installRhythm({ name, bytes }));
    this.warmUp(patch, lfoRadius, arpRadius, melodyModel, rhythmModels);
    reserve_heap(SWAP_HEAP_BYTES);
    this.blocks = 0;
    this.busyMs = 0;
    this.peakMs = 0;
    this.load = { mean: 0, peak: 0 };
    // Views on wasm memory, made again only when the memory grows (growing detaches its buffer).
    this.memory = wasm_memory();
    this.mapped = { buffer: null, frames: 0 };
    this.noteCapacity = this.engine.notes_capacity();
    this.viewLength = this.engine.snapshot();
    this.pools = { notes: [], view: [] };
    for (let i = 0; i < POOL_SIZE; i++) {
      this.pools.notes.push(new Uint32Array(5 * this.noteCapacity));
      this.pools.view.push(new Float32Array(this.viewLength));
    }
    // Posted again and again: postMessage copies them, so one object of each serves every block.
    this.notesMessage = { type: "notes", origin: 0, count: 0, notes: null };
    this.viewMessage = { type: "view", frame: 0, view: null, load: this.load };
    this.transfer = [null];
    // Context frame of engine frame 0: set at each block; until the first, the current frame.
    this.origin = null;
    this.port.onmessage = (e) => this.handle(e.data, this.origin ?? currentFrame);
    for (const message of initial ?? []) this.handle(message, 0);
    this.port.postMessage({ type: "ready", errors: this.engine.patch_errors(), sampleRate, melody, rhythm });
  }

  // V8 compiles wasm functions lazily, on their first call: done in the first audio block that
  // costs most of a millisecond (measured: 895 µs, a third of the quantum). A throwaway engine
  // playing a chord for a few blocks here, before audio starts, takes that cost off the audio path.
  // The melody LSTM and a rhythm track are warmed up the same way when their models came with the
  // options.
  warmUp(patch, lfoRadius, arpRadius, melodyModel, rhythmModels) {
    const warm = WasmEngine.with_radii(sampleRate, patch ?? "", lfoRadius ?? NaN, arpRadius ?? NaN);
    if (melodyModel) {
      try {
        warm.install_melody_lstm(new Uint8Array(melodyModel));
        warm.set_param(0, "mel.mode", 1);
        warm.set_param(0, "mel.model", 0);
      } catch {
        // A bad model was reported by the real install; nothing to warm up.
      }
    }
    // The rhythm tracks' decoding and stepping too, with the first built-in decoder given.
    const [name, bytes] = Object.entries(rhythmModels ?? {})[0] ?? [];
    if (bytes) {
      try {
        warm.install_rhythm_builtin(name, new Uint8Array(bytes));
        warm.set_rhythm_model(0, name);
        warm.set_param(0, "rh1.on", 1);
        warm.set_param(0, "rh1.thr", 0);
      } catch {
        // Reported by the real install.
      }
    }
    for (const pitch of [60, 64, 67]) warm.note_on(0, pitch, 100);
    for (let i = 0; i < 64; i++) {
      warm.process(128);
      warm.drain_notes();
    }
    warm.snapshot();
    warm.free();
  }

  handle(m, origin) {
    const e = this.engine;
    // Networks a swap replaced are freed here, between blocks.
    e.drop_retired();
    const frame = Math.max(0, (m.frame ?? 0) - origin);
    let ok = true;
    switch (m.type) {
      case "note-on": ok = e.note_on(frame, m.pitch, m.velocity); break;
      case "note-off": ok = e.note_off(frame, m.pitch); break;
      case "sustain": ok = e.sustain(frame, !!m.down); break;
      case "all-notes-off": ok = e.all_notes_off(frame); break;
      case "clock": ok = e.clock_in(frame, m.status, m.position ?? 0); break;
      case "param":
        ok = m.id === undefined ? e.set_param(frame, String(m.key), Number(m.value)) : e.set_param_id(frame, m.id, Number(m.value));
        break;
      case "recycle": {
        // Only arrays of the pool's own size rejoin it.
        const pool = this.pools[m.what];
        const length = m.what === "notes" ? 5 * this.noteCapacity : this.viewLength;
        if (pool && m.array?.length === length) pool.push(m.array);
        return;
      }
      case "melody-lstm":
      case "melody-ngram":
      case "melody-file":
        this.port.postMessage(this.installMelody(m));
        return;
      case "network":
        this.port.postMessage(this.stageNetwork(m.bytes));
        return;
      case "rhythm-builtin":
        this.port.postMessage(this.installRhythm(m));
        return;
      case "rhythm-model":
        this.port.postMessage(this.setRhythmModel(m));
        return;
      case "played-rhythms":
        // The keys' last 2-bar rhythms (33 numbers each, see played_rhythms in crates/wasm),
        // asked for by "learn from my playing": a few hundred bytes, from the handler.
        this.port.postMessage({ type: "played-rhythms", rhythms: Uint32Array.from(this.engine.played_rhythms()) });
        return;
      case "markov-clear":
      case "markov-table":
      case "markov-get":
        this.port.postMessage(this.markov(m));
        return;
      case "record":
        this.setRecording(m);
        return;
      default: ok = false;
    }
    if (!ok) this.port.postMessage({ type: "refused", what: m.type });
    else if (this.recording) this.record(m, frame);
  }

  // Starts or stops a recording (see the header). The patch is the engine's as it stands, so the
  // offline render starts from the sound heard when Record was pressed.
  setRecording(m) {
    const e = this.engine;
    if (m.on) {
      this.recording = { start: e.frame(), patch: e.patch_text(), keys: m.keys ?? [], events: [], count: 0, end: 0, dropped: 0 };
      for (const held of m.held ?? []) this.record(held, 0);
      return;
    }
    const r = this.recording;
    if (!r) return;
    // Inputs may be queued for frames after Stop (the page schedules ahead): the length covers them.
    const frames = Math.max(e.frame() - r.start, r.end);
    const type = m.flush ? "recording-part" : "recording";
    if (!m.flush) this.recording = null;
    this.port.postMessage({ type, sampleRate, patch: r.patch, frames, events: r.events, dropped: r.dropped });
    r.events = [];
  }

  // Appends input `m`, which the engine took for `frame`, as a performance event at the frame the
  // engine applies it: one in the past plays at the next block's first frame, and the engine
  // truncates a fractional frame and clamps bytes as the wasm exports do. A clock message keeps
  // its own frame: the follower fits the frames ticks were sent at, however late they arrived,
  // so a re-render follows the same tempo and grid.
  record(m, frame) {
    const r = this.recording;
    if (r.count >= MAX_RECORDED_EVENTS) {
      r.dropped += 1;
      return;
    }
    const applied = m.type === "clock" ? Math.floor(frame) : Math.max(Math.floor(frame), this.engine.frame());
    const at = Math.max(0, applied - r.start);
    const byte = (v) => Math.min(127, v >>> 0);
    let event;
    switch (m.type) {
      case "note-on": event = [at, "on", byte(m.pitch), byte(m.velocity)]; break;
      case "note-off": event = [at, "off", byte(m.pitch)]; break;
      case "sustain": event = [at, "sustain", m.down ? 1 : 0]; break;
      case "all-notes-off": event = [at, "panic"]; break;
      case "param": {
        const value = Number(m.value);
        // NaN is ignored by the engine; ±Infinity clamps as the largest finite numbers do.
        if (Number.isNaN(value)) return;
        const key = m.id === undefined ? String(m.key) : r.keys[m.id];
        event = [at, "param", key, Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, value))];
        break;
      }
      case "clock": {
        const name = { 0xf8: "tick", 0xfa: "start", 0xfb: "continue", 0xfc: "stop", 0xf2: "spp" }[m.status];
        event = name === "spp" ? [at, "clock", "spp", Math.min(0x3fff, (m.position ?? 0) >>> 0)] : [at, "clock", name];
        break;
      }
      default: return;
    }
    r.events.push(event);
    r.count += 1;
    r.end = Math.max(r.end, at + 1);
  }

  // Between blocks, from the message handler: a network built by the worker is only copied in
  // (nothing drawn or normalised here); the engine swaps it in at the end of the first block
  // whose parameters ask for exactly its shape, and the network it replaces is freed by the next
  // handler call, never inside process(). Returns the "network" message that reports it.
  stageNetwork(bytes) {
    const started = this.now();
    try {
      this.engine.stage_network(new Uint8Array(bytes));
      return { type: "network", ok: true, error: "", ms: this.now() - started };
    } catch (error) {
      return { type: "network", ok: false, error: String(error), ms: this.now() - started };
    }
  }

  // Between blocks, from the message handler: loading costs about 1.3 ms (the LSTM: its 1.5 MB
  // of quantized weights checked and laid out) or microseconds (an n-gram's flat tables), once
  // per model. Returns the "melody" message that reports it (model: 0 the LSTM, 1–4 an n-gram
  // order, -1 an n-gram file refused, "file" the musician's model file).
  installMelody(m) {
    const lstm = m.type === "melody-lstm";
    const file = m.type === "melody-file";
    try {
      const bytes = new Uint8Array(m.bytes);
      let model;
      if (lstm) model = (this.engine.install_melody_lstm(bytes), 0);
      else if (file) model = (this.engine.install_melody_file(bytes), "file");
      else model = this.engine.install_melody_ngram(bytes);
      return { type: "melody", model, ok: true, error: "" };
    } catch (error) {
      return { type: "melody", model: lstm ? 0 : file ? "file" : -1, ok: false, error: String(error) };
    }
  }

  // Between blocks, from the message handler: the Markov chain cleared, given a link's table, or
  // asked for its table (about 0.1 ms: a pass over its 1.4 MB of counts). Returns the "markov"
  // message that reports it, with the table it holds now.
  markov(m) {
    const e = this.engine;
    let ok = true;
    let error = "";
    try {
      if (m.type === "markov-clear") e.clear_markov();
      else if (m.type === "markov-table") e.set_markov_table(String(m.table ?? ""));
    } catch (err) {
      ok = false;
      error = String(err);
    }
    return { type: "markov", ok, error, table: e.markov_table() };
  }

  // Between blocks, from the message handler: a decoder is a few kilobytes, read in microseconds.
  // Returns the "rhythm-builtin" message that reports it.
  installRhythm(m) {
    try {
      this.engine.install_rhythm_builtin(String(m.name), new Uint8Array(m.bytes));
      return { type: "rhythm-builtin", name: m.name, ok: true, error: "" };
    } catch (error) {
      return { type: "rhythm-builtin", name: m.name, ok: false, error: String(error) };
    }
  }

  // Between blocks: a track's model by name or embedded text (decoded here, never in process()).
  setRhythmModel(m) {
    try {
      this.engine.set_rhythm_model(m.track >>> 0, String(m.model));
      return { type: "rhythm-model", track: m.track, ok: true, error: "" };
    } catch (error) {
      return { type: "rhythm-model", track: m.track, ok: false, error: String(error) };
    }
  }

  process(_inputs, outputs) {
    const started = this.now();
    // Context frame of engine frame 0, taken again every block: when the audio thread was late
    // and Chromium skipped render quanta, the context's clock moved on without the engine, and
    // the engine's later frames are heard that much later.
    this.origin = currentFrame - this.engine.frame();
    const out = outputs[0];
    const e = this.engine;
    const n = e.process(out[0].length);
    const mapped = this.views(n);
    out[0].set(mapped.left);
    if (out[1]) out[1].set(mapped.right);
    const notes = e.drain_notes();
    if (notes > 0) {
      const array = this.pools.notes.pop() ?? new Uint32Array(5 * this.noteCapacity);
      for (let i = 0; i < 5 * notes; i++) array[i] = mapped.notes[i];
      const m = this.notesMessage;
      m.origin = this.origin;
      m.count = notes;
      this.lend(m, "notes", array);
    }
    // With Date.now() (1 ms ticks) the mean over many blocks is unbiased, a single block's time
    // is only known to ±1 ms; with a shared clock it is known to the clock thread's step.
    const took = this.now() - started;
    this.busyMs += took;
    this.peakMs = Math.max(this.peakMs, took);
    this.blocks += 1;
    if (this.blocks % LOAD_WINDOW === 0) {
      const budgetMs = (1000 * n) / sampleRate;
      this.load.mean = this.busyMs / (LOAD_WINDOW * budgetMs);
      this.load.peak = this.peakMs / budgetMs;
      this.busyMs = 0;
      this.peakMs = 0;
    }
    if (this.blocks % VIEW_EVERY === 0 && this.pools.view.length > 0) {
      e.snapshot();
      const array = this.pools.view.pop();
      array.set(mapped.view);
      this.viewMessage.frame = this.origin + e.frame();
      this.lend(this.viewMessage, "view", array);
    }
    return true;
  }

  // Typed-array views on the engine's buffers in wasm memory, kept across blocks: made again only
  // when the memory grew (its old buffer is then detached) or the block length changed.
  views(frames) {
    const buffer = this.memory.buffer;
    if (buffer !== this.mapped.buffer || frames !== this.mapped.frames) {
      const e = this.engine;
      this.mapped = {
        buffer,
        frames,
        left: new Float32Array(buffer, e.left_ptr(), frames),
        right: new Float32Array(buffer, e.right_ptr(), frames),
        notes: new Uint32Array(buffer, e.notes_ptr(), 5 * this.noteCapacity),
        view: new Float32Array(buffer, e.view_ptr(), this.viewLength),
      };
    }
    return this.mapped;
  }

  // Posts `message` with `array` as its `field`, transferring the array's buffer: the main thread
  // sends the array back with a "recycle" message once its listeners have read it.
  lend(message, field, array) {
    message[field] = array;
    this.transfer[0] = array.buffer;
    this.port.postMessage(message, this.transfer);
    message[field] = null;
    this.transfer[0] = null;
  }
}

registerProcessor("tidepool", TidepoolProcessor);
