// Turns the bytes of one Web MIDI message event into channel messages, for MIDI input. Pure and
// total: whatever the bytes are, it returns an array (possibly empty) and never throws.
//
// A browser normally delivers one complete message per event, but a device or a driver can send
// anything, so the bytes are read as a MIDI 1.0 byte stream:
// - running status: data bytes after a complete channel message repeat its status;
// - real-time bytes (0xF8–0xFF) may sit anywhere, even inside a message: the clock's (Timing
//   Clock, Start, Continue, Stop) come out as they are met, the others are skipped;
// - SysEx (0xF0 … 0xF7) and system common messages cancel running status; all but the Song
//   Position Pointer are skipped;
// - data bytes with no status before them, truncated messages and non-byte values are dropped;
// - at most MAX_MESSAGES come out of one event and MAX_BYTES are read, so a flood cannot stall
//   the page.
//
// Messages (channel is 0–15, as on the wire):
//   {type: "noteon", channel, pitch, velocity}        velocity 1–127
//   {type: "noteoff", channel, pitch, velocity}       also note-on with velocity 0 (velocity 0)
//   {type: "polytouch", channel, pitch, pressure}
//   {type: "cc", channel, controller, value}
//   {type: "program", channel, program}
//   {type: "pressure", channel, pressure}
//   {type: "pitchbend", channel, value}               -8192 … 8191
//   {type: "clock", status}                           0xF8 tick, 0xFA start, 0xFB continue, 0xFC stop
//   {type: "songposition", position}                  0xF2: sixteenths from the top, 0 … 16383

export const MAX_MESSAGES = 256;
// Bytes read from one event at most: beyond this only an endless SysEx or garbage could follow.
export const MAX_BYTES = 65536;

// The real-time bytes of the MIDI clock.
const CLOCK_BYTES = new Set([0xf8, 0xfa, 0xfb, 0xfc]);
const SONG_POSITION = 0xf2;

// Data bytes that follow each channel status (high nibble 0x8–0xE).
const DATA_LENGTH = { 0x8: 2, 0x9: 2, 0xa: 2, 0xb: 2, 0xc: 1, 0xd: 1, 0xe: 2 };

/** Channel messages in `bytes` (a Uint8Array or any array-like of numbers); never throws. */
export function parseMidi(bytes) {
  const out = [];
  try {
    readStream(bytes, out);
  } catch {
    // Only an exotic object (a throwing getter) gets here; keep what was read before it.
  }
  return out;
}

function readStream(bytes, out) {
  const length = bytes && Number.isSafeInteger(bytes.length) ? Math.min(bytes.length, MAX_BYTES) : 0;
  let status = 0; // running status: 0 when none
  let inSysex = false;
  const data = [];
  for (let i = 0; i < length && out.length < MAX_MESSAGES; i++) {
    const byte = bytes[i];
    if (!Number.isInteger(byte) || byte < 0 || byte > 0xff) {
      // Not a byte at all: whatever message was being read is now untrustworthy.
      status = 0;
      data.length = 0;
      continue;
    }
    if (byte >= 0xf8) {
      // Real-time: leaves the message being read alone. Active sensing and reset are skipped.
      if (CLOCK_BYTES.has(byte)) out.push({ type: "clock", status: byte });
      continue;
    }
    if (byte & 0x80) {
      data.length = 0;
      inSysex = byte === 0xf0;
      // System common (0xF1–0xF7) cancels running status; only the song position is read.
      status = byte < 0xf0 || byte === SONG_POSITION ? byte : 0;
      continue;
    }
    if (inSysex || status === 0) continue; // SysEx payload, or data without a status
    data.push(byte);
    if (status === SONG_POSITION) {
      if (data.length === 2) {
        out.push({ type: "songposition", position: (data[1] << 7) | data[0] });
        status = 0; // system common: no running status
        data.length = 0;
      }
      continue;
    }
    if (data.length === DATA_LENGTH[status >> 4]) {
      out.push(channelMessage(status, data[0], data[1]));
      data.length = 0; // status stays: running status
    }
  }
}

function channelMessage(status, a, b) {
  const channel = status & 0x0f;
  switch (status >> 4) {
    case 0x8: return { type: "noteoff", channel, pitch: a, velocity: b };
    case 0x9: return b === 0
      ? { type: "noteoff", channel, pitch: a, velocity: 0 }
      : { type: "noteon", channel, pitch: a, velocity: b };
    case 0xa: return { type: "polytouch", channel, pitch: a, pressure: b };
    case 0xb: return { type: "cc", channel, controller: a, value: b };
    case 0xc: return { type: "program", channel, program: a };
    case 0xd: return { type: "pressure", channel, pressure: a };
    default: return { type: "pitchbend", channel, value: ((b << 7) | a) - 8192 };
  }
}

export default parseMidi;
