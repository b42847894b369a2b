// The Presets panel in headless Chromium: a factory preset loads (URL and knobs change), a user
// preset is saved, renamed, found again after a reload, exported (the downloaded text is the
// patch) and imported back (the same patch), a file with bad fields loads its valid fields and
// names the ignored ones, Undo restores the patch from before a load in one step, Delete forgets
// a preset; and notes held while presets that change the network sizes load leave nothing on.

import { before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { CLI, chooseOutput, closePage, errorsOf, midi, openReady, requireArtifacts, sentNotes, serverAndBrowser, sleep, stuckNotes } from "./harness.mjs";

before(() => requireArtifacts(CLI));
const ctx = serverAndBrowser();

const field = (hash, key) => hash.replace(/^#/, "").split("&").find((f) => f.startsWith(`${key}=`))?.slice(key.length + 1);
const hash = (page) => page.evaluate(() => location.hash);
const knob = (page, key) => page.getAttribute(`[data-key="${key}"]`, "data-param-value");

/** Waits until the factory bank is in the list; returns the names of its presets. */
async function factoryNames(page) {
  await page.waitForFunction(() => document.querySelectorAll('#preset-select option[value^="factory:"]').length >= 16, null, { timeout: 10_000 });
  return page.$$eval('#preset-select option[value^="factory:"]', (os) => os.map((o) => o.textContent));
}

/** The option value of the preset called `name` (factory or user). */
async function optionOf(page, name) {
  const value = await page.$$eval("#preset-select option", (os, n) => os.find((o) => o.textContent === n)?.value ?? null, name);
  assert.ok(value, `a preset called “${name}” is in the list`);
  return value;
}

async function loadPreset(page, name) {
  await page.selectOption("#preset-select", await optionOf(page, name));
  await page.click("#preset-load");
}

/** Sets the file input to a text file and waits for the import to change the URL. */
async function importText(page, name, text) {
  const before = await hash(page);
  await page.setInputFiles("#preset-file", { name, mimeType: "text/plain", buffer: Buffer.from(text) });
  await page.waitForFunction((prev) => location.hash !== prev, before, { timeout: 5000 });
}

test("presets: factory load, save, rename, reload, export, import, bad fields, undo, delete", { timeout: 120_000 }, async () => {
  // Opened on a canonical patch (`tidepool patch` writes it), so the URL Undo writes back can be
  // compared as text.
  const opened = execFileSync(CLI, ["patch", "tp1&bpm=133&syn.cut=700"], { encoding: "utf8" }).trim();
  const page = await openReady(ctx.browser, `${ctx.server.url}/#${opened}`);
  try {
    const names = await factoryNames(page);
    assert.ok(names.includes("Clockwork") && names.includes("Sine swell"), `factory names: ${names.join(", ")}`);

    // A factory preset: the URL and the knobs change to its values.
    const start = await hash(page);
    assert.equal(start, `#${opened}`);
    await loadPreset(page, "Clockwork");
    const clockwork = await hash(page);
    assert.equal(field(clockwork, "arp.beta"), "1000", "the URL has the preset's β");
    assert.equal(field(clockwork, "arp.n"), "40");
    assert.equal(Number(await knob(page, "arp.beta")), 1000, "the β knob moved");
    assert.equal(Number(await knob(page, "syn.cut")), 2500, "the cutoff knob moved");
    assert.match(await page.textContent("#preset-description"), /1000/);

    // Undo restores the patch from before the load, in one step.
    await page.click("#preset-undo");
    assert.equal(await hash(page), start, "Undo restores the URL");
    assert.equal(Number(await knob(page, "arp.beta")), Number(field(start, "arp.beta")), "and the knobs");
    assert.equal(await page.isDisabled("#preset-undo"), true, "nothing more to undo");
    await loadPreset(page, "Clockwork");

    // Save the current patch as a user preset, then rename it.
    await page.fill("#preset-name", "My clock");
    await page.click("#preset-save");
    await optionOf(page, "My clock");
    await page.fill("#preset-name", "Clock, renamed");
    await page.click("#preset-rename");
    await optionOf(page, "Clock, renamed");
    assert.equal(await page.$$eval("#preset-select option", (os) => os.filter((o) => o.textContent === "My clock").length), 0, "the old name is gone");

    // A reload finds it again (localStorage), with the patch it was saved with.
    await page.reload();
    await factoryNames(page);
    const renamed = await optionOf(page, "Clock, renamed");
    assert.match(renamed, /^user:/);
    const stored = await page.evaluate(() => JSON.parse(localStorage.getItem("tidepool.presets.v1")));
    assert.deepEqual(stored.map((p) => p.name), ["Clock, renamed"]);
    assert.equal(`#${stored[0].patch}`, clockwork, "saved with the loaded patch");

    // Export: the downloaded file is the patch text.
    await page.selectOption("#preset-select", renamed);
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#preset-export")]);
    assert.equal(download.suggestedFilename(), "clock-renamed.tidepool.txt");
    const exported = (await readFile(await download.path(), "utf8")).trim();
    assert.equal(exported, stored[0].patch, "the exported file is the preset's patch text");

    // Import it back over another patch: the same patch again.
    await loadPreset(page, "Sine swell");
    assert.notEqual(await hash(page), clockwork);
    await importText(page, "clock-renamed.tidepool.txt", `${exported}\n`);
    assert.equal(await hash(page), `#${exported}`, "importing the export gives the same patch");
    assert.equal(await page.locator("#messages").isHidden(), true, "a clean file has no message");
    await optionOf(page, "clock-renamed");

    // A file with unknown and bad fields: the valid ones apply, the message names the others.
    const betaBefore = field(await hash(page), "arp.beta");
    await importText(page, "odd.txt", "tp1&bpm=90&warp.drive=9&arp.beta=lots&syn.cut=999\n");
    const odd = await hash(page);
    assert.equal(field(odd, "bpm"), "90");
    assert.equal(field(odd, "syn.cut"), "999");
    assert.equal(field(odd, "arp.beta"), "3", "a field missing or bad in a preset file takes its default, like a link");
    assert.notEqual(betaBefore, "3");
    assert.equal(Number(await knob(page, "bpm")), 90, "the tempo knob shows the file's value");
    assert.equal(await page.locator("#messages").isVisible(), true, "the message box shows");
    const message = await page.textContent("#messages");
    assert.match(message, /warp\.drive/, "names the unknown field");
    assert.match(message, /arp\.beta/, "names the bad field");
    assert.match(await page.textContent("#preset-status"), /2 field\(s\) ignored/);

    // Undo the import: back to the patch before it.
    await page.click("#preset-undo");
    assert.equal(await hash(page), `#${exported}`);

    // Delete forgets a user preset, also in storage.
    await page.selectOption("#preset-select", await optionOf(page, "odd"));
    await page.click("#preset-delete");
    assert.equal(await page.$$eval("#preset-select option", (os) => os.some((o) => o.textContent === "odd")), false);
    const left = await page.evaluate(() => JSON.parse(localStorage.getItem("tidepool.presets.v1")).map((p) => p.name));
    assert.deepEqual(left, ["Clock, renamed", "clock-renamed"]);
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});

test("presets: notes held while presets change the network sizes are all ended", { timeout: 90_000 }, async () => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/`);
  try {
    await factoryNames(page);
    await chooseOutput(page);
    // Long gates so arpeggio notes are sounding when a load lands.
    await page.evaluate(() => { location.hash = "#tp1&arp.mode=reservoir&arp.gate=1&arp.div=1/8"; });
    await page.waitForFunction(() => location.hash.includes("arp.gate=1"));
    for (const p of [60, 64, 67]) await midi(page, [0x90, p, 100]);
    await sleep(700);
    const loads = [];
    // 300 arp neurons and 500 LFO ones, then 20 and 6: both networks rebuilt and swapped twice.
    for (const name of ["Chaos garden", "Free fall", "Sine swell", "Clockwork"]) {
      await loadPreset(page, name);
      loads.push({ name, hash: await hash(page), at: await page.evaluate(() => performance.now()) });
      await sleep(700);
    }
    assert.equal(field(loads[0].hash, "arp.n"), "300");
    assert.equal(field(loads[1].hash, "arp.n"), "20");
    assert.notEqual(field(loads[2].hash, "lfo.n"), field(loads[1].hash, "lfo.n"));
    for (const p of [60, 64, 67]) await midi(page, [0x80, p, 0]);
    await sleep(1500);
    const events = await sentNotes(page);
    const after = events.filter((e) => e.on && e.at > loads[0].at);
    assert.ok(after.length >= 4, `the arpeggio played on through the loads (${after.length} notes after the first)`);
    assert.deepEqual(stuckNotes(events), [], "no note left on at the MIDI output");
    assert.deepEqual(errorsOf(page), [], "no console errors or page errors");
  } finally {
    await closePage(page);
  }
});
