// A recorder inside the audio graph, for the stall test and benchmark (tests/e2e/stall.test.mjs,
// tests/bench/stall_tone.mjs): every sample of its (stereo) input is copied into buffers
// allocated in the constructor, from its first block on, and passed through to its output. It
// also notes the wall clock (Date.now(), 1 ms ticks) of each block, which shows whether audio
// kept being rendered while the page's main thread was blocked.
//
//   processorOptions: {frames}      how many frames to keep (later blocks are counted, not kept)
//   port ← "dump"                   port → {start, length, blocks, skipped, left, right, blockTimes}
//                                   (start: the context frame of left[0]; skipped: frames of
//                                   quanta without a process() call, left zero; resumedAt: the
//                                   context frame where the last such gap ended; connectedAt:
//                                   that of the first block with an input connected)

class Recorder extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const frames = options.processorOptions.frames;
    this.left = new Float32Array(frames);
    this.right = new Float32Array(frames);
    this.blockTimes = new Float64Array(Math.ceil(frames / 128) + 1);
    this.start = null;
    this.length = 0;
    this.blocks = 0;
    this.skipped = 0;
    this.resumedAt = null;
    this.connectedAt = null;
    this.port.onmessage = (e) => {
      if (e.data !== "dump") return;
      const { start, length, blocks, skipped, resumedAt, connectedAt, left, right, blockTimes } = this;
      this.port.postMessage({ start, length, blocks, skipped, resumedAt, connectedAt, left, right, blockTimes }, [left.buffer, right.buffer, blockTimes.buffer]);
      // Nothing more is kept once dumped.
      this.left = this.right = null;
    };
  }

  process(inputs, outputs) {
    const input = inputs[0];
    const output = outputs[0];
    const n = output[0].length;
    if (this.start === null) this.start = currentFrame;
    // The first block with something connected upstream (before it, inputs[0] has no channels).
    if (this.connectedAt === null && input.length > 0) this.connectedAt = currentFrame;
    // Kept at its context frame: a quantum in which process() was not called (Chromium skips a
    // node while nothing upstream feeds it) stays zero instead of shifting what follows.
    const at = currentFrame - this.start;
    if (this.left && at + n <= this.left.length) {
      if (at > this.length) {
        this.skipped += at - this.length;
        this.resumedAt = currentFrame;
      }
      const l = input[0];
      const r = input[1] ?? input[0];
      if (l) {
        this.left.set(l, at);
        this.right.set(r, at);
      }
      // An unconnected input (no channels) leaves the buffer's zeros.
      this.blockTimes[Math.floor(at / 128)] = Date.now();
      this.length = at + n;
    }
    this.blocks += 1;
    for (let c = 0; c < output.length; c++) {
      const src = input[c] ?? input[0];
      if (src) output[c].set(src);
    }
    return true;
  }
}

registerProcessor("recorder", Recorder);
