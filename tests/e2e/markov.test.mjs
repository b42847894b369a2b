// The Markov chain in the page: taught a phrase from the fake MIDI keyboard (real
// MIDIMessageEvents), it answers with the phrase's intervals; what it learned goes into the URL,
// a new page opened on that link plays it; Clear forgets it (and takes it out of the URL).

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

// C E D F E G F A, twice: a third up, a step down, then A back to C. Played legato in 8ths (each
// key goes up as the next goes down), so the chain learns no rests.
const PHRASE = [60, 64, 62, 65, 64, 67, 65, 69];
const TAUGHT = [...PHRASE, ...PHRASE];
const intervals = (pitches) => pitches.slice(1).map((p, i) => p - pitches[i]);
const ALLOWED = new Set(intervals(TAUGHT));

async function teach(page) {
  let held = null;
  for (const pitch of TAUGHT) {
    await midi(page, [0x90, pitch, 100]);
    if (held !== null) await midi(page, [0x80, held, 0]);
    held = pitch;
    await sleep(2 * SIXTEENTH_MS);
  }
  await midi(page, [0x80, held, 0]);
}

/** The melody's note-ons after `mark` (page time), from the fake MIDI output. */
async function melodyOns(page, mark) {
  return (await sentNotes(page)).filter((e) => e.on && e.channel === MELODY_CHANNEL && soundsAt(e) > mark);
}

function assertPhraseIntervals(ons, what) {
  const pitches = ons.map((e) => e.pitch);
  const steps = intervals(pitches);
  const foreign = steps.filter((s) => !ALLOWED.has(s));
  assert.deepEqual(foreign, [], `${what}: every interval is one of the phrase's (${[...ALLOWED].join(", ")}); played ${pitches.map(noteName).join(" ")}`);
}

test("the Markov chain learns a phrase from the MIDI keyboard, answers with its intervals, and a link carries what it learned", { timeout: 120_000 }, async (t) => {
  const url = `${ctx.server.url}/#tp1&bpm=120&bpb=4&arp.mode=off&mel.mode=answer&mel.model=markov2&mel.key=C&mel.bars=2&mel.temp=0&mel.lo=48&mel.hi=84`;
  const page = await openReady(ctx.browser, url);
  let link;
  try {
    await chooseOutput(page);
    assert.match(await page.locator("#markov-learned").innerText(), /learned nothing/);
    await teach(page);
    const release = await now(page);
    await page.waitForFunction(() => /learned 16 notes/.test(document.getElementById("markov-learned").textContent), null, { timeout: 5000 });
    t.diagnostic(`#markov-learned: ${JSON.stringify(await page.locator("#markov-learned").innerText())}`);
    await page.waitForFunction(() => /Answering/.test(document.getElementById("melody-live").textContent), null, { timeout: 2 * BAR_MS + 3000 });
    await sleep(2 * BAR_MS + 1000);
    const sent = await sentNotes(page);
    const ons = await melodyOns(page, release);
    t.diagnostic(`answer: ${ons.map((e) => `${noteName(e.pitch)}@+${(soundsAt(e) - release).toFixed(0)}ms`).join(" ")}`);
    assert.ok(ons.length >= 8, `the chain answered (${ons.length} notes in 2 bars)`);
    assertPhraseIntervals(ons, "the answer");
    // Temperature 0, second order, context the phrase's last two notes (F, A): the answer goes
    // on as the phrase did after A, from C.
    assert.equal(ons[0].pitch, 60, `the answer continues the phrase: C after F A (got ${noteName(ons[0].pitch)})`);
    assert.deepEqual(stuckNotes(sent), [], "every note ended");

    // The URL carries the table (written shortly after the count stops changing).
    await page.waitForFunction(() => /&mk\.table=[A-Za-z0-9_-]+/.test(location.hash), null, { timeout: 5000 });
    link = await page.evaluate(() => location.hash);
    const table = link.match(/&mk\.table=([A-Za-z0-9_-]+)/)[1];
    t.diagnostic(`the link's table: ${table.length} characters (the whole link ${link.length})`);

    // Clear: forgotten, and out of the URL.
    await page.click("#markov-clear");
    await page.waitForFunction(() => /learned nothing/.test(document.getElementById("markov-learned").textContent), null, { timeout: 5000 });
    await page.waitForFunction(() => !/mk\.table=/.test(location.hash), null, { timeout: 5000 });
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }

  // A new page opened on the link, the chain playing freely: what the first page taught it.
  const shared = link.replace("mel.mode=answer", "mel.mode=free");
  const other = await openReady(ctx.browser, `${ctx.server.url}/${shared}`);
  try {
    await chooseOutput(other);
    const mark = await now(other);
    await sleep(3000);
    const ons = await melodyOns(other, mark);
    t.diagnostic(`from the link, free: ${ons.map((e) => noteName(e.pitch)).join(" ")}`);
    assert.ok(ons.length >= 8, `the link's chain plays (${ons.length} notes in 3 s)`);
    assertPhraseIntervals(ons, "the shared link's line");
    assert.match(await other.locator("#markov-learned").innerText(), /learned 16 notes/);
    assert.deepEqual(errorsOf(other), [], "no console errors or page errors");
  } finally {
    await closePage(other);
  }
});

test("a link with a damaged Markov table: the message names it, the rest of the patch plays", { timeout: 60_000 }, async () => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/#tp1&bpm=97&arp.mode=off&mk.table=AQ&mel.mode=free&mel.model=markov1`);
  try {
    const messages = await page.locator("#messages").innerText();
    assert.match(messages, /mk\.table/, messages);
    assert.match(messages, /shorter than its 7-byte header/, messages);
    assert.equal(await page.locator('[data-key="bpm"]').getAttribute("data-param-value"), "97", "the rest of the link was kept");
    assert.match(await page.locator("#markov-learned").innerText(), /learned nothing/);
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});
