// MIDI learn: binds controller messages (a CC, a 14-bit CC pair, pitch bend, channel pressure) to
// knobs, and moves a bound knob exactly as the mouse does: through the patch state, on the knob's
// own scale (log knobs are log, choices and toggles step), so the knob shows it, the engine hears
// it and the URL carries it. The bindings themselves are part of the patch (PatchState keeps them,
// the Rust codec writes them as `bind.` fields); this module keeps only what a controller is
// doing right now: the 14-bit pairs' most significant halves and the soft takeover state.
//
// A controller's move is applied "now", as a mouse move is: the knob path (PatchState.set →
// Instrument.setParam) posts parameters for the next block and has no place for a frame, and a
// timestamped change could land after a later mouse move of the same knob.
//
// Learn mode: press "MIDI learn", touch a knob (mouse, touch or Tab), move a controller. The
// sustain pedal (CC64) and the channel mode messages (CC120–127) keep their meaning and are never
// bound. A binding shows as a badge on its knob; the badge opens its options (7/14-bit, pick-up
// or jump, its channel or any) and a Remove button.

import { element } from "./dom.js";
import { fromPosition, LOG_POSITIONS, toPosition } from "./param-scale.js";

// A 14-bit CC n (0–31) has its least significant 7 bits on CC n + 32.
const PAIR_OFFSET = 32;
// (MSB << 7) at MSB 127: a 14-bit value is read against this, so an MSB alone reaches both ends
// exactly as a 7-bit CC would and the LSB refines between two MSB steps.
const FULL_14 = 127 << 7;

/** Why CC `cc` cannot be bound (it keeps its MIDI meaning), or null. */
export function refusal(cc) {
  if (cc === 64) return "CC64 is the sustain pedal";
  if (cc >= 120) return `CC${cc} is a channel mode message (all sound off, all notes off …)`;
  return null;
}

/** What a badge calls a binding's source: "CC74", "CC1+33", "Bend", "Pressure". */
export function sourceName(binding) {
  switch (binding.source) {
    case "cc": return `CC${binding.cc}`;
    case "cc14": return `CC${binding.cc}+${binding.cc + PAIR_OFFSET}`;
    case "bend": return "Bend";
    default: return "Pressure";
  }
}

const channelName = (channel) => (channel ? `channel ${channel}` : "any channel");

/** The value a controller at `t` (0–1) gives parameter `spec`, on the knob's own scale. */
export function valueAt(spec, t) {
  if (spec.kind === "choice" || spec.kind === "toggle") {
    const count = spec.kind === "toggle" ? 2 : spec.choices.length;
    return Math.min(count - 1, Math.floor(t * count));
  }
  return fromPosition(spec, spec.log ? t * LOG_POSITIONS : spec.min + t * (spec.max - spec.min));
}

/** Where `value` sits on a numeric knob, 0–1. */
function positionOf(spec, value) {
  return spec.log ? toPosition(spec, value) / LOG_POSITIONS : (value - spec.min) / (spec.max - spec.min);
}

/** Pitch bend (-8192 … 8191) as 0–1 with its centre at exactly 0.5, so a released wheel centres the knob. */
function bendPosition(value) {
  return value <= 0 ? (value + 8192) / 16384 : 0.5 + value / 16382;
}

/** Same controller and overlapping channels: a new learn of it moves the binding. */
function sameControl(a, b) {
  const kind = (x) => (x.source === "cc14" ? "cc" : x.source);
  return kind(a) === kind(b) && a.cc === b.cc && (!a.channel || !b.channel || a.channel === b.channel);
}

export class MidiLearn {
  /**
   * `toggle`: the learn button; `clear`: the "clear all" button; `status`: a live region for
   * what learn did; `root`: where the knobs (`[data-control]`) are; `state`: the PatchState.
   */
  constructor({ toggle, clear, status, root }, state) {
    Object.assign(this, { toggle, clear, status, root, state });
    this.learning = false;
    this.target = null; // the knob's key the next controller message binds
    this.msb = new Int16Array(16 * PAIR_OFFSET).fill(-1); // channel × CC 0–31: last MSB
    this.takeover = new Map(); // parameter id → {binding, engaged, last}: soft takeover
    this.moving = false; // true while this module moves a knob
    this.open = new Set(); // keys whose badge is open, kept open across a redraw

    toggle.addEventListener("click", () => this.setLearning(!this.learning));
    clear.addEventListener("click", () => {
      this.state.unbind();
      this.say("Every MIDI binding was removed.");
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && this.learning) this.setLearning(false);
    });
    // A knob is touched by pointer, focus (Tab) or a change.
    for (const type of ["pointerdown", "focusin", "input", "change"]) {
      root.addEventListener(type, (e) => this.touched(e.target), true);
    }
    state.addEventListener("change", (e) => this.knobMoved(e.key));
    state.addEventListener("bindings", () => this.draw());
    this.draw();
  }

  setLearning(on) {
    this.learning = on;
    this.toggle.setAttribute("aria-pressed", String(on));
    document.body.classList.toggle("midi-learning", on);
    this.setTarget(null);
    this.say(on
      ? "MIDI learn is on: touch a knob, then move a control on your MIDI device. Esc or the button ends it."
      : "");
  }

  touched(node) {
    if (!this.learning || !(node instanceof Element)) return;
    const key = node.closest("[data-control]")?.dataset.control;
    if (key && key !== this.target) {
      this.setTarget(key);
      this.say(`${this.state.spec(key).name}: now move a control on your MIDI device.`);
    }
  }

  setTarget(key) {
    this.boxOf(this.target)?.classList.remove("learn-target");
    this.target = key;
    this.boxOf(key)?.classList.add("learn-target");
  }

  boxOf(key) {
    return key ? this.root.querySelector(`[data-control="${CSS.escape(key)}"]`) : null;
  }

  say(text) {
    this.status.textContent = text;
  }

  /** A parsed MIDI message (midi-parse.js) that may be a controller: learn it, or move knobs. */
  control(m) {
    if (m.type !== "cc" && m.type !== "pitchbend" && m.type !== "pressure") return;
    if (m.type === "cc" && m.controller < PAIR_OFFSET) this.msb[m.channel * PAIR_OFFSET + m.controller] = m.value;
    if (this.learning && this.target) this.learn(m);
    else this.follow(m);
  }

  learn(m) {
    if (m.type === "cc" && refusal(m.controller)) {
      this.say(`${refusal(m.controller)}: it keeps its meaning and cannot be bound. Move another control.`);
      return;
    }
    const spec = this.state.spec(this.target);
    const binding = {
      id: spec.id,
      source: m.type === "cc" ? "cc" : m.type === "pitchbend" ? "bend" : "pressure",
      cc: m.type === "cc" ? m.controller : 0,
      channel: m.channel + 1,
      soft: true,
    };
    const moved = this.state.bindings.filter((b) => b.id !== spec.id && sameControl(b, binding));
    this.state.unbind((b) => moved.includes(b));
    this.state.bind(binding);
    // The controller is where this message says: pick-up starts from here.
    this.takeover.set(spec.id, { binding, engaged: false, last: this.reading(binding, m, spec)?.value ?? null });
    const from = moved.length ? ` (it moved ${moved.map((b) => this.state.table[b.id].name).join(", ")} before)` : "";
    this.say(`${spec.name} ← ${sourceName(binding)} on ${channelName(binding.channel)}${from}. It takes the knob over once it reaches the knob's value. Touch another knob to bind more.`);
    this.setTarget(null);
  }

  /** Moves every knob bound to what `m` is. */
  follow(m) {
    for (const binding of this.state.bindings) {
      if (binding.channel && binding.channel !== m.channel + 1) continue;
      const spec = this.state.table[binding.id];
      const read = spec && this.reading(binding, m, spec);
      if (read) this.move(binding, spec, read);
    }
  }

  /**
   * What `m` says for `binding`: `{value, t, step}` (the knob's value, the controller's 0–1
   * position, and one controller step in that unit), or null when it is not its message.
   */
  reading(binding, m, spec) {
    let t;
    let step;
    if (m.type === "pitchbend" && binding.source === "bend") {
      [t, step] = [bendPosition(m.value), 1 / 8192];
    } else if (m.type === "pressure" && binding.source === "pressure") {
      [t, step] = [m.pressure / 127, 1 / 127];
    } else if (m.type !== "cc") {
      return null;
    } else if (binding.source === "cc" && m.controller === binding.cc) {
      [t, step] = [m.value / 127, 1 / 127];
    } else if (binding.source === "cc14" && (m.controller === binding.cc || m.controller === binding.cc + PAIR_OFFSET)) {
      // An MSB alone moves the knob (its LSB taken as 0); an LSB refines the last MSB.
      const msb = this.msb[m.channel * PAIR_OFFSET + binding.cc];
      if (msb < 0) return null;
      const lsb = m.controller === binding.cc ? 0 : m.value;
      [t, step] = [Math.min(1, ((msb << 7) | lsb) / FULL_14), m.controller === binding.cc ? 1 / 127 : 1 / FULL_14];
    } else {
      return null;
    }
    return { value: valueAt(spec, t), t, step };
  }

  /** Sets the knob, at once (jump) or once the controller has reached it (soft takeover). */
  move(binding, spec, { value, t, step }) {
    let track = this.takeover.get(binding.id);
    if (!track || track.binding !== binding) {
      track = { binding, engaged: false, last: null };
      this.takeover.set(binding.id, track);
    }
    const current = this.state.value(spec.key);
    const last = track.last;
    track.last = value;
    if (binding.soft && !track.engaged) {
      const numeric = spec.kind === "real" || spec.kind === "int";
      track.engaged = value === current
        || (last !== null && (last - current) * (value - current) <= 0)
        || (numeric && Math.abs(t - positionOf(spec, current)) <= step);
      if (!track.engaged) return;
    }
    this.moving = true;
    try {
      // The knob path: sanitised by the engine's rule, shown, posted to the worklet, in the URL.
      this.state.set(spec.key, value);
    } finally {
      this.moving = false;
    }
  }

  /** A knob moved by something else (mouse, keys, a loaded link): pick-up starts again. */
  knobMoved(key) {
    if (this.moving) return;
    if (key === "*") this.takeover.clear();
    else this.takeover.delete(this.state.spec(key)?.id);
  }

  /** The badges: one on each bound knob, and the panel's count. */
  draw() {
    // A badge's option being changed by keyboard keeps its focus through the redraw.
    const active = document.activeElement;
    const badge = active?.closest?.(".binding");
    const focus = badge && { key: badge.dataset.binding, option: active.dataset.option };
    // Which badges are open is read from the page itself: a "toggle" event is dispatched a task
    // after the badge opened, so a redraw before it would otherwise close a badge just opened.
    for (const old of this.root.querySelectorAll(".binding")) {
      if (old.open) this.open.add(old.dataset.binding);
      else this.open.delete(old.dataset.binding);
      old.remove();
    }
    const bindings = this.state.bindings;
    for (const binding of bindings) {
      const spec = this.state.table[binding.id];
      const box = spec && this.boxOf(spec.key);
      if (box) (box.querySelector(".control-head") ?? box).append(this.badge(binding, spec));
    }
    // A binding the page no longer has forgets its takeover state.
    for (const [id, track] of this.takeover) if (!bindings.includes(track.binding)) this.takeover.delete(id);
    if (focus) {
      const again = this.root.querySelector(`[data-binding="${CSS.escape(focus.key)}"]`);
      const target = focus.option ? again?.querySelector(`[data-option="${focus.option}"]`) : again?.querySelector("summary");
      target?.focus();
    }
    this.clear.disabled = bindings.length === 0;
    this.clear.textContent = bindings.length ? `Clear all bindings (${bindings.length})` : "Clear all bindings";
  }

  badge(binding, spec) {
    const details = element("details", "binding");
    details.dataset.binding = spec.key;
    details.open = this.open.has(spec.key);
    details.addEventListener("toggle", () => {
      if (details.open) this.open.add(spec.key);
      else this.open.delete(spec.key);
    });
    const summary = element("summary", "binding-badge", `${sourceName(binding)} · ${binding.channel ? `ch${binding.channel}` : "any"}`);
    summary.setAttribute("aria-label", `MIDI binding of ${spec.name}: ${sourceName(binding)} on ${channelName(binding.channel)}, ${binding.soft ? "pick-up" : "jump"}. Options`);
    summary.title = "MIDI binding: open for its options";
    const options = element("div", "binding-options");
    const change = (patch) => this.state.bind({ ...binding, ...patch });
    if (binding.source === "cc" || binding.source === "cc14") {
      const pairable = binding.cc < PAIR_OFFSET;
      options.append(this.choice("Resolution", "resolution", binding.source === "cc14" ? "14" : "7", [
        ["7", "7-bit"],
        ...(pairable ? [["14", `14-bit (CC${binding.cc}+${binding.cc + PAIR_OFFSET})`]] : []),
      ], (v) => change({ source: v === "14" ? "cc14" : "cc" })));
    }
    options.append(this.choice("Takeover", "takeover", binding.soft ? "soft" : "jump", [
      ["soft", "Pick-up (soft)"],
      ["jump", "Jump"],
    ], (v) => change({ soft: v === "soft" })));
    const channels = [["0", "Any"]];
    for (let c = 1; c <= 16; c++) channels.push([String(c), String(c)]);
    options.append(this.choice("Channel", "channel", String(binding.channel), channels, (v) => change({ channel: Number(v) })));
    const remove = element("button", "binding-remove", "Remove");
    remove.type = "button";
    remove.dataset.option = "remove";
    remove.setAttribute("aria-label", `Remove the MIDI binding of ${spec.name}`);
    remove.addEventListener("click", () => {
      details.open = false;
      this.open.delete(spec.key);
      this.state.unbind((b) => b.id === binding.id);
      this.say(`${spec.name} is no longer bound.`);
      this.boxOf(spec.key)?.querySelector("input, select")?.focus();
    });
    options.append(remove);
    details.append(summary, options);
    return details;
  }

  choice(label, option, value, entries, onChange) {
    const wrap = element("label", "binding-option", `${label} `);
    const select = document.createElement("select");
    select.dataset.option = option;
    for (const [v, text] of entries) {
      const o = element("option", "", text);
      o.value = v;
      select.append(o);
    }
    select.value = value;
    select.addEventListener("change", () => onChange(select.value));
    wrap.append(select);
    return wrap;
  }
}
