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
 * low and high 32 bits, pitch, velocity with 0 = off, source + 256 × channel: source 0 = keys /
 * 1 = arpeggiator / 2 = melody / 4–6 = rhythm tracks 1–3, channel 0-based as on the wire); adding
 * `origin` turns the engine frame into the AudioContext's frame.
 */
const SOURCES = ["keys", "arp", "melody", "midi", "rhythm1", "rhythm2", "rhythm3"];
// The source number of an entry that is a MIDI message (clock, CC) rather than a note:
// [frame lo, frame hi, bytes (first in the low 8 bits), byte count, 3].
const MIDI_SOURCE = 3;

export function decodeNotes({ notes, origin = 0 }) {
  const out = [];
  for (let i = 0; i + 4 < notes.length; i += 5) {
    if (notes[i + 4] === MIDI_SOURCE) continue;
    out.push({
      frame: notes[i + 1] * 2 ** 32 + notes[i] + origin,
      pitch: notes[i + 2],
      velocity: notes[i + 3],
      source: SOURCES[notes[i + 4] & 0xff] ?? "keys",
      channel: (notes[i + 4] >> 8) & 0x0f,
    });
  }
  return out;
}

/** The MIDI messages (clock, CC) of a "notes" event: `{frame, bytes}` in the engine's order. */
export function decodeMidi({ notes, origin = 0 }) {
  const out = [];
  for (let i = 0; i + 4 < notes.length; i += 5) {
    if (notes[i + 4] !== MIDI_SOURCE) continue;
    const packed = notes[i + 2];
    const bytes = [packed & 0xff, (packed >> 8) & 0xff, (packed >> 16) & 0xff].slice(0, notes[i + 3]);
    out.push({ frame: notes[i + 1] * 2 ** 32 + notes[i] + origin, bytes });
  }
  return out;
}
