// The served page as a player meets it: loading, starting audio, the computer keyboard, Web MIDI
// in and out (a fake MIDI system: Chromium here cannot reach hardware), hot-unplug, garbage
// bytes, a bad URL, no Web MIDI at all, and screenshots for a human to look at.

import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import {
  closePage, serverAndBrowser, openReady, sentNotes, soundsAt, stuckNotes,
  ensureScreenshotDir, sleep, noteName, errorsOf, chooseOutput, holdKeys, midi, now,
} from "./harness.mjs";

const ctx = serverAndBrowser();

/**
 * Init script: taps the page's AudioWorkletNode from outside. `window.__worklet.params` gets every
 * "param" message the page posts to the worklet; `lastView` the latest "view" snapshot (copied:
 * the page lends the array back to the worklet after reading it) and `views` how many came.
 */
function workletTapInit() {
  const Native = window.AudioWorkletNode;
  const tap = { params: [], lastView: null, views: 0 };
  window.__worklet = tap;
  window.AudioWorkletNode = class extends Native {
    constructor(...args) {
      super(...args);
      const port = this.port;
      const post = port.postMessage.bind(port);
      port.postMessage = (message, transfer) => {
        if (message?.type === "param") tap.params.push({ ...message });
        return post(message, transfer);
      };
      // Added before the page sets onmessage, so this listener reads each view first.
      port.addEventListener("message", (e) => {
        if (e.data?.type !== "view") return;
        tap.lastView = Array.from(e.data.view);
        tap.views += 1;
      });
    }
  };
}

/**
 * Counts the main thread's calls of the wasm's patch functions in `window.__wasmCalls`: the
 * generated glue (pkg/tidepool_wasm.js) is served with each of them wrapped.
 */
async function countWasmCalls(page) {
  const names = ["parse_patch", "patch_with", "patch_text_of", "param_sanitize"];
  await page.route("**/pkg/tidepool_wasm.js", async (route) => {
    const response = await route.fetch();
    let body = await response.text();
    for (const name of names) {
      const declaration = `export function ${name}(`;
      assert.ok(body.includes(declaration), `the glue exports ${name}`);
      body = body.replace(declaration, `function ${name}__counted(`);
      body += `\nexport function ${name}(...args) {\n  const calls = (globalThis.__wasmCalls ??= {});\n  calls.${name} = (calls.${name} ?? 0) + 1;\n  return ${name}__counted(...args);\n}\n`;
    }
    await route.fulfill({ response, body });
  });
}

/** The networks the engine plays now, read from the latest snapshot with the wasm's layout. */
const installedNetworks = (page) => page.evaluate(async () => {
  const engine = await import("/web/engine.js");
  await engine.loadWasm();
  return window.__worklet.lastView && engine.installedShapes(window.__worklet.lastView);
});

test("loads without console errors: loading → loaded → ready, with every control", { timeout: 60_000 }, async (t) => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/`);
  try {
    const { states, click } = page.timing;
    const sequence = states.map((s) => s.state).filter((s, i, a) => i === 0 || s !== a[i - 1]);
    const at = (state) => states.find((s) => s.state === state)?.t;
    t.diagnostic(`navigation → loaded ${at("loaded")?.toFixed(0)} ms; click → ready ${(at("ready") - click).toFixed(0)} ms; navigation → ready ${at("ready")?.toFixed(0)} ms (includes the test's click)`);
    console.log(JSON.stringify({ test: "page-ready", loadedMs: Math.round(at("loaded")), clickToReadyMs: Math.round(at("ready") - click), readyMs: Math.round(at("ready")) }));
    assert.deepEqual(sequence, ["loading", "loaded", "ready"], "status states in order");
    assert.ok(click !== null && click >= at("loaded"), "Start was clicked after loaded");

    assert.equal(await page.getByRole("button", { name: "Start audio" }).count(), 1, "a button named Start audio");
    assert.equal(await page.locator("#messages").getAttribute("role"), "alert");
    assert.equal(await page.locator("#messages").isHidden(), true, "#messages hidden for a clean URL");
    for (const sel of ["#panic", "#midi-status", "#midi-input", "#midi-output", "#recent-notes", "#meter", "canvas#scope", "canvas#neurons", "canvas#arp-probs"]) {
      assert.equal(await page.locator(sel).count(), 1, `${sel} exists`);
    }
    for (let p = 60; p <= 72; p++) assert.equal(await page.locator(`[data-pitch="${p}"]`).count(), 1, `on-screen key ${p}`);

    // Every parameter of the engine's table has one control with its key, kind and name.
    const table = await page.evaluate(async () => {
      const engine = await import("/web/engine.js");
      await engine.loadWasm();
      return engine.params();
    });
    assert.ok(table.length > 50);
    const missing = [];
    for (const p of table) {
      const control = page.locator(`[data-key="${p.key}"]`);
      const n = await control.count();
      if (n !== 1) { missing.push(`${p.key}: ${n} controls`); continue; }
      const info = await control.evaluate((el) => ({
        tag: el.tagName.toLowerCase(), type: el.type, options: el.tagName === "SELECT" ? [...el.options].map((o) => o.value) : null,
        hasParamValue: el.hasAttribute("data-param-value"),
      }));
      const role = p.kind === "choice" ? "combobox" : p.kind === "toggle" ? "checkbox" : "slider";
      const want = p.kind === "choice" ? ["select", "select-one"] : p.kind === "toggle" ? ["input", "checkbox"] : ["input", "range"];
      if (info.tag !== want[0] || info.type !== want[1]) missing.push(`${p.key}: <${info.tag} type=${info.type}>, want <${want[0]} type=${want[1]}>`);
      if (p.kind === "choice" && JSON.stringify(info.options) !== JSON.stringify(p.choices)) missing.push(`${p.key}: options ${info.options} ≠ ${p.choices}`);
      if (role === "slider" && !info.hasParamValue) missing.push(`${p.key}: no data-param-value`);
      const named = page.getByRole(role, { name: p.name, exact: true });
      const byName = await named.count();
      if (byName !== 1 || (await named.first().getAttribute("data-key")) !== p.key) missing.push(`${p.key}: no ${role} named "${p.name}" (${byName} found)`);
      if (role === "slider" && (await page.locator(`[data-value-for="${p.key}"]`).count()) < 1) missing.push(`${p.key}: no [data-value-for]`);
    }
    assert.deepEqual(missing, [], "controls that do not follow the DOM contract");
    assert.deepEqual(page.problems, [], "no console errors or warnings, no page errors");
  } finally {
    await closePage(page);
  }
});

test("computer keys play arpeggios: MIDI out, on-screen keys, recent notes", { timeout: 60_000 }, async (t) => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/`);
  try {
    assert.equal(await page.locator("#midi-output").inputValue(), "", "MIDI output defaults to None");
    await chooseOutput(page);
    await page.keyboard.down("a");
    await page.keyboard.down("d");
    await page.keyboard.down("g");
    await sleep(700);
    const downWhileHeld = await page.locator("[data-pitch].down").evaluateAll((els) => els.map((e) => Number(e.dataset.pitch)));
    await sleep(800);
    await page.keyboard.up("a");
    await page.keyboard.up("d");
    await page.keyboard.up("g");
    await sleep(800);
    const events = await sentNotes(page);
    const ons = events.filter((e) => e.on);
    const pitches = [...new Set(ons.map((e) => e.pitch))].sort((x, y) => x - y);
    const recent = await page.locator("#recent-notes").innerText();
    const downAfter = await page.locator("[data-pitch].down").count();
    t.diagnostic(`${ons.length} note-ons on the fake output, pitches ${pitches.map(noteName).join(" ")}; keys down while held: ${downWhileHeld.join(" ")}; #recent-notes: ${JSON.stringify(recent.slice(0, 120))}`);
    assert.ok(ons.length >= 6, `arpeggiated notes reached the MIDI output (${ons.length} note-ons in 1.5 s)`);
    assert.ok(pitches.every((p) => [60, 64, 67].includes(p)), `only the held notes C4 E4 G4 are played (got ${pitches})`);
    assert.ok(pitches.length >= 2, "the arpeggio moves between held notes");
    assert.deepEqual(stuckNotes(events), [], "every note-on has a later note-off");
    // MIDI out is timed from engine frames: at 120 BPM, 1/16 steps are 125 ms apart, to the sample.
    const stamps = ons.map((e) => e.timestamp);
    assert.ok(stamps.every((x) => typeof x === "number" && x > 0), "note-ons are sent with timestamps");
    const gaps = stamps.slice(1).map((x, i) => x - stamps[i]);
    const offGrid = gaps.filter((g) => Math.abs(g / 125 - Math.round(g / 125)) * 125 > 1 || Math.round(g / 125) < 1);
    t.diagnostic(`note-on timestamp gaps (ms): ${gaps.map((g) => g.toFixed(2)).join(" ")}; sent ${Math.min(...ons.map((e) => e.timestamp - e.at)).toFixed(1)}…${Math.max(...ons.map((e) => e.timestamp - e.at)).toFixed(1)} ms ahead of their time`);
    assert.deepEqual(offGrid, [], "note-on timestamps are whole 1/16 steps (125 ms ± 1 ms) apart");
    assert.ok(downWhileHeld.some((p) => [60, 64, 67].includes(p)), `a held key shows .down (got ${downWhileHeld})`);
    assert.equal(downAfter, 0, "no key shows .down after release");
    assert.match(recent, /\b(C4|E4|G4)\b/, "#recent-notes names the notes played");
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});

test("computer keyboard layout: A W S E D F T G Y H U J K play C4 … C5 (arpeggiator off)", { timeout: 60_000 }, async () => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/#tp1&arp.mode=off`);
  try {
    await chooseOutput(page);
    const keys = ["a", "w", "s", "e", "d", "f", "t", "g", "y", "h", "u", "j", "k"];
    for (const k of keys) {
      await page.keyboard.down(k);
      await sleep(60);
      await page.keyboard.up(k);
      await sleep(40);
    }
    await sleep(500);
    const events = await sentNotes(page);
    const ons = events.filter((e) => e.on).map((e) => e.pitch);
    assert.deepEqual(ons, [60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72], "each key plays its note once, in order");
    assert.deepEqual(stuckNotes(events), []);
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});

test("the largest networks in the URL (lfo.n=1000, arp.n=1000) load and play without freezing the page", { timeout: 90_000 }, async (t) => {
  const longTasks = () => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push({ start: Math.round(e.startTime), ms: Math.round(e.duration) });
    }).observe({ type: "longtask", buffered: true });
  };
  const page = await openReady(ctx.browser, `${ctx.server.url}/#tp1&lfo.n=1000&arp.n=1000`, { init: [{ fn: longTasks }, { fn: workletTapInit }] });
  try {
    const { states, click } = page.timing;
    const at = (s) => states.find((x) => x.state === s)?.t;
    const tasks = await page.evaluate(() => window.__longTasks);
    const longest = Math.max(0, ...tasks.map((x) => x.ms));
    t.diagnostic(`loaded ${at("loaded")?.toFixed(0)} ms, Start clicked ${click?.toFixed(0)} ms, ready ${at("ready")?.toFixed(0)} ms; main-thread long tasks ${JSON.stringify(tasks)}`);
    await chooseOutput(page);
    await holdKeys(page, ["a", "g"], 1200);
    await sleep(400);
    const events = await sentNotes(page);
    assert.ok(events.filter((e) => e.on).length >= 5, "it plays");
    assert.deepEqual(stuckNotes(events), []);
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
    assert.equal(await page.locator('[data-key="lfo.n"]').getAttribute("data-param-value"), "1000");
    assert.ok(longest < 1000, `no main-thread task blocks the page for a second or more (longest ${longest} ms, after "loaded" at ${at("loaded")?.toFixed(0)} ms)`);
    // The engine itself says which networks play: the stand-ins Start may have begun with must
    // have been replaced by the 1000-neuron ones the URL asks for.
    const first = await installedNetworks(page);
    const started = Date.now();
    let installed = first;
    while (Date.now() - started < 30_000 && !(installed?.lfo.neurons === 1000 && installed?.arp.neurons === 1000)) {
      await sleep(200);
      installed = await installedNetworks(page);
    }
    t.diagnostic(`installed networks after playing: ${JSON.stringify(first)}; ${JSON.stringify(installed)} ${Date.now() - started} ms later`);
    const wanted = { neurons: 1000, connectivity: Math.fround(0.1), seed: 1 };
    assert.deepEqual(installed, { lfo: wanted, arp: wanted }, "the engine plays the networks of the URL");
  } finally {
    await closePage(page);
  }
});

test("a knob move posts one parameter by id with its sanitised value, parsing and writing no patch text", { timeout: 60_000 }, async (t) => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/`, { init: [{ fn: workletTapInit }], before: countWasmCalls });
  try {
    const table = await page.evaluate(async () => (await import("/web/engine.js")).params());
    const spec = (key) => table.find((p) => p.key === key);
    await page.evaluate(() => {
      window.__wasmCalls = {};
      window.__worklet.params.length = 0;
    });
    const started = Date.now();
    await page.focus('input[data-key="syn.cut"]');
    for (let i = 0; i < 10; i++) await page.keyboard.press("ArrowRight");
    await page.focus('input[data-key="swing"]');
    await page.keyboard.press("End");
    await page.keyboard.press("End"); // already at the end: nothing to send
    await page.selectOption('select[data-key="arp.mode"]', "updown");
    const elapsed = Date.now() - started;
    await sleep(500); // the URL is written after a change settles
    const calls = await page.evaluate(() => window.__wasmCalls);
    const posted = await page.evaluate(() => window.__worklet.params);
    const cutoff = Number(await page.locator('[data-key="syn.cut"]').getAttribute("data-param-value"));
    t.diagnostic(`12 moves in ${elapsed} ms: wasm calls ${JSON.stringify(calls)}; ${posted.length} param messages, last ${JSON.stringify(posted.slice(-3))}`);
    assert.equal(calls.parse_patch ?? 0, 0, "no patch text parsed");
    assert.equal(calls.patch_with ?? 0, 0, "no patch text rewritten");
    assert.ok((calls.patch_text_of ?? 0) <= 2 + elapsed / 200, `patch text written only for the URL, debounced (${calls.patch_text_of} times)`);
    assert.ok((calls.param_sanitize ?? 0) >= 12, "each move is sanitised by the engine's rule");
    assert.equal(posted.length, 12, "one message per change (the second End changed nothing)");
    for (const m of posted) {
      assert.deepEqual(Object.keys(m).sort(), ["frame", "id", "type", "value"], `by id, without a key: ${JSON.stringify(m)}`);
      assert.ok(Number.isInteger(m.id) && Number.isFinite(m.value));
    }
    assert.deepEqual(posted.slice(0, 10).map((m) => m.id), Array(10).fill(spec("syn.cut").id));
    assert.equal(posted[9].value, cutoff, "the value sent is the one shown");
    assert.deepEqual(posted[10], { type: "param", frame: 0, id: spec("swing").id, value: spec("swing").max });
    assert.deepEqual(posted[11], { type: "param", frame: 0, id: spec("arp.mode").id, value: spec("arp.mode").choices.indexOf("updown") });
    const fragment = await page.evaluate(() => location.hash);
    assert.match(fragment, new RegExp(`&syn\\.cut=${cutoff}&`), "the URL has the new cutoff");
    assert.match(fragment, /&arp\.mode=updown&/);
    // The worklet lends its view arrays and gets them back: without that only the first few
    // views would arrive.
    const views = await page.evaluate(() => window.__worklet.views);
    await sleep(1000);
    const more = (await page.evaluate(() => window.__worklet.views)) - views;
    assert.ok(more >= 15, `views keep coming (${more} in 1 s, about 30 expected)`);
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});

test("Web MIDI input plays arpeggios; hot-unplug leaves no stuck notes", { timeout: 60_000 }, async (t) => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/`);
  try {
    assert.equal(await page.evaluate(() => window.__fakeMidi.hasRealEvents), true, "Chromium has MIDIMessageEvent: the fake sends real events");
    await page.waitForSelector('#midi-input option[value="in-1"]', { state: "attached", timeout: 5000 });
    assert.equal(await page.locator("#midi-input").inputValue(), "all", "MIDI input defaults to all");
    await chooseOutput(page);
    await midi(page, [0x90, 62, 100]);
    await midi(page, [0x90, 65, 90]);
    await midi(page, [0x90, 69, 80]);
    await sleep(1200);
    const before = (await sentNotes(page)).filter((e) => e.on);
    const unpluggedAt = await now(page);
    assert.equal(await page.evaluate(() => window.__fakeMidi.unplug("in-1")), true);
    await sleep(1500);
    const events = await sentNotes(page);
    const lateOns = events.filter((e) => e.on && soundsAt(e) > unpluggedAt + 500);
    const pitches = [...new Set(before.map((e) => e.pitch))].sort((x, y) => x - y);
    const midiStatus = await page.locator("#midi-status").innerText();
    t.diagnostic(`${before.length} note-ons before unplug (pitches ${pitches.map(noteName).join(" ")}); ${events.filter((e) => e.on).length - before.length} after; ${lateOns.length} later than 0.5 s; #midi-status: ${JSON.stringify(midiStatus)}`);
    assert.ok(before.length >= 5, `MIDI input notes were arpeggiated (${before.length} note-ons in 1.2 s)`);
    assert.ok(pitches.every((p) => [62, 65, 69].includes(p)) && pitches.length >= 2, `arpeggio over D4 F4 A4 (got ${pitches})`);
    assert.deepEqual(stuckNotes(events), [], "after unplugging, every note-on has a later note-off");
    assert.equal(lateOns.length, 0, `no note-on later than 0.5 s after unplugging (got ${lateOns.map((e) => `${e.pitch}@+${(soundsAt(e) - unpluggedAt).toFixed(0)}ms`)})`);
    assert.equal(await page.locator("[data-pitch].down").count(), 0, "no on-screen key stays down");
    assert.equal(await page.locator('#midi-input option[value="in-1"]').count(), 0, "the unplugged input left #midi-input");
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});

test("hot-plug: a new input appears and plays; losing the selected output is survived", { timeout: 60_000 }, async (t) => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/`);
  try {
    await page.evaluate(() => window.__fakeMidi.plug("input", "in-2", "Fake Pad"));
    await page.waitForSelector('#midi-input option[value="in-2"]', { state: "attached", timeout: 3000 });
    await page.evaluate(() => window.__fakeMidi.plug("output", "out-2", "Fake Module"));
    await chooseOutput(page, "out-2");
    await midi(page, [0x90, 60, 100], "in-2");
    await midi(page, [0x90, 67, 100], "in-2");
    await sleep(1000);
    const toOut2 = (await page.evaluate(() => window.__fakeMidi.sent)).filter((s) => s.id === "out-2").length;
    assert.ok(toOut2 >= 5, `the hot-plugged input played through the hot-plugged output (${toOut2} messages)`);
    await page.evaluate(() => window.__fakeMidi.unplug("out-2"));
    await sleep(800);
    const selected = await page.locator("#midi-output").inputValue();
    const optionText = await page.locator('#midi-output option[value="out-2"]').allInnerTexts();
    const down = await page.locator("[data-pitch].down").count();
    t.diagnostic(`after unplugging the selected output: #midi-output = ${JSON.stringify(selected)}, its option ${JSON.stringify(optionText)}, ${down} keys down`);
    assert.ok(optionText.length === 0 || /unplugged|disconnected/i.test(optionText[0]), "the unplugged output is gone from #midi-output or marked unplugged");
    assert.ok(down >= 1, "the instrument keeps playing (an on-screen key is down)");
    // The same device plugged back in (a new port object with the same id) gets the notes again.
    const replugged = await now(page);
    await page.evaluate(() => window.__fakeMidi.plug("output", "out-2", "Fake Module"));
    await sleep(1000);
    const again = (await page.evaluate(() => window.__fakeMidi.sent)).filter((s) => s.id === "out-2" && s.at > replugged).length;
    const selectedAgain = await page.locator("#midi-output").inputValue();
    t.diagnostic(`after plugging it back: #midi-output = ${JSON.stringify(selectedAgain)}, ${again} messages to it`);
    if (selectedAgain === "out-2") assert.ok(again >= 3, `the re-plugged output, still selected, gets notes again (${again} messages)`);
    await midi(page, [0x80, 60, 0], "in-2");
    await midi(page, [0x80, 67, 0], "in-2");
    await sleep(500);
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});

test("Z and X move the computer keyboard by octaves", { timeout: 60_000 }, async () => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/`);
  try {
    await chooseOutput(page);
    const played = async () => {
      const mark = await now(page);
      await holdKeys(page, ["a"], 900);
      await sleep(400);
      return [...new Set((await sentNotes(page)).filter((e) => e.on && e.at > mark).map((e) => e.pitch))];
    };
    await page.keyboard.press("x");
    const up = await played();
    await page.keyboard.press("z");
    await page.keyboard.press("z");
    const down = await played();
    assert.deepEqual(up, [72], "X: A plays C5");
    assert.deepEqual(down, [48], "Z twice: A plays C3");
    assert.deepEqual(stuckNotes(await sentNotes(page)), []);
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});

test("computer keys held when the window loses focus are released", { timeout: 60_000 }, async (t) => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/`);
  try {
    await chooseOutput(page);
    for (const k of ["a", "d", "g"]) await page.keyboard.down(k);
    await sleep(800);
    // Headless Chromium emulates focus; without that, bringing another page forward blurs this one.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Emulation.setFocusEmulationEnabled", { enabled: false });
    const mark = await now(page);
    const other = await page.context().newPage();
    await other.bringToFront();
    await sleep(1200);
    const focused = await page.evaluate(() => document.hasFocus());
    const events = await sentNotes(page);
    const late = events.filter((e) => e.on && soundsAt(e) > mark + 500);
    t.diagnostic(`${events.filter((e) => e.on).length} note-ons; document.hasFocus() after: ${focused}; ${late.length} note-ons later than 0.5 s after the blur`);
    assert.equal(focused, false, "the page really lost focus");
    assert.ok(events.filter((e) => e.on && e.at < mark).length >= 3, "the keys were playing");
    assert.deepEqual(stuckNotes(events), [], "every note-on has a later note-off");
    assert.equal(late.length, 0, "no note-on later than 0.5 s after the window lost focus");
    for (const k of ["a", "d", "g"]) await page.keyboard.up(k);
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});

test("garbage MIDI bytes: no page error, the instrument keeps playing", { timeout: 60_000 }, async (t) => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/`);
  try {
    await chooseOutput(page);
    const garbage = [
      [0xf0, 0x7e, 0x7f, 0x06, 0x01, 0xf7], // SysEx
      [0xf0, 0x43, 0x12], // SysEx without its end
      [0x90], [0x90, 60], [0x80, 60], [0xb0, 64], [0xe0], [0xc0], // truncated
      [0x90, 60, 100, 64, 100, 67, 0], // running status
      [0xf8], [0xfa], [0xfc], [0xfe], [0xff], // realtime
      [0xf8, 0x90, 0xf8, 61, 100], // realtime inside a message
      [0x00], [0x00, 0x00, 0x00], [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], [], // 0x00 only, empty
      [0x7f, 0x7f, 0x7f], [0x90, 0xff, 0xff], [0x90, 128, 200], // data bytes out of place / out of range
      [0xa0, 60, 50], [0xd0, 50], [0xf1, 0x10], [0xf2, 0, 0], [0xf3, 1], [0xf6], [0xf7], [0xf4], [0xfd],
      [0xb0, 120, 0], [0xb0, 123, 0], [0xb0, 64, 127], [0xb0, 64, 0], // all sound off, all notes off, sustain
    ];
    for (const bytes of garbage) await midi(page, bytes);
    await sleep(300);
    assert.deepEqual(errorsOf(page), [], "garbage caused no console error or page error");
    // Clear whatever the garbage held, then a clean note must still be arpeggiated.
    for (let p = 0; p < 128; p++) await midi(page, [0x80, p, 0]);
    await sleep(600);
    const mark = await now(page);
    await midi(page, [0x90, 72, 100]);
    await midi(page, [0x90, 76, 100]);
    await sleep(1200);
    const ons = (await sentNotes(page)).filter((e) => e.on && soundsAt(e) > mark);
    const pitches = [...new Set(ons.map((e) => e.pitch))].sort((x, y) => x - y);
    t.diagnostic(`after garbage: ${ons.length} note-ons, pitches ${pitches.map(noteName).join(" ")}`);
    await midi(page, [0x80, 72, 0]);
    await midi(page, [0x80, 76, 0]);
    await sleep(700);
    assert.ok(ons.length >= 5, `still playing after garbage (${ons.length} note-ons in 1.2 s)`);
    assert.ok(pitches.includes(72) || pitches.includes(76), `the new notes are played (got ${pitches})`);
    assert.deepEqual(stuckNotes(await sentNotes(page)), [], "no stuck notes at the end");
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});

test("panic stops everything at once", { timeout: 60_000 }, async () => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/`);
  try {
    await chooseOutput(page);
    await midi(page, [0x90, 60, 100]);
    await midi(page, [0x90, 67, 100]);
    await sleep(800);
    const mark = await now(page);
    await page.click("#panic");
    await sleep(1000);
    const events = await sentNotes(page);
    assert.ok(events.filter((e) => e.on).length >= 3, "notes were playing before panic");
    assert.deepEqual(stuckNotes(events), [], "panic: every note-on has a note-off");
    const late = events.filter((e) => e.on && soundsAt(e) > mark + 300);
    assert.equal(late.length, 0, `no note-on after panic (got ${late.length}) although the MIDI keys are still held`);
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});

test("MIDI all-sound-off right after a note-on: the note does not start after the panic", { timeout: 60_000 }, async (t) => {
  // A note-on is stamped slightly in the future (the output latency); a panic stamped "now"
  // would be applied before it and leave the note held in the engine, forgotten by the page.
  const page = await openReady(ctx.browser, `${ctx.server.url}/`);
  try {
    await chooseOutput(page);
    for (let i = 0; i < 5; i++) {
      await midi(page, [0x90, 61 + i, 100, 0xb0, 120, 0]);
      await sleep(50);
    }
    await sleep(200);
    const mark = await now(page);
    await sleep(1000);
    const events = await sentNotes(page);
    const late = events.filter((e) => e.on && soundsAt(e) > mark);
    t.diagnostic(`${events.filter((e) => e.on).length} note-ons in all, ${late.length} after the last panic had settled`);
    assert.equal(late.length, 0, "nothing plays after all-sound-off although no note-off was sent");
    assert.deepEqual(stuckNotes(events), [], "every note-on sent has a note-off");
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});

test("a bad URL lists its bad fields, still starts and plays", { timeout: 60_000 }, async (t) => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/#tp1&bpm=fast&nope=1&arp.oct=3`);
  try {
    const messages = page.locator("#messages");
    assert.equal(await messages.isVisible(), true, "#messages is shown");
    const text = await messages.innerText();
    t.diagnostic(`#messages: ${JSON.stringify(text)}`);
    assert.match(text, /\bbpm\b/, "#messages names bpm");
    assert.match(text, /\bnope\b/, "#messages names nope");
    assert.doesNotMatch(text, /arp\.oct/, "the good field is not listed as bad");
    assert.equal(await page.locator('[data-key="arp.oct"]').getAttribute("data-param-value"), "3", "arp.oct=3 was applied");
    assert.equal(await page.locator('[data-key="bpm"]').getAttribute("data-param-value"), "120", "bpm kept its default");
    await chooseOutput(page);
    await holdKeys(page, ["a", "g"], 1500);
    await sleep(600);
    const events = await sentNotes(page);
    const ons = events.filter((e) => e.on);
    t.diagnostic(`${ons.length} note-ons; pitches ${[...new Set(ons.map((e) => e.pitch))].sort((x, y) => x - y).map(noteName).join(" ")}`);
    assert.ok(ons.length >= 6, `plays after a bad URL (${ons.length} note-ons)`);
    assert.deepEqual(stuckNotes(events), []);
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});

test("without Web MIDI: #midi-status says so and the keys still play", { timeout: 60_000 }, async (t) => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/`, { midi: { missing: true } });
  try {
    assert.equal(await page.evaluate(() => "requestMIDIAccess" in navigator), false, "Web MIDI is really gone");
    const status = await page.locator("#midi-status").innerText();
    t.diagnostic(`#midi-status: ${JSON.stringify(status)}`);
    assert.match(status, /(not|un)\s*(available|supported)|no web midi|without web midi|isn.t (available|supported)/i, "#midi-status says Web MIDI is missing");
    await page.keyboard.down("a");
    await page.keyboard.down("d");
    await sleep(700);
    const down = await page.locator("[data-pitch].down").count();
    await sleep(500);
    await page.keyboard.up("a");
    await page.keyboard.up("d");
    await sleep(400);
    const recent = await page.locator("#recent-notes").innerText();
    t.diagnostic(`#recent-notes: ${JSON.stringify(recent.slice(0, 120))}`);
    assert.ok(down >= 1, "an on-screen key shows .down while the keys are held");
    assert.match(recent, /\b(C4|E4)\b/, "#recent-notes shows the arpeggio's notes");
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});

test("screenshots at 1366×800 and 390×844 (target/screenshots/)", { timeout: 60_000 }, async (t) => {
  const dir = ensureScreenshotDir();
  for (const [width, height] of [[1366, 800], [390, 844]]) {
    const page = await openReady(ctx.browser, `${ctx.server.url}/`, { viewport: { width, height } });
    try {
      await page.keyboard.down("a");
      await page.keyboard.down("d");
      await page.keyboard.down("g");
      await sleep(900);
      const file = path.join(dir, `page-${width}x${height}.png`);
      await page.screenshot({ path: file });
      await page.screenshot({ path: path.join(dir, `page-${width}x${height}-full.png`), fullPage: true });
      for (const k of ["a", "d", "g"]) await page.keyboard.up(k);
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      t.diagnostic(`${file}: document scrollWidth ${scrollWidth} at viewport width ${width}`);
      assert.ok(scrollWidth <= width, `no horizontal scrolling at ${width} px wide (scrollWidth ${scrollWidth})`);
      assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
    } finally {
      await closePage(page);
    }
  }
});
