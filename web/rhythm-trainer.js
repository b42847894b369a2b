// The page's side of web/rhythm-worker.js: one worker, started on first use, and each request a
// promise. Training progress arrives as "progress" events ({epoch, epochs, losses}).

export class RhythmTrainer extends EventTarget {
  constructor() {
    super();
    this.worker = null;
    this.nextId = 1;
    this.pending = new Map();
  }

  start() {
    if (this.worker) return this.worker;
    this.worker = new Worker(new URL("./rhythm-worker.js", import.meta.url), { type: "module" });
    this.worker.onmessage = (e) => {
      const m = e.data;
      if (m.type === "progress") {
        this.dispatchEvent(Object.assign(new Event("progress"), { data: m }));
        return;
      }
      const waiting = this.pending.get(m.id);
      if (!waiting) return;
      this.pending.delete(m.id);
      if (m.ok) waiting.resolve(m.value);
      else waiting.reject(new Error(m.error));
    };
    this.worker.onerror = (e) => {
      // A worker that failed to start fails every request waiting on it, with the reason.
      const error = new Error(`the training worker stopped: ${e.message || "it could not be loaded"}`);
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
      this.worker = null;
    };
    return this.worker;
  }

  /** Sends request `type` with `fields`; resolves with the worker's value, rejects with its error. */
  request(type, fields = {}, transfer = []) {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, type, ...fields }, transfer);
    });
  }

  /** Stops the training under way between two slices of epochs; it answers `{cancelled: true}`. */
  cancel() {
    this.worker?.postMessage({ type: "cancel" });
  }
}
