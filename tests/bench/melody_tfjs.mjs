// One step (batch 1) of the shipped melody LSTM, tidepool's wasm against TensorFlow.js with its
// wasm backend, side by side in the same headless Chromium page, same weights
// (web/models/melody-lstm.safetensors, f16 decoded to f32 by both).
//
//   node tests/bench/melody_tfjs.mjs
//   MELODY_BENCH_PKG=/some/out-dir node tests/bench/melody_tfjs.mjs   (time another wasm-bindgen
//                    --target web build of tidepool-wasm, served in place of pkg/tools/'s glue and
//                    wasm: WasmMelody's timed runs are in the `tools` feature's module)
//
// Needs pkg/ and pkg/tools/ (`cargo xtask build-web`), target/debug/xtask, target/release/tidepool (the native
// reference for the correctness check) and node_modules (`npm ci`: @tensorflow/tfjs and
// @tensorflow/tfjs-backend-wasm, pinned in package.json). Builds nothing; downloads nothing: the
// page is served by `xtask serve`, and TF.js's scripts and .wasm binaries come from node_modules
// through request interception on the same origin (any other request is aborted and reported).
//
// 1. Correctness: TF.js's next-token probabilities after every token of two ~50-token sequences
//    against the native `tidepool melody probs` (the same Rust step the wasm runs), and logits[0]
//    after every token of WasmMelody's run pattern, TF.js against the wasm itself. Every TF.js
//    variant must agree within 1e-3, or the script exits 1.
// 2. Timing: each implementation warmed up, given a step count so one run takes ≥ 200 ms, then 5
//    rounds, each running every implementation once in turn (interleaved); best run per
//    implementation. Three pages: as served (product CSP; TF.js single-threaded SIMD, as there is
//    no SharedArrayBuffer); made cross-origin isolated (COOP/COEP added, CSP dropped: TF.js then
//    loads its multi-threaded SIMD binary, whose workers start from blob: URLs, and picks its
//    default thread count, hardwareConcurrency / 2); and isolated with TF.js given one thread
//    per core (the page reports twice the cores, as TF.js caps threads at half of them).
//
// Prints one JSON line per measurement and a markdown table; the headline ratio is ours against
// the fastest TF.js variant measured anywhere. Exits 0 unless something broke or disagreed.

import { execFileSync } from "node:child_process";
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";
import os from "node:os";
import {
  ROOT, CLI, startServer, launchBrowser, newPage, closePage, requireArtifacts,
} from "../e2e/harness.mjs";

const MODEL = "web/models/melody-lstm.safetensors";
const VARIANTS = ["fused-concat", "two-matmuls", "basicLSTMCell"];
const TOLERANCE = 1e-3;
const MIN_MS = 200;
const ROUNDS = 5;
const WARMUP_MS = 300;
const SEQ_LEN = 50;
const TF_FILES = [
  "node_modules/@tensorflow/tfjs/dist/tf.es2017.min.js",
  "node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.es2017.min.js",
];
const TF_WASM_DIR = "node_modules/@tensorflow/tfjs-backend-wasm/dist/";
const PAGE_MODULE = "tests/bench/melody_tfjs_page.js";
const ALT_PKG = process.env.MELODY_BENCH_PKG ? path.resolve(process.env.MELODY_BENCH_PKG) : null;
if (ALT_PKG && !existsSync(path.join(ALT_PKG, "tidepool_wasm_bg.wasm"))) throw new Error(`MELODY_BENCH_PKG=${ALT_PKG} has no tidepool_wasm_bg.wasm`);

requireArtifacts();
requireArtifacts(CLI);
for (const f of [...TF_FILES, `${TF_WASM_DIR}tfjs-backend-wasm-simd.wasm`]) {
  if (!existsSync(path.join(ROOT, f))) throw new Error(`missing ${f}: run \`npm ci\` (package.json pins TF.js)`);
}
const tfVersions = Object.fromEntries(
  ["tfjs", "tfjs-backend-wasm", "tfjs-core"].map((p) => [
    `@tensorflow/${p}`,
    JSON.parse(readFileSync(path.join(ROOT, `node_modules/@tensorflow/${p}/package.json`), "utf8")).version,
  ]),
);

const LOAD_AT_START = +os.loadavg()[0].toFixed(2);
const results = [];
const record = (r) => {
  results.push(r);
  console.log(JSON.stringify(r));
};

// Sequences for the probability check: WasmMelody's run pattern and the start of the first
// test-split chorale line (a real melody: more pitches, holds and rests).
const patternTokens = Array.from({ length: SEQ_LEN }, (_, i) => (i % 4 === 0 ? 60 + (i % 7) : 129));
const chorale = readFileSync(path.join(ROOT, "data/chorales/test.tokens"), "utf8")
  .split("\n").find((l) => l.includes("|"))?.split("|")[1].trim().split(/\s+/).slice(0, SEQ_LEN).map(Number);
const sequences = [patternTokens, ...(chorale?.length === SEQ_LEN ? [chorale] : [])];
const nativeProbs = sequences.map((seq) =>
  JSON.parse(execFileSync(CLI, ["melody", "probs", "--model", MODEL, "--tokens", seq.join(" ")], { cwd: ROOT, encoding: "utf8" })),
);

const server = await startServer();
const browser = await launchBrowser();
const chromiumVersion = browser.version();
const BLANK = `${server.url}/pkg/bench-blank`;
const CONTENT_TYPES = { ".js": "text/javascript", ".wasm": "application/wasm", ".map": "application/json" };

/** A page on the served origin; /node_modules/@tensorflow/* and /bench/* come from disk. */
async function benchPage({ isolated, cores }) {
  // TF.js sizes its thread pool from navigator.hardwareConcurrency / 2 (capped at that): on a
  // 2-core machine it runs 1 thread whatever setThreadsCount asks. `cores` makes the page report
  // more cores so that TF.js may use both real ones.
  const init = cores ? [{ fn: (n) => Object.defineProperty(Navigator.prototype, "hardwareConcurrency", { get: () => n }), arg: cores }] : [];
  const page = await newPage(browser, { init });
  page.refused = [];
  await page.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (url.origin !== server.url) {
      page.refused.push(url.href);
      return route.abort();
    }
    const isolation = isolated
      ? { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" }
      : {};
    let file = null;
    if (url.pathname.startsWith("/node_modules/@tensorflow/") && !url.pathname.includes("..")) file = url.pathname.slice(1);
    if (url.pathname === "/bench/melody_tfjs_page.js") file = PAGE_MODULE;
    if (ALT_PKG && /^\/pkg\/tools\/tidepool_wasm(_bg\.wasm|\.js)$/.test(url.pathname)) file = path.join(ALT_PKG, path.basename(url.pathname));
    if (file) {
      const full = path.resolve(ROOT, file);
      if (!existsSync(full)) return route.fulfill({ status: 404, body: "not found" });
      return route.fulfill({
        status: 200,
        contentType: CONTENT_TYPES[path.extname(full)] ?? "application/octet-stream",
        headers: { "cache-control": "no-cache", ...isolation },
        body: readFileSync(full),
      });
    }
    if (!isolated) return route.continue();
    const response = await route.fetch();
    const headers = { ...response.headers(), ...isolation };
    delete headers["content-security-policy"];
    return route.fulfill({ response, headers });
  });
  await page.goto(BLANK);
  for (const f of TF_FILES) await page.addScriptTag({ url: `/${f}` });
  return page;
}

const pages = [];
let failed = false;
try {
  const MODES = [
    { label: "as served", isolated: false },
    { label: "cross-origin isolated", isolated: true },
    { label: `isolated, TF.js ${os.availableParallelism()} threads`, isolated: true, cores: 2 * os.availableParallelism(), threads: os.availableParallelism() },
  ];
  for (const mode of MODES) {
    const { label, isolated } = mode;
    const page = await benchPage(mode);
    const info = await page.evaluate(async (arg) => (await import("/bench/melody_tfjs_page.js")).setup(arg), {
      modelUrl: `/${MODEL}`, wasmPaths: `${server.url}/${TF_WASM_DIR}`, prodMode: true,
      threads: mode.threads ?? 0,
    });
    record({ bench: "melody-tfjs-setup", page: label, ...info, shapes: undefined, metadata: undefined, userAgent: undefined, tf_packages: tfVersions });
    if (!isolated) {
      console.log(`model tensors: ${Object.entries(info.shapes).map(([k, s]) => `${k} [${s}]`).join(", ")}`);
    }

    // 1. Correctness (in the first page only: the math does not depend on the page).
    if (!isolated) {
      const c = await page.evaluate(async (arg) => (await import("/bench/melody_tfjs_page.js")).check(arg), {
        variants: VARIANTS, sequences, patternSteps: SEQ_LEN,
      });
      for (const v of VARIANTS) {
        let worst = 0, where = null;
        c.probs[v].forEach((rows, s) => rows.forEach((row, t) => row.forEach((p, k) => {
          const d = Math.abs(p - nativeProbs[s][t][k]);
          if (d > worst) { worst = d; where = { sequence: s, token: t, index: k }; }
        })));
        let worstLogit = 0;
        c.patternLogit0[v].forEach((l, i) => { worstLogit = Math.max(worstLogit, Math.abs(l - c.wasmLogit0[i])); });
        const pass = worst <= TOLERANCE && worstLogit <= TOLERANCE;
        if (!pass) failed = true;
        record({
          bench: "melody-tfjs-agreement", variant: v, sequences: sequences.length, tokens: sequences.reduce((a, s) => a + s.length, 0),
          max_prob_diff_vs_native: +worst.toExponential(3), at: where,
          max_logit0_diff_vs_wasm: +worstLogit.toExponential(3), tolerance: TOLERANCE, pass,
        });
      }
      if (c.wasmQuantizedLogit0) {
        const worst = Math.max(...c.wasmQuantizedLogit0.map((l, i) => Math.abs(l - c.wasmLogit0[i])));
        record({ bench: "melody-quantized-vs-f32", what: "logits[0] along the run pattern, wasm quantized vs wasm f32", max_abs_diff: +worst.toExponential(3) });
      }
    }

    // 2. Timing.
    const t = await page.evaluate(async (arg) => (await import("/bench/melody_tfjs_page.js")).time(arg), {
      variants: VARIANTS, minMs: MIN_MS, rounds: ROUNDS, warmupMs: WARMUP_MS,
    });
    if (t.tfLeakAfter > 0) {
      // Every TF.js model is disposed after timing: tensors still alive were leaked by a step.
      record({ bench: "melody-tfjs-leak", page: label, tensors_left: t.tfLeakAfter });
    }
    for (const r of t.result) {
      record({
        bench: "melody-step", page: label, implementation: r.name, kind: r.kind, steps_per_run: r.steps, runs_ms: r.runs_ms,
        us_per_step: +(r.ms_per_step * 1000).toFixed(2), steps_per_s: Math.round(1000 / r.ms_per_step),
        tf_threads: r.kind === "tfjs" ? info.threads : null, tf_simd: r.kind === "tfjs" ? info.simd : null,
      });
    }
    pages.push({ label, info, rows: t.result });
    // The blank page is the static server's 404 on purpose.
    page.problems = page.problems.filter((p) => !p.includes("status of 404"));
    if (page.problems.length || page.refused.length) {
      record({ bench: "melody-tfjs-page-problems", page: label, problems: page.problems, refused: page.refused });
    }
    await closePage(page);
  }
} finally {
  await browser.close();
  await server.stop();
}

// Table: every row against the fastest TF.js variant of its own page; headline against the
// fastest TF.js anywhere.
const tfAll = pages.flatMap((p) => p.rows.filter((r) => r.kind === "tfjs").map((r) => ({ ...r, page: p.label })));
const tfBest = tfAll.reduce((a, b) => (b.ms_per_step < a.ms_per_step ? b : a));
console.log(`\n## Melody LSTM step (batch 1, embedding 64, 2×LSTM 256, linear 130), headless Chromium, same page, interleaved, best of ${ROUNDS} runs ≥ ${MIN_MS} ms\n`);
console.log("| page | implementation | µs/step | steps/s | speed vs fastest TF.js of this page | vs fastest TF.js overall |");
console.log("|---|---|---|---|---|---|");
for (const p of pages) {
  const pageBest = Math.min(...p.rows.filter((r) => r.kind === "tfjs").map((r) => r.ms_per_step));
  for (const r of p.rows) {
    const name = r.kind === "tfjs" ? `${r.name} (${p.info.simd ? "SIMD" : "no SIMD"}, ${p.info.threads ?? "?"} thread${p.info.threads === 1 ? "" : "s"})` : r.name;
    console.log(`| ${p.label} | ${name} | ${(r.ms_per_step * 1000).toFixed(1)} | ${Math.round(1000 / r.ms_per_step)} | ${(pageBest / r.ms_per_step).toFixed(2)}× | ${(tfBest.ms_per_step / r.ms_per_step).toFixed(2)}× |`);
  }
}
const oursRows = pages.flatMap((p) => p.rows.filter((r) => r.kind === "ours").map((r) => ({ ...r, page: p.label })));
const headline = {
  bench: "melody-vs-tfjs",
  tfjs_fastest: { variant: tfBest.variant, page: tfBest.page, us_per_step: +(tfBest.ms_per_step * 1000).toFixed(2) },
  ours: oursRows.map((r) => ({
    implementation: r.name, page: r.page, us_per_step: +(r.ms_per_step * 1000).toFixed(2),
    speedup_vs_fastest_tfjs: +(tfBest.ms_per_step / r.ms_per_step).toFixed(2), meets_target: tfBest.ms_per_step / r.ms_per_step >= 5,
  })),
  quantized_row: oursRows.some((r) => r.name.includes("quantized")) ? "measured" : "absent: this pkg's WasmMelody has no run_quantized",
  target_speedup: 5,
  tf_packages: tfVersions,
  wasm_pkg: ALT_PKG ?? "pkg/tools/",
  // Other work on this machine skews every row (the interleaving spreads it, but not evenly).
  load_average_1min: { start: LOAD_AT_START, end: +os.loadavg()[0].toFixed(2) }, cores: os.availableParallelism(),
  chromium: chromiumVersion,
};
console.log("");
record(headline);
if (headline.quantized_row !== "measured") console.log("(no quantized row: WasmMelody.run_quantized is not in this pkg/)");
console.log(`\nheadless Chromium ${chromiumVersion}, TF.js ${tfVersions["@tensorflow/tfjs"]} (wasm backend ${tfVersions["@tensorflow/tfjs-backend-wasm"]}), ${new Date().toISOString()}`);
if (failed) {
  console.error("TF.js and tidepool disagree by more than 1e-3: the TF.js model is wrong");
  process.exit(1);
}
