// The computer keyboard as a piano, in the layout DAWs use: A = C, W = C#, S = D … K = C an octave
// up, O, L, P, ; and ' beyond it; Z and X move the octave. Physical key positions (event.code),
// so the layout is the same on QWERTY, AZERTY and QWERTZ keyboards.

export const KEY_OFFSETS = {
  KeyA: 0, KeyW: 1, KeyS: 2, KeyE: 3, KeyD: 4, KeyF: 5, KeyT: 6, KeyG: 7, KeyY: 8, KeyH: 9,
  KeyU: 10, KeyJ: 11, KeyK: 12, KeyO: 13, KeyL: 14, KeyP: 15, Semicolon: 16, Quote: 17,
};
const VELOCITY = 100;
const LOWEST_OCTAVE = 0;
const HIGHEST_OCTAVE = 8;
const TYPING_INPUTS = new Set(["text", "search", "email", "url", "tel", "password", "number", "date", "time"]);

/** Whether keys pressed in `el` are typing (text fields, selects), not playing. */
function isTyping(el) {
  if (!el || !(el instanceof Element)) return false;
  if (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
  return el.tagName === "INPUT" && TYPING_INPUTS.has(el.type);
}

/** Dispatched when the octave changes. */
export class OctaveChange extends Event {
  constructor(octave) {
    super("octave");
    this.octave = octave;
  }
}

export class ComputerKeys extends EventTarget {
  /** Plays into `hub` (a NoteHub); octave 4 puts A on C4 (MIDI 60). */
  constructor(hub, octave = 4) {
    super();
    this.hub = hub;
    this.octave = octave;
    this.held = new Map(); // event.code → pitch it started, so a key lifts what it pressed
    addEventListener("keydown", (e) => this.keydown(e));
    addEventListener("keyup", (e) => this.keyup(e));
    // Keys released while the page had no focus never send keyup: let go of everything.
    addEventListener("blur", () => this.releaseAll());
    document.addEventListener("visibilitychange", () => {
      if (document.hidden) this.releaseAll();
    });
  }

  /** MIDI pitch of the lowest mapped key (A). */
  basePitch() {
    return 12 * (this.octave + 1);
  }

  shiftOctave(by) {
    const octave = Math.min(HIGHEST_OCTAVE, Math.max(LOWEST_OCTAVE, this.octave + by));
    if (octave === this.octave) return;
    this.octave = octave;
    this.dispatchEvent(new OctaveChange(octave));
  }

  keydown(e) {
    if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
    if (e.code === "KeyZ" || e.code === "KeyX") {
      e.preventDefault();
      if (!e.repeat) this.shiftOctave(e.code === "KeyZ" ? -1 : 1);
      return;
    }
    const offset = KEY_OFFSETS[e.code];
    if (offset === undefined) return;
    e.preventDefault(); // ' and / would open Firefox's quick find
    if (e.repeat || this.held.has(e.code)) return;
    const pitch = this.basePitch() + offset;
    if (pitch > 127) return;
    this.held.set(e.code, pitch);
    this.hub.press(`key:${e.code}`, pitch, VELOCITY, e.timeStamp);
  }

  keyup(e) {
    const pitch = this.held.get(e.code);
    if (pitch === undefined) return;
    this.held.delete(e.code);
    this.hub.release(`key:${e.code}`, pitch, e.timeStamp);
  }

  releaseAll() {
    for (const [code, pitch] of this.held) this.hub.release(`key:${code}`, pitch);
    this.held.clear();
  }
}
