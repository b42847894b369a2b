// Note names and the worklet's "notes" events, shared by the views, the keyboard and MIDI out.

const NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];

/** "C4" for MIDI 60 (the convention most DAWs and the issue use). */
export function noteName(pitch) {
  const p = Math.round(pitch);
  return `${NAMES[((p % 12) + 12) % 12]}${Math.floor(p / 12) - 1}`;
}

/** Whether a MIDI pitch is a black key. */
export function isBlack(pitch) {
  return [1, 3, 6, 8, 10].includes(((pitch % 12) + 12) % 12);
}

/**
 * The notes of a "notes" event as objects. The worklet sends five numbers per note (engine frame
 * low and high 32 bits, pitch, velocity with 0 = off, source 0 = keys / 1 = arpeggiator / 2 = melody); adding
 * `origin` turns the engine frame into the AudioContext's frame.
 */
const SOURCES = ["keys", "arp", "melody"];

export function decodeNotes({ notes, origin = 0 }) {
  const out = [];
  for (let i = 0; i + 4 < notes.length; i += 5) {
    out.push({
      frame: notes[i + 1] * 2 ** 32 + notes[i] + origin,
      pitch: notes[i + 2],
      velocity: notes[i + 3],
      source: SOURCES[notes[i + 4]] ?? "keys",
    });
  }
  return out;
}
