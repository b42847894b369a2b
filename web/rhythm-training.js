// The rhythm panel's training section: the data set (dropped or picked files, the loop's bars or
// BPM, "learn from my playing"), the training settings (track, architecture, epochs, seed and
// Reseed, velocity head, how much of the built-in corpus), Train and Cancel with a live loss
// curve, and the model file's download and load. The work is the worker's (web/rhythm-worker.js).

import { COLORS, hint, sharpCanvas } from "./canvas.js";
import { acceptFiles, addFiles, AUDIO_LIMIT_S, FILE_LIMIT_BYTES, showRefused } from "./rhythm-files.js";

const $ = (id) => document.getElementById(id);

/** The loss per epoch, drawn as it comes. */
class LossCurve {
  constructor(canvas) {
    this.canvas = canvas;
    this.losses = [];
    this.epochs = 1;
    this.redraw = sharpCanvas(canvas, (ctx, w, h) => this.draw(ctx, w, h));
  }

  reset(epochs) {
    this.losses = [];
    this.epochs = Math.max(1, epochs);
    this.redraw();
  }

  add(losses) {
    this.losses.push(...losses);
    this.redraw();
    const last = this.losses.at(-1);
    if (last !== undefined) this.canvas.setAttribute("aria-label", `Loss per epoch: ${this.losses.length} epochs, last ${last.toFixed(4)}`);
  }

  draw(ctx, width, height) {
    ctx.fillStyle = COLORS.background;
    ctx.fillRect(0, 0, width, height);
    const finite = this.losses.filter(Number.isFinite);
    if (finite.length === 0) {
      hint(ctx, width, height, "The loss per epoch shows here while a model trains");
      return;
    }
    const hi = Math.max(...finite);
    const lo = Math.min(...finite);
    const span = hi - lo || 1;
    ctx.strokeStyle = COLORS.outputs[0];
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    this.losses.forEach((loss, i) => {
      const x = (i / Math.max(1, this.epochs - 1)) * (width - 8) + 4;
      const y = height - 6 - ((loss - lo) / span) * (height - 20);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
    ctx.fillStyle = COLORS.text;
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.textBaseline = "top";
    ctx.fillText(`loss ${finite.at(-1).toFixed(4)}`, width - 4, 2);
  }
}

export class RhythmTraining {
  /**
   * `trainer`: the worker client; `hooks`: {trained(trackIndex, model), played() → Promise of
   * Uint32Array|null (the engine's played windows), running() (whether the audio engine is up),
   * dataChanged(), messages (the #messages box)}.
   */
  constructor(trainer, hooks) {
    this.trainer = trainer;
    this.hooks = hooks;
    this.curve = new LossCurve($("rhythm-loss"));
    this.training = null;
    this.learnFrom = null; // the first played window "learn from my playing" takes
    this.total = 0;
    this.downloadUrl = null;
    $("rhythm-limit").textContent = `Files up to ${FILE_LIMIT_BYTES >> 20} MB each (audio up to ${AUDIO_LIMIT_S / 60} minutes).`;
    acceptFiles($("rhythm-drop"), $("rhythm-file"), (files) => this.addFiles(files));
    $("rhythm-pick").addEventListener("click", () => $("rhythm-file").click());
    $("rhythm-tempo-mode").addEventListener("change", () => this.tempoMode());
    this.tempoMode();
    $("rhythm-learn").addEventListener("change", () => this.learnToggled());
    $("rhythm-clear").addEventListener("click", () => this.clear());
    $("rhythm-reseed").addEventListener("click", () => {
      $("rhythm-seed").value = String(crypto.getRandomValues(new Uint32Array(1))[0]);
    });
    $("rhythm-train-button").addEventListener("click", () => this.train());
    $("rhythm-cancel").addEventListener("click", () => this.trainer.cancel());
    $("rhythm-load").addEventListener("click", () => $("rhythm-model-file").click());
    $("rhythm-model-file").addEventListener("change", () => this.loadFile());
    trainer.addEventListener("progress", (e) => this.progress(e.data));
  }

  tempoMode() {
    const mode = $("rhythm-tempo-mode").value;
    const input = $("rhythm-tempo");
    input.hidden = mode === "loop";
    input.setAttribute("aria-label", mode === "bpm" ? "Tempo of the files in BPM" : "Bars in each file");
    if (mode === "bpm" && !(Number(input.value) >= 20)) input.value = "120";
    if (mode === "bars" && !(Number(input.value) > 0 && Number(input.value) <= 64)) input.value = "2";
  }

  /** The grid the files' audio is cut on: `{bars, bpm}` (NaN: not given). */
  tempo() {
    const mode = $("rhythm-tempo-mode").value;
    const value = Number($("rhythm-tempo").value);
    return { bars: mode === "bars" ? value : NaN, bpm: mode === "bpm" ? value : NaN };
  }

  say(text, state = "") {
    const el = $("rhythm-train-status");
    el.textContent = text;
    el.dataset.state = state;
  }

  showTotal(total) {
    this.total = total;
    $("rhythm-data").textContent = total === 0 ? "No rhythms yet." : `${total} rhythm${total === 1 ? "" : "s"} in the data set.`;
    $("rhythm-data").dataset.count = String(total);
  }

  async addFiles(files) {
    $("rhythm-data").textContent = `Reading ${files.length} file${files.length === 1 ? "" : "s"}…`;
    const { added, refused, total } = await addFiles(files, this.trainer, this.tempo());
    showRefused(this.hooks.messages, refused, added.length);
    if (total !== null) this.showTotal(total);
    else this.showTotal(this.total);
    if (added.length) {
      const list = added.map((a) => `${a.file}: ${a.count} rhythm${a.count === 1 ? "" : "s"}`).join("; ");
      $("rhythm-data").textContent += ` Added ${list}.`;
      this.hooks.dataChanged();
    }
  }

  async clear() {
    const { total } = await this.trainer.request("clear");
    this.showTotal(total);
    this.hooks.dataChanged();
  }

  async learnToggled() {
    if (!$("rhythm-learn").checked) return;
    const played = await this.hooks.played();
    if (played === null) {
      this.say(this.hooks.running()
        ? "This engine cannot report what you played (its worklet does not answer “played-rhythms”)."
        : "Learning from your playing needs the audio running: press Start audio, play, then train.", "error");
      this.learnFrom = 0;
      return;
    }
    // Only what is played from now on: windows already kept are older.
    let next = 0;
    for (let i = 0; i < played.length; i += 33) next = Math.max(next, played[i] + 1);
    this.learnFrom = next;
    this.say("Listening: play on the keys or a MIDI keyboard with the transport running; your 2-bar rhythms are added when you train.");
  }

  /** Adds the windows played since "learn from my playing" went on (and not added yet). */
  async addPlayed() {
    if (!$("rhythm-learn").checked) return;
    const played = await this.hooks.played();
    if (!played) return;
    const velocities = [];
    let next = this.learnFrom ?? 0;
    for (let i = 0; i + 33 <= played.length; i += 33) {
      if (played[i] < (this.learnFrom ?? 0)) continue;
      velocities.push(...played.subarray(i + 1, i + 33));
      next = Math.max(next, played[i] + 1);
    }
    this.learnFrom = next;
    if (velocities.length === 0) return;
    const { added, total } = await this.trainer.request("add-played", { name: "played", velocities: Uint8Array.from(velocities) });
    this.showTotal(total);
    if (added) this.hooks.dataChanged();
  }

  settings() {
    let seed = Math.floor(Number($("rhythm-seed").value));
    if (!(seed >= 0 && seed < 2 ** 53)) {
      seed = 1;
      $("rhythm-seed").value = "1";
    }
    const epochs = Math.min(5000, Math.max(1, Math.floor(Number($("rhythm-epochs").value)) || 500));
    $("rhythm-epochs").value = String(epochs);
    return {
      track: Number($("rhythm-target").value),
      arch: $("rhythm-arch").value,
      epochs,
      seed,
      velocityHead: $("rhythm-head").checked,
      corpus: $("rhythm-corpus").value,
    };
  }

  busy(on) {
    $("rhythm-train-button").disabled = on;
    $("rhythm-cancel").disabled = !on;
    $("rhythm-panel").dataset.training = on ? "on" : "off";
  }

  async train() {
    if (this.training) return;
    const s = this.settings();
    this.busy(true);
    this.training = s;
    this.curve.reset(s.epochs);
    this.say(`Training ${s.arch} for track ${s.track + 1}…`, "training");
    try {
      await this.addPlayed();
      const result = await this.trainer.request("train", s);
      if (result.cancelled) {
        this.say(`Cancelled after ${result.epoch} epochs; track ${s.track + 1} keeps its model.`, "cancelled");
        return;
      }
      const seconds = (result.ms.train / 1000).toFixed(2);
      $("rhythm-train-status").dataset.trainMs = result.ms.train.toFixed(1);
      $("rhythm-train-status").dataset.wallMs = result.ms.wall.toFixed(1);
      this.say(`Trained ${result.arch} on ${result.count} rhythms, ${result.epochs} epochs in ${seconds} s (loss ${result.loss.toFixed(4)}); track ${s.track + 1} plays it.`, "trained");
      this.hooks.trained(s.track, result);
    } catch (e) {
      this.say(`Training failed: ${e.message}`, "error");
    } finally {
      this.training = null;
      this.busy(false);
    }
  }

  progress(m) {
    this.curve.add(m.losses);
    if (this.training) this.say(`Training ${this.training.arch} for track ${this.training.track + 1}: epoch ${m.epoch} of ${m.epochs}…`, "training");
  }

  async loadFile() {
    const input = $("rhythm-model-file");
    const file = input.files[0];
    input.value = "";
    if (!file) return;
    const track = Number($("rhythm-target").value);
    try {
      if (file.size > FILE_LIMIT_BYTES) throw new Error(`the file is over the limit of ${FILE_LIMIT_BYTES >> 20} MB`);
      const bytes = new Uint8Array(await file.arrayBuffer());
      const result = await this.trainer.request("load-model", { bytes }, [bytes.buffer]);
      this.say(`Loaded ${file.name} (${result.arch}); track ${track + 1} plays it.`, "trained");
      this.hooks.trained(track, result);
    } catch (e) {
      this.say(`${file.name} could not be loaded: ${e.message}`, "error");
    }
  }

  /** The download link for `model` (the target track's trained model), or hidden without one. */
  offer(model) {
    const link = $("rhythm-download");
    if (this.downloadUrl) URL.revokeObjectURL(this.downloadUrl);
    this.downloadUrl = null;
    link.hidden = !(model?.file?.length > 0);
    if (link.hidden) return;
    this.downloadUrl = URL.createObjectURL(new Blob([model.file], { type: "application/octet-stream" }));
    link.href = this.downloadUrl;
    const seed = model.training?.seed ?? "";
    link.download = `tidepool-rhythm-${model.arch}${seed !== "" ? `-seed${seed}` : ""}.safetensors`;
  }
}
