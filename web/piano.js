// The on-screen keys: play with mouse, pen or touch (several fingers at once, sliding across keys
// plays each key passed), lit while a note is held from any source, outlined while the engine
// sounds it (arpeggiated notes included).

import { KEY_OFFSETS } from "./computer-keys.js";
import { isBlack, noteName } from "./notes.js";

const LETTERS = {
  KeyA: "A", KeyW: "W", KeyS: "S", KeyE: "E", KeyD: "D", KeyF: "F", KeyT: "T", KeyG: "G",
  KeyY: "Y", KeyH: "H", KeyU: "U", KeyJ: "J", KeyK: "K", KeyO: "O", KeyL: "L", KeyP: "P",
  Semicolon: ";", Quote: "'",
};

export class Piano {
  /** Keys from `low` to `high` (MIDI pitches, both white) in `container`, playing into `hub`. */
  constructor(container, hub, { low = 48, high = 84 } = {}) {
    this.container = container;
    this.hub = hub;
    this.keys = new Map(); // pitch → element
    this.pointers = new Map(); // pointerId → pitch under it (or null between keys)
    this.build(low, high);
    container.addEventListener("pointerdown", (e) => this.pointerDown(e));
    container.addEventListener("pointermove", (e) => this.pointerMove(e));
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
      container.addEventListener(type, (e) => this.pointerUp(e));
    }
    container.addEventListener("contextmenu", (e) => e.preventDefault()); // long touch
    hub.addEventListener("held", (e) => this.keys.get(e.pitch)?.classList.toggle("down", e.down));
    addEventListener("blur", () => this.releaseAll());
  }

  build(low, high) {
    const whites = [];
    for (let p = low; p <= high; p++) if (!isBlack(p)) whites.push(p);
    const width = 100 / whites.length;
    for (let p = low; p <= high; p++) {
      const key = document.createElement("div");
      key.className = isBlack(p) ? "key black" : "key white";
      key.dataset.pitch = String(p);
      if (isBlack(p)) {
        // Centred on the boundary between the white keys either side.
        key.style.left = `${whites.indexOf(p - 1) * width + width}%`;
        key.style.width = `${width * 0.62}%`;
      } else {
        key.style.width = `${width}%`;
        key.style.left = `${whites.indexOf(p) * width}%`;
      }
      const letter = document.createElement("span");
      letter.className = "key-letter";
      key.append(letter);
      if (p % 12 === 0) {
        const name = document.createElement("span");
        name.className = "key-name";
        name.textContent = noteName(p);
        key.append(name);
      }
      this.container.append(key);
      this.keys.set(p, key);
    }
  }

  /** Shows the computer-keyboard letters on the keys they play, from `basePitch` up. */
  labelLetters(basePitch) {
    for (const key of this.keys.values()) key.querySelector(".key-letter").textContent = "";
    for (const [code, offset] of Object.entries(KEY_OFFSETS)) {
      const key = this.keys.get(basePitch + offset);
      if (key) key.querySelector(".key-letter").textContent = LETTERS[code];
    }
  }

  /** Marks a pitch as sounding in the engine (or not). */
  setSounding(pitch, on) {
    this.keys.get(pitch)?.classList.toggle("sounding", on);
  }

  clearSounding() {
    for (const key of this.keys.values()) key.classList.remove("sounding");
  }

  /** The key under (x, y) and the velocity a press there has. */
  keyAt(x, y) {
    return this.hitOn(document.elementFromPoint(x, y), y);
  }

  /** The key `target` is (or is in), with the velocity of a press at height `y` on it. */
  hitOn(target, y) {
    const el = target instanceof Element ? target.closest("[data-pitch]") : null;
    if (!el || !this.container.contains(el)) return null;
    const rect = el.getBoundingClientRect();
    // Like a real key: pressed further towards the player (lower on screen) is louder.
    const depth = Math.min(1, Math.max(0, (y - rect.top) / rect.height));
    return { pitch: Number(el.dataset.pitch), velocity: Math.round(50 + 77 * depth) };
  }

  pointerDown(e) {
    if (e.pointerType === "mouse" && e.button !== 0) return;
    const hit = this.hitOn(e.target, e.clientY);
    if (!hit) return;
    e.preventDefault();
    try {
      // Captured, the moves keep coming here when the finger slides off the keys.
      this.container.setPointerCapture(e.pointerId);
    } catch {
      // Not an active pointer (a synthetic event): it still plays, it just cannot slide.
    }
    this.pointers.set(e.pointerId, hit.pitch);
    this.hub.press(`pointer:${e.pointerId}`, hit.pitch, hit.velocity, e.timeStamp);
  }

  pointerMove(e) {
    if (!this.pointers.has(e.pointerId)) return;
    const was = this.pointers.get(e.pointerId);
    const hit = this.keyAt(e.clientX, e.clientY);
    const now = hit ? hit.pitch : null;
    if (now === was) return;
    const source = `pointer:${e.pointerId}`;
    if (was !== null) this.hub.release(source, was, e.timeStamp);
    if (hit) this.hub.press(source, hit.pitch, hit.velocity, e.timeStamp);
    this.pointers.set(e.pointerId, now);
  }

  pointerUp(e) {
    if (!this.pointers.has(e.pointerId)) return;
    const pitch = this.pointers.get(e.pointerId);
    this.pointers.delete(e.pointerId);
    if (pitch !== null) this.hub.release(`pointer:${e.pointerId}`, pitch, e.timeStamp);
  }

  releaseAll() {
    for (const [id, pitch] of this.pointers) {
      if (pitch !== null) this.hub.release(`pointer:${id}`, pitch);
    }
    this.pointers.clear();
  }

  /**
   * Keeps `pitch` in view whenever the keys' box changes size (first layout, phone rotated): on a
   * phone only about an octave and a half fits.
   */
  keepInView(pitch) {
    this.home = pitch;
    if (this.observer) return;
    let width = 0;
    this.observer = new ResizeObserver(([entry]) => {
      if (entry.contentRect.width === width) return;
      width = entry.contentRect.width;
      this.reveal(this.home, false);
    });
    this.observer.observe(this.container.parentElement);
  }

  /** Scrolls the keys (when they overflow, on a phone) so `pitch` and the octave above show. */
  reveal(pitch, smooth = true) {
    const key = this.keys.get(pitch);
    const scroller = this.container.parentElement;
    if (!key || scroller.scrollWidth <= scroller.clientWidth) return;
    scroller.scrollTo({ left: key.offsetLeft - 8, behavior: smooth ? "smooth" : "instant" });
  }
}
