// The rhythm sequencer's Web Worker: keeps the training data set, trains the autoencoders and
// encodes the scatter of the X/Y pads, with the tools wasm module (pkg/tools/, crates/wasm's
// `tools` feature, crates/wasm/src/rhythm_tools.rs), never on the page's or the audio thread.
// Training runs a slice of epochs at a time and yields between slices, so a "cancel" message is
// read within one slice (about 30 ms) and the loss curve moves while it trains.
//
// main thread → worker: {id, type, …} requests, answered by {id, type: "result", ok, value, error}
//   "add-audio" {name, samples: Float32Array, sampleRate, bars, bpm}   → {added, total}
//   "add-midi" {name, bytes: Uint8Array}                                → {added, total}
//   "add-played" {name, velocities: Uint8Array (32 per rhythm)}         → {added, total}
//   "clear"                                                             → {total}
//   "data" (the user's data set as JSON, for storage)                   → {json, total}
//   "restore-data" {json}                                               → {total}
//   "train" {key, arch, epochs, seed, velocityHead, corpus: "none"|"some"|"all"}
//                                                            → a model (below), or {cancelled}
//   "load-model" {key, bytes: Uint8Array}   (a .safetensors file)       → a model
//   "builtin" {name} (a built-in model's scatter over the corpus)       → a model
// and {type: "cancel"} (no answer: the training under way answers {cancelled: true}).
// A model: {arch, text ("~" + the decoder, as a patch holds it), file: Uint8Array, training (JSON), points:
// Float32Array (x, y per rhythm), velocities: Uint8Array (32 per rhythm), sources: [string],
// ms: {train, wall}, epochs, loss}.
// While training: {type: "progress", id, epoch, epochs, losses: [the epochs' losses since the last]}.

import { initSync, RhythmData, RhythmModel, RhythmTrainer } from "../pkg/tools/tidepool_wasm.js";

const TOOLS_WASM = new URL("../pkg/tools/tidepool_wasm_bg.wasm", import.meta.url);
const MODELS = new URL("./models/", import.meta.url);
// The built-in corpus (tools/rhythm/corpus.py's output).
const CORPUS = new URL("../data/rhythm/builtin.json", import.meta.url);
// Rhythms of the corpus taken for "some" of it (picked evenly through it), and at most this many
// points drawn for a built-in model's scatter.
const CORPUS_SOME = 200;
// Training yields to the message queue after this long, so Cancel and the loss curve keep up.
const SLICE_MS = 30;

let loaded = null;
let data = null; // the user's rhythms (files, played keys)
let corpus = null; // the built-in corpus, fetched once when first needed
let cancelled = false;

function load() {
  loaded ??= (async () => {
    const response = await fetch(TOOLS_WASM);
    if (!response.ok) throw new Error(`the training module (pkg/tools/) could not be fetched (${response.status})`);
    initSync({ module: await WebAssembly.compileStreaming(response) });
    data = new RhythmData();
  })();
  return loaded;
}

async function loadCorpus() {
  if (!corpus) {
    const response = await fetch(CORPUS);
    if (!response.ok) throw new Error(`the built-in corpus (data/rhythm/builtin.json) could not be fetched (${response.status})`);
    corpus = RhythmData.from_json(await response.text());
  }
  return corpus;
}

// A message channel's task runs before timers and without their 4 ms clamp: a cheap yield.
const channel = new MessageChannel();
const waiting = [];
channel.port1.onmessage = () => waiting.shift()?.();
const yieldToMessages = () => new Promise((resolve) => {
  waiting.push(resolve);
  channel.port2.postMessage(0);
});

/** What the page needs of a model: its decoder text and file, and the scatter over `set`. */
function describe(model, set) {
  const training = JSON.parse(model.training());
  return {
    arch: model.arch(),
    text: `~${model.decoder_text()}`,
    file: model.to_file(),
    training,
    points: set ? model.points(set) : new Float32Array(0),
    velocities: set ? set.velocities() : new Uint8Array(0),
    sources: set && set.count() > 0 ? set.sources().split("\n") : [],
  };
}

/** The set to train on: the user's rhythms and as much of the corpus as asked. */
async function trainingSet(corpusShare) {
  const set = RhythmData.from_json(data.to_json());
  if (corpusShare !== "none") set.add_from(await loadCorpus(), corpusShare === "some" ? CORPUS_SOME : 0);
  set.dedup();
  return set;
}

async function train(m) {
  cancelled = false;
  const set = await trainingSet(m.corpus ?? "none");
  if (set.count() === 0) {
    set.free();
    throw new Error("there are no rhythms to train on: drop audio loops or MIDI files, play with “Learn from my playing” on, or include the built-in corpus");
  }
  const trainer = new RhythmTrainer(set, m.arch, m.seed, !!m.velocityHead);
  const wallStart = performance.now();
  let trainMs = 0;
  let losses = [];
  let loss = NaN;
  try {
    while (trainer.epochs_done() < m.epochs) {
      const sliceStart = performance.now();
      while (trainer.epochs_done() < m.epochs && performance.now() - sliceStart < SLICE_MS) {
        loss = trainer.run(1);
        losses.push(loss);
      }
      trainMs += performance.now() - sliceStart;
      self.postMessage({ type: "progress", id: m.id, epoch: trainer.epochs_done(), epochs: m.epochs, losses });
      losses = [];
      await yieldToMessages();
      if (cancelled) return { cancelled: true, epoch: trainer.epochs_done() };
    }
    const wall = performance.now() - wallStart;
    const model = trainer.model();
    try {
      return { ...describe(model, set), ms: { train: trainMs, wall }, epochs: trainer.epochs_done(), loss, count: set.count() };
    } finally {
      model.free();
    }
  } finally {
    trainer.free();
    set.free();
  }
}

async function loadModel(m) {
  const model = RhythmModel.from_file(m.bytes);
  try {
    return describe(model, data.count() > 0 ? data : null);
  } finally {
    model.free();
  }
}

async function builtin(m) {
  const response = await fetch(new URL(`rhythm-${m.name}.safetensors`, MODELS));
  if (!response.ok) throw new Error(`the built-in model file rhythm-${m.name}.safetensors could not be fetched (${response.status})`);
  const model = RhythmModel.from_file(new Uint8Array(await response.arrayBuffer()));
  const sample = new RhythmData();
  try {
    sample.add_from(await loadCorpus(), 1000);
    return describe(model, sample);
  } finally {
    model.free();
    sample.free();
  }
}

const totals = (added) => ({ added, total: data.count() });

const HANDLERS = {
  "add-audio": (m) => totals(data.add_audio(m.name, m.samples, m.sampleRate, m.bars ?? NaN, m.bpm ?? NaN)),
  "add-midi": (m) => totals(data.add_midi(m.name, m.bytes, 0)),
  "add-played": (m) => totals(data.add_played(m.name, m.velocities)),
  clear: () => {
    data.free();
    data = new RhythmData();
    return { total: 0 };
  },
  data: () => ({ json: data.to_json(), total: data.count() }),
  "restore-data": (m) => {
    const restored = RhythmData.from_json(m.json);
    data.free();
    data = restored;
    return { total: data.count() };
  },
  train,
  "load-model": loadModel,
  builtin,
};

/** An error from Rust (a string) or JS, as the sentence the page shows. */
const plain = (error) => String(error && error.message ? error.message : error);

self.onmessage = async (e) => {
  const m = e.data;
  if (m.type === "cancel") {
    cancelled = true;
    return;
  }
  const handler = HANDLERS[m.type];
  try {
    if (!handler) throw new Error(`no request called ${m.type}`);
    await load();
    const value = await handler(m);
    const transfer = [value?.file, value?.points, value?.velocities].filter((a) => a?.buffer).map((a) => a.buffer);
    self.postMessage({ id: m.id, type: "result", ok: true, value }, transfer);
  } catch (error) {
    self.postMessage({ id: m.id, type: "result", ok: false, error: plain(error) });
  }
};
