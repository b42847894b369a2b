// The process-time meter: the engine's share of each render quantum's time budget, from the
// worklet's own timing. The worklet only has Date.now(), which ticks in whole milliseconds: the
// mean over its ~3 s window is sound, but one block's time (the peak) is only known to 1 ms, which
// is a third of a 128-frame block at 48 kHz, so the peak is shown with that caveat.

export class Meter {
  constructor(element) {
    this.element = element;
    this.element.textContent = "Load: audio off";
  }

  /** `load`: {mean, peak} as shares of the budget; `voices`: voices sounding. */
  update(load, voices) {
    const share = 100 * (load?.mean ?? 0);
    // Small loads keep a second decimal so they do not all read "0.0 %".
    const mean = share.toFixed(share < 1 ? 2 : 1);
    const peak = Math.round(100 * (load?.peak ?? 0));
    this.element.textContent = `Load ${mean} % · peak ${peak} % (1 ms resolution) · ${voices} ${voices === 1 ? "voice" : "voices"}`;
    this.element.classList.toggle("hot", (load?.mean ?? 0) > 0.5);
    this.element.title = "Mean time the engine takes per audio block, as a share of the block's duration "
      + "(averaged over about 3 s). The worklet can only time with Date.now(), which ticks in whole "
      + "milliseconds, so the peak of a single block is only known to within 1 ms.";
  }
}
