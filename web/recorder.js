// The Record panel: records everything the engine receives while Record is on (the worklet keeps
// the inputs with their engine frames, plus the patch at the start) as a performance file
// (crates/engine/src/performance.rs), keeps the last recording in IndexedDB so it survives a
// reload, and renders it to WAV and MIDI in a worker (web/render-worker.js) with the engine's own
// offline renderer: the WAV is bit for bit what `tidepool render --performance` writes. The worker
// loads the renderer's wasm module (pkg/tools/) itself, so the page never fetches it unless a
// recording is rendered.
//
// A kept recording is replaced by the next one only once it was exported (a file downloaded) or
// discarded, so nothing recorded is lost by pressing Record again.

const DB_NAME = "tidepool";
const STORE = "recordings";
const KEY = "last";
// How often a recording in progress is saved, so a reload loses at most this much of it.
const FLUSH_MS = 3000;

/** The one kept recording in IndexedDB: `{json, seconds, events, dropped, at, exported}` or null. */
const storage = {
  open() {
    this.db ??= new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return this.db;
  },
  async run(mode, act) {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const request = act(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result ?? null);
      request.onerror = () => reject(request.error);
    });
  },
  get() { return this.run("readonly", (s) => s.get(KEY)); },
  put(recording) { return this.run("readwrite", (s) => s.put(recording, KEY)); },
  remove() { return this.run("readwrite", (s) => s.delete(KEY)); },
};

/** The performance file's text: the head of a worklet "recording" message and the event lines. */
function performanceText(m, lines) {
  const head = { format: "tidepool-performance", version: 1, sample_rate: m.sampleRate, frames: m.frames, patch: m.patch };
  // One event a line: diffable, and still what JSON.parse and the Rust reader read.
  return `${JSON.stringify(head).slice(0, -1)},"events":[\n${lines.join(",\n")}]}\n`;
}

function seconds(s) {
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export class Recorder {
  /**
   * `el`: {panel, record, render, discard, status, progress, wav, midi, performance} (buttons, a
   * status line, a <progress> and three download links). `table`: the parameter table, whose keys
   * name parameters in the file. `held()`: "note-on"/"sustain" messages for what is held down now
   * (NoteHub's initialEvents), so a chord held when Record is pressed is in the recording.
   */
  constructor(el, table, held = () => []) {
    this.el = el;
    this.held = held;
    this.keys = table.map((p) => p.key);
    // The .tpq bytes the engine's "file" model slot holds now (set by the page), for a recording
    // that played mel.model=file; its choice number.
    this.fileModel = () => null;
    this.fileChoice = table.find((p) => p.key === "mel.model")?.choices.indexOf("file") ?? -1;
    this.instrument = null;
    this.recording = false;
    this.kept = null;
    this.urls = [];
    el.record.addEventListener("click", () => (this.recording ? this.stop() : this.start()));
    el.render.addEventListener("click", () => this.render());
    el.discard.addEventListener("click", () => this.discard());
    for (const link of [el.wav, el.midi, el.performance]) link.addEventListener("click", () => this.exported());
    this.restore();
  }

  /** The engine is running: recording becomes possible. */
  attach(instrument) {
    this.instrument = instrument;
    instrument.addEventListener("recording", (e) => this.stopped(e.data));
    instrument.addEventListener("recording-part", (e) => this.flushed(e.data));
    this.show();
  }

  async restore() {
    try {
      this.kept = await storage.get();
    } catch (e) {
      this.note(`Recordings cannot be kept in this browser (${e?.message ?? e}).`);
    }
    this.show();
    // Says the storage was read (the panel's state is final from here; tests wait for it).
    this.el.panel.dataset.restored = "";
    if (this.kept) this.note(`A recording of ${seconds(this.kept.seconds)} is kept from before: render it, download it or discard it.`);
  }

  start() {
    this.message = "";
    this.recording = true;
    this.startedAt = this.instrument.context.currentTime;
    this.instrument.post({ type: "record", on: true, keys: this.keys, held: this.held() });
    // The recording's events as JSON lines, each written once as its part arrives.
    this.lines = [];
    this.startedOn = Date.now();
    this.ticker = setInterval(() => this.show(), 500);
    this.flusher = setInterval(() => this.instrument.post({ type: "record", flush: true }), FLUSH_MS);
    this.show();
  }

  stop() {
    this.instrument.post({ type: "record", on: false });
    clearInterval(this.ticker);
    clearInterval(this.flusher);
    this.recording = false;
    this.stopping = true;
    this.show();
  }

  stopped(m) {
    if (!this.lines) return;
    this.message = "";
    this.stopping = false;
    this.clearRender();
    this.keep(m, false);
    this.lines = null;
    this.show();
  }

  /** The events so far of the recording in progress: saved, in case a reload cuts it short. */
  flushed(m) {
    if (this.lines) this.keep(m, true);
  }

  /** Adds the events of a worklet recording message to the recording, keeps it and saves it. */
  async keep(m, cut) {
    for (const e of m.events) this.lines.push(JSON.stringify(e));
    this.kept = {
      json: performanceText(m, this.lines),
      seconds: m.frames / m.sampleRate,
      events: this.lines.length,
      dropped: m.dropped,
      // When Record was pressed: the files' names, the same from the first save to the last.
      at: this.startedOn,
      exported: false,
      cut,
    };
    try {
      await storage.put(this.kept);
    } catch (e) {
      this.note(`The recording could not be kept in this browser (${e?.message ?? e}): download it before leaving.`);
    }
  }

  async discard() {
    this.message = "";
    this.kept = null;
    this.clearRender();
    this.show();
    await storage.remove().catch(() => {});
  }

  exported() {
    if (!this.kept || this.kept.exported) return;
    this.kept.exported = true;
    storage.put(this.kept).catch(() => {});
    this.show();
  }

  /** Renders the kept recording to WAV and MIDI in a worker, showing progress. */
  async render() {
    if (!this.kept || this.worker) return;
    this.clearRender();
    this.message = "";
    const { progress } = this.el;
    progress.value = 0;
    progress.dataset.updates = "0";
    const worker = new Worker(new URL("./render-worker.js", import.meta.url), { type: "module" });
    this.worker = worker;
    this.show();
    // The worker closes itself after its answer (see render-worker.js).
    const finished = () => {
      this.worker = null;
      this.show();
    };
    worker.onmessage = ({ data }) => {
      if (data.type === "progress") {
        progress.value = data.done;
        progress.dataset.updates = String(Number(progress.dataset.updates) + 1);
      } else if (data.type === "done") {
        this.offer(data);
        finished();
        if (data.errors.length) this.note(`Skipped while rendering: ${data.errors.slice(0, 3).join("; ")}`);
      } else if (data.type === "failed") {
        finished();
        this.note(`The recording could not be rendered: ${data.error}`);
      }
    };
    worker.onerror = (e) => {
      worker.terminate();
      finished();
      this.note(`The render worker failed: ${e.message}`);
    };
    const fileModel = this.fileModel();
    worker.postMessage({ type: "render", performance: this.kept.json, fileModel, fileChoice: this.fileChoice });
  }

  /** Download links for a finished render. */
  offer({ wav, midi }) {
    const name = `tidepool-${new Date(this.kept.at).toISOString().slice(0, 19).replace(/[-:T]/g, "")}`;
    const link = (a, blob, ext) => {
      const url = URL.createObjectURL(blob);
      this.urls.push(url);
      a.href = url;
      a.download = `${name}.${ext}`;
      a.hidden = false;
    };
    link(this.el.wav, wav, "wav");
    link(this.el.midi, midi, "mid");
  }

  clearRender() {
    for (const url of this.urls) URL.revokeObjectURL(url);
    this.urls = [];
    this.el.wav.hidden = true;
    this.el.midi.hidden = true;
    this.el.progress.value = 0;
  }

  note(text) {
    this.message = text;
    this.show();
  }

  /** Buttons, status and the performance link from the state. */
  show() {
    const { el, kept } = this;
    const state = this.recording ? "recording" : this.stopping ? "stopping" : this.worker ? "rendering" : kept ? "recorded" : "idle";
    el.panel.dataset.state = state;
    el.record.textContent = this.recording ? "Stop" : "Record";
    el.record.setAttribute("aria-pressed", String(this.recording));
    // A kept recording is only replaced once it was exported or discarded.
    el.record.disabled = !this.instrument || this.stopping || (!this.recording && kept && !kept.exported) || !!this.worker;
    el.render.disabled = !kept || this.recording || !!this.worker;
    el.discard.disabled = !kept || this.recording || !!this.worker;
    el.progress.hidden = state !== "rendering" && el.wav.hidden;
    if (kept) {
      if (this.linked !== kept.json) {
        if (el.performance.href) URL.revokeObjectURL(el.performance.href);
        el.performance.href = URL.createObjectURL(new Blob([kept.json], { type: "application/json" }));
        el.performance.download = `tidepool-performance-${kept.at}.json`;
        this.linked = kept.json;
      }
    } else if (el.performance.href) {
      URL.revokeObjectURL(el.performance.href);
      el.performance.removeAttribute("href");
      this.linked = null;
    }
    el.performance.hidden = !kept || this.recording;
    let text;
    if (state === "recording") text = `Recording… ${seconds(this.instrument.context.currentTime - this.startedAt)}`;
    else if (state === "stopping") text = "Stopping…";
    else if (state === "rendering") text = "Rendering…";
    else if (kept) {
      const lost = kept.dropped ? ` (${kept.dropped} inputs past the limit were not kept)` : "";
      const fate = kept.exported ? "exported" : "kept in this browser until exported or discarded";
      const cut = kept.cut ? " (cut short: the page was left while recording)" : "";
      text = `Recorded ${seconds(kept.seconds)}${cut}, ${kept.events} inputs${lost}: ${fate}.`;
    } else text = this.instrument ? "Press Record to capture what you play." : "Start audio to record.";
    if (this.message) text += ` ${this.message}`;
    if (el.status.textContent !== text) el.status.textContent = text;
  }
}
