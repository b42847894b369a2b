// The engine's notes out to a MIDI port on the channel the engine gives each (arpeggiated and
// played ones on channel 1, the melody on channel 2, so a multitimbral synth can give it its own
// sound, each rhythm track on its own, 3–5 by default), with the engine's MIDI clock and
// LFO control changes, each timestamped for the moment its audio leaves the speakers, and
// note-offs for whatever still sounds there when the port changes or on panic, so an external
// synth is never left droning.

const NOTE_ON = 0x90;
const NOTE_OFF = 0x80;

export class MidiOut {
  constructor() {
    this.port = null;
    this.on = new Set(); // channel * 128 + pitch whose latest message to the port is a note-on
    this.lastStamp = 0; // timestamps never go backwards: the port must keep the engine's order
    this.lastClockStamp = 0;
  }

  /** Sends to `port` (a MIDIOutput, or null for none) from now on, silencing the old one. */
  setPort(port) {
    if (port === this.port) return;
    this.silence();
    this.port = port;
    this.lastStamp = 0;
    this.lastClockStamp = 0;
  }

  /**
   * Sends `notes` and `midi` (a "notes" event's notes and MIDI messages, decoded) timed against
   * `context`'s output clock, merged in frame order (a message before a note on the same frame:
   * the engine sends a clock tick before the step it starts).
   */
  play(notes, context, midi = []) {
    if (!this.port) return;
    let i = 0;
    for (const n of notes) {
      for (; i < midi.length && midi[i].frame <= n.frame; i++) this.sendAt(midi[i].bytes, midi[i].frame, context);
      this.note(n, context);
    }
    for (; i < midi.length; i++) this.sendAt(midi[i].bytes, midi[i].frame, context);
  }

  /**
   * Sends `bytes` stamped for when frame `frame` is heard, never before the last message of its
   * stream: channel messages (notes, CC) keep the engine's order among themselves, and so do the
   * clock's (which the engine announces ahead of their time, so they cannot share one order).
   */
  sendAt(bytes, frame, context) {
    const clock = bytes[0] >= 0xf0;
    const stamp = Math.max(clock ? this.lastClockStamp : this.lastStamp, OutputClock.of(context).stamp(frame));
    if (clock) this.lastClockStamp = stamp;
    else this.lastStamp = stamp;
    this.send(bytes, stamp);
  }

  note(n, context) {
    const channel = n.channel ?? 0;
    const key = channel * 128 + n.pitch;
    if (n.velocity > 0) this.on.add(key);
    else this.on.delete(key);
    const bytes = n.velocity > 0 ? [NOTE_ON | channel, n.pitch, n.velocity] : [NOTE_OFF | channel, n.pitch, 0x40];
    this.sendAt(bytes, n.frame, context);
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

// The output clock reads the output timestamp at most every OFFSET_READ_MS (many stamps made at
// one moment are one reading, not many) and follows it by OFFSET_SMOOTHING per reading (a time
// constant of about 0.5 s). Readings further off than OFFSET_OUTLIER_MS are a late audio callback
// and ignored, unless they stay off for OFFSET_RESYNC_MS: then the clocks really moved (a device
// change, a resumed context) and the offset is taken as read.
const OFFSET_READ_MS = 10;
const OFFSET_SMOOTHING = 0.02;
const OFFSET_OUTLIER_MS = 1;
const OFFSET_RESYNC_MS = 1000;

/**
 * Maps AudioContext frames to the performance.now() time they are heard, steadily: each reading
 * of the output timestamp (a context time paired with the moment it reaches the speakers) jitters
 * by the audio callback's timing, up to milliseconds, and a MIDI clock stamped through raw
 * readings would wobble by as much. The offset between the two clocks is smoothed instead (it
 * only drifts by the clocks' ppm), so frames a tick apart are stamped a tick apart.
 */
export class OutputClock {
  /** The one clock of `context` (MIDI out and clock in must share it to be each other's inverse). */
  static of(context) {
    let clock = clocks.get(context);
    if (!clock) clocks.set(context, (clock = new OutputClock(context)));
    return clock;
  }

  constructor(context) {
    this.context = context;
    this.offset = null; // ms: performance time minus context time, for the sample being heard
    this.readAt = -Infinity;
    this.offSince = null; // when readings started to disagree with the offset
  }

  /** Reads the output timestamp again (if due) and moves the smoothed offset towards it. */
  update() {
    const now = performance.now();
    if (now - this.readAt < OFFSET_READ_MS) return this.offset;
    this.readAt = now;
    const measured = offsetOf(this.context);
    if (this.offset === null) {
      this.offset = measured;
    } else if (Math.abs(measured - this.offset) <= OFFSET_OUTLIER_MS) {
      this.offset += (measured - this.offset) * OFFSET_SMOOTHING;
      this.offSince = null;
    } else if (now - (this.offSince ??= now) >= OFFSET_RESYNC_MS) {
      this.offset = measured;
      this.offSince = null;
    }
    return this.offset;
  }

  /** performance.now() time at which context frame `frame` is heard. */
  stamp(frame) {
    return this.update() + (frame / this.context.sampleRate) * 1000;
  }

  /** The context frame heard at performance.now() time `time` (the inverse of `stamp`). */
  frameAt(time) {
    return Math.round(((time - this.update()) / 1000) * this.context.sampleRate);
  }
}

const clocks = new WeakMap();

/** performance.now() time minus context time (ms) of the sample being heard now. */
function offsetOf(context) {
  const ts = typeof context.getOutputTimestamp === "function" ? context.getOutputTimestamp() : null;
  if (ts && ts.performanceTime > 0) return ts.performanceTime - ts.contextTime * 1000;
  const latency = (context.baseLatency || 0) + (context.outputLatency || 0);
  return performance.now() - (context.currentTime - latency) * 1000;
}
