// The main thread's side of the engine: compiles the wasm once (for the worklet and for the
// main thread's own codec), starts the worklet with its networks' W radii (computed by the
// network worker, networks.js), and turns UI/MIDI actions into timed messages. Nothing musical
// is timed here: every message carries a sample frame and the engine in the worklet does the rest.

import initWasm, {
  parse_patch, patch_with, patch_text_of, param_sanitize, param_table, snapshot_layout,
} from "../pkg/tidepool_wasm.js";
import { OutputClock } from "./midi-out.js";
import { networkRadius } from "./networks.js";

const WASM_URL = new URL("../pkg/tidepool_wasm_bg.wasm", import.meta.url);
const WORKLET_URL = new URL("../worklet/processor.js", import.meta.url);

let compiled = null;
let layout = null;

/** Fetches and compiles the wasm module once, and initialises the main thread's instance. */
export async function loadWasm() {
  if (!compiled) {
    compiled = (async () => {
      const module = await WebAssembly.compileStreaming(fetch(WASM_URL));
      await initWasm({ module_or_path: module });
      return module;
    })();
  }
  return compiled;
}

/**
 * The parameter table (crates/engine/src/params.rs) as objects; a row's `id` is its index, the
 * number a "param" message carries. Needs `loadWasm()` first.
 */
export function params() {
  return JSON.parse(param_table());
}

/**
 * Where each value of the worklet's "view" snapshot sits (crates/wasm/src/lib.rs, `view`):
 * `{length, lfo, lfoCount, neurons, neuronCount, entries, maxEntries, pitches, probs,
 * status: {sounding, …}, melody: {phase, left, key, sounding, missing},
 * networks: {lfo: {neurons, connectivity, seedLow, seedHigh}, arp: {…}}}`. Needs `loadWasm()`.
 */
export function snapshotLayout() {
  layout ??= JSON.parse(snapshot_layout());
  return layout;
}

/** The networks playing now, from a "view" snapshot: `{lfo: {neurons, connectivity, seed}, arp}`. */
export function installedShapes(view) {
  const shape = (at) => ({
    neurons: view[at.neurons],
    connectivity: view[at.connectivity],
    seed: view[at.seedHigh] * 65536 + view[at.seedLow],
  });
  const { networks } = snapshotLayout();
  return { lfo: shape(networks.lfo), arp: shape(networks.arp) };
}

/**
 * `{text, values, errors}` for patch text, a fragment or a URL: the engine's own codec. `values`
 * has one number per parameter, indexed by id.
 */
export function parsePatch(text) {
  return JSON.parse(parse_patch(text));
}

/** Canonical patch text of `values` (one number per parameter, indexed by id). */
export function patchText(values) {
  return patch_text_of(values);
}

/** What parameter `id` becomes when set to `value` (the engine's rule); NaN for NaN. */
export function sanitize(id, value) {
  return param_sanitize(id, value);
}

/** `text` with `key` set to `value` (clamped), canonical. */
export function patchWith(text, key, value) {
  return patch_with(text, key, value);
}

/** A value of a field of canonical patch text (as written there). */
export function fieldOf(text, key) {
  for (const field of text.split("&")) {
    const [k, v] = field.split("=");
    if (k === key) return v;
  }
  return undefined;
}

/** The network shapes a patch asks for. */
export function shapesOf(patchText, table) {
  const value = (key) => {
    const spec = table.find((p) => p.key === key);
    const raw = fieldOf(patchText, key);
    return raw === undefined ? spec.default : Number(raw);
  };
  return {
    lfo: { neurons: value("lfo.n"), connectivity: value("lfo.conn"), seed: value("lfo.seed") },
    arp: { neurons: value("arp.n"), connectivity: value("arp.conn"), seed: value("arp.seed") },
  };
}

/**
 * The engine running in an AudioWorklet of `context`. Events: "notes" ({origin, notes: Uint32Array,
 * 5 numbers per note}), "view" ({frame, view: Float32Array laid out as `snapshotLayout()` says,
 * load}), "refused", "melody", "rhythm-builtin" ({name, ok, error}), "rhythm-model" ({track, ok,
 * error}), "markov" ({ok, error, table}: what the Markov chain learned, as a link's mk.table).
 * The arrays of "notes" and "view" are lent: they go back to the worklet's buffer pool after the
 * listeners ran, so a listener copies what it keeps. Created with `Instrument.create`.
 */
export class Instrument extends EventTarget {
  static async create(context, patchText, { initial = [], destination = context.destination, clock = null, melodyModel = null, rhythmModels = {} } = {}) {
    const module = await loadWasm();
    const table = params();
    const canonical = parsePatch(patchText).text;
    const shapes = shapesOf(canonical, table);
    // The page's module has no eigenvalue code: the worklet's engine gets both radii (asked for
    // ahead by start-shapes.js on the page, so usually ready).
    const [lfoRadius, arpRadius] = await Promise.all([
      networkRadius(shapes.lfo), networkRadius(shapes.arp), context.audioWorklet.addModule(WORKLET_URL),
    ]);
    const node = new AudioWorkletNode(context, "tidepool", {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [2],
      processorOptions: {
        module,
        patch: patchText,
        lfoRadius,
        arpRadius,
        initial,
        // Optional SharedArrayBuffer clock for a precise load meter (see worklet/processor.js).
        clock,
        // The melody model file's bytes when they arrived before Start (a copy goes over).
        melodyModel,
        // Built-in rhythm decoders ({name: ArrayBuffer of web/models/rhythm-<name>.tprd}) the
        // patch's playing tracks use, fetched before Start (copies go over).
        rhythmModels,
      },
    });
    const instrument = new Instrument(context, node, table, shapes);
    const ready = await new Promise((resolve) => {
      node.port.onmessage = (e) => {
        if (e.data.type === "ready") resolve(e.data);
      };
    });
    node.port.onmessage = (e) => instrument.receive(e.data);
    node.connect(destination);
    instrument.errors = ready.errors;
    instrument.melodyStatus = ready.melody;
    instrument.rhythmStatus = ready.rhythm ?? [];
    return instrument;
  }

  constructor(context, node, table, shapes) {
    super();
    this.context = context;
    this.node = node;
    this.table = table;
    // The network shapes ({lfo, arp}: {neurons, connectivity, seed}) the worklet has been asked
    // for, as numbers: networks.js keeps them. The page's one patch state is PatchState's.
    this.shapes = shapes;
    this.errors = [];
  }

  receive(message) {
    const lent = message.type === "notes" ? message.notes : message.type === "view" ? message.view : null;
    if (message.type === "notes") message.notes = lent.subarray(0, 5 * message.count);
    this.dispatchEvent(Object.assign(new Event(message.type), { data: message }));
    // Back to the worklet's pool, so its next messages need no new buffer.
    if (lent) this.post({ type: "recycle", what: message.type, array: lent }, [lent.buffer]);
  }

  /**
   * The engine frame at which an event that happened at `timeStamp` (performance.now() time, as
   * DOM and MIDI events carry) should sound: the audio output clock mapped to the render clock,
   * so relative timing between events is kept; late ones play at the next block.
   */
  frameAt(timeStamp = performance.now()) {
    const ctx = this.context;
    const sr = ctx.sampleRate;
    let frame = Math.round(ctx.currentTime * sr);
    const stamp = typeof ctx.getOutputTimestamp === "function" ? ctx.getOutputTimestamp() : null;
    if (stamp && stamp.performanceTime) {
      const outputLead = (ctx.baseLatency || 0) + (ctx.outputLatency || 0);
      frame = Math.round((stamp.contextTime + (timeStamp - stamp.performanceTime) / 1000 + outputLead) * sr);
    }
    // The output timestamp moves in steps, so two events a moment apart could map to frames in
    // the wrong order, and the engine orders its events by frame: a note-off could then land
    // before its note-on and leave the note stuck. Frames never go backwards.
    this.lastFrame = Math.max(this.lastFrame ?? 0, frame, 0);
    return this.lastFrame;
  }

  post(message, transfer = []) {
    this.node.port.postMessage(message, transfer);
  }

  noteOn(pitch, velocity, timeStamp) {
    this.post({ type: "note-on", frame: this.frameAt(timeStamp), pitch, velocity });
  }

  noteOff(pitch, timeStamp) {
    this.post({ type: "note-off", frame: this.frameAt(timeStamp), pitch });
  }

  sustain(down, timeStamp) {
    this.post({ type: "sustain", frame: this.frameAt(timeStamp), down });
  }

  /**
   * A MIDI clock message received at `timeStamp`: `status` 0xF8 tick, 0xFA start, 0xFB continue,
   * 0xFC stop, or 0xF2 song position (`position` in sixteenths). The engine follows it when the
   * patch's `clock.follow` is on: it fits the tempo to the frames the ticks arrived at.
   */
  clockIn(status, position, timeStamp) {
    // The frame heard at the tick's time, through the clock MIDI out stamps with (not frameAt's
    // "as soon as possible"): the follower extrapolates the sender's grid from these frames, so
    // the notes it places are heard, and sent out, on that grid. Never backwards.
    const frame = Math.max(this.lastClockFrame ?? 0, OutputClock.of(this.context).frameAt(timeStamp));
    this.lastClockFrame = frame;
    this.post({ type: "clock", frame, status, position });
  }

  /** Hands a validated melody model file (ArrayBuffer) to the engine; a "melody" event reports it. */
  installMelody(bytes) {
    this.post({ type: "melody-lstm", bytes });
  }

  /**
   * Hands the musician's model (ArrayBuffer of .tpq bytes, from web/melody-file-worker.js) to the
   * engine's "file" slot; a "melody" event with model "file" reports it.
   */
  installMelodyFile(bytes) {
    this.post({ type: "melody-file", bytes });
  }

  /** Hands an n-gram model file (ArrayBuffer) to the engine; a "melody" event reports it. */
  installNgram(bytes) {
    this.post({ type: "melody-ngram", bytes });
  }

  /** Hands built-in rhythm model `name`'s decoder bytes (ArrayBuffer, transferred) to the engine. */
  installRhythmBuiltin(name, bytes) {
    this.post({ type: "rhythm-builtin", name, bytes }, [bytes]);
  }

  /** Makes rhythm track `track` (0–2) play `model`: a built-in's name or "~" + a decoder's text. */
  setRhythmModel(track, model) {
    this.post({ type: "rhythm-model", track, model });
  }

  /** Makes the Markov chain forget what it learned; a "markov" event follows. */
  clearMarkov() {
    this.post({ type: "markov-clear" });
  }

  /** Gives the Markov chain a link's learned table ("": empty); a "markov" event reports it. */
  setMarkovTable(table) {
    this.post({ type: "markov-table", table });
  }

  /** Asks for the Markov chain's table as it stands; a "markov" event brings it. */
  requestMarkovTable() {
    this.post({ type: "markov-get" });
  }

  panic() {
    // At the latest frame handed out, not "now": a note-on sent a moment ago is stamped a little
    // in the future (the output latency) and would otherwise start after the panic and stick.
    this.post({ type: "all-notes-off", frame: this.frameAt() });
  }

  /**
   * Sets parameter number `id` (its row of the table) to `value` (sanitised by the caller, as
   * PatchState does) from the next block. Network-shaping parameters go through networks.js,
   * which also brings their network.
   */
  setParam(id, value) {
    this.post({ type: "param", frame: 0, id, value });
  }
}
