// MIDI learn in the served page, driven by a fake Web MIDI input that dispatches real
// MIDIMessageEvents: learn mode binds a touched knob to the next controller message, a bound CC
// moves the knob, the engine's parameter and the URL as a mouse would (pick-up and jump), a 14-bit
// pair reaches values only its LSB can, pitch bend binds, CC64 still sustains and cannot be bound,
// a binding is removed, and the URL restores the bindings in a new page, where they work.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { CLI, closePage, errorsOf, midi, openReady, requireArtifacts, serverAndBrowser, sleep } from "./harness.mjs";

requireArtifacts(CLI);
const ctx = serverAndBrowser();

/** Init script: records every "param" message the page posts to its worklet in `window.__params`. */
function paramTapInit() {
  const Native = window.AudioWorkletNode;
  window.__params = [];
  window.AudioWorkletNode = class extends Native {
    constructor(...args) {
      super(...args);
      const post = this.port.postMessage.bind(this.port);
      this.port.postMessage = (message, transfer) => {
        if (message?.type === "param") window.__params.push({ ...message });
        return post(message, transfer);
      };
    }
  };
}

const cc = (page, channel, controller, value) => midi(page, [0xb0 | (channel - 1), controller, value]);
const bend = (page, channel, value14) => midi(page, [0xe0 | (channel - 1), value14 & 0x7f, value14 >> 7]);

/** What a knob shows: its value (data-param-value, or the select's) and its value display. */
const knob = (page, key) => page.evaluate((key) => {
  const input = document.querySelector(`[data-key="${key}"]`);
  return {
    value: Number(input.dataset.paramValue ?? input.value),
    shown: document.querySelector(`[data-value-for="${key}"]`).textContent,
  };
}, key);

/** The last value the page posted to the engine for parameter `key`, or undefined. */
const posted = (page, key) => page.evaluate(async (key) => {
  const { params } = await import("/web/engine.js");
  const id = params().find((p) => p.key === key).id;
  return window.__params.filter((m) => m.id === id).at(-1)?.value;
}, key);

/** The fragment once the debounced URL write has happened. */
async function fragment(page) {
  await sleep(350);
  return page.evaluate(() => decodeURIComponent(location.hash.slice(1)));
}

const field = (text, key) => text.split("&").find((f) => f.startsWith(`${key}=`))?.slice(key.length + 1);
const badge = (page, key) => page.locator(`[data-binding="${key}"] summary`);

/** Waits until knob `key` holds `value` (MIDI goes through the page's event loop). */
async function knobIs(page, key, value, what) {
  try {
    await page.waitForFunction(([key, value]) => Number(document.querySelector(`[data-key="${key}"]`).dataset.paramValue) === value, [key, value], { timeout: 2000, polling: 20 });
  } catch {
    assert.fail(`${what}: ${key} should be ${value}, is ${JSON.stringify(await knob(page, key))}`);
  }
}

/** Learn mode on, touch `key` by focusing it (as Tab does), send `message`; learn mode off. */
async function learn(page, key, message) {
  await page.click("#midi-learn");
  assert.equal(await page.getAttribute("#midi-learn", "aria-pressed"), "true");
  await page.focus(`[data-key="${key}"]`);
  assert.equal(await page.locator(`[data-control="${key}"].learn-target`).count(), 1, `${key} is highlighted as the knob to bind`);
  await message();
  await badge(page, key).waitFor();
  await page.click("#midi-learn");
  assert.equal(await page.getAttribute("#midi-learn", "aria-pressed"), "false");
}

/** Opens `key`'s badge and sets one of its options. */
async function option(page, key, name, value) {
  const details = page.locator(`[data-binding="${key}"]`);
  if (!(await details.evaluate((d) => d.open))) await badge(page, key).click();
  await page.selectOption(`[data-binding="${key}"] select[data-option="${name}"]`, value);
  await badge(page, key).click(); // closed again, so its options cover nothing
}

test("MIDI learn: bind from a controller, follow it (pick-up, jump, 14-bit, bend), keep CC64, remove, restore from the URL", { timeout: 120_000 }, async (t) => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/`, { init: [{ fn: paramTapInit }] });
  let reopened;
  try {
    // Learn, from the keyboard: the toggle is a button, the knob is reached by focus.
    await page.focus("#midi-learn");
    await page.keyboard.press("Enter");
    assert.equal(await page.getAttribute("#midi-learn", "aria-pressed"), "true", "Enter turns learn mode on");
    await page.keyboard.press("Escape");
    assert.equal(await page.getAttribute("#midi-learn", "aria-pressed"), "false", "Esc turns it off");

    // --- A 7-bit CC, pick-up (the default of a learned binding).
    await learn(page, "syn.res", () => cc(page, 1, 74, 10));
    assert.equal(await badge(page, "syn.res").textContent(), "CC74 · ch1");
    assert.equal((await knob(page, "syn.res")).value, 0.35, "the learning message moves nothing");
    assert.equal(field(await fragment(page), "bind.syn.res"), "cc74:ch1:soft", "the binding is in the URL");

    await page.evaluate(() => { window.__params.length = 0; });
    await cc(page, 1, 74, 20);
    await cc(page, 1, 74, 30);
    await sleep(150);
    assert.equal((await knob(page, "syn.res")).value, 0.35, "pick-up: below the knob's value, nothing moves");
    assert.equal(await posted(page, "syn.res"), undefined, "and nothing is sent to the engine");
    await cc(page, 1, 74, 60); // 60/127 = 0.4724: crossed 0.35
    await knobIs(page, "syn.res", 0.472, "crossing the knob's value takes it over");
    assert.match((await knob(page, "syn.res")).shown, /^0\.472/);
    assert.equal(await posted(page, "syn.res"), 0.472, "the engine gets the value the knob shows");
    await cc(page, 1, 74, 100);
    await knobIs(page, "syn.res", 0.787, "then it follows (100/127)");
    assert.equal(await posted(page, "syn.res"), 0.787);
    assert.equal(field(await fragment(page), "syn.res"), "0.787", "and the URL has it");
    await cc(page, 2, 74, 0);
    await sleep(150);
    assert.equal((await knob(page, "syn.res")).value, 0.787, "a binding learned on channel 1 ignores channel 2");

    // Moved another way (End key): pick-up starts again.
    await page.focus('[data-key="syn.res"]');
    await page.keyboard.press("End");
    await cc(page, 1, 74, 90);
    await sleep(150);
    assert.equal((await knob(page, "syn.res")).value, 1, "after a key moved the knob, the controller waits to reach it");
    // Jump: at once.
    await option(page, "syn.res", "takeover", "jump");
    assert.equal(field(await fragment(page), "bind.syn.res"), "cc74:ch1", "jump is the URL's default form");
    await cc(page, 1, 74, 90);
    await knobIs(page, "syn.res", 0.709, "jump moves the knob at once (90/127)");

    // --- A 14-bit pair: the mod wheel CC1 with CC33.
    await learn(page, "syn.osc2", () => cc(page, 1, 1, 64));
    await option(page, "syn.osc2", "resolution", "14");
    await option(page, "syn.osc2", "takeover", "jump");
    assert.equal(await badge(page, "syn.osc2").textContent(), "CC1+33 · ch1");
    assert.equal(field(await fragment(page), "bind.syn.osc2"), "cc1:14:ch1");
    await cc(page, 1, 1, 64);
    await knobIs(page, "syn.osc2", 0.504, "an MSB alone moves the knob as a 7-bit CC would (64/127)");
    await cc(page, 1, 33, 100);
    await knobIs(page, "syn.osc2", 0.51, "the LSB refines it: (64·128 + 100) / (127·128)");
    const sevenBit = Array.from({ length: 128 }, (_, k) => Math.round((k / 127) * 1000) / 1000);
    assert.ok(!sevenBit.includes(0.51), "0.51 is a value no 7-bit CC reaches on this knob");
    assert.equal(await posted(page, "syn.osc2"), 0.51);

    // --- Pitch bend, on a log knob (β from 0.001 to 1000).
    await learn(page, "arp.beta", () => bend(page, 1, 8192));
    await option(page, "arp.beta", "takeover", "jump");
    assert.equal(await badge(page, "arp.beta").textContent(), "Bend · ch1");
    await bend(page, 1, 16383);
    await knobIs(page, "arp.beta", 1000, "bend up: the top of the knob");
    await bend(page, 1, 8192);
    await knobIs(page, "arp.beta", 1, "bend centred: the middle of a log knob (√(0.001·1000))");
    await bend(page, 1, 4096);
    await knobIs(page, "arp.beta", 0.0316, "a quarter: log scale, three significant digits like the knob");

    // --- CC64 keeps sustaining and cannot be bound; nor can all-notes-off.
    await page.click("#midi-learn");
    await page.focus('[data-key="syn.detune"]');
    await cc(page, 1, 64, 127);
    await page.waitForSelector("#pedal.down", { timeout: 2000 });
    assert.match(await page.textContent("#midi-learn-status"), /CC64 is the sustain pedal.*cannot be bound/);
    await cc(page, 1, 123, 0);
    assert.match(await page.textContent("#midi-learn-status"), /CC123 is a channel mode message/);
    assert.equal(await page.locator('[data-binding="syn.detune"]').count(), 0, "no binding was made");
    await cc(page, 1, 64, 0);
    await page.waitForSelector("#pedal:not(.down)", { timeout: 2000 });
    await page.click("#midi-learn");
    const before = await fragment(page);
    assert.ok(!before.includes("bind.syn.detune"), before);

    // --- Remove a binding (keyboard: the badge opens with Enter).
    await badge(page, "syn.res").focus();
    await page.keyboard.press("Enter");
    await page.click('[data-binding="syn.res"] [data-option="remove"]');
    assert.equal(await page.locator('[data-binding="syn.res"]').count(), 0, "the badge is gone");
    await cc(page, 1, 74, 10);
    await sleep(150);
    assert.equal((await knob(page, "syn.res")).value, 0.709, "CC74 moves nothing any more");
    const text = await fragment(page);
    assert.equal(field(text, "bind.syn.res"), undefined, "nor is it in the URL");
    t.diagnostic(`bindings in the URL: ${text.split("&").filter((f) => f.startsWith("bind.")).join("&")}`);
    assert.equal(execFileSync(CLI, ["patch", text], { encoding: "utf8" }).trim(), text, "the URL is the canonical text `tidepool patch` prints");

    // --- The URL in a new page: the bindings are back and work.
    const url = await page.evaluate(() => location.href);
    reopened = await openReady(ctx.browser, url, { init: [{ fn: paramTapInit }] });
    assert.equal(await badge(reopened, "syn.osc2").textContent(), "CC1+33 · ch1");
    assert.equal(await badge(reopened, "arp.beta").textContent(), "Bend · ch1");
    assert.equal(await reopened.locator('[data-binding="syn.res"]').count(), 0);
    assert.equal(await reopened.locator("#messages").isHidden(), true, "the page's own URL has no bad fields");
    assert.equal((await knob(reopened, "syn.osc2")).value, 0.51, "the knob values came back too");
    await cc(reopened, 1, 1, 127);
    await knobIs(reopened, "syn.osc2", 1, "the restored 14-bit binding moves its knob (jump restored)");
    assert.equal(await posted(reopened, "syn.osc2"), 1);
    await bend(reopened, 1, 16383);
    await knobIs(reopened, "arp.beta", 1000, "the restored bend binding works");

    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
    assert.deepEqual(errorsOf(reopened), [], "reopened page: no console errors or page errors");
  } finally {
    await closePage(page);
    if (reopened) await closePage(reopened);
  }
});

test("a link with bad bindings keeps the good ones and says what was ignored", { timeout: 60_000 }, async () => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/#tp1&bpm=96&bind.syn.cut=cc74:ch3:soft&bind.syn.res=cc64&bind.syn.nope=cc2&bind.syn.a=cc9:ch99`);
  try {
    assert.equal(await badge(page, "syn.cut").textContent(), "CC74 · ch3");
    assert.equal(await badge(page, "syn.a").textContent(), "CC9 · any", "a bad option is dropped, the binding kept");
    assert.equal(await page.locator('[data-binding="syn.res"]').count(), 0, "CC64 is never bound");
    const messages = await page.textContent("#messages");
    assert.match(messages, /bind\.syn\.res: `cc64` is the sustain pedal/);
    assert.match(messages, /bind\.syn\.nope: no parameter/);
    assert.match(messages, /bind\.syn\.a: .*kept cc9/);
    assert.equal((await knob(page, "bpm")).value, 96, "the rest of the link applied");
    // Pick-up from a loaded link: the cutoff (1800 Hz) is taken over once CC74 reaches it.
    await cc(page, 3, 74, 0);
    await sleep(150);
    assert.equal((await knob(page, "syn.cut")).value, 1800);
    await cc(page, 3, 74, 127);
    await knobIs(page, "syn.cut", 18000, "crossed 1800 Hz on the way up: taken over");
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});
