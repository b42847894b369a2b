// Who holds which note: the computer keyboard, each pointer on the on-screen keys, each MIDI
// input. The instrument hears one note-on when the first holder presses a pitch and one note-off
// when the last lets go, and the sustain pedal is down while any source holds it, so sources never
// cut each other's notes and one source can always be released as a whole (an unplugged device).

/** Dispatched when the sustain pedal (of any source) goes down or up. */
export class PedalChange extends Event {
  constructor(down) {
    super("pedal");
    this.down = down;
  }
}

/** Dispatched when a pitch becomes held or free. */
export class HeldChange extends Event {
  constructor(pitch, down) {
    super("held");
    this.pitch = pitch;
    this.down = down;
  }
}

export class NoteHub extends EventTarget {
  constructor() {
    super();
    this.holders = new Map(); // pitch → Map(source → velocity)
    this.pedals = new Set(); // sources holding the sustain pedal down
    this.instrument = null;
  }

  /**
   * Plays to `instrument` from now on. `sent`: the initialEvents() it was created with; whatever
   * was pressed or let go while it was being created is sent now.
   */
  attach(instrument, sent = []) {
    this.instrument = instrument;
    const sentPitches = new Set(sent.filter((e) => e.type === "note-on").map((e) => e.pitch));
    for (const pitch of sentPitches) if (!this.holders.has(pitch)) instrument.noteOff(pitch);
    for (const [pitch, sources] of this.holders) {
      if (!sentPitches.has(pitch)) instrument.noteOn(pitch, [...sources.values()][0]);
    }
    const pedal = this.pedals.size > 0;
    if (sent.some((e) => e.type === "sustain") !== pedal) instrument.sustain(pedal);
  }

  /** Engine events for the notes held right now, for an instrument created while they are held. */
  initialEvents() {
    const events = [];
    for (const [pitch, sources] of this.holders) {
      events.push({ type: "note-on", frame: 0, pitch, velocity: [...sources.values()][0] });
    }
    if (this.pedals.size > 0) events.push({ type: "sustain", frame: 0, down: true });
    return events;
  }

  isHeld(pitch) {
    return this.holders.has(pitch);
  }

  press(source, pitch, velocity, timeStamp) {
    if (!Number.isInteger(pitch) || pitch < 0 || pitch > 127) return;
    let sources = this.holders.get(pitch);
    if (!sources) this.holders.set(pitch, (sources = new Map()));
    if (sources.has(source)) return; // a second note-on without a note-off: still the same key
    sources.set(source, velocity);
    if (sources.size > 1) return;
    this.instrument?.noteOn(pitch, velocity, timeStamp);
    this.dispatchEvent(new HeldChange(pitch, true));
  }

  release(source, pitch, timeStamp) {
    const sources = this.holders.get(pitch);
    if (!sources || !sources.delete(source) || sources.size > 0) return;
    this.holders.delete(pitch);
    this.instrument?.noteOff(pitch, timeStamp);
    this.dispatchEvent(new HeldChange(pitch, false));
  }

  /** Releases every note `source` holds (MIDI all-notes-off; the pedal stays as it is). */
  releaseNotes(source, timeStamp) {
    for (const [pitch, sources] of [...this.holders]) {
      if (sources.has(source)) this.release(source, pitch, timeStamp);
    }
  }

  pedal(source, down, timeStamp) {
    const before = this.pedals.size > 0;
    if (down) this.pedals.add(source);
    else this.pedals.delete(source);
    const after = this.pedals.size > 0;
    if (before === after) return;
    this.instrument?.sustain(after, timeStamp);
    this.dispatchEvent(new PedalChange(after));
  }

  /** Lets go of everything `source` holds, pedal included (focus lost, device unplugged). */
  releaseSource(source, timeStamp) {
    this.releaseNotes(source, timeStamp);
    this.pedal(source, false, timeStamp);
  }

  /** Forgets every held note and the pedal without telling the instrument (after a panic). */
  forget() {
    const pitches = [...this.holders.keys()];
    const pedal = this.pedals.size > 0;
    this.holders.clear();
    this.pedals.clear();
    for (const pitch of pitches) this.dispatchEvent(new HeldChange(pitch, false));
    if (pedal) this.dispatchEvent(new PedalChange(false));
  }
}
