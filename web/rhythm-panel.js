// The Rhythm panel: three tracks (web/rhythm-track.js) and the training section
// (web/rhythm-training.js), tied to the patch state (the tracks' knobs and models), the running
// instrument (built-in decoders fetched when a playing track needs one, models sent as the patch
// changes, the grids fed from the "view" snapshot), the training worker, and the browser's
// storage of the last session.

import { createControl } from "./controls.js";
import { BUILTIN_MODELS, builtinBytes } from "./rhythm-builtins.js";
import { loadSession, saveSession } from "./rhythm-store.js";
import { RhythmTrack } from "./rhythm-track.js";
import { RhythmTrainer } from "./rhythm-trainer.js";
import { RhythmTraining } from "./rhythm-training.js";

const $ = (id) => document.getElementById(id);
// How long the worklet has to answer a request for the played rhythms.
const PLAYED_TIMEOUT_MS = 1000;

export class RhythmPanel {
  /** `state`: the PatchState; `layout`: snapshotLayout(); `messages`: the #messages box. */
  constructor(state, layout, messages) {
    this.state = state;
    this.layout = layout.rhythm;
    this.instrument = null;
    this.installed = new Set(); // built-ins handed to the worklet (or being fetched for it)
    this.builtinScatter = new Map(); // name → promise of a scatter
    this.failed = new Map(); // built-in name → why it could not be loaded
    this.trainer = new RhythmTrainer();
    this.tracks = [1, 2, 3].map((k) => new RhythmTrack(k, state));
    $("rhythm-tracks").append(...this.tracks.map((t) => t.root));
    const gain = state.spec("rhy.gain");
    if (gain) $("rhythm-common").append(createControl(gain, state));
    this.training = new RhythmTraining(this.trainer, {
      trained: (track, model) => this.trained(track, model),
      played: () => this.played(),
      running: () => this.instrument !== null,
      dataChanged: () => this.save(),
      messages,
    });
    $("rhythm-target").addEventListener("change", () => this.offerDownload());
    for (const t of this.tracks) {
      t.addEventListener("model", (e) => {
        this.failed.delete(e.model);
        this.state.setModel(t.index, e.model);
        this.modelsChanged();
      });
      // A built-in model's scatter is fetched when the pad is first used or the track plays.
      const wake = () => this.showScatter(t);
      t.pad.canvas.addEventListener("focus", wake);
      t.pad.canvas.addEventListener("pointerenter", wake);
    }
    state.addEventListener("models", () => this.modelsChanged());
    state.addEventListener("change", (e) => {
      if (e.key === "*" || /^rh[123]\.on$/.test(e.key)) this.modelsChanged();
    });
    this.restore();
    this.modelsChanged();
  }

  /** From now on the tracks' models go to `instrument`; `installed`: built-ins it was created with. */
  attach(instrument, installed = []) {
    this.instrument = instrument;
    for (const name of installed) this.installed.add(name);
    instrument.addEventListener("rhythm-model", (e) => {
      const m = e.data;
      if (!m.ok) this.tracks[m.track]?.note(`The engine refused this model: ${m.error}`, "error");
    });
    instrument.addEventListener("rhythm-builtin", (e) => {
      const m = e.data;
      if (m.ok) return;
      this.installed.delete(m.name);
      this.failedBuiltin(m.name, `the engine refused it: ${m.error}`);
    });
    this.modelsChanged();
  }

  /** Built-in models the create call could not fetch (`{name: message}`). */
  failedBuiltins(failed) {
    for (const [name, message] of Object.entries(failed)) this.failedBuiltin(name, message);
  }

  failedBuiltin(name, message) {
    this.failed.set(name, message);
    this.modelsChanged();
  }

  /** The tracks' models changed (a pick, a link, a preset) or a track went on or off. */
  modelsChanged() {
    for (const t of this.tracks) {
      t.fillPicker();
      const failed = this.failed.get(t.model());
      if (failed && this.isOn(t)) t.note(`The built-in ${t.model()} model could not be loaded (${failed}); this track is silent, the rest plays.`, "error");
      else t.note(this.describe(t));
      if (this.isOn(t)) {
        this.ensureBuiltin(t.model());
        this.showScatter(t);
      } else if (t.model().startsWith("~")) {
        this.showScatter(t);
      }
    }
    this.offerDownload();
  }

  isOn(t) {
    return this.state.value(`rh${t.track}.on`) > 0;
  }

  describe(t) {
    const model = t.model();
    const what = model.startsWith("~") ? `a trained ${t.trained?.text === model ? t.trained.arch : "model"} (in the link)` : `the built-in ${model}`;
    return `${this.isOn(t) ? "Plays" : "Off; would play"} ${what}.`;
  }

  /** Hands built-in `name` to the running instrument once (again only after a failure and a pick). */
  async ensureBuiltin(name) {
    // One that failed is tried again only when picked again (no retry loop on a missing file).
    if (!this.instrument || !BUILTIN_MODELS.includes(name) || this.installed.has(name) || this.failed.has(name)) return;
    this.installed.add(name);
    try {
      this.instrument.installRhythmBuiltin(name, await builtinBytes(name));
    } catch (e) {
      this.installed.delete(name);
      this.failedBuiltin(name, e.message);
    }
  }

  /** Puts the scatter of the model track `t` plays on its pad (fetched for a built-in). */
  async showScatter(t) {
    const model = t.model();
    if (model.startsWith("~")) {
      t.setScatter(t.trained?.text === model ? t.trained : null);
      return;
    }
    if (!this.builtinScatter.has(model)) {
      const scatter = this.trainer.request("builtin", { name: model });
      this.builtinScatter.set(model, scatter);
      scatter.catch(() => {});
    }
    try {
      const scatter = await this.builtinScatter.get(model);
      if (t.model() === model) t.setScatter(scatter);
    } catch (e) {
      if (t.model() === model) {
        t.setScatter(null);
        t.pad.hoverEl.textContent = `No scatter for the built-in ${model}: ${e.message}`;
      }
    }
  }

  /** A model trained or loaded for track index `k`: it plays there at once, and is kept. */
  trained(k, model) {
    const t = this.tracks[k];
    t.setTrained(model);
    this.state.setModel(k, model.text);
    t.setScatter(model);
    this.save();
  }

  offerDownload() {
    const t = this.tracks[Number($("rhythm-target").value)];
    this.training.offer(t?.trained ?? null);
  }

  /** The engine's kept 2-bar windows of played keys (33 numbers each), or null when not running. */
  played() {
    const instrument = this.instrument;
    if (!instrument) return Promise.resolve(null);
    return new Promise((resolve) => {
      const done = (value) => {
        clearTimeout(timer);
        instrument.removeEventListener("played-rhythms", answer);
        instrument.removeEventListener("refused", refused);
        resolve(value);
      };
      const answer = (e) => done(Uint32Array.from(e.data.rhythms ?? []));
      const refused = (e) => e.data.what === "played-rhythms" && done(null);
      const timer = setTimeout(() => done(null), PLAYED_TIMEOUT_MS);
      instrument.addEventListener("played-rhythms", answer);
      instrument.addEventListener("refused", refused);
      instrument.post({ type: "played-rhythms" });
    });
  }

  /** The grids, from a "view" snapshot. */
  snapshot(view) {
    for (const t of this.tracks) t.snapshot(view, this.layout);
  }

  /** The last session's data set and trained models, back in the worker and on the tracks. */
  async restore() {
    const session = loadSession();
    session.trained.forEach((model, k) => model && this.tracks[k].setTrained(model));
    if (!session.data) return;
    try {
      this.training.showTotal((await this.trainer.request("restore-data", { json: session.data })).total);
    } catch (e) {
      this.training.say(`The last session's data set could not be read back: ${e.message}`, "error");
    }
  }

  async save() {
    let data = null;
    try {
      data = (await this.trainer.request("data")).json;
    } catch {
      // No worker: nothing was added this session.
    }
    const problem = saveSession({ data, trained: this.tracks.map((t) => t.trained) });
    if (problem) this.training.say(`The session could not be kept in this browser's storage (${problem}); everything works until the page is closed.`, "error");
  }
}
