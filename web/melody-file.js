// The musician's own melody model on the Melody panel: a .safetensors token LSTM (1–3 layers of
// 64–512 units, tidepool's tokens, as tools/melody/train_torch.py writes it) dropped or picked,
// checked and quantized by web/melody-file-worker.js (the tools module), handed to the engine's
// "file" slot (mel.model=file) and kept in the browser (web/melody-file-store.js). A refused file
// is named with its reason and changes nothing: the model that played plays on.
//
// A link with mel.model=file opened where no model file is stored: the panel says so, and the
// shipped LSTM stands in, in the file slot, until a file is dropped (it then takes over at once,
// and the link still says mel.model=file).

import { loadFile, saveFile } from "./melody-file-store.js";
import { acceptFiles } from "./rhythm-files.js";

// The same limit as the safetensors loader (crates/melody/src/model_file.rs MAX_BYTES).
export const FILE_LIMIT_BYTES = 64 << 20;

/** One line about a converted model: its size, position input and what it was trained on. */
export function describeModel(name, info) {
  const m = info.metadata ?? {};
  const position = info.positionInput > 0 ? "with the metrical position input" : "no position input";
  const trainedOn = m.trained_on ?? m.dataset ?? "the file does not say";
  const trainedWith = m.trained_with ? ` (${m.trained_with})` : "";
  return `${name}: ${info.layers} × ${info.hidden} LSTM, embedding ${info.embedding}, ${position}; trained on ${trainedOn}${trainedWith}`;
}

export class MelodyFile {
  /**
   * `elements`: {drop (the drop zone), picker (a file input), pick (its button), status (a
   * paragraph)}; `panel`: the MelodyPanel (told the playing file's name).
   */
  constructor(elements, panel) {
    this.status = elements.status;
    this.panel = panel;
    this.worker = null;
    this.nextId = 1;
    this.pending = new Map();
    this.current = null; // {name, tpq: Uint8Array, info}: the accepted model
    this.instrument = null;
    this.standIn = false; // the shipped LSTM plays in the file slot
    elements.pick.addEventListener("click", () => elements.picker.click());
    acceptFiles(elements.drop, elements.picker, (files) => this.take(files[0]));
    this.restored = this.restore();
  }

  /** The worker's conversion of `bytes`: resolves {tpq, info}, rejects with what is wrong. */
  convert(bytes) {
    if (!this.worker) {
      this.worker = new Worker(new URL("./melody-file-worker.js", import.meta.url), { type: "module" });
      this.worker.onmessage = ({ data }) => {
        const waiting = this.pending.get(data.id);
        this.pending.delete(data.id);
        if (data.ok) waiting?.resolve(data);
        else waiting?.reject(new Error(data.error));
      };
      this.worker.onerror = (e) => {
        const error = new Error(`the model-file worker stopped: ${e.message || "it could not be loaded"}`);
        for (const waiting of this.pending.values()) waiting.reject(error);
        this.pending.clear();
        this.worker = null;
      };
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, bytes });
    });
  }

  show(text, state) {
    this.status.textContent = text;
    this.status.dataset.state = state;
  }

  /** The file kept from an earlier visit, converted again (the page may be newer than it). */
  async restore() {
    const stored = await loadFile();
    if (!stored) {
      this.show("No model file of yours yet: drop a .safetensors here or choose one.", "none");
      return;
    }
    try {
      const { tpq, info } = await this.convert(stored.bytes);
      this.accept(stored.name, tpq, info, "kept from your last visit");
    } catch (e) {
      this.show(`Your model file ${stored.name}, kept from your last visit, is no longer usable: ${e.message}. Drop or choose another.`, "error");
    }
  }

  /** A dropped or picked file: checked, then played, or refused with its reason. */
  async take(file) {
    if (!file) return;
    const keeps = this.current ? `your model ${this.current.name} stays` : "nothing changed";
    const refuse = (reason) => this.show(`${file.name} was not used: ${reason}. The melody plays on as before (${keeps}).`, "error");
    if (file.size > FILE_LIMIT_BYTES) {
      refuse(`${file.size.toLocaleString("en")} bytes is over the limit of ${FILE_LIMIT_BYTES >> 20} MB`);
      return;
    }
    this.show(`Checking ${file.name}…`, "loading");
    let bytes;
    let converted;
    try {
      bytes = new Uint8Array(await file.arrayBuffer());
      converted = await this.convert(bytes.slice());
    } catch (e) {
      refuse(e.message || String(e));
      return;
    }
    this.accept(file.name, converted.tpq, converted.info, "");
    const problem = await saveFile(file.name, bytes);
    if (problem) this.show(`${this.status.textContent} It could not be kept in this browser (${problem}): drop it again after a reload.`, "loaded");
  }

  accept(name, tpq, info, note) {
    this.current = { name, tpq, info };
    this.standIn = false;
    this.panel.fileModel(describeModel(name, info));
    this.show(`Your model: ${describeModel(name, info)}${note ? ` (${note})` : ""}. Choose the model “file” to play it.`, "loaded");
    this.hand();
  }

  /** A copy of the .tpq bytes the engine's file slot holds (for rendering a recording), or null. */
  slotBytes() {
    if (this.current) return this.current.tpq.slice();
    return this.standIn ? this.standInBytes.slice() : null;
  }

  /** The engine exists: it gets the accepted model, if any. */
  attach(instrument) {
    this.instrument = instrument;
    this.hand();
  }

  hand() {
    if (this.instrument && this.current) this.instrument.installMelodyFile(this.current.tpq.slice().buffer);
  }

  /**
   * The patch plays mel.model=file and the engine has no model there: the stored one once it is
   * read, else the shipped LSTM (`shippedTpq`, its .tpq bytes, when loaded) as a stand-in.
   */
  async missing(shippedTpq) {
    await this.restored;
    if (this.current) return;
    if (!this.standIn && shippedTpq && this.instrument) {
      this.standIn = true;
      this.standInBytes = shippedTpq;
      this.instrument.installMelodyFile(shippedTpq.slice().buffer);
      this.panel.fileModel("the shipped LSTM, standing in: this link asks for a model file of its own, and none is kept in this browser");
      this.show("This patch plays a model file of its own (mel.model=file), but none is kept in this browser: drop or choose its .safetensors here. The shipped LSTM plays meanwhile.", "missing");
    }
  }

  /** The engine's answer to a model-file install. */
  installed(ok, error) {
    if (!ok) this.show(`The engine refused the model file: ${error}. The melody plays on as before.`, "error");
  }
}
