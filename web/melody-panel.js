// The melody panel's live text: the model's loading state, what the generator does (off, playing
// freely, listening, answering), which model plays and the key in force; and the Markov chain's:
// how many notes it learned, its Clear button, and its table kept in the patch (so the URL
// carries it). Text only
// (textContent), no HTML.

const PHASES = ["Off: choose free or answer", "Playing on its own", "Listening: play a phrase, then pause for a bar", "Answering"];

function keyName(choices, index) {
  const name = choices[index] ?? "C";
  return name.endsWith("m") ? `${name.slice(0, -1)} minor` : `${name} major`;
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;

// The chain's table is fetched from the worklet this long after its count last changed: a
// phrase being played is one fetch, not one per note.
const TABLE_DELAY_MS = 400;

export class MelodyPanel {
  /**
   * `elements`: {model, live} (paragraphs), {learned, clear} (the Markov chain's line and
   * button); `state`: the PatchState (for key names, and the chain's table); `layout`:
   * engine.js's `snapshotLayout()`.
   */
  constructor(elements, state, layout) {
    this.at = layout.melody;
    this.model = elements.model;
    this.live = elements.live;
    this.learnedEl = elements.learned;
    this.state = state;
    this.lastLive = "";
    this.fileLabel = "your model file (none yet: drop one below)";
    this.instrument = null;
    this.learned = -1;
    this.tableTimer = 0;
    elements.clear.addEventListener("click", () => {
      if (this.instrument) this.instrument.clearMarkov();
      else this.state.learned("");
      this.showLearned(0);
    });
    this.showLearned(state.markov ? null : 0);
  }

  /** From now on the Clear button and the chain's table go through `instrument`. */
  attach(instrument) {
    this.instrument = instrument;
    instrument.addEventListener("markov", (e) => this.markovReport(e.data));
  }

  /** A "markov" message: the chain's table now (and why a link's table was refused, if it was). */
  markovReport({ ok, error, table }) {
    this.state.learned(table);
    if (!ok) {
      this.learnedEl.textContent = `The link's Markov table was refused (${error}); the chain kept what it had learned.`;
      this.learnedEl.dataset.state = "error";
    }
  }

  showLearned(count) {
    const el = this.learnedEl;
    el.dataset.state = "ok";
    if (count === null) el.textContent = "The Markov chain plays what the link taught it.";
    else if (count === 0) el.textContent = "The Markov chain has learned nothing yet: play it something.";
    else el.textContent = `The Markov chain has learned ${count} note${count === 1 ? "" : "s"} and rests from your playing (markov1 or markov2 plays them).`;
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
    if (name.startsWith("markov")) return `model the order-${name.slice(6)} Markov chain of your playing`;
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
    const learned = Math.round(view[at.learned]);
    if (learned !== this.learned) {
      this.learned = learned;
      this.showLearned(learned);
      clearTimeout(this.tableTimer);
      this.tableTimer = setTimeout(() => this.instrument?.requestMarkovTable(), TABLE_DELAY_MS);
    }
    if (text !== this.lastLive) {
      this.live.textContent = text;
      this.live.dataset.phase = String(phase);
      this.lastLive = text;
    }
  }
}
