// The melody model files: the LSTM (the quantized copy the engine plays, melody-lstm.tpq from
// `tidepool melody export-quantized` of melody-lstm.safetensors; fetched once at load, with
// progress, and validated by the main thread's wasm before the engine gets it) and the n-gram
// models (`tidepool melody export-ngrams`, 0.3–33 KB, fetched when one is first chosen; the engine
// validates them as it loads them). The worklet never fetches.

import { check_melody_lstm } from "../pkg/tidepool_wasm.js";

const MODEL_URL = new URL("./models/melody-lstm.tpq", import.meta.url);
const ngramUrl = (order) => new URL(`./models/melody-ngram-${order}.tpng`, import.meta.url);

/**
 * The bytes at `url`, reporting `onProgress(received, total)` as they arrive (total 0 when the
 * server does not say). Throws an Error naming the file and what went wrong.
 */
async function fetchBytes(url, onProgress = () => {}) {
  const name = url.pathname.split("/").pop();
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`${name} could not be fetched (${e.message || e})`);
  }
  if (!response.ok) throw new Error(`${name}: the server answered ${response.status} ${response.statusText}`.trim());
  const total = Number(response.headers.get("content-length")) || 0;
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onProgress(bytes.length, total);
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onProgress(received, total);
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}

/** Null when `bytes` is a valid melody model file, else what is wrong with it (which array, size …). */
function modelProblem(bytes) {
  try {
    check_melody_lstm(bytes);
    return null;
  } catch (e) {
    return String(e && e.message ? e.message : e);
  }
}

/**
 * Fetches the LSTM model and, once `wasmReady` resolves (validation needs the main thread's
 * wasm), validates it: `{bytes}` or `{error}`; never throws.
 */
export async function loadModel(onProgress, wasmReady) {
  try {
    const bytes = await fetchBytes(MODEL_URL, onProgress);
    await wasmReady;
    const problem = modelProblem(bytes);
    return problem ? { error: `the model file is not usable: ${problem}` } : { bytes };
  } catch (e) {
    return { error: e.message || String(e) };
  }
}

const ngrams = new Map();

/** The n-gram model file of `order` (bytes), fetched once; rejects with an Error naming it. */
export function loadNgram(order) {
  if (!ngrams.has(order)) {
    const pending = fetchBytes(ngramUrl(order));
    ngrams.set(order, pending);
    pending.catch(() => ngrams.delete(order)); // a later choice may try again
  }
  return ngrams.get(order);
}
