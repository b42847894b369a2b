// The performance round trip: record a short performance in the page (computer keys, a MIDI note,
// a knob move), render it in the page's worker, and check the WAV is bit for bit the one
// `tidepool render --performance` writes from the same file, the MIDI file closes every note, and
// the recording is still there after a reload.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CLI, ROOT, serverAndBrowser, openReady, closePage, midi, sleep, waitForState } from "./harness.mjs";

const ctx = serverAndBrowser({ workDir: "tidepool-record-" });

/** Clicks a download link and returns the file's bytes. */
async function download(page, selector) {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  const to = path.join(ctx.work, file.suggestedFilename());
  await file.saveAs(to);
  return readFileSync(to);
}

const panelState = (page, state, timeout = 20_000) =>
  page.waitForSelector(`#record-panel[data-state="${state}"]`, { state: "attached", timeout });

/** A standard MIDI file's tracks: [{name, notes: [{channel, pitch, on, off}], unclosed, strayOffs}]. */
function readSmf(bytes) {
  assert.equal(bytes.toString("ascii", 0, 4), "MThd");
  const tracks = [];
  let at = 14;
  while (at < bytes.length) {
    assert.equal(bytes.toString("ascii", at, at + 4), "MTrk");
    const end = at + 8 + bytes.readUInt32BE(at + 4);
    let i = at + 8;
    let tick = 0;
    const vlq = () => {
      let v = 0;
      for (;;) {
        const b = bytes[i++];
        v = v * 128 + (b & 0x7f);
        if (b < 0x80) return v;
      }
    };
    const track = { name: "", notes: [], unclosed: 0, strayOffs: 0 };
    const open = new Map();
    while (i < end) {
      tick += vlq();
      const status = bytes[i++];
      if (status === 0xff) {
        const type = bytes[i++];
        const length = vlq();
        if (type === 0x03) track.name = bytes.toString("utf8", i, i + length);
        i += length;
      } else {
        assert.ok(status >= 0x80 && status < 0xf0, `a channel message at byte ${i - 1}`);
        const [pitch, velocity] = [bytes[i], bytes[i + 1]];
        i += 2;
        const kind = status & 0xf0;
        const key = `${status & 15}/${pitch}`;
        if (kind === 0x90 && velocity > 0) {
          if (open.has(key)) track.unclosed += 1;
          open.set(key, tick);
        } else if (kind === 0x80 || kind === 0x90) {
          if (!open.has(key)) track.strayOffs += 1;
          else track.notes.push({ channel: status & 15, pitch, on: open.get(key), off: tick });
          open.delete(key);
        }
      }
    }
    track.unclosed += open.size;
    tracks.push(track);
    at = end;
  }
  return tracks;
}

test("a recorded performance renders in the page bit for bit as the CLI renders it, and survives a reload", { timeout: 180_000 }, async (t) => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/`);
  try {
    // A key held when Record is pressed starts the recording at its frame 0.
    await page.keyboard.down("l");
    await page.click("#record");
    await panelState(page, "recording");
    await page.evaluate(() => document.activeElement?.blur());
    await page.keyboard.up("l");
    await page.keyboard.down("a");
    await page.keyboard.down("g");
    await sleep(400);
    await midi(page, [0x90, 72, 90]);
    await page.focus('input[data-key="syn.cut"]');
    for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowRight");
    await page.evaluate(() => document.activeElement?.blur());
    await sleep(400);
    await page.keyboard.up("a");
    await page.keyboard.up("g");
    await midi(page, [0x80, 72, 0]);
    await sleep(300);
    await page.click("#record");
    await panelState(page, "recorded");

    const performance = await download(page, "#record-performance");
    const perf = JSON.parse(performance.toString("utf8"));
    assert.equal(perf.format, "tidepool-performance");
    const kinds = perf.events.map((e) => (e[1] === "param" ? `param ${e[2]}` : e[1]));
    t.diagnostic(`${perf.frames} frames at ${perf.sample_rate} Hz, events: ${kinds.join(", ")}`);
    assert.deepEqual(perf.events[0], [0, "on", 74, 100], "the key held when Record was pressed");
    assert.ok(kinds.filter((k) => k === "on").length >= 4, "four note-ons (three keys, one MIDI note)");
    assert.ok(kinds.filter((k) => k === "off").length >= 4, "their note-offs");
    assert.ok(kinds.includes("param syn.cut"), "the knob move");
    assert.ok(perf.events.every((e) => e[0] >= 0 && e[0] <= perf.frames), "frames inside the recording");
    assert.ok(perf.frames > 0.8 * perf.sample_rate, `about a second recorded: ${perf.frames}`);

    await page.click("#record-render");
    await page.waitForSelector("#record-wav:not([hidden])", { timeout: 60_000 });
    const progress = await page.evaluate(() => {
      const bar = document.querySelector("#record-progress");
      return { value: bar.value, updates: Number(bar.dataset.updates) };
    });
    t.diagnostic(`progress: ${JSON.stringify(progress)}`);
    assert.equal(progress.value, 1, "the progress bar reached the end");
    assert.ok(progress.updates > 2, "the progress bar moved along the way");
    const pageWav = await download(page, "#record-wav");
    const pageMidi = await download(page, "#record-midi");

    const perfFile = path.join(ctx.work, "perf.json");
    const [cliWav, cliMidi] = [path.join(ctx.work, "cli.wav"), path.join(ctx.work, "cli.mid")];
    writeFileSync(perfFile, performance);
    execFileSync(CLI, ["render", "--performance", perfFile, "-o", cliWav, "--midi", cliMidi], { stdio: ["ignore", "pipe", "pipe"] });
    assert.equal(readFileSync(cliWav).length, 44 + 8 * perf.frames, "the CLI rendered the whole recording");
    assert.ok(pageWav.equals(readFileSync(cliWav)), "the page's WAV is the CLI's, bit for bit");
    assert.ok(pageMidi.equals(readFileSync(cliMidi)), "the page's MIDI file is the CLI's, byte for byte");
    const samples = new Float32Array(pageWav.buffer.slice(pageWav.byteOffset + 44, pageWav.byteOffset + pageWav.length));
    assert.ok(samples.some((s) => Math.abs(s) > 0.01), "the render is not silent");

    const tracks = readSmf(pageMidi);
    t.diagnostic(`MIDI tracks: ${tracks.map((k) => `${k.name} (${k.notes.length} notes)`).join(", ")}`);
    assert.deepEqual(tracks.map((k) => k.name).slice(0, 2), ["tidepool", "keys + arpeggio"]);
    assert.ok(tracks[1].notes.length >= 3, "the notes played are in the keys track");
    assert.deepEqual(tracks.map((k) => [k.unclosed, k.strayOffs]), tracks.map(() => [0, 0]), "every note closed");

    await page.reload();
    await panelState(page, "recorded");
    const status = await page.locator("#record-status").innerText();
    assert.match(status, /Recorded \d/, status);
    const again = await download(page, "#record-performance");
    assert.ok(again.equals(performance), "the same recording after the reload");
    assert.deepEqual(page.problems, [], "no console errors or warnings, no page errors");

    // A reload while recording keeps what was saved so far (every 3 s).
    await page.click("#start");
    await page.waitForSelector("#record:not([disabled])");
    await page.evaluate(() => document.activeElement?.blur());
    await page.click("#record");
    await panelState(page, "recording");
    await page.evaluate(() => document.activeElement?.blur());
    await page.keyboard.down("j");
    await sleep(300);
    await page.keyboard.up("j");
    await sleep(3500);
    await page.reload();
    await panelState(page, "recorded");
    const cut = await page.locator("#record-status").innerText();
    assert.match(cut, /cut short/, cut);
    await page.click("#start");
    await waitForState(page, "ready");
    assert.ok(await page.locator("#record").isDisabled(), "a recording not yet exported is not replaced");
    const partial = JSON.parse((await download(page, "#record-performance")).toString("utf8"));
    t.diagnostic(`cut short: ${partial.frames} frames, events ${JSON.stringify(partial.events)}`);
    assert.deepEqual(partial.events.map((e) => e[1]), ["on", "off"], "the note played before the reload");
    assert.ok(partial.frames >= partial.events[1][0], "the length covers the events");

    assert.ok(await page.locator("#record").isEnabled(), "once exported it may be replaced");
    // Discarding forgets it, also after a reload.
    await page.click("#record-discard");
    await panelState(page, "idle");
    await page.reload();
    await page.waitForSelector("#record-panel[data-restored]", { state: "attached" });
    assert.equal(await page.locator("#record-panel").getAttribute("data-state"), "idle");
    assert.ok(await page.locator("#record-performance").isHidden(), "nothing to download");
  } finally {
    await closePage(page);
  }
});

test("a five-minute recording with the melody renders in the worker without stalling the page, as the CLI renders it", { timeout: 240_000 }, async (t) => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/`);
  try {
    // A synthetic performance: a chord every two seconds and a knob sweep, 5 minutes at 48 kHz,
    // with the melody LSTM playing (the worker fetches the model file the CLI reads).
    const sampleRate = 48000;
    const frames = 300 * sampleRate;
    const events = [];
    for (let s = 0; s < 300; s += 2) {
      for (const pitch of [60, 63, 67]) events.push([s * sampleRate, "on", pitch + (s % 12), 100]);
      for (const pitch of [60, 63, 67]) events.push([(s + 1.5) * sampleRate, "off", pitch + (s % 12)]);
      events.push([s * sampleRate + 100, "param", "syn.cut", 400 + 20 * s]);
    }
    const head = { format: "tidepool-performance", version: 1, sample_rate: sampleRate, frames, patch: "tp1&mel.mode=free&mel.seed=3" };
    const json = `${JSON.stringify(head).slice(0, -1)},"events":${JSON.stringify(events)}}`;
    await page.evaluate(
      (kept) =>
        new Promise((resolve, reject) => {
          const open = indexedDB.open("tidepool", 1);
          open.onupgradeneeded = () => open.result.createObjectStore("recordings");
          open.onsuccess = () => {
            const tx = open.result.transaction("recordings", "readwrite");
            tx.objectStore("recordings").put(kept, "last");
            tx.oncomplete = () => (open.result.close(), resolve());
            tx.onerror = () => reject(tx.error);
          };
        }),
      { json, seconds: 300, events: events.length, dropped: 0, at: 1, exported: false, cut: false },
    );
    await page.reload();
    await panelState(page, "recorded");
    // The main thread's longest gap between 5 ms timer ticks while the worker renders.
    await page.evaluate(() => {
      window.__gaps = { last: performance.now(), worst: 0 };
      window.__gapTimer = setInterval(() => {
        const now = performance.now();
        window.__gaps.worst = Math.max(window.__gaps.worst, now - window.__gaps.last);
        window.__gaps.last = now;
      }, 5);
    });
    const started = Date.now();
    await page.click("#record-render");
    await page.waitForSelector("#record-wav:not([hidden])", { timeout: 150_000 });
    const took = Date.now() - started;
    const { worst, updates } = await page.evaluate(() => {
      clearInterval(window.__gapTimer);
      return { worst: window.__gaps.worst, updates: Number(document.querySelector("#record-progress").dataset.updates) };
    });
    t.diagnostic(`5 min rendered in ${took} ms (${(300_000 / took).toFixed(0)}x real time), ${updates} progress updates, worst main-thread gap ${worst.toFixed(1)} ms`);
    assert.ok(updates >= 100, `progress reported along the way: ${updates}`);
    // The WAV's bytes arrive in one transferred buffer; only the Blob for the link is made here.
    assert.ok(worst < 250, `the page kept running during the render: worst gap ${worst.toFixed(1)} ms`);
    const wav = await download(page, "#record-wav");
    assert.equal(wav.length, 44 + 8 * frames);
    const perfFile = path.join(ctx.work, "long.json");
    writeFileSync(perfFile, json);
    const [cliWav, cliMidi] = [path.join(ctx.work, "long.wav"), path.join(ctx.work, "long.mid")];
    execFileSync(CLI, ["render", "--performance", perfFile, "-o", cliWav, "--midi", cliMidi], { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT });
    assert.ok(wav.equals(readFileSync(cliWav)), "the page's WAV is the CLI's, bit for bit");
    const tracks = readSmf(await download(page, "#record-midi"));
    t.diagnostic(`MIDI tracks: ${tracks.map((k) => `${k.name} (${k.notes.length} notes)`).join(", ")}`);
    assert.equal(tracks[2]?.name, "melody", "the melody played and has its track");
    assert.ok(tracks[2].notes.length > 20, `melody notes: ${tracks[2].notes.length}`);
    assert.deepEqual(page.problems, [], "no console errors or warnings, no page errors");
  } finally {
    await closePage(page);
  }
});
