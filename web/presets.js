// The Presets panel: the factory bank (web/presets/factory.json), the musician's own presets kept
// in localStorage, export and import as plain patch text files, and Undo of the last load.
//
// A preset is only patch text: loading one goes through PatchState.load (the same path as a link
// pasted into the address bar), so knobs, URL and engine follow, networks are rebuilt in the
// worker and swapped without leaving a note on, and bad or unknown fields in an imported file
// are reported by the codec in the #messages box while every valid field applies. Names and
// texts are shown with textContent only: an imported file is untrusted.

import { element } from "./dom.js";
import { showPatchErrors } from "./messages.js";

const FACTORY_URL = "/web/presets/factory.json";
const STORAGE_KEY = "tidepool.presets.v1";
const MAX_NAME = 40;
// Larger than the codec reads (8 KB): the codec then reports the cut itself.
const MAX_FILE_BYTES = 64 * 1024;
// Loads Undo can step back through.
const UNDO_DEPTH = 32;

/** A name as stored: trimmed, one line, at most MAX_NAME characters ("" when nothing is left). */
export function cleanName(name) {
  return String(name ?? "").replace(/\s+/g, " ").trim().slice(0, MAX_NAME);
}

/** A file name for a preset: letters, digits and dashes, then .txt. */
export function fileName(name) {
  const stem = cleanName(name).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  return `${stem || "preset"}.tidepool.txt`;
}

export class Presets {
  /**
   * `els`: {select, description, name, load, save, rename, remove, exportButton, importButton,
   * file, undo, status, messages}; `state`: the PatchState.
   */
  constructor(els, state) {
    this.els = els;
    this.state = state;
    this.factory = [];
    this.user = this.readUser();
    this.undoStack = [];
    els.load.addEventListener("click", () => this.loadSelected());
    els.save.addEventListener("click", () => this.saveCurrent());
    els.rename.addEventListener("click", () => this.renameSelected());
    els.remove.addEventListener("click", () => this.removeSelected());
    els.exportButton.addEventListener("click", () => this.exportSelected());
    els.importButton.addEventListener("click", () => els.file.click());
    els.file.addEventListener("change", () => this.importFile());
    els.undo.addEventListener("click", () => this.undo());
    els.select.addEventListener("change", () => this.describe());
    this.render();
  }

  /** Fetches the factory bank; the panel works with user presets alone if it cannot. */
  async loadFactory(url = FACTORY_URL) {
    try {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const bank = await response.json();
      this.factory = (Array.isArray(bank.presets) ? bank.presets : [])
        .filter((p) => typeof p.patch === "string" && cleanName(p.name))
        .map((p) => ({ name: cleanName(p.name), description: String(p.description ?? ""), patch: p.patch }));
    } catch (e) {
      this.say(`The factory presets could not be loaded (${e.message ?? e}); your own presets still work.`, "error");
    }
    this.render();
  }

  // --- storage -----------------------------------------------------------------------------

  /** The user presets in localStorage; anything malformed there is skipped and said. */
  readUser() {
    let raw = null;
    try {
      raw = localStorage.getItem(STORAGE_KEY);
    } catch {
      this.say("This browser keeps no local storage here: presets you save last until the page closes.", "error");
      return [];
    }
    if (!raw) return [];
    try {
      const list = JSON.parse(raw);
      const valid = (Array.isArray(list) ? list : [])
        .filter((p) => p && typeof p.patch === "string" && cleanName(p.name))
        .map((p) => ({ name: cleanName(p.name), patch: p.patch }));
      if (!Array.isArray(list) || valid.length !== list.length) this.say("Some saved presets were unreadable and were skipped.", "error");
      return valid;
    } catch {
      this.say("The saved presets were unreadable and were skipped.", "error");
      return [];
    }
  }

  writeUser() {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(this.user));
      return true;
    } catch (e) {
      this.say(`Could not store the presets in this browser (${e.message ?? e}).`, "error");
      return false;
    }
  }

  // --- the list ----------------------------------------------------------------------------

  /** The selected preset as {kind: "factory"|"user", index, preset}, or null. */
  selected() {
    const [kind, index] = (this.els.select.value || "").split(":");
    const list = kind === "factory" ? this.factory : kind === "user" ? this.user : null;
    const preset = list?.[Number(index)];
    return preset ? { kind, index: Number(index), preset } : null;
  }

  render(select) {
    const { select: el } = this.els;
    const keep = select ?? el.value;
    el.replaceChildren();
    const group = (label, list, kind) => {
      const g = element("optgroup");
      g.label = label;
      list.forEach((p, i) => {
        const option = element("option", null, p.name);
        option.value = `${kind}:${i}`;
        g.append(option);
      });
      if (list.length) el.append(g);
    };
    group("Factory", this.factory, "factory");
    group("Yours", this.user, "user");
    if ([...el.options].some((o) => o.value === keep)) el.value = keep;
    this.describe();
  }

  describe() {
    const sel = this.selected();
    const user = sel?.kind === "user";
    this.els.description.textContent = sel
      ? sel.preset.description || (user ? "Your preset." : "")
      : "No preset yet: save the current patch under a name.";
    this.els.load.disabled = !sel;
    this.els.exportButton.disabled = !sel;
    this.els.rename.disabled = !user;
    this.els.remove.disabled = !user;
    this.els.undo.disabled = this.undoStack.length === 0;
  }

  say(text, state = "ok") {
    const s = this.els?.status;
    if (!s) return;
    s.textContent = text;
    s.dataset.state = state;
  }

  // --- actions -----------------------------------------------------------------------------

  /** Loads patch text as one undoable step; shows what the codec ignored. Returns its errors. */
  apply(text, label) {
    const before = this.state.text;
    const errors = this.state.load(text);
    // The link is the patch: written now, not on the next knob move.
    this.state.writeUrl();
    this.undoStack.push({ text: before, label });
    if (this.undoStack.length > UNDO_DEPTH) this.undoStack.shift();
    showPatchErrors(this.els.messages, errors, `“${label}”`);
    this.say(errors.length ? `Loaded “${label}”; ${errors.length} field(s) ignored (see above).` : `Loaded “${label}”.`);
    this.describe();
    return errors;
  }

  loadSelected() {
    const sel = this.selected();
    if (sel) this.apply(sel.preset.patch, sel.preset.name);
  }

  /** Restores the patch from before the last load, in one step. */
  undo() {
    const last = this.undoStack.pop();
    if (!last) return;
    this.state.load(last.text);
    this.state.writeUrl();
    showPatchErrors(this.els.messages, []);
    this.say(`Undid loading “${last.label}”.`);
    this.describe();
  }

  /** Saves the current patch under the typed name (replacing a user preset of that name). */
  saveCurrent() {
    const name = cleanName(this.els.name.value);
    if (!name) {
      this.say("Type a name for the preset first.", "error");
      this.els.name.focus();
      return;
    }
    const { replaced, stored } = this.keep(name, this.state.text);
    if (stored) this.say(replaced ? `Replaced your preset “${name}”.` : `Saved “${name}”.`);
  }

  /** Stores `patch` as the user preset `name` (replacing one of that name) and selects it. */
  keep(name, patch) {
    let index = this.user.findIndex((p) => p.name === name);
    const replaced = index >= 0;
    if (replaced) this.user[index] = { name, patch };
    else index = this.user.push({ name, patch }) - 1;
    const stored = this.writeUser();
    this.render(`user:${index}`);
    return { replaced, stored };
  }

  renameSelected() {
    const sel = this.selected();
    const name = cleanName(this.els.name.value);
    if (sel?.kind !== "user") return;
    if (!name) {
      this.say("Type the new name first.", "error");
      this.els.name.focus();
      return;
    }
    if (this.user.some((p, i) => p.name === name && i !== sel.index)) {
      this.say(`You already have a preset called “${name}”.`, "error");
      return;
    }
    const old = sel.preset.name;
    this.user[sel.index] = { ...sel.preset, name };
    const stored = this.writeUser();
    this.render(`user:${sel.index}`);
    if (stored) this.say(`Renamed “${old}” to “${name}”.`);
  }

  removeSelected() {
    const sel = this.selected();
    if (sel?.kind !== "user") return;
    this.user.splice(sel.index, 1);
    const stored = this.writeUser();
    this.render();
    if (stored) this.say(`Deleted “${sel.preset.name}”.`);
  }

  /** Downloads the selected preset as a plain patch text file. */
  exportSelected() {
    const sel = this.selected();
    if (!sel) return;
    const blob = new Blob([`${sel.preset.patch}\n`], { type: "text/plain" });
    const url = URL.createObjectURL(blob);
    const a = element("a");
    a.href = url;
    a.download = fileName(sel.preset.name);
    document.body.append(a);
    a.click();
    a.remove();
    // After the click has been handled: the download holds its own reference.
    setTimeout(() => URL.revokeObjectURL(url), 0);
    this.say(`Exported “${sel.preset.name}” as ${a.download}.`);
  }

  /** Reads the picked file, loads it (undoable) and keeps it as a user preset. */
  async importFile() {
    const file = this.els.file.files?.[0];
    this.els.file.value = "";
    if (!file) return;
    if (file.size > MAX_FILE_BYTES) {
      this.say(`${file.name} is ${file.size} bytes: too large to be a patch (at most ${MAX_FILE_BYTES}).`, "error");
      return;
    }
    let text;
    try {
      text = await file.text();
    } catch (e) {
      this.say(`${file.name} could not be read (${e.message ?? e}).`, "error");
      return;
    }
    const name = cleanName(file.name.replace(/(\.tidepool)?\.txt$/i, "")) || "Imported";
    const errors = this.apply(text, name);
    // What is kept is what loaded: the canonical text, without the ignored fields.
    const { stored } = this.keep(name, this.state.text);
    if (stored) {
      this.say(errors.length
        ? `Imported “${name}”; ${errors.length} field(s) ignored (see above), the rest loaded and saved.`
        : `Imported and saved “${name}”.`);
    }
  }
}
