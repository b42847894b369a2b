// MIDI clock in the page, both ways, through a fake Web MIDI: the ticks the engine sends keep an
// exact grid over 30 s (measured from the fake output's send timestamps), and an external clock
// with ±2 ms of jitter and a tempo change from 100 to 140 BPM is followed so that the arpeggio's
// notes go out on the sender's grid; when the clock falls silent the transport stops and no note
// is left on.

import { test } from "node:test";
import assert from "node:assert/strict";
import { chooseOutput, closePage, errorsOf, midi, openReady, serverAndBrowser, sleep, stuckNotes, splitSent } from "./harness.mjs";

const ctx = serverAndBrowser();

const sent = (page) => page.evaluate(() => window.__fakeMidi.sent);

/**
 * Init script: reads the worklet's "notes" messages before the page does and keeps, for every
 * clock Start (0xFA) and tick (0xF8) the engine sent, its engine frame and the worklet's origin
 * (context frame of engine frame 0) at that block, as `window.__clockTap`. An origin that grows
 * is Chromium skipping render quanta (an audio underrun of a loaded machine): what follows is
 * heard that much later, and the ticks are stamped so.
 */
function clockTapInit() {
  const Native = window.AudioWorkletNode;
  const tap = [];
  window.__clockTap = tap;
  window.AudioWorkletNode = class extends Native {
    constructor(...args) {
      super(...args);
      window.__clockTapRate = this.context.sampleRate;
      this.port.addEventListener("message", (e) => {
        const m = e.data;
        if (m?.type !== "notes") return;
        for (let i = 0; i < 5 * m.count; i += 5) {
          const byte = m.notes[i + 2] & 0xff;
          if (m.notes[i + 4] === 3 && (byte === 0xf8 || byte === 0xfa)) {
            tap.push({ byte, frame: m.notes[i + 1] * 2 ** 32 + m.notes[i], origin: m.origin });
          }
        }
      });
    }
  };
}

/** Least-squares line through `ys` (against 0, 1, 2 …): `{period, worst}` (worst residual). */
function evenGrid(ys) {
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let k = 0; k < n; k++) {
    sxy += (k - mx) * (ys[k] - my);
    sxx += (k - mx) ** 2;
  }
  const period = sxy / sxx;
  return { period, worst: Math.max(...ys.map((y, k) => Math.abs(y - (my + (k - mx) * period)))) };
}

test("MIDI clock out: 24 ticks a beat on a grid within 1 ms over 30 s, Start and Stop with the transport", { timeout: 90_000 }, async (t) => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/#tp1&bpm=120&clock.out=1&arp.mode=off`, { init: [{ fn: clockTapInit }] });
  try {
    await chooseOutput(page);
    // Stop and play again, so the output sees the transport's Stop and Start.
    const play = page.locator('input[data-key="play"]');
    await play.uncheck();
    await sleep(300);
    await play.check();
    await sleep(30_500);
    const messages = await sent(page);
    const stop = messages.findIndex((m) => m.data[0] === 0xfc);
    const start = messages.findIndex((m, i) => i > stop && m.data[0] === 0xfa);
    assert.ok(stop >= 0 && start > stop, "Stop, then Start, went out");
    const ticks = messages.slice(start).filter((m) => m.data.length === 1 && m.data[0] === 0xf8);
    assert.ok(ticks.length >= 30 * 48, `${ticks.length} ticks in 30 s (48 a second at 120 BPM)`);
    assert.equal(ticks[0].timestamp >= messages[start].timestamp, true, "the first tick comes with or after Start");
    const first = ticks.slice(0, 30 * 48);
    // The engine's ticks: a 24th of a beat apart in its own frames, to the frame.
    const tap = await page.evaluate(() => window.__clockTap);
    const tapStart = tap.findLastIndex((x) => x.byte === 0xfa);
    const engineTicks = tap.slice(tapStart + 1).filter((x) => x.byte === 0xf8).slice(0, first.length);
    assert.equal(engineTicks.length, first.length, "the tap saw every tick the output got");
    const sr = await page.evaluate(() => window.__clockTapRate);
    const step = (sr * 60) / 120 / 24;
    // (At 44.1 kHz a tick is 918.75 frames: each lands on the frame nearest its boundary.)
    engineTicks.forEach((x, k) => assert.ok(Math.abs(x.frame - engineTicks[0].frame - k * step) <= 0.5 + 1e-9, `engine tick ${k} on its exact frame (${x.frame - engineTicks[0].frame} for ${k * step})`));
    // Their timestamps: evenly spaced (the ideal grid, fitted), and 120 BPM's period.
    const stamps = first.map((m) => m.timestamp);
    const raw = evenGrid(stamps);
    // The same with what skipped render quanta moved taken out (reported, not hidden).
    const skippedMs = engineTicks.map((x) => ((x.origin - engineTicks[0].origin) / sr) * 1000);
    const steady = evenGrid(stamps.map((y, k) => y - skippedMs[k]));
    const skipped = skippedMs[skippedMs.length - 1];
    const ppm = (steady.period / (60_000 / 120 / 24) - 1) * 1e6;
    // How far ahead of its time each tick was handed to the port (the clock's lookahead).
    const leads = first.map((m) => m.timestamp - m.at);
    t.diagnostic(`clock out: ${first.length} ticks over 30 s; worst ${steady.worst.toFixed(3)} ms off an evenly spaced grid (${ppm.toFixed(0)} ppm from 120 BPM); ${raw.worst.toFixed(3)} ms counting the ${skipped.toFixed(2)} ms of render quanta Chromium skipped; sent ${Math.min(...leads).toFixed(1)}–${Math.max(...leads).toFixed(1)} ms ahead of their time`);
    assert.ok(Math.abs(ppm) < 100, `the ticks keep 120 BPM (${ppm.toFixed(0)} ppm off)`);
    assert.ok(steady.worst < 1, `ticks within 1 ms of the grid (worst ${steady.worst.toFixed(3)} ms)`);
    if (skipped === 0) assert.equal(raw.worst, steady.worst);
    assert.ok(Math.min(...leads) > 0, "every tick was sent ahead of its time");
    assert.deepEqual(errorsOf(page), []);
  } finally {
    await closePage(page);
  }
});

test("MIDI clock in: a jittery clock 100 -> 140 BPM is followed onto its grid; silence stops the transport cleanly", { timeout: 90_000 }, async (t) => {
  const page = await openReady(ctx.browser, `${ctx.server.url}/#tp1&clock.follow=1&arp.mode=up&arp.div=1/16&arp.gate=0.5`);
  try {
    await chooseOutput(page);
    for (const pitch of [60, 64, 67]) await midi(page, [0x90, pitch, 100]);
    // The sender, in the page: Start, then 16 beats at 100 BPM and 16 at 140, each tick stamped
    // with ±2 ms of uniform jitter (a seeded generator) and dispatched a little after its stamp.
    const plan = await page.evaluate(async () => {
      const ticks = 32 * 24;
      const change = 16 * 24;
      const t0 = performance.now() + 500;
      const ideal = (k) => (k <= change ? t0 + (k * 2500) / 100 : t0 + (change * 2500) / 100 + ((k - change) * 2500) / 140);
      let seed = 12345;
      const jitter = () => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return (seed / 2147483648) * 4 - 2;
      };
      const queue = [{ at: t0 - 20, bytes: [0xfa] }];
      for (let k = 0; k < ticks; k++) queue.push({ at: ideal(k) + jitter(), bytes: [0xf8] });
      await new Promise((resolve) => {
        const timer = setInterval(() => {
          const now = performance.now();
          while (queue.length && queue[0].at <= now) {
            const m = queue.shift();
            window.__fakeMidi.send("in-1", m.bytes, m.at);
          }
          if (!queue.length) {
            clearInterval(timer);
            resolve();
          }
        }, 2);
      });
      return { grid: Array.from({ length: ticks + 1 }, (_, k) => ideal(k)), ticks, change };
    });
    const shown = await page.locator("#clock-status").innerText();
    // The clock fell silent: after a beat the follower stops the transport.
    await sleep(1500);
    const events = splitSent(await sent(page));
    const ons = events.filter((e) => e.on && e.channel === 0 && [60, 64, 67].includes(e.pitch));
    const { grid, ticks, change } = plan;
    let worst = 0;
    let settled = 0;
    for (const e of ons) {
      if (e.timestamp > grid[ticks - 1] + 10) continue; // beyond the last tick: not the sender's grid
      let k = 0;
      for (let j = 0; j <= ticks; j += 6) if (Math.abs(grid[j] - e.timestamp) < Math.abs(grid[k] - e.timestamp)) k = j;
      if ((k >= 48 && k < change) || k >= change + 48) {
        worst = Math.max(worst, Math.abs(e.timestamp - grid[k]));
        settled += 1;
      }
    }
    t.diagnostic(`clock in: ${settled} arpeggio notes 2 beats after the start and after the change, worst ${worst.toFixed(3)} ms off the sender's grid; page showed "${shown}"`);
    assert.ok(settled >= 90, `${settled} settled notes`);
    assert.ok(worst < 2, `notes within 2 ms of the followed grid (worst ${worst.toFixed(3)} ms)`);
    assert.match(shown, /Following the external MIDI clock: 1[34]\d\.\d BPM/);
    const bpm = Number(/([\d.]+) BPM/.exec(shown)[1]);
    assert.ok(Math.abs(bpm - 140) < 1, `followed tempo ${bpm}`);
    assert.deepEqual(stuckNotes(events), [], "no note left on after the clock stopped");
    assert.match(await page.locator("#clock-status").innerText(), /waiting for its Start or Continue/);
    assert.deepEqual(errorsOf(page), []);
  } finally {
    await closePage(page);
  }
});

test("LFO to MIDI CC: an output goes out as CC 74 on its channel, only on change, at most every 10 ms", { timeout: 60_000 }, async (t) => {
  // A fast free-running LFO (200 steps/s) so the value changes faster than the rate limit.
  const page = await openReady(ctx.browser, `${ctx.server.url}/#tp1&lfo.cc1=74&lfo.ccch=3&lfo.sync=free&lfo.hz=200&lfo.smooth=linear&arp.mode=off`);
  try {
    await chooseOutput(page);
    const from = await page.evaluate(() => performance.now());
    await sleep(3000);
    const ccs = (await sent(page)).filter((m) => m.timestamp > from + 200 && (m.data[0] & 0xf0) === 0xb0);
    const mine = ccs.filter((m) => m.data[0] === 0xb2 && m.data[1] === 74);
    const values = mine.map((m) => m.data[2]);
    const gaps = mine.slice(1).map((m, i) => m.timestamp - mine[i].timestamp);
    t.diagnostic(`${mine.length} CC 74 messages on channel 3 in about 2.8 s, values ${Math.min(...values)}–${Math.max(...values)}, shortest gap ${Math.min(...gaps).toFixed(2)} ms`);
    assert.equal(ccs.length, mine.length, "only CC 74 on channel 3 (output 2 has no CC)");
    assert.ok(mine.length >= 50, `the LFO's changes went out (${mine.length})`);
    assert.ok(mine.length <= 2.9 * 100 + 2, `at most 100 a second (${mine.length})`);
    assert.ok(Math.min(...gaps) >= 10 - 0.05, "at least 10 ms apart");
    assert.ok(values.slice(1).every((v, i) => v !== values[i]), "only changes are sent");
    assert.ok(new Set(values).size > 10, "the value moves");
    assert.deepEqual(errorsOf(page), []);
  } finally {
    await closePage(page);
  }
});
