// Shared pieces of the end-to-end tests: the served page (xtask's static server, with its CSP),
// headless Chromium with per-page console and error logs, and a fake Web MIDI for the page.
//
// Builds nothing: pkg/ (`cargo xtask build-web`), target/debug/xtask (`cargo build -p xtask`)
// and, for the offline test, target/release/tidepool (`cargo build --release -p tidepool-cli`)
// must exist. Run from the workspace root: `node --test tests/e2e/`.

import { before, after } from "node:test";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { chromium } from "playwright-core";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const XTASK = path.join(ROOT, "target/debug/xtask");
export const CLI = path.join(ROOT, "target/release/tidepool");
export const WASM = path.join(ROOT, "pkg/tidepool_wasm_bg.wasm");
export const SCREENSHOTS = path.join(ROOT, "target/screenshots");

const HOW = {
  [path.join(ROOT, "pkg/tidepool_wasm.js")]: "cargo xtask build-web",
  [WASM]: "cargo xtask build-web",
  [XTASK]: "cargo build -p xtask",
  [CLI]: "cargo build --release -p tidepool-cli",
  "/usr/bin/chromium": "apt-get install chromium (or cargo xtask setup)",
};

/** Throws one clear message naming every missing artifact and the command that builds it. */
export function requireArtifacts(...files) {
  const wanted = files.length ? files : [path.join(ROOT, "pkg/tidepool_wasm.js"), WASM, XTASK, "/usr/bin/chromium"];
  const missing = wanted.filter((f) => !existsSync(f));
  if (missing.length) {
    throw new Error(
      "the e2e tests build nothing; missing:\n" +
        missing.map((f) => `  ${path.relative(ROOT, f) || f}  (build with: ${HOW[f] ?? "?"})`).join("\n"),
    );
  }
}

/**
 * Starts `xtask serve` on a free port (TIDEPOOL_PORT=0) and resolves `{url, stop, log}` once it
 * prints its URL. It serves pkg/ as built (`--no-build`): the test command builds it first.
 */
export async function startServer({ timeoutMs = 240_000 } = {}) {
  requireArtifacts();
  const child = spawn(XTASK, ["serve", "--no-build"], {
    cwd: ROOT,
    env: { ...process.env, TIDEPOOL_PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`xtask serve printed no URL within ${timeoutMs} ms:\n${log}`));
    }, timeoutMs);
    const onData = (chunk) => {
      log += chunk;
      const m = /tidepool is playing at (http:\/\/127\.0\.0\.1:\d+)\//.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`xtask serve exited (${code}) before serving:\n${log}`));
    });
  });
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  return { url, stop, get log() { return log; } };
}

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--autoplay-policy=no-user-gesture-required",
];

export function launchBrowser() {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

/**
 * A page in a fresh context. `page.problems` collects console errors and warnings and page
 * errors (uncaught exceptions, unhandled rejections) as strings.
 */
export async function newPage(browser, { viewport = { width: 1366, height: 800 }, init = [] } = {}) {
  const context = await browser.newContext({ viewport });
  // Missing elements fail in seconds, not Playwright's default 30 s.
  context.setDefaultTimeout(5000);
  const page = await context.newPage();
  page.problems = [];
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") {
      page.problems.push(`console.${msg.type()}: ${msg.text()}`);
    }
  });
  page.on("pageerror", (err) => page.problems.push(`pageerror: ${err.message}`));
  page.on("crash", () => page.problems.push("page crashed"));
  for (const script of init) await page.addInitScript(script.fn, script.arg);
  return page;
}

/** Closes a page's context. */
export async function closePage(page) {
  await page.context().close();
}

/** Waits until `#status[data-state]` is `state` (fails early on "error"). */
export async function waitForState(page, state, timeout = 20_000) {
  await page.waitForFunction(
    (want) => {
      const s = document.querySelector("#status")?.dataset.state;
      if (s === "error" && want !== "error") throw new Error(`#status went to error: ${document.querySelector("#status").textContent}`);
      return s === want;
    },
    state,
    { timeout, polling: 10 },
  );
}

export function ensureScreenshotDir() {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return SCREENSHOTS;
}

// ---------------------------------------------------------------------------------------------
// Fake Web MIDI (installed with page.addInitScript before any page script runs).
//
// In the page, `window.__fakeMidi` drives it (the product never sees it unless it looks):
//   send(inputId, bytes, timeStamp?)  an input dispatches a real MIDIMessageEvent (stamped
//                          `timeStamp` when given: the time a driver received it)
//   unplug(portId)         the port disconnects: state 'disconnected', removed from the map,
//                          statechange (MIDIConnectionEvent) on the MIDIAccess and the port
//   plug(kind, id, name)   a new port connects (statechange with state 'connected')
//   sent                   [{id, data: [...], timestamp, at}] every output send()
//   requests               how many times requestMIDIAccess was called, and with what options
// ---------------------------------------------------------------------------------------------

/** The init script. `arg`: `{inputs: [{id, name}], outputs: [{id, name}], missing: bool}`. */
export function fakeMidiInit(arg) {
  if (arg.missing) {
    delete Navigator.prototype.requestMIDIAccess;
    delete navigator.requestMIDIAccess;
    return;
  }
  const sent = [];
  const requests = [];
  const EventCtor = (name, fallback) => (typeof globalThis[name] === "function" ? globalThis[name] : fallback);
  const MessageEvent_ = EventCtor("MIDIMessageEvent", null);
  const ConnectionEvent_ = EventCtor("MIDIConnectionEvent", null);

  function withHandlerProperty(target, type) {
    let handler = null;
    Object.defineProperty(target, `on${type}`, {
      configurable: true,
      get: () => handler,
      set: (fn) => {
        if (handler) target.removeEventListener(type, handler);
        handler = typeof fn === "function" ? fn : null;
        if (handler) target.addEventListener(type, handler);
        if (type === "midimessage" && handler) target.connection = "open";
      },
    });
  }

  class FakePort extends EventTarget {
    constructor(kind, id, name) {
      super();
      this.id = id;
      this.name = name;
      this.manufacturer = "tidepool tests";
      this.version = "1.0";
      this.type = kind;
      this.state = "connected";
      this.connection = "closed";
      withHandlerProperty(this, "statechange");
    }
    open() { this.connection = "open"; return Promise.resolve(this); }
    close() { this.connection = "closed"; return Promise.resolve(this); }
  }
  class FakeInput extends FakePort {
    constructor(id, name) {
      super("input", id, name);
      withHandlerProperty(this, "midimessage");
    }
  }
  class FakeOutput extends FakePort {
    constructor(id, name) { super("output", id, name); }
    send(data, timestamp) {
      if (this.state !== "connected") throw new DOMException("port disconnected", "InvalidStateError");
      const bytes = Array.from(data);
      if (bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) throw new TypeError("bad MIDI byte");
      this.connection = "open";
      sent.push({ id: this.id, data: bytes, timestamp: timestamp ?? null, at: performance.now() });
    }
    clear() {}
  }

  const inputs = new Map();
  const outputs = new Map();
  const access = new EventTarget();
  access.inputs = inputs;
  access.outputs = outputs;
  access.sysexEnabled = false;
  withHandlerProperty(access, "statechange");
  for (const p of arg.inputs ?? []) inputs.set(p.id, new FakeInput(p.id, p.name));
  for (const p of arg.outputs ?? []) outputs.set(p.id, new FakeOutput(p.id, p.name));

  // A real MIDIConnectionEvent (its init dictionary only takes a real MIDIPort, so the fake port
  // is attached as an own property).
  function stateEvent(port) {
    const event = ConnectionEvent_ ? new ConnectionEvent_("statechange") : new Event("statechange");
    Object.defineProperty(event, "port", { value: port, enumerable: true });
    return event;
  }

  const requestMIDIAccess = function requestMIDIAccess(options) {
    requests.push(options ?? null);
    return Promise.resolve(access);
  };
  Object.defineProperty(Navigator.prototype, "requestMIDIAccess", { configurable: true, writable: true, value: requestMIDIAccess });

  window.__fakeMidi = {
    sent,
    requests,
    inputs,
    outputs,
    hasRealEvents: !!MessageEvent_,
    send(inputId, bytes, timeStamp) {
      const port = inputs.get(inputId);
      if (!port || port.state !== "connected") return false;
      const data = Uint8Array.from(bytes);
      const event = MessageEvent_ ? new MessageEvent_("midimessage", { data }) : Object.assign(new Event("midimessage"), { data });
      // A driver stamps a message when it arrives, and the browser dispatches it later: a given
      // `timeStamp` plays that arrival time (the event stays a real MIDIMessageEvent).
      if (timeStamp !== undefined) Object.defineProperty(event, "timeStamp", { value: timeStamp });
      port.dispatchEvent(event);
      return true;
    },
    unplug(id) {
      const port = inputs.get(id) ?? outputs.get(id);
      if (!port) return false;
      port.state = "disconnected";
      port.connection = "closed";
      (port.type === "input" ? inputs : outputs).delete(id);
      port.dispatchEvent(stateEvent(port));
      access.dispatchEvent(stateEvent(port));
      return true;
    },
    plug(kind, id, name) {
      const port = kind === "input" ? new FakeInput(id, name) : new FakeOutput(id, name);
      (kind === "input" ? inputs : outputs).set(id, port);
      access.dispatchEvent(stateEvent(port));
      return true;
    },
  };
}

/** Standard fake devices for the tests. */
export const FAKE_DEVICES = {
  inputs: [{ id: "in-1", name: "Fake Keys" }],
  outputs: [{ id: "out-1", name: "Fake Synth" }],
};

/**
 * Note-ons (status 0x9n, velocity > 0), note-offs (0x8n, or 0x9n velocity 0) and all-notes-off
 * (CC 120/123) in what the fake output was sent, in send order.
 */
export function splitSent(sent) {
  const events = [];
  for (const s of sent) {
    const d = s.data;
    for (let i = 0; i < d.length; ) {
      const status = d[i] & 0xf0;
      const base = { channel: d[i] & 0x0f, at: s.at, timestamp: s.timestamp };
      if ((status === 0x90 || status === 0x80) && i + 2 < d.length) {
        events.push({ ...base, on: status === 0x90 && d[i + 2] > 0, pitch: d[i + 1], velocity: d[i + 2] });
        i += 3;
      } else if (status === 0xb0 && i + 2 < d.length) {
        if (d[i + 1] === 120 || d[i + 1] === 123) events.push({ ...base, on: false, allOff: true });
        i += 3;
      } else {
        i += 1;
      }
    }
  }
  return events;
}

/**
 * Notes left sounding by `events` (in order): a note-on opens its pitch, a note-off closes one
 * open instance of it, all-notes-off closes the channel. Returns "channel:pitch×count" strings.
 */
export function stuckNotes(events) {
  const open = new Map();
  for (const e of events) {
    if (e.allOff) {
      for (const k of [...open.keys()]) if (k.startsWith(`${e.channel}:`)) open.delete(k);
      continue;
    }
    const k = `${e.channel}:${e.pitch}`;
    const n = open.get(k) ?? 0;
    open.set(k, e.on ? n + 1 : Math.max(0, n - 1));
  }
  return [...open].filter(([, n]) => n > 0).map(([k, n]) => `${k}×${n}`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Init script: records `#status[data-state]` transitions as `window.__states` [{state, t}] (t in
 * ms since navigation start) and clicks on `#start` as `window.__startClicks`.
 */
export function stateRecorderInit() {
  window.__states = [];
  window.__startClicks = [];
  const watch = () => {
    const el = document.getElementById("status");
    if (!el || window.__statesWatching) return;
    window.__statesWatching = true;
    window.__states.push({ state: el.dataset.state ?? null, t: performance.now() });
    new MutationObserver(() => window.__states.push({ state: el.dataset.state ?? null, t: performance.now() }))
      .observe(el, { attributes: true, attributeFilter: ["data-state"] });
  };
  document.addEventListener("readystatechange", watch);
  document.addEventListener("DOMContentLoaded", watch);
  document.addEventListener("click", (e) => {
    if (e.target instanceof Element && e.target.closest("#start")) window.__startClicks.push(performance.now());
  }, true);
}

/** Opens `url` in a new page, waits for "loaded", clicks Start, waits for "ready". */
/** `before(page)`, if given, runs before navigation (e.g. to route a request). */
export async function openReady(browser, url, { viewport, init = [], midi = FAKE_DEVICES, before = null } = {}) {
  const scripts = [{ fn: stateRecorderInit }, ...(midi ? [{ fn: fakeMidiInit, arg: midi }] : []), ...init];
  const page = await newPage(browser, { viewport, init: scripts });
  if (before) await before(page);
  await page.goto(url);
  await waitForState(page, "loaded");
  // A page that froze after "loaded" still gets its click (the test that cares says so).
  await page.click("#start", { timeout: 30_000 });
  await waitForState(page, "ready");
  // Keys go to the page, not to the focused Start button.
  await page.evaluate(() => document.activeElement?.blur());
  const timing = await page.evaluate(() => ({
    states: window.__states,
    click: window.__startClicks[0] ?? null,
  }));
  page.timing = timing;
  return page;
}

/** What the fake MIDI output received so far, parsed into note events. */
export async function sentNotes(page) {
  return splitSent(await page.evaluate(() => window.__fakeMidi.sent));
}

/** When a sent note sounds: its timestamp when the product scheduled it, else when sent. */
export const soundsAt = (e) => (e.timestamp && e.timestamp > 0 ? Math.max(e.timestamp, e.at) : e.at);

const NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
export const noteName = (p) => `${NAMES[p % 12]}${Math.floor(p / 12) - 1}`;

/** Only errors and page errors (warnings are reported, not failed, where a test says so). */
export const errorsOf = (page) => page.problems.filter((p) => !p.startsWith("console.warning"));

/** Selects the fake MIDI output `id` in the page's MIDI panel. */
export async function chooseOutput(page, id = "out-1") {
  await page.waitForSelector(`#midi-output option[value="${id}"]`, { state: "attached", timeout: 5000 });
  await page.selectOption("#midi-output", id);
}

/** Holds computer keys `keys` for `ms`. */
export async function holdKeys(page, keys, ms) {
  for (const k of keys) await page.keyboard.down(k);
  await sleep(ms);
  for (const k of keys) await page.keyboard.up(k);
}

/** Sends `bytes` from the fake MIDI input `id` (a real MIDIMessageEvent in the page). */
export const midi = (page, bytes, id = "in-1") => page.evaluate(({ id, bytes }) => window.__fakeMidi.send(id, bytes), { id, bytes });

/** The page's performance.now(). */
export const now = (page) => page.evaluate(() => performance.now());

/**
 * Starts the served page and a browser before a test file's tests and stops them after; returns
 * `{server, browser}`, filled once they are up. With `workDir` (a name prefix) the tests also
 * need the CLI and get a fresh temporary folder as `work`, removed after.
 */
export function serverAndBrowser({ workDir = null } = {}) {
  const ctx = { server: null, browser: null, work: null };
  before(async () => {
    if (workDir) {
      requireArtifacts();
      requireArtifacts(CLI);
      ctx.work = mkdtempSync(path.join(tmpdir(), workDir));
    }
    ctx.server = await startServer();
    ctx.browser = await launchBrowser();
  });
  after(async () => {
    await ctx.browser?.close();
    await ctx.server?.stop();
    if (ctx.work) rmSync(ctx.work, { recursive: true, force: true });
  });
  return ctx;
}

// ---------------------------------------------------------------------------------------------
// Test and bench files on the page's origin. xtask's server serves web/, worklet/ and pkg/ only;
// a test's own modules and worklets (and npm packages a benchmark compares with) are answered
// from disk on the same origin, so the page keeps the product's CSP. This goes through the
// DevTools protocol's Fetch domain: Playwright's page.route does not see AudioWorklet module
// requests.
// ---------------------------------------------------------------------------------------------

const CONTENT_TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".map": "application/json", ".html": "text/html" };

/**
 * Intercepts `page`'s requests: a same-origin path that `files` maps (`{"/url/path": "repo/path"}`,
 * or a function of the path) is answered from the repository file, or with `{status, headers,
 * body}` when it maps to such an object; any other same-origin request goes to the server, and
 * other origins fail and are listed in `page.refused` (nothing is downloaded).
 */
export async function routeRepoFiles(page, origin, files) {
  page.refused = [];
  const lookup = typeof files === "function" ? files : (p) => files[p] ?? null;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Fetch.enable", { patterns: [{ urlPattern: "*", requestStage: "Request" }] });
  cdp.on("Fetch.requestPaused", ({ requestId, request }) => {
    const send = (method, params) => cdp.send(method, { requestId, ...params }).catch(() => {});
    const url = new URL(request.url);
    if (url.origin !== origin) {
      page.refused.push(url.href);
      return send("Fetch.failRequest", { errorReason: "BlockedByClient" });
    }
    const hit = url.pathname.includes("..") ? null : lookup(url.pathname);
    if (!hit) return send("Fetch.continueRequest", {});
    let answer = hit;
    if (typeof hit === "string") {
      const full = path.resolve(ROOT, hit);
      answer = full.startsWith(ROOT) && existsSync(full)
        ? { status: 200, headers: { "content-type": CONTENT_TYPES[path.extname(full)] ?? "application/octet-stream" }, body: readFileSync(full) }
        : { status: 404, headers: { "content-type": "text/plain" }, body: "not found" };
    }
    return send("Fetch.fulfillRequest", {
      responseCode: answer.status ?? 200,
      responseHeaders: Object.entries({ "cache-control": "no-cache", ...answer.headers }).map(([name, value]) => ({ name, value: String(value) })),
      body: Buffer.from(answer.body ?? "").toString("base64"),
    });
  });
}
