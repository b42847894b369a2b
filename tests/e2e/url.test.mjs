// URL round trip: knobs changed through the UI (keyboard on sliders, a select, a checkbox) are in
// the fragment within 500 ms, and the fragment opened in a new page gives the same patch text and
// the same controls.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { CLI, requireArtifacts, startServer, launchBrowser, closePage, openReady, sleep } from "./harness.mjs";

let server, browser;

before(async () => {
  requireArtifacts(CLI);
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Every control's state, every value display, and the fragment. */
function snapshot(page) {
  return page.evaluate(() => {
    const controls = {};
    for (const el of document.querySelectorAll("[data-key]")) {
      controls[el.dataset.key] = {
        value: el.type === "checkbox" ? el.checked : el.value,
        paramValue: el.getAttribute("data-param-value"),
      };
    }
    const displays = {};
    for (const el of document.querySelectorAll("[data-value-for]")) displays[el.dataset.valueFor] = el.textContent.trim();
    return { fragment: location.hash, controls, displays };
  });
}

const field = (fragment, key) => fragment.replace(/^#/, "").split("&").find((f) => f.startsWith(`${key}=`))?.slice(key.length + 1);

/** Runs `act`, then waits for the fragment to change; returns the ms it took (node-side). */
async function changeAndWait(page, what, act) {
  const before = await page.evaluate(() => location.hash);
  const started = performance.now();
  await act();
  try {
    await page.waitForFunction((prev) => location.hash !== prev, before, { timeout: 3000, polling: 10 });
  } catch {
    throw new Error(`the fragment did not change within 3 s after: ${what}`);
  }
  return performance.now() - started;
}

test("UI changes → fragment → new page: same patch text, same controls", { timeout: 90_000 }, async (t) => {
  const a = await openReady(browser, `${server.url}/`);
  let b;
  try {
    const defaults = await snapshot(a);
    const defaultText = execFileSync(CLI, ["patch", ""], { encoding: "utf8" }).trim();
    const slider = (key) => `input[type="range"][data-key="${key}"]`;
    const latencies = {};

    latencies["syn.cut ArrowRight×3"] = await changeAndWait(a, "ArrowRight on syn.cut", async () => {
      await a.focus(slider("syn.cut"));
      for (let i = 0; i < 3; i++) await a.keyboard.press("ArrowRight");
    });
    latencies["swing End"] = await changeAndWait(a, "End on swing", async () => {
      await a.focus(slider("swing"));
      await a.keyboard.press("End");
    });
    latencies["lfo.depth1 ArrowLeft×2"] = await changeAndWait(a, "ArrowLeft on lfo.depth1", async () => {
      await a.focus(slider("lfo.depth1"));
      await a.keyboard.press("ArrowLeft");
      await a.keyboard.press("ArrowLeft");
    });
    // A network-shaping parameter: the arpeggiator's reservoir is rebuilt.
    latencies["arp.n ArrowRight"] = await changeAndWait(a, "ArrowRight on arp.n", async () => {
      await a.focus(slider("arp.n"));
      await a.keyboard.press("ArrowRight");
    });
    latencies["arp.mode updown"] = await changeAndWait(a, "selectOption arp.mode", () => a.selectOption('select[data-key="arp.mode"]', "updown"));
    latencies["lfo.pulse bar"] = await changeAndWait(a, "selectOption lfo.pulse", () => a.selectOption('select[data-key="lfo.pulse"]', "bar"));
    latencies["syn.wave square"] = await changeAndWait(a, "selectOption syn.wave", () => a.selectOption('select[data-key="syn.wave"]', "square"));
    latencies["arp.hold check"] = await changeAndWait(a, "check arp.hold", () => a.check('input[type="checkbox"][data-key="arp.hold"]'));
    t.diagnostic(`fragment update latency (ms, incl. Playwright round trips): ${Object.entries(latencies).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
    console.log(JSON.stringify({ test: "url-latency", ms: Object.fromEntries(Object.entries(latencies).map(([k, v]) => [k, Math.round(v)])) }));
    await sleep(600); // let any debounced write settle
    const changed = await snapshot(a);

    // The fragment is canonical patch text: `tidepool patch` (the native codec) leaves it as is.
    assert.match(changed.fragment, /^#tp1&/, "the fragment is patch text");
    const canonical = execFileSync(CLI, ["patch", changed.fragment.slice(1)], { encoding: "utf8" }).trim();
    assert.equal(changed.fragment.slice(1), canonical, "the fragment is the canonical text `tidepool patch` prints");

    // The changes happened, in the controls and in the fragment, and nothing else moved.
    const keys = ["syn.cut", "swing", "lfo.depth1", "arp.n", "arp.mode", "lfo.pulse", "syn.wave", "arp.hold"];
    for (const key of keys) {
      assert.notDeepEqual(changed.controls[key], defaults.controls[key], `${key} control changed`);
      assert.notEqual(field(changed.fragment, key), field(defaultText, key), `${key} changed in the fragment`);
    }
    for (const key of Object.keys(defaults.controls).filter((k) => !keys.includes(k))) {
      assert.deepEqual(changed.controls[key], defaults.controls[key], `${key} did not move`);
    }
    assert.equal(field(changed.fragment, "arp.mode"), "updown");
    assert.equal(field(changed.fragment, "lfo.pulse"), "bar");
    assert.equal(field(changed.fragment, "syn.wave"), "square");
    assert.equal(field(changed.fragment, "arp.hold"), "1");
    assert.equal(field(changed.fragment, "swing"), "75", "End puts swing at its maximum");
    assert.ok(Number(field(changed.fragment, "syn.cut")) > 1800, "ArrowRight raised the cutoff");
    assert.ok(Number(field(changed.fragment, "lfo.depth1")) < 0.5, "ArrowLeft lowered the depth");
    assert.ok(Number(field(changed.fragment, "arp.n")) > 100, "ArrowRight added arp neurons");
    for (const key of ["syn.cut", "swing", "lfo.depth1", "arp.n"]) {
      assert.equal(Number(changed.controls[key].paramValue), Number(field(changed.fragment, key)), `${key}: data-param-value matches the fragment`);
    }
    for (const [k, ms] of Object.entries(latencies)) assert.ok(ms < 600, `fragment updated within 500 ms (+100 ms measuring) after ${k}: ${ms.toFixed(0)} ms`);

    // The same URL in a new context.
    const url = await a.evaluate(() => location.href);
    b = await openReady(browser, url);
    const reopened = await snapshot(b);
    assert.equal(reopened.fragment, changed.fragment, "the reopened page's patch text is the same");
    assert.deepEqual(reopened.controls, changed.controls, "every control has the same value");
    assert.deepEqual(reopened.displays, changed.displays, "every value display reads the same");
    assert.equal(await b.locator("#messages").isHidden(), true, "the page's own URL has no bad fields");
    assert.deepEqual(a.problems.filter((p) => !p.startsWith("console.warning")), [], "page A: no console errors or page errors");
    assert.deepEqual(b.problems.filter((p) => !p.startsWith("console.warning")), [], "page B: no console errors or page errors");
  } finally {
    await closePage(a);
    if (b) await closePage(b);
  }
});
