// The musician's own melody model in the page: a link with mel.model=file opened where no model
// file is kept says so and plays the shipped LSTM meanwhile; the committed fixture
// (tests/fixtures/melody-user-1x64.safetensors, a 1 × 64 LSTM trained in PyTorch by
// tools/melody/train_torch.py) is picked on the Melody panel, checked and quantized in the
// worker, and plays in free mode (the fake MIDI output hears it) while the panel shows its
// metadata; corrupt files are refused with their reason and the model keeps playing; a reload
// finds the model again (IndexedDB).

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ROOT, chooseOutput, closePage, errorsOf, noteName, now, openReady, sentNotes, serverAndBrowser, sleep,
  soundsAt, stuckNotes, waitForState,
} from "./harness.mjs";

const ctx = serverAndBrowser();

const MELODY_CHANNEL = 1; // channel 2 on the wire is 1
const FIXTURE = path.join(ROOT, "tests/fixtures/melody-user-1x64.safetensors");
const MIDI_FILE = path.join(ROOT, "tests/fixtures/melody-midi/twinkle-C.mid");
// A fixed seed: a model's line from rest is always the same (the generator reseeds when it
// restarts), so two models are told apart by their first notes.
const PATCH = "#tp1&bpm=120&arp.mode=off&mel.mode=free&mel.model=file&mel.seed=5&mel.dens=75&mel.lo=36&mel.hi=96";

/** The fixture with an f16 NaN written over the first weight of `lstm.weight_hh_l0`. */
function withNaN(bytes) {
  const b = Buffer.from(bytes);
  const headerLength = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + headerLength).toString());
  const at = 8 + headerLength + header["lstm.weight_hh_l0"].data_offsets[0];
  b.writeUInt16LE(0x7e00, at);
  return b;
}

async function fileStatus(page, state) {
  await page.waitForSelector(`#melody-file-status[data-state="${state}"]`, { timeout: 20_000 });
  return page.locator("#melody-file-status").innerText();
}

/**
 * The first four melody pitches from rest: the generator switched off and on again (with a fixed
 * seed a model's line from rest is always the same, so it names the model playing).
 */
async function lineFromRest(page) {
  await page.selectOption('select[data-key="mel.mode"]', "off");
  await sleep(300);
  const mark = await now(page);
  await page.selectOption('select[data-key="mel.mode"]', "free");
  await sleep(3000);
  const ons = (await sentNotes(page)).filter((e) => e.on && e.channel === MELODY_CHANNEL && soundsAt(e) > mark);
  return ons.slice(0, 4).map((e) => noteName(e.pitch)).join(" ");
}

/** Melody onsets heard after `mark` (page time), in `ms`. */
async function onsetsFor(page, ms) {
  const mark = await now(page);
  await sleep(ms);
  return (await sentNotes(page)).filter((e) => e.on && e.channel === MELODY_CHANNEL && soundsAt(e) > mark);
}

test("a musician's model file: picked, checked, played with its metadata shown; bad files refused with the reason while it plays on; kept over a reload", { timeout: 120_000 }, async (t) => {
  const work = mkdtempSync(path.join(tmpdir(), "tidepool-melody-file-"));
  const page = await openReady(ctx.browser, `${ctx.server.url}/${PATCH}`);
  try {
    await chooseOutput(page);
    // No file kept in this browser: said so, and the shipped LSTM stands in.
    const missing = await fileStatus(page, "missing");
    t.diagnostic(`no file yet: ${JSON.stringify(missing)}`);
    assert.match(missing, /none is kept in this browser/);
    assert.match(missing, /shipped LSTM plays meanwhile/);
    const standIn = await lineFromRest(page);
    assert.equal(standIn.split(" ").length, 4, `the shipped LSTM stands in (${standIn})`);
    await page.waitForFunction(() => /standing in/.test(document.getElementById("melody-live").textContent));

    // The fixture, picked.
    await page.setInputFiles("#melody-file", FIXTURE);
    const loaded = await fileStatus(page, "loaded");
    t.diagnostic(`picked: ${JSON.stringify(loaded)}`);
    assert.match(loaded, /melody-user-1x64\.safetensors: 1 × 64 LSTM, embedding 16, no position input/);
    assert.match(loaded, /trained on four nursery tunes: 4 MIDI files/);
    assert.match(loaded, /train_torch\.py \(PyTorch/);
    const own = await onsetsFor(page, 3000);
    const live = await page.locator("#melody-live").innerText();
    t.diagnostic(`#melody-live: ${JSON.stringify(live)}`);
    assert.match(live, /Playing on its own .* model melody-user-1x64\.safetensors: 1 × 64 LSTM/);
    assert.ok(own.length >= 4, `the file's model plays (${own.length} notes in 3 s)`);
    // Both from rest at temperature 0: another model, another line.
    const line = await lineFromRest(page);
    t.diagnostic(`from rest: the stand-in ${standIn}; the file ${line}`);
    assert.equal(line.split(" ").length, 4, `the file's line (${line})`);
    assert.notEqual(line, standIn, "the file's model, not the shipped one, plays");

    // Bad files: each refused with its reason; the model plays on, the panel still names it.
    const fixture = readFileSync(FIXTURE);
    const bad = [
      ["truncated.safetensors", fixture.subarray(0, fixture.length - 1000), /truncated/],
      ["nan.safetensors", withNaN(fixture), /`lstm\.weight_hh_l0` holds a non-finite value at index 0/],
      ["twinkle.safetensors", readFileSync(MIDI_FILE), /not a safetensors file/],
    ];
    for (const [name, bytes, reason] of bad) {
      const file = path.join(work, name);
      writeFileSync(file, bytes);
      await page.setInputFiles("#melody-file", file);
      const refused = await fileStatus(page, "error");
      t.diagnostic(`${name}: ${JSON.stringify(refused)}`);
      assert.match(refused, new RegExp(`^${name.replace(".", "\\.")} was not used: `));
      assert.match(refused, reason);
      assert.match(refused, /your model melody-user-1x64\.safetensors stays/);
      const after = await onsetsFor(page, 1500);
      assert.ok(after.length >= 2, `${name}: the model plays on (${after.length} notes)`);
      assert.match(await page.locator("#melody-live").innerText(), /model melody-user-1x64\.safetensors/);
    }
    // Switched off: nothing of the melody is left sounding.
    await page.selectOption('select[data-key="mel.mode"]', "off");
    await sleep(500);
    assert.deepEqual(stuckNotes((await sentNotes(page)).filter((e) => e.channel === MELODY_CHANNEL)), [], "every melody note ended");

    // A reload finds the model in the browser: no "missing", the file's line again (the link
    // now says mel.mode=off: on again first).
    await page.selectOption('select[data-key="mel.mode"]', "free");
    await sleep(300);
    await page.reload();
    await waitForState(page, "loaded");
    await page.click("#start");
    await waitForState(page, "ready");
    await chooseOutput(page);
    const kept = await fileStatus(page, "loaded");
    t.diagnostic(`after a reload: ${JSON.stringify(kept)}`);
    assert.match(kept, /melody-user-1x64\.safetensors: 1 × 64 LSTM/);
    assert.match(kept, /kept from your last visit/);
    const again = await onsetsFor(page, 3000);
    assert.ok(again.length >= 4, `it plays after the reload (${again.length} notes)`);
    assert.equal(await lineFromRest(page), line, "the same model's line from rest");
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
    rmSync(work, { recursive: true, force: true });
  }
});
