// Web MIDI: asks for access, lists inputs and outputs and follows devices being plugged and
// unplugged without a reload, plays the chosen input (or all of them) into the NoteHub, and hands
// the chosen output to MidiOut. Device names are shown with textContent only: they are untrusted.

import { parseMidi } from "./midi-parse.js";

const SUSTAIN = 64;
const ALL_SOUND_OFF = 120;
const RESET_CONTROLLERS = 121;
const ALL_NOTES_OFF = 123;

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The connected ports of a MIDIInputMap / MIDIOutputMap (or a plain Map, as some shims give). */
function portsOf(map) {
  const ports = [];
  if (map && typeof map.forEach === "function") map.forEach((port) => ports.push(port));
  return ports.filter((port) => port && port.state !== "disconnected");
}

export class MidiIo {
  constructor({ hub, out, status, inputSelect, outputSelect, activity, onAllSoundOff, onClock = () => {} }) {
    Object.assign(this, { hub, out, status, inputSelect, outputSelect, activity, onAllSoundOff, onClock });
    this.access = null;
    this.wantedInput = "all";
    this.wantedOutput = "";
    this.names = new Map(); // id → name, to show a chosen device that is unplugged right now
    this.listening = new Map(); // input id → {port, handler} we listen with
    this.seen = new WeakSet(); // events already handled (a port may deliver through both APIs)
    this.activityTimer = 0;
    inputSelect.addEventListener("change", () => {
      this.wantedInput = inputSelect.value;
      this.refresh();
    });
    outputSelect.addEventListener("change", () => {
      this.wantedOutput = outputSelect.value;
      this.refresh();
    });
  }

  async start() {
    this.inputSelect.disabled = true;
    this.outputSelect.disabled = true;
    if (typeof navigator.requestMIDIAccess !== "function") {
      this.say("MIDI is not available in this browser (no Web MIDI). Use the computer keyboard or the on-screen keys; Chrome, Edge and Firefox support MIDI.");
      return;
    }
    this.say("Asking the browser for MIDI access…");
    try {
      this.access = await navigator.requestMIDIAccess();
    } catch (e) {
      const refused = e && (e.name === "NotAllowedError" || e.name === "SecurityError");
      this.say(refused
        ? "MIDI permission was refused. To use a MIDI keyboard, allow MIDI for this site in the browser's site settings and reload. Everything else works without it."
        : "MIDI could not be started by the browser. Everything else works without it.");
      return;
    }
    const changed = () => this.refresh();
    if (typeof this.access.addEventListener === "function") this.access.addEventListener("statechange", changed);
    else this.access.onstatechange = changed;
    this.inputSelect.disabled = false;
    this.outputSelect.disabled = false;
    this.refresh();
  }

  say(text) {
    this.status.textContent = text;
  }

  /** Brings lists, listeners and the output in line with the devices connected now. */
  refresh() {
    if (!this.access) return;
    const inputs = portsOf(this.access.inputs);
    const outputs = portsOf(this.access.outputs);
    for (const port of [...inputs, ...outputs]) this.names.set(port.id, port.name || "Unnamed device");

    const wanted = (id) => this.wantedInput === "all" || this.wantedInput === id;
    for (const [id, { port }] of this.listening) {
      if (!inputs.includes(port) || !wanted(id)) this.stopListening(id);
    }
    for (const port of inputs) if (wanted(port.id) && !this.listening.has(port.id)) this.listen(port);

    this.fill(this.inputSelect, [["all", "All inputs"]], inputs, this.wantedInput);
    this.fill(this.outputSelect, [["", "None"]], outputs, this.wantedOutput);
    this.out.setPort(outputs.find((port) => port.id === this.wantedOutput) ?? null);
    this.say(`MIDI available: ${plural(inputs.length, "input")}, ${plural(outputs.length, "output")}.`
      + (inputs.length === 0 ? " Plug a device in and it appears here." : ""));
  }

  listen(port) {
    const handler = (e) => this.message(port, e);
    if (typeof port.addEventListener === "function") port.addEventListener("midimessage", handler);
    port.onmidimessage = handler; // also opens the port, as the Web MIDI spec says
    this.listening.set(port.id, { port, handler });
  }

  /** Stops listening to an input and lets go of everything it held (no stuck notes on unplug). */
  stopListening(id) {
    const { port, handler } = this.listening.get(id);
    this.listening.delete(id);
    if (typeof port.removeEventListener === "function") port.removeEventListener("midimessage", handler);
    if (port.onmidimessage === handler) port.onmidimessage = null;
    this.hub.releaseSource(`midi:${id}`);
  }

  message(port, e) {
    if (!e || this.seen.has(e) || this.listening.get(port.id)?.port !== port) return;
    this.seen.add(e);
    const source = `midi:${port.id}`;
    const time = e.timeStamp;
    for (const m of parseMidi(e.data)) {
      if (m.type === "noteon") this.hub.press(source, m.pitch, m.velocity, time);
      else if (m.type === "noteoff") this.hub.release(source, m.pitch, time);
      else if (m.type === "cc") this.control(source, m.controller, m.value, time);
      else if (m.type === "clock") this.onClock(m.status, 0, time);
      else if (m.type === "songposition") this.onClock(0xf2, m.position, time);
      // Controllers (CC, pitch bend, channel pressure) also go to MIDI learn, which the page
      // sets as `onControl` (sustain and the mode messages above keep their meaning there too).
      if (m.type === "cc" || m.type === "pitchbend" || m.type === "pressure") this.onControl?.(m, time);
    }
    this.blink();
  }

  control(source, controller, value, time) {
    if (controller === SUSTAIN) this.hub.pedal(source, value >= 64, time);
    else if (controller === ALL_NOTES_OFF) this.hub.releaseNotes(source, time);
    else if (controller === RESET_CONTROLLERS) this.hub.pedal(source, false, time);
    else if (controller === ALL_SOUND_OFF) this.onAllSoundOff();
  }

  blink() {
    this.activity.classList.add("active");
    clearTimeout(this.activityTimer);
    this.activityTimer = setTimeout(() => this.activity.classList.remove("active"), 120);
  }

  /** Options: the fixed ones, each connected port, and the chosen one even while unplugged. */
  fill(select, fixed, ports, wanted) {
    const options = [...fixed];
    for (const port of ports) options.push([port.id, this.names.get(port.id)]);
    if (!options.some(([id]) => id === wanted)) {
      options.push([wanted, `${this.names.get(wanted) ?? "Device"} (unplugged)`]);
    }
    select.replaceChildren(...options.map(([value, text]) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = text;
      return option;
    }));
    select.value = wanted;
  }
}
