// The melody panel's live text: the model's loading state, what the generator does (off, playing
// freely, listening, answering), which model plays and the key in force. Text only
// (textContent), no HTML.

const PHASES = ["Off: choose free or answer", "Playing on its own", "Listening: play a phrase, then pause for a bar", "Answering"];

function keyName(choices, index) {
  const name = choices[index] ?? "C";
  return name.endsWith("m") ? `${name.slice(0, -1)} minor` : `${name} major`;
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;

export class MelodyPanel {
  /**
   * `elements`: {model, live} (paragraphs); `state`: the PatchState (for key names); `layout`:
   * engine.js's `snapshotLayout()`.
   */
  constructor(elements, state, layout) {
    this.at = layout.melody;
    this.model = elements.model;
    this.live = elements.live;
    this.state = state;
    this.lastLive = "";
    this.fileLabel = "your model file (none yet: drop one below)";
  }

  /** What the "file" model choice plays now (web/melody-file.js). */
  fileModel(label) {
    this.fileLabel = label;
  }

  /** The model the patch plays, in words. */
  modelName() {
    const name = this.state.spec("mel.model").choices[this.state.value("mel.model")] ?? "lstm";
    if (name === "file") return `model ${this.fileLabel}`;
    if (name.startsWith("ngram")) return `model the order-${name.slice(5)} n-gram`;
    return "model the shipped LSTM (2 × 256, Bach chorales)";
  }

  progress(received, total) {
    const share = total > 0 ? ` ${Math.round((100 * received) / total)} %` : "";
    this.model.textContent = `Loading the melody model…${share} (${mb(received)}${total > 0 ? ` of ${mb(total)}` : ""})`;
    this.model.dataset.state = "loading";
  }

  loaded(bytes) {
    this.model.textContent = `LSTM model loaded (${mb(bytes)}, checked).`;
    this.model.dataset.state = "loaded";
  }

  failed(message) {
    this.model.textContent = `The LSTM melody model could not be loaded: ${message}. The n-gram models and everything else still work.`;
    this.model.dataset.state = "error";
  }

  note(text, state) {
    this.model.textContent = text;
    this.model.dataset.state = state;
  }

  /** A "view" snapshot from the worklet. */
  snapshot(view) {
    const at = this.at;
    const phase = Math.round(view[at.phase]);
    const choices = this.state.spec("mel.key").choices;
    const following = this.state.value("mel.key") === 0;
    let text = PHASES[phase] ?? PHASES[0];
    if (phase === 3) {
      // Bars, not sixteenths: the line is read out by screen readers when it changes.
      const bars = Math.ceil(Math.round(view[at.left]) / (4 * this.state.value("bpb")));
      text += bars > 1 ? ` (${bars} bars to go)` : " (last bar)";
    }
    if (phase > 0) {
      const key = keyName(choices, Math.round(view[at.key]));
      text += ` · key ${key}${following ? " (following your playing)" : ""} · ${this.modelName()}`;
    }
    if (Math.round(view[at.missing]) >= 0 && phase > 0) text += " · waiting for the model";
    if (text !== this.lastLive) {
      this.live.textContent = text;
      this.live.dataset.phase = String(phase);
      this.lastLive = text;
    }
  }
}
