// The engine's notes out to a MIDI port, arpeggiated and played ones on channel 1, the melody on
// channel 2 (so a multitimbral synth can give it its own sound), each timestamped
// for the moment its audio leaves the speakers, and note-offs for whatever still sounds there
// when the port changes or on panic, so an external synth is never left droning.

const NOTE_ON = 0x90;
const NOTE_OFF = 0x80;
/** Channel (0-based, as on the wire) per note source. */
const CHANNEL = { keys: 0, arp: 0, melody: 1 };

export class MidiOut {
  constructor() {
    this.port = null;
    this.on = new Set(); // channel * 128 + pitch whose latest message to the port is a note-on
    this.lastStamp = 0; // timestamps never go backwards: the port must keep the engine's order
  }

  /** Sends to `port` (a MIDIOutput, or null for none) from now on, silencing the old one. */
  setPort(port) {
    if (port === this.port) return;
    this.silence();
    this.port = port;
    this.lastStamp = 0;
  }

  /** Sends `notes` (decoded "notes" event entries) timed against `context`'s output clock. */
  play(notes, context) {
    if (!this.port) return;
    for (const n of notes) {
      const stamp = Math.max(this.lastStamp, stampOf(n.frame, context));
      this.lastStamp = stamp;
      const channel = CHANNEL[n.source] ?? 0;
      const key = channel * 128 + n.pitch;
      if (n.velocity > 0) {
        this.on.add(key);
        this.send([NOTE_ON | channel, n.pitch, n.velocity], stamp);
      } else {
        this.on.delete(key);
        this.send([NOTE_OFF | channel, n.pitch, 0x40], stamp);
      }
    }
  }

  /** Note-offs for every note left on, after anything already queued for the port. */
  silence() {
    if (!this.port) return;
    // Stamped after everything already queued, so a note-on still waiting in the port's queue
    // cannot turn its note back on after its off.
    const stamp = Math.max(performance.now(), this.lastStamp);
    for (const key of this.on) this.send([NOTE_OFF | (key >> 7), key & 0x7f, 0x40], stamp);
    this.on.clear();
  }

  send(bytes, stamp) {
    try {
      this.port.send(bytes, stamp);
    } catch {
      // The device went away between the last statechange and now: nothing to send it.
    }
  }
}

/**
 * performance.now() time at which the sample at AudioContext frame `frame` is heard: the output
 * timestamp pairs a context time with the moment it reaches the speakers.
 */
export function stampOf(frame, context) {
  const time = frame / context.sampleRate;
  const ts = typeof context.getOutputTimestamp === "function" ? context.getOutputTimestamp() : null;
  if (ts && ts.performanceTime > 0) return ts.performanceTime + (time - ts.contextTime) * 1000;
  const latency = (context.baseLatency || 0) + (context.outputLatency || 0);
  return performance.now() + (time - context.currentTime + latency) * 1000;
}
