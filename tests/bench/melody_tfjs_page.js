// Browser side of tests/bench/melody_tfjs.mjs: the melody LSTM (embedding → LSTM 256 → LSTM 256
// → linear 130, PyTorch layout, gates i,f,g,o) rebuilt in TensorFlow.js from the same safetensors
// file, next to tidepool's WasmMelody. Loaded as a module into a served page; TF.js (global `tf`,
// with the wasm backend registered) is already loaded by script tags the bench adds.

const tf = globalThis.tf;

// ---------------------------------------------------------------------------------------------
// safetensors → f32 (f16 decoded exactly, as tidepool's loader does)
// ---------------------------------------------------------------------------------------------

function f16ToF32(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** `{name: {shape, values: Float32Array}}` and the metadata of a safetensors file. */
export function readSafetensors(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  const data = 8 + headerLen;
  const table = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) table[i] = f16ToF32(i);
  const tensors = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(count);
    if (entry.dtype === "F16") {
      for (let i = 0; i < count; i++) values[i] = table[view.getUint16(data + begin + 2 * i, true)];
    } else if (entry.dtype === "F32") {
      for (let i = 0; i < count; i++) values[i] = view.getFloat32(data + begin + 4 * i, true);
    } else {
      throw new Error(`${name}: dtype ${entry.dtype}`);
    }
    if (end - begin !== count * (entry.dtype === "F16" ? 2 : 4)) throw new Error(`${name}: size`);
    tensors[name] = { shape: entry.shape, values };
  }
  return { tensors, metadata: header.__metadata__ ?? {} };
}

// ---------------------------------------------------------------------------------------------
// The LSTM in TF.js. Weights are transposed once at build time so a step is x·W (row vector
// times matrix), batch 1; every step runs inside tf.tidy and ends with dataSync() of the logits.
// ---------------------------------------------------------------------------------------------

/** rows × cols row-major → its transpose (cols × rows), optionally only rows `order` blocks. */
function transpose(values, rows, cols) {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

/** Reorders the 4 gate blocks (each `hidden` long along the last axis of a [k, 4H] matrix). */
function reorderGates(m, k, hidden, order) {
  const out = new Float32Array(m.length);
  const h4 = 4 * hidden;
  for (let r = 0; r < k; r++) {
    order.forEach((src, dst) => out.set(m.subarray(r * h4 + src * hidden, r * h4 + (src + 1) * hidden), r * h4 + dst * hidden));
  }
  return out;
}

/**
 * Builds one TF.js implementation. `variant`:
 *   "fused-concat"  gates = fused.matMul([x, h], [W_ih; W_hh]ᵀ, b)    (one matMul per layer)
 *   "two-matmuls"   gates = x·W_ihᵀ + h·W_hhᵀ + b                      (two matMuls per layer)
 *   "basicLSTMCell" tf.basicLSTMCell (TF's gate order i,g,f,o: the blocks are reordered; forget
 *                   bias 0)
 * Not here: PyTorch's untransposed [4H, in+H] with fused.matMul({transposeB: true, bias}): in
 * tfjs-backend-wasm 4.22 that returns wrong values at these sizes (fine without the bias, and
 * for tiny shapes) and was 3.5× slower than the pre-transposed weights anyway.
 * Returns `{step(token) → Float32Array logits, reset(), run(steps) → checksum, dispose()}`.
 */
export function buildTf(tensors, variant) {
  const t = (n) => tensors[n];
  const vocab = t("embedding.weight").shape[0];
  const e = t("embedding.weight").shape[1];
  const hidden = t("lstm.weight_hh_l0").shape[1];
  const layers = [];
  const keep = [];
  const mk = (values, shape, dtype = "float32") => { const x = tf.tensor(values, shape, dtype); keep.push(x); return x; };
  for (let k = 0; k < 2; k++) {
    const input = k === 0 ? e : hidden;
    const wih = transpose(t(`lstm.weight_ih_l${k}`).values, 4 * hidden, input); // input × 4H
    const whh = transpose(t(`lstm.weight_hh_l${k}`).values, 4 * hidden, hidden); // H × 4H
    const bias = t(`lstm.bias_ih_l${k}`).values.map((v, i) => v + t(`lstm.bias_hh_l${k}`).values[i]);
    const both = new Float32Array((input + hidden) * 4 * hidden);
    both.set(wih, 0);
    both.set(whh, wih.length);
    if (variant === "basicLSTMCell") {
      const order = [0, 2, 1, 3]; // PyTorch i,f,g,o → TF i,j(=g),f,o
      layers.push({
        kernel: mk(reorderGates(both, input + hidden, hidden, order), [input + hidden, 4 * hidden]),
        bias: mk(reorderGates(bias, 1, hidden, order), [4 * hidden]),
      });
    } else {
      layers.push({
        both: mk(both, [input + hidden, 4 * hidden]),
        wih: mk(wih, [input, 4 * hidden]),
        whh: mk(whh, [hidden, 4 * hidden]),
        bias: mk(bias, [4 * hidden]),
      });
    }
  }
  const embedding = mk(t("embedding.weight").values, [vocab, e]);
  const linW = mk(transpose(t("linear.weight").values, vocab, hidden), [hidden, vocab]);
  const linB = mk(t("linear.bias").values, [vocab]);
  const forgetBias = mk(new Float32Array([0]), []);
  const tokenTensors = Array.from({ length: vocab }, (_, i) => mk(new Int32Array([i]), [1], "int32"));

  let state = null;
  const reset = () => {
    if (state) state.forEach((s) => s.dispose());
    state = [0, 1, 2, 3].map(() => tf.keep(tf.zeros([1, hidden])));
  };
  reset();

  const cell = (layer, x, c, h) => {
    if (variant === "basicLSTMCell") return tf.basicLSTMCell(forgetBias, layer.kernel, layer.bias, x, c, h);
    const gates = variant === "two-matmuls"
      ? tf.add(tf.add(tf.matMul(x, layer.wih), tf.matMul(h, layer.whh)), layer.bias)
      : tf.fused.matMul({ a: tf.concat([x, h], 1), b: layer.both, bias: layer.bias });
    const [i, f, g, o] = tf.split(gates, 4, 1);
    const c2 = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
    return [c2, tf.mul(tf.sigmoid(o), tf.tanh(c2))];
  };

  const step = (token) => {
    const [c0, h0, c1, h1] = state;
    const out = tf.tidy(() => {
      const x = tf.gather(embedding, tokenTensors[Math.min(token, vocab - 1)]); // [1, E]
      const [nc0, nh0] = cell(layers[0], x, c0, h0);
      const [nc1, nh1] = cell(layers[1], nh0, c1, h1);
      const logits = tf.fused.matMul({ a: nh1, b: linW, bias: linB });
      return [nc0, nh0, nc1, nh1, logits];
    });
    state.forEach((s) => s.dispose());
    state = out.slice(0, 4);
    const logits = out[4].dataSync();
    out[4].dispose();
    return logits;
  };

  return {
    variant,
    step,
    reset,
    /** Same contract as WasmMelody.run: the token pattern restarts, the state carries on. */
    run(steps) {
      let sum = 0;
      for (let i = 0; i < steps; i++) sum += step(i % 4 === 0 ? 60 + (i % 7) : 129)[0];
      return sum;
    },
    dispose() {
      state.forEach((s) => s.dispose());
      keep.forEach((x) => x.dispose());
    },
  };
}

export const pattern = (n) => Array.from({ length: n }, (_, i) => (i % 4 === 0 ? 60 + (i % 7) : 129));

export function softmax(logits) {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The bench, called from the Node side with page.evaluate.
// ---------------------------------------------------------------------------------------------

let ctx = null;

/** Loads the wasm glue, the model bytes (once) and TF.js's wasm backend. */
export async function setup({ modelUrl, wasmPaths, threads, prodMode }) {
  // The tools module (the wasm crate's `tools` feature): WasmMelody's timed runs are only there.
  const glue = await import("/pkg/tools/tidepool_wasm.js");
  await glue.default();
  const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
  const { tensors, metadata } = readSafetensors(bytes);
  tf.wasm.setWasmPaths(wasmPaths);
  if (threads) tf.wasm.setThreadsCount(threads);
  // TF.js's documented speed switch: no per-op correctness checks.
  if (prodMode) tf.enableProdMode();
  if (!(await tf.setBackend("wasm"))) throw new Error("tf.setBackend('wasm') failed");
  await tf.ready();
  const probe = new glue.WasmMelody(bytes);
  const hasQuantized = typeof probe.run_quantized === "function";
  const hasQuantize = typeof probe.quantize === "function";
  probe.free();
  ctx = { glue, bytes, tensors, metadata, hasQuantized, hasQuantize };
  return {
    tf: tf.version.tfjs,
    tf_wasm: tf.version_wasm ?? tf.wasm.version_wasm ?? null,
    backend: tf.getBackend(),
    simd: await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"),
    multithread: await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT"),
    threads: tf.wasm.getThreadsCount?.() ?? null,
    prodMode: tf.env().getBool("PROD"),
    hardwareConcurrency: navigator.hardwareConcurrency,
    crossOriginIsolated: globalThis.crossOriginIsolated ?? false,
    shapes: Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, v.shape])),
    metadata,
    hasQuantized,
    hasQuantize,
    userAgent: navigator.userAgent,
  };
}

/**
 * Correctness: TF.js's probabilities after each token of `sequences` (to compare with the native
 * `tidepool melody probs`), and logits[0] after each token of the run pattern from TF.js and
 * from the wasm (WasmMelody only exposes run(steps) → Σ logits[0]: a fresh model run for k and
 * k−1 steps gives logits[0] of step k−1 as the difference).
 */
export function check({ variants, sequences, patternSteps }) {
  const out = { probs: {}, patternLogit0: {}, wasmLogit0: [], wasmQuantizedLogit0: null };
  const { glue, bytes, tensors } = ctx;
  for (const v of variants) {
    const m = buildTf(tensors, v);
    out.probs[v] = sequences.map((seq) => {
      m.reset();
      return seq.map((tok) => Array.from(softmax(m.step(tok))));
    });
    m.reset();
    out.patternLogit0[v] = pattern(patternSteps).map((tok) => m.step(tok)[0]);
    m.dispose();
  }
  const viaRun = (method) => {
    const logit0 = [];
    let before = 0;
    for (let k = 1; k <= patternSteps; k++) {
      const w = new glue.WasmMelody(bytes);
      if (method === "run_quantized" && ctx.hasQuantize) w.quantize();
      const sum = w[method](k);
      w.free();
      logit0.push(sum - before);
      before = sum;
    }
    return logit0;
  };
  out.wasmLogit0 = viaRun("run");
  if (ctx.hasQuantized) out.wasmQuantizedLogit0 = viaRun("run_quantized");
  return out;
}

/**
 * Timing: each implementation gets a step count so one run takes ≥ `minMs`; then `rounds`
 * rounds, each timing one run of every implementation in turn (interleaved), after a warm-up.
 * Best (lowest) ms/step per implementation.
 */
export function time({ variants, minMs, rounds, warmupMs }) {
  const { glue, bytes, tensors } = ctx;
  const impls = [];
  const ours = new glue.WasmMelody(bytes);
  impls.push({ name: "tidepool wasm (f32)", kind: "ours", run: (n) => ours.run(n), free: () => ours.free() });
  if (ctx.hasQuantized) {
    const q = new glue.WasmMelody(bytes);
    if (ctx.hasQuantize) q.quantize();
    impls.push({ name: "tidepool wasm (quantized)", kind: "ours", run: (n) => q.run_quantized(n), free: () => q.free() });
  }
  for (const v of variants) {
    const m = buildTf(tensors, v);
    impls.push({ name: `TF.js wasm: ${v}`, kind: "tfjs", variant: v, run: (n) => m.run(n), free: () => m.dispose() });
  }
  const timed = (impl, n) => {
    const t0 = performance.now();
    const checksum = impl.run(n);
    return { ms: performance.now() - t0, checksum };
  };
  for (const impl of impls) {
    // Warm-up (V8 and TF.js tier up, the kernels' buffers get allocated), then calibrate.
    const until = performance.now() + warmupMs;
    while (performance.now() < until) impl.run(20);
    let n = 20;
    for (;;) {
      const { ms } = timed(impl, n);
      // Aim 15% over the minimum so that no timed run falls under it.
      if (ms >= minMs) { impl.steps = Math.ceil((n * minMs * 1.15) / ms); break; }
      n = Math.ceil(n * Math.min(10, Math.max(1.5, (minMs * 1.2) / Math.max(ms, 1))));
    }
    impl.runs = [];
  }
  for (let r = 0; r < rounds; r++) {
    for (const impl of impls) impl.runs.push(timed(impl, impl.steps));
  }
  const memory = tf.memory();
  const result = impls.map((impl) => {
    const best = Math.min(...impl.runs.map((x) => x.ms));
    return {
      name: impl.name, kind: impl.kind, variant: impl.variant ?? null, steps: impl.steps,
      runs_ms: impl.runs.map((x) => +x.ms.toFixed(2)), best_ms: best,
      ms_per_step: best / impl.steps, checksums: impl.runs.map((x) => x.checksum),
    };
  });
  impls.forEach((impl) => impl.free());
  return { result, tfNumTensors: memory.numTensors, tfLeakAfter: tf.memory().numTensors };
}
