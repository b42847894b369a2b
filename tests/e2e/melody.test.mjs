// The melody in the page: the model fetched and checked at load, call and response from fake
// Web MIDI input (the model answers after a bar of silence, in the key played, on MIDI channel 2),
// an n-gram model loaded on demand, and corrupt model files that leave everything else playing.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  closePage, serverAndBrowser, openReady, sentNotes, soundsAt, stuckNotes, sleep,
  noteName, errorsOf, chooseOutput, midi, now,
} from "./harness.mjs";

const ctx = serverAndBrowser();

const MELODY_CHANNEL = 1; // channel 2 on the wire is 1
const SIXTEENTH_MS = 125; // at 120 BPM
const BAR_MS = 16 * SIXTEENTH_MS;

async function waitForModel(page, state = "loaded") {
  await page.waitForSelector(`#melody-model[data-state="${state}"]`, { timeout: 20_000 });
  return page.locator("#melody-model").innerText();
}

const inScale = (pitch, tonic, steps) => steps.includes((((pitch - tonic) % 12) + 12) % 12);
const MAJOR = [0, 2, 4, 5, 7, 9, 11];
// Above D: the major scale, and G♯ (6) and A♯ (8), B minor's raised 6th and 7th.
const D_MAJOR_OR_B_MINOR = [...MAJOR, 6, 8];

test("call and response: a phrase in D major is answered after a bar of silence, in its key, for 2 bars", { timeout: 90_000 }, async (t) => {
  const url = `${ctx.server.url}/#tp1&bpm=120&bpb=4&arp.mode=off&mel.mode=answer&mel.key=follow&mel.bars=2&mel.lo=50&mel.hi=86&mel.temp=0.8`;
  const page = await openReady(ctx.browser, url);
  try {
    t.diagnostic(`#melody-model: ${JSON.stringify(await waitForModel(page))}`);
    await chooseOutput(page);
    await sleep(300);
    assert.equal((await sentNotes(page)).filter((e) => e.on && e.channel === MELODY_CHANNEL).length, 0, "silent before a phrase");
    // D4 F#4 A4 G4 F#4 E4 D4 A4 in 8ths, each held a little less than its 8th.
    for (const pitch of [62, 66, 69, 67, 66, 64, 62, 69]) {
      await midi(page, [0x90, pitch, 100]);
      await sleep(2 * SIXTEENTH_MS - 40);
      await midi(page, [0x80, pitch, 0]);
      await sleep(40);
    }
    const listening = await page.locator("#melody-live").innerText();
    t.diagnostic(`#melody-live after the phrase: ${JSON.stringify(listening)}`);
    await page.waitForFunction(() => /Answering/.test(document.getElementById("melody-live").textContent), null, { timeout: 2 * BAR_MS + 2000 });
    t.diagnostic(`#melody-live while answering: ${JSON.stringify(await page.locator("#melody-live").innerText())}`);
    await sleep(2 * BAR_MS + 1500);
    const sent = await sentNotes(page);
    const phrase = sent.filter((e) => e.channel === 0);
    const release = Math.max(...phrase.filter((e) => !e.on).map(soundsAt));
    const answer = sent.filter((e) => e.channel === MELODY_CHANNEL);
    const ons = answer.filter((e) => e.on);
    t.diagnostic(`phrase echoed on channel 1: ${phrase.filter((e) => e.on).length} notes; answer: ${ons.map((e) => `${noteName(e.pitch)}@+${(soundsAt(e) - release).toFixed(0)}ms`).join(" ")}`);
    assert.equal(phrase.filter((e) => e.on).length, 8, "the phrase itself played (arpeggiator off)");
    assert.ok(ons.length >= 3, `the model answered (${ons.length} notes)`);
    const first = soundsAt(ons[0]);
    // A bar of silence is 16 sixteenths counted from the first step after the release, and the
    // answer starts with a note at the next bar line: between 15 and 31 sixteenths after the
    // release. 40 ms covers message and clock jitter.
    assert.ok(first >= release + 15 * SIXTEENTH_MS - 40, `no answer before a bar of silence (first at +${(first - release).toFixed(0)} ms)`);
    assert.ok(first <= release + 31 * SIXTEENTH_MS + 40, `the answer starts at the expected bar line (first at +${(first - release).toFixed(0)} ms)`);
    const last = Math.max(...answer.map(soundsAt));
    assert.ok(last - first <= 2 * BAR_MS + 40, `the answer lasts at most 2 bars (${(last - first).toFixed(0)} ms)`);
    // On the engine's 16th grid: every answer event is a whole number of 16ths after the first.
    for (const e of answer) {
      const steps = (soundsAt(e) - first) / SIXTEENTH_MS;
      assert.ok(Math.abs(steps - Math.round(steps)) < 0.2, `answer event ${(soundsAt(e) - first).toFixed(0)} ms after the first is on the 16th grid`);
    }
    // In the key played: D major's scale plus the raised 6th and 7th of its relative minor
    // (G♯, A♯: Bach's answers often turn to B minor). A transposition off by a semitone would put
    // about half the notes on the excluded C, D♯, F.
    const inD = ons.filter((e) => inScale(e.pitch, 2, D_MAJOR_OR_B_MINOR)).length;
    assert.ok(inD >= 0.8 * ons.length, `${inD} of ${ons.length} answer notes in D major or B minor (${ons.map((e) => noteName(e.pitch)).join(" ")})`);
    assert.ok(ons.every((e) => e.pitch >= 50 && e.pitch <= 86), "within the range 50–86");
    assert.deepEqual(stuckNotes(sent), [], "every note ended");
    const live = await page.locator("#melody-live").innerText();
    t.diagnostic(`#melody-live after the answer: ${JSON.stringify(live)}`);
    assert.match(live, /Listening/, "listens again");
    assert.match(live, /key D major/, "shows the key it followed");
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});

test("free mode with an n-gram model: its file is fetched when chosen, loaded, and the melody plays", { timeout: 90_000 }, async (t) => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/#tp1&arp.mode=off&mel.mode=free&mel.model=ngram3&mel.key=Eb&mel.dens=75`);
  try {
    await chooseOutput(page);
    const state = await waitForModel(page, "loaded");
    await page.waitForFunction(() => /n-gram model is loaded/.test(document.getElementById("melody-model").textContent), null, { timeout: 20_000 });
    t.diagnostic(`#melody-model: ${JSON.stringify(await page.locator("#melody-model").innerText())} (was ${JSON.stringify(state)})`);
    const mark = await now(page);
    await sleep(3000);
    const ons = (await sentNotes(page)).filter((e) => e.on && e.channel === MELODY_CHANNEL && soundsAt(e) > mark);
    t.diagnostic(`${ons.length} melody notes in 3 s: ${ons.map((e) => noteName(e.pitch)).join(" ")}`);
    assert.ok(ons.length >= 4, `the n-gram melody plays (${ons.length} notes in 3 s)`);
    const inEb = ons.filter((e) => inScale(e.pitch, 3, MAJOR)).length;
    assert.ok(inEb >= 0.8 * ons.length, `${inEb} of ${ons.length} in E♭ major`);
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});

// The file the page loads (web/models/melody-lstm.tpq: 24-byte header, then the token table, the
// quantized layers and the output layer) damaged two ways, each named in the panel.
const CORRUPT_MODELS = [
  {
    what: "truncated",
    damage: (body) => body.subarray(0, 5000),
    problem: /truncated: 2 layers of 256 units need 1468960 bytes, the file has 5000/,
  },
  {
    what: "a NaN in its token table",
    damage: (body) => {
      const bytes = Buffer.from(body);
      bytes.writeFloatLE(NaN, 24 + 4 * 1000);
      return bytes;
    },
    problem: /the token table holds NaN at index 1000/,
  },
];

for (const { what, damage, problem } of CORRUPT_MODELS) test(`a corrupt model file (${what}): the panel says what is wrong, the rest plays, the n-grams still work`, { timeout: 90_000 }, async (t) => {
  const route = async (page) => {
    await page.route("**/melody-lstm.tpq", async (r) => {
      const real = await r.fetch();
      await r.fulfill({ response: real, body: damage(await real.body()) });
    });
  };
  const page = await openReady(ctx.browser, `${ctx.server.url}/#tp1&mel.mode=free&mel.dens=75`, { before: route });
  try {
    const text = await waitForModel(page, "error");
    t.diagnostic(`#melody-model: ${JSON.stringify(text)}`);
    assert.match(text, /could not be loaded/);
    assert.match(text, problem, "names the problem");
    await chooseOutput(page);
    const mark = await now(page);
    await midi(page, [0x90, 60, 100]);
    await midi(page, [0x90, 67, 100]);
    await sleep(1200);
    await midi(page, [0x80, 60, 0]);
    await midi(page, [0x80, 67, 0]);
    const sent = (await sentNotes(page)).filter((e) => soundsAt(e) > mark);
    assert.ok(sent.filter((e) => e.on && e.channel === 0).length >= 5, "the arpeggiator still plays");
    assert.equal(sent.filter((e) => e.on && e.channel === MELODY_CHANNEL).length, 0, "no melody without a model");
    // Choosing an n-gram brings the melody back.
    await page.selectOption('select[data-key="mel.model"]', "ngram2");
    await page.waitForFunction(() => /n-gram model is loaded/.test(document.getElementById("melody-model").textContent), null, { timeout: 20_000 });
    const mark2 = await now(page);
    await sleep(3000);
    const ons = (await sentNotes(page)).filter((e) => e.on && e.channel === MELODY_CHANNEL && soundsAt(e) > mark2);
    assert.ok(ons.length >= 3, `the order-2 n-gram plays (${ons.length} notes)`);
    assert.deepEqual(errorsOf(page).filter((p) => !/melody-lstm/.test(p)), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});
