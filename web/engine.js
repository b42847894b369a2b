// The main thread's side of the engine: compiles the wasm once (for the worklet and for the
// main thread's own codec and network radii), starts the worklet, and turns UI/MIDI actions into
// timed messages. Nothing musical is timed here: every message carries a sample frame and the
// engine in the worklet does the rest.

import initWasm, { parse_patch, patch_with, param_table, network_radius_of } from "../pkg/tidepool_wasm.js";

const WASM_URL = new URL("../pkg/tidepool_wasm_bg.wasm", import.meta.url);
const WORKLET_URL = new URL("../worklet/processor.js", import.meta.url);

/** Layout of the worklet's live-view snapshot (crates/wasm/src/lib.rs, `snapshot`). */
export const VIEW = { lfo: 0, neurons: 4, neuronCount: 64, entries: 68, maxEntries: 32 };
VIEW.pitches = VIEW.entries + 1;
VIEW.probs = VIEW.pitches + VIEW.maxEntries;
VIEW.status = VIEW.probs + VIEW.maxEntries;
export const STATUS_NAMES = ["lfoNanResets", "arpNanResets", "droppedInputs", "droppedNotes", "voicesStolen", "synthNonFinite", "sounding"];
VIEW.melody = VIEW.status + STATUS_NAMES.length;
/** The melody part of the snapshot, in order from VIEW.melody. */
export const MELODY_VIEW = ["phase", "left", "key", "sounding", "missing"];

let compiled = null;

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

/** The parameter table (crates/engine/src/params.rs) as objects. Needs `loadWasm()` first. */
export function params() {
  return JSON.parse(param_table());
}

/** `{text, errors}` for patch text, a fragment or a URL: the engine's own codec. */
export function parsePatch(text) {
  return JSON.parse(parse_patch(text));
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

const radiusCache = new Map();

/** W's spectral radius for a network shape (the O(N³) part of a rebuild), cached. */
export function networkRadius(neurons, connectivity, seed) {
  const key = `${neurons}/${connectivity}/${seed}`;
  if (!radiusCache.has(key)) radiusCache.set(key, network_radius_of(neurons, connectivity, seed));
  return radiusCache.get(key);
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
 * The engine running in an AudioWorklet of `context`. Events: "notes" (Uint32Array, 5 numbers per
 * note), "view" ({frame, view, load}), "refused". Created with `Instrument.create`.
 */
export class Instrument extends EventTarget {
  static async create(context, patchText, { initial = [], destination = context.destination, clock = null, melodyModel = null } = {}) {
    const module = await loadWasm();
    await context.audioWorklet.addModule(WORKLET_URL);
    const table = params();
    const canonical = parsePatch(patchText).text;
    const shapes = shapesOf(canonical, table);
    const node = new AudioWorkletNode(context, "tidepool", {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [2],
      processorOptions: {
        module,
        patch: patchText,
        lfoRadius: networkRadius(shapes.lfo.neurons, shapes.lfo.connectivity, shapes.lfo.seed),
        arpRadius: networkRadius(shapes.arp.neurons, shapes.arp.connectivity, shapes.arp.seed),
        initial,
        // Optional SharedArrayBuffer clock for a precise load meter (see worklet/processor.js).
        clock,
        // The melody model file's bytes when they arrived before Start (a copy goes over).
        melodyModel,
      },
    });
    const instrument = new Instrument(context, node, table, canonical);
    const ready = await new Promise((resolve) => {
      node.port.onmessage = (e) => {
        if (e.data.type === "ready") resolve(e.data);
      };
    });
    node.port.onmessage = (e) => instrument.receive(e.data);
    node.connect(destination);
    instrument.errors = ready.errors;
    instrument.melodyStatus = ready.melody;
    return instrument;
  }

  constructor(context, node, table, patchText) {
    super();
    this.context = context;
    this.node = node;
    this.table = table;
    this.patch = patchText;
    this.errors = [];
  }

  receive(message) {
    this.dispatchEvent(Object.assign(new Event(message.type), { data: message }));
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

  post(message) {
    this.node.port.postMessage(message);
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

  /** Hands a validated melody model file (ArrayBuffer) to the engine; a "melody" event reports it. */
  installMelody(bytes) {
    this.post({ type: "melody-lstm", bytes });
  }

  /** Hands an n-gram model file (ArrayBuffer) to the engine; a "melody" event reports it. */
  installNgram(bytes) {
    this.post({ type: "melody-ngram", bytes });
  }

  panic() {
    // At the latest frame handed out, not "now": a note-on sent a moment ago is stamped a little
    // in the future (the output latency) and would otherwise start after the panic and stick.
    this.post({ type: "all-notes-off", frame: this.frameAt() });
  }

  /** Sets a parameter now; a network-shaping one also builds the new network's radius here. */
  setParam(key, value) {
    this.patch = patchWith(this.patch, key, value);
    const canonical = Number(fieldOf(this.patch, key));
    this.post({ type: "param", frame: 0, key, value: Number.isFinite(canonical) ? canonical : value });
    const spec = this.table.find((p) => p.key === key);
    if (spec && spec.structural) {
      const which = key.startsWith("lfo.") ? "lfo" : "arp";
      const shape = shapesOf(this.patch, this.table)[which];
      const radius = networkRadius(shape.neurons, shape.connectivity, shape.seed);
      this.post({ type: "network", which, ...shape, radius });
    }
    return this.patch;
  }
}
