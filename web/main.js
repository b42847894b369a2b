// Page bootstrap: compiles the wasm at load and builds the controls from the parameter table (so
// the patch can be edited before audio starts), then on "Start audio" creates the instrument with
// that patch and connects keys, MIDI and the live views to it.

import { Instrument, loadWasm, params, parsePatch } from "./engine.js";
import { ComputerKeys } from "./computer-keys.js";
import { LiveViews } from "./live-views.js";
import { showPatchErrors } from "./messages.js";
import { MidiIo } from "./midi-io.js";
import { MidiOut } from "./midi-out.js";
import { Networks } from "./networks.js";
import { NoteHub } from "./note-hub.js";
import { decodeNotes, noteName } from "./notes.js";
import { buildPanels } from "./panels.js";
import { PatchState } from "./patch-state.js";
import { Piano } from "./piano.js";
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
});
midi.start();

const views = new LiveViews({
  scope: $("scope"), neurons: $("neurons"), arp: $("arp-probs"), recent: $("recent-notes"), meter: $("meter"),
});

function onNotes({ data }) {
  const notes = decodeNotes(data);
  midiOut.play(notes, instrument.context);
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
    const created = await Instrument.create(context, shapes.startingPatch(state.text), { initial });
    created.node.addEventListener("processorerror", () => {
      setStatus("error", "The audio engine stopped with an error. Reload the page to start again.");
    });
    created.addEventListener("view", (e) => views.snapshot(e.data, context.sampleRate));
    created.addEventListener("notes", onNotes);
    await resumed;
    instrument = created;
    hub.attach(instrument, initial);
    state.attach(instrument);
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

async function boot() {
  let module;
  try {
    module = await loadWasm();
  } catch (e) {
    setStatus("error", `The sound engine could not be loaded (${plain(e)}). Check the connection and reload.`);
    startButton.disabled = true;
    return;
  }
  const table = params();
  const parsed = parsePatch(location.hash);
  const networks = new Networks(module, table);
  shapes = new StartShapes(table, networks);
  state = new PatchState(table, parsed.text, networks);
  showPatchErrors($("messages"), parsed.errors);
  buildPanels({ transport: $("transport-controls"), lfo: $("lfo-controls"), arp: $("arp-controls"), synth: $("synth-controls") }, state);
  state.addEventListener("change", () => views.describe(state));
  views.describe(state);
  // A patch link pasted into the address bar of the open page.
  addEventListener("hashchange", () => showPatchErrors($("messages"), state.load(location.hash)));
  setStatus("loaded", starting ? "Starting audio…" : "Ready: press Start audio");
  // After this task, so the controls show first.
  setTimeout(() => shapes.ready || shapes.prepare(state.text), 0);
}

const booted = boot();
