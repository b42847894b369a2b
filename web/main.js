// Page bootstrap: compiles the wasm at load and builds the controls from the parameter table (so
// the patch can be edited before audio starts), then on "Start audio" creates the instrument with
// that patch and connects keys, MIDI and the live views to it.

import { Instrument, loadWasm, params, parsePatch, snapshotLayout } from "./engine.js";
import { ComputerKeys } from "./computer-keys.js";
import { LiveViews } from "./live-views.js";
import { MelodyPanel } from "./melody-panel.js";
import { MelodyFile } from "./melody-file.js";
import { loadModel, loadNgram } from "./melody-model.js";
import { showPatchErrors } from "./messages.js";
import { MidiIo } from "./midi-io.js";
import { MidiLearn } from "./midi-learn.js";
import { MidiOut } from "./midi-out.js";
import { Networks, networkBuilder } from "./networks.js";
import { NoteHub } from "./note-hub.js";
import { decodeMidi, decodeNotes, noteName } from "./notes.js";
import { buildPanels } from "./panels.js";
import { PatchState } from "./patch-state.js";
import { Presets } from "./presets.js";
import { Piano } from "./piano.js";
import { Recorder } from "./recorder.js";
import { fetchBuiltins, neededBuiltins } from "./rhythm-builtins.js";
import { RhythmPanel } from "./rhythm-panel.js";
import { StartShapes } from "./start-shapes.js";

const $ = (id) => document.getElementById(id);
const statusEl = $("status");
const startButton = $("start");

function setStatus(state, text) {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

// Notes and MIDI work before the engine exists: they are remembered and sent when it starts.
const hub = new NoteHub();
const midiOut = new MidiOut();
const piano = new Piano($("piano"), hub);
const keys = new ComputerKeys(hub);
const showOctave = () => {
  const base = keys.basePitch();
  piano.labelLetters(base);
  piano.keepInView(base);
  $("octave").textContent = `${noteName(base)}–${noteName(base + 17)}`;
};
keys.addEventListener("octave", () => {
  showOctave();
  piano.reveal(keys.basePitch());
});
hub.addEventListener("pedal", (e) => $("pedal").classList.toggle("down", e.down));
$("octave-down").addEventListener("click", () => keys.shiftOctave(-1));
$("octave-up").addEventListener("click", () => keys.shiftOctave(1));
showOctave();

let instrument = null;
let state = null;
let shapes = null;
let views = null; // the live views, made once the wasm tells the snapshot's layout
let recorder = null; // the Record panel, made once the parameter table is known
let rhythmPanel = null; // the Rhythm panel, likewise
let starting = false;

function panic() {
  instrument?.panic();
  hub.forget();
  midiOut.silence();
  piano.clearSounding();
}
$("panic").addEventListener("click", panic);

const midi = new MidiIo({
  hub,
  out: midiOut,
  status: $("midi-status"),
  inputSelect: $("midi-input"),
  outputSelect: $("midi-output"),
  activity: $("midi-activity"),
  onAllSoundOff: panic,
  onClock: (status, position, time) => instrument?.clockIn(status, position, time),
});
midi.start();
let learn = null; // MIDI learn, made with the controls
midi.onControl = (message) => learn?.control(message);

function onNotes({ data }) {
  const notes = decodeNotes(data);
  midiOut.play(notes, instrument.context, decodeMidi(data));
  for (const n of notes) piano.setSounding(n.pitch, n.velocity > 0);
  views.played(notes, instrument.context.sampleRate);
}

async function start() {
  if (instrument) {
    await instrument.context.resume();
    return;
  }
  startButton.disabled = true;
  starting = true;
  statusEl.textContent = "Starting audio…";
  let context;
  try {
    // Created in the click handler itself: browsers only let a user gesture start audio.
    context = new AudioContext({ latencyHint: "interactive" });
    const resumed = context.resume();
    resumed.catch(() => {}); // awaited below; a failure before that is reported by the catch
    await booted;
    if (!state) throw new Error("the sound engine did not load");
    const initial = hub.initialEvents();
    const loaded = melody.bytes;
    // The built-in rhythm decoders the patch's playing tracks use (others come when asked for).
    const on = [1, 2, 3].map((k) => state.value(`rh${k}.on`) > 0);
    const rhythm = await fetchBuiltins(neededBuiltins(state.models, on));
    const created = await Instrument.create(context, shapes.startingPatch(state.text), {
      initial,
      melodyModel: loaded ? loaded.slice().buffer : null,
      rhythmModels: rhythm.bytes,
    });
    melody.handed = !!loaded;
    melodyFile.attach(created);
    if (created.melodyStatus && !created.melodyStatus.ok) melodyPanel.failed(created.melodyStatus.error);
    created.node.addEventListener("processorerror", () => {
      setStatus("error", "The audio engine stopped with an error. Reload the page to start again.");
    });
    created.addEventListener("view", (e) => {
      views.snapshot(e.data, context.sampleRate);
      melodyPanel.snapshot(e.data.view);
      rhythmPanel.snapshot(e.data.view);
      showClock(e.data.view);
      requestMissingModel(e.data.view);
    });
    created.addEventListener("melody", (e) => melodyInstalled(e.data));
    created.addEventListener("notes", onNotes);
    await resumed;
    instrument = created;
    if (melody.bytes && !melody.handed) handModel();
    hub.attach(instrument, initial);
    recorder.attach(instrument);
    state.attach(instrument);
    melodyPanel.attach(instrument);
    const refused = Object.fromEntries(created.rhythmStatus.filter((r) => !r.ok).map((r) => [r.name, `the engine refused it: ${r.error}`]));
    rhythmPanel.attach(instrument, created.rhythmStatus.filter((r) => r.ok).map((r) => r.name));
    rhythmPanel.failedBuiltins({ ...rhythm.failed, ...refused });
    context.addEventListener("statechange", contextState);
    contextState();
  } catch (e) {
    starting = false;
    instrument = null;
    context?.close().catch(() => {});
    setStatus("error", `Audio could not start: ${plain(e)}. Try another browser, or reload.`);
    startButton.disabled = false;
  }
}

/** The followed MIDI clock's tempo and state, from a "view" snapshot (hidden when not following). */
function showClock(view) {
  const at = snapshotLayout().clock;
  const el = $("clock-status");
  const following = view[at.following] > 0.5;
  const bpm = view[at.bpm].toFixed(1);
  const text = !following ? "" : view[at.playing] > 0.5
    ? `Following the external MIDI clock: ${bpm} BPM`
    : `Following the external MIDI clock: waiting for its Start or Continue (${bpm} BPM)`;
  if (el.textContent !== text) el.textContent = text;
  el.hidden = !following;
}

/** Running, or paused by the browser (another tab took the device, a phone call …). */
function contextState() {
  const context = instrument.context;
  if (context.state === "running") {
    const khz = (context.sampleRate / 1000).toFixed(1).replace(/\.0$/, "");
    setStatus("ready", `Audio running at ${khz} kHz`);
    startButton.disabled = true;
  } else if (context.state !== "closed") {
    setStatus("loaded", "Audio is paused by the browser: press Start audio to resume");
    startButton.disabled = false;
  }
}

function plain(error) {
  const text = error && error.message ? error.message : String(error);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

startButton.addEventListener("click", start);

// The melody model: fetched from the start (in parallel with the engine), checked, and handed to
// the engine at Start or as soon as it arrives after. An n-gram model file is fetched the first
// time the patch asks for it.
const melody = { bytes: null, handed: false, ngrams: new Set() };
let melodyPanel = null;
let melodyFile = null; // the musician's own model file (web/melody-file.js)
const fileChoice = () => state.spec("mel.model").choices.indexOf("file");

async function loadMelody() {
  // The fetch starts now, beside the engine's; progress shows once the panel exists.
  const result = await loadModel((received, total) => melodyPanel?.progress(received, total), booted);
  if (!melodyPanel) return; // the engine itself did not load: its message says so
  if (result.error) {
    melodyPanel.failed(result.error);
    return;
  }
  melody.bytes = result.bytes;
  melodyPanel.loaded(result.bytes.length);
  if (instrument && !melody.handed) handModel();
}

function handModel() {
  melody.handed = true;
  instrument.installMelody(melody.bytes.slice().buffer);
}

function melodyInstalled({ model, ok, error }) {
  if (model === "file") {
    melodyFile.installed(ok, error);
  } else if (!ok) {
    const what = model === 0 ? "The LSTM melody model" : "An n-gram melody model file";
    melodyPanel.failed(`${what} was refused by the engine: ${error}`);
  } else if (model > 0) {
    melodyPanel.note(`The order-${model} n-gram model is loaded and playing.`, "loaded");
  }
}

/** Sends the engine the n-gram model or the model file the patch asks for, once. */
async function requestMissingModel(view) {
  const missing = Math.round(view[snapshotLayout().melody.missing]);
  if (missing === fileChoice()) {
    melodyFile.missing(melody.bytes);
    return;
  }
  if (missing < 1 || melody.ngrams.has(missing)) return;
  melody.ngrams.add(missing);
  melodyPanel.note(`Loading the order-${missing} n-gram model…`, "loading");
  try {
    const bytes = await loadNgram(missing);
    instrument.installNgram(bytes.slice().buffer);
  } catch (e) {
    melody.ngrams.delete(missing);
    melodyPanel.note(`The order-${missing} n-gram model could not be loaded: ${plain(e)}.`, "error");
  }
}

async function boot() {
  // The network worker starts at once: it fetches and compiles its own wasm (the tools module),
  // meanwhile, and computes the radii Start needs.
  networkBuilder();
  try {
    await loadWasm();
  } catch (e) {
    setStatus("error", `The sound engine could not be loaded (${plain(e)}). Check the connection and reload.`);
    startButton.disabled = true;
    return;
  }
  const table = params();
  const parsed = parsePatch(location.hash);
  const networks = new Networks(table);
  shapes = new StartShapes(table);
  state = new PatchState(table, parsed.values, networks, parsed.bindings, parsed.models, parsed.markov);
  // The network worker computes the radii Start needs while the controls are built.
  shapes.prepare(state.text);
  showPatchErrors($("messages"), parsed.errors);
  buildPanels({
    transport: $("transport-controls"), lfo: $("lfo-controls"), arp: $("arp-controls"),
    melody: $("melody-controls"), synth: $("synth-controls"),
  }, state);
  rhythmPanel = new RhythmPanel(state, snapshotLayout(), $("messages"));
  learn = new MidiLearn({
    toggle: $("midi-learn"), clear: $("midi-learn-clear"), status: $("midi-learn-status"), root: $("panels"),
  }, state);
  melodyPanel = new MelodyPanel({
    model: $("melody-model"), live: $("melody-live"), learned: $("markov-learned"), clear: $("markov-clear"),
  }, state, snapshotLayout());
  melodyFile = new MelodyFile({
    drop: $("melody-drop"), picker: $("melody-file"), pick: $("melody-pick"), status: $("melody-file-status"),
  }, melodyPanel);
  views = new LiveViews({
    scope: $("scope"), neurons: $("neurons"), arp: $("arp-probs"), recent: $("recent-notes"), meter: $("meter"),
  }, snapshotLayout());
  recorder = new Recorder({
    panel: $("record-panel"), record: $("record"), render: $("record-render"), discard: $("record-discard"),
    status: $("record-status"), progress: $("record-progress"),
    wav: $("record-wav"), midi: $("record-midi"), performance: $("record-performance"),
  }, table, () => hub.initialEvents());
  recorder.fileModel = () => melodyFile.slotBytes();
  state.addEventListener("change", () => views.describe(state));
  views.describe(state);
  // A patch link pasted into the address bar of the open page.
  addEventListener("hashchange", () => showPatchErrors($("messages"), state.load(location.hash)));
  const presets = new Presets({
    select: $("preset-select"), description: $("preset-description"), name: $("preset-name"),
    load: $("preset-load"), save: $("preset-save"), rename: $("preset-rename"), remove: $("preset-delete"),
    exportButton: $("preset-export"), importButton: $("preset-import"), file: $("preset-file"),
    undo: $("preset-undo"), status: $("preset-status"), messages: $("messages"),
  }, state);
  presets.loadFactory();
  setStatus("loaded", starting ? "Starting audio…" : "Ready: press Start audio");
}

const booted = boot();
loadMelody();
