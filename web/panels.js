// Where each parameter goes: the panels' sections in musical order, the LFO outputs as one row per
// output, Reseed buttons for the two networks, and dimming of controls the current settings make
// irrelevant (they stay operable). Any parameter not placed here still gets a control in a "More"
// section of its group's panel, so a new row in the table always shows up.

import { createControl } from "./controls.js";
import { COLORS } from "./canvas.js";
import { element } from "./dom.js";

const SECTIONS = {
  transport: [{ keys: ["play", "bpm", "bpb", "swing"] }],
  lfo: [
    { title: "Network", network: "lfo", keys: ["lfo.n", "lfo.conn", "lfo.seed", "lfo.sr", "lfo.leak", "lfo.in", "lfo.fb", "lfo.bias", "lfo.out"] },
    { title: "Rate", keys: ["lfo.sync", "lfo.div", "lfo.hz", "lfo.smooth"] },
    { title: "Pulse input", keys: ["lfo.pulse", "lfo.pk", "lfo.pamp"] },
    { title: "Outputs", keys: ["lfo.outs", "lfo.cents"], outputs: 4 },
  ],
  arp: [
    { title: "Playing", keys: ["arp.mode", "arp.div", "arp.gate", "arp.swing", "arp.oct", "arp.hold", "arp.vel", "arp.fixv"] },
    { title: "Network", network: "arp", keys: ["arp.n", "arp.conn", "arp.seed", "arp.sr", "arp.leak", "arp.fb", "arp.bias", "arp.out", "arp.beta"] },
  ],
  melody: [
    { title: "Generator", keys: ["mel.mode", "mel.model", "mel.temp", "mel.dens", "mel.seed"] },
    { title: "Key and answer", keys: ["mel.key", "mel.lo", "mel.hi", "mel.bars"] },
    { title: "Voice", keys: ["mel.vel", "mel.wave", "mel.cut", "mel.a", "mel.r", "mel.gain"] },
    { title: "Markov chain (learns from your playing)", keys: ["mk.forget"] },
  ],
  synth: [
    { title: "Oscillators", keys: ["syn.wave", "syn.detune", "syn.osc2"] },
    { title: "Filter", keys: ["syn.cut", "syn.res", "syn.fenv"] },
    { title: "Envelope", keys: ["syn.a", "syn.d", "syn.s", "syn.r"] },
    { title: "Output", keys: ["syn.poly", "syn.gain"] },
  ],
};

const NETWORK_NAMES = { lfo: "LFO", arp: "arpeggiator" };

/** Fills each group's container (`containers.lfo` …) with its controls. */
export function buildPanels(containers, state) {
  const placed = new Set();
  for (const [group, sections] of Object.entries(SECTIONS)) {
    const container = containers[group];
    if (!container) continue;
    for (const section of sections) {
      const keys = section.keys.filter((k) => state.spec(k));
      keys.forEach((k) => placed.add(k));
      const box = sectionBox(section.title, section.network && reseedButton(section.network, state));
      if (section.network) box.dataset.network = section.network;
      const grid = element("div", "control-grid");
      for (const key of keys) grid.append(createControl(state.spec(key), state));
      box.append(grid);
      if (section.outputs) box.append(outputsTable(section.outputs, state, placed));
      container.append(box);
    }
  }
  for (const group of Object.keys(containers)) {
    const rest = state.table.filter((p) => p.group === group && !placed.has(p.key));
    if (rest.length === 0) continue;
    const box = sectionBox("More");
    const grid = element("div", "control-grid");
    for (const spec of rest) grid.append(createControl(spec, state));
    box.append(grid);
    containers[group].append(box);
  }
  const relevance = () => markRelevance(state);
  state.addEventListener("change", relevance);
  relevance();
}

/** One row per LFO output: destination, depth and offset side by side. */
function outputsTable(count, state, placed) {
  const table = element("div", "outputs");
  table.setAttribute("role", "group");
  table.setAttribute("aria-label", "LFO outputs: destination, depth and offset of each");
  const head = element("div", "outputs-row outputs-head");
  head.setAttribute("aria-hidden", "true");
  for (const text of ["", "Destination", "Depth", "Offset"]) head.append(element("span", "", text));
  table.append(head);
  for (let k = 1; k <= count; k++) {
    const keys = [`lfo.dest${k}`, `lfo.depth${k}`, `lfo.off${k}`].filter((key) => state.spec(key));
    const row = element("div", "outputs-row");
    row.dataset.output = String(k);
    const badge = element("span", "output-badge", String(k));
    badge.style.setProperty("--swatch", COLORS.outputs[k - 1]);
    badge.title = `Output ${k} (its trace in the scope has this colour)`;
    row.append(badge);
    for (const key of keys) {
      placed.add(key);
      const shortLabel = { dest: "Destination", depth: "Depth", off: "Offset" }[key.slice(4, -1)];
      row.append(createControl(state.spec(key), state, { hideLabel: true, shortLabel }));
    }
    table.append(row);
  }
  return table;
}

function reseedButton(network, state) {
  const button = element("button", "reseed", "Reseed");
  button.type = "button";
  button.setAttribute("aria-label", `Reseed the ${NETWORK_NAMES[network]} network`);
  button.title = "A new random network (new seed) of the same size";
  button.addEventListener("click", () => {
    const seed = crypto.getRandomValues(new Uint32Array(1))[0];
    state.set(`${network}.seed`, seed);
  });
  return button;
}

/** Dims what the current settings make irrelevant: it still works, it just does nothing now. */
function markRelevance(state) {
  const choice = (key) => state.spec(key)?.choices[state.value(key)];
  const outputs = state.value("lfo.outs");
  const dests = [1, 2, 3, 4].filter((k) => k <= outputs).map((k) => choice(`lfo.dest${k}`));
  const idle = {
    "lfo.div": choice("lfo.sync") === "free",
    "lfo.hz": choice("lfo.sync") === "sync",
    "lfo.pk": choice("lfo.pulse") !== "steps",
    "lfo.pamp": choice("lfo.pulse") === "off",
    "lfo.cents": !dests.includes("pitch"),
    "arp.fixv": choice("arp.vel") !== "fixed",
  };
  for (const [key, off] of Object.entries(idle)) {
    document.querySelector(`[data-control="${key}"]`)?.classList.toggle("idle", off);
  }
  document.querySelectorAll("[data-output]").forEach((row) => {
    const k = Number(row.dataset.output);
    row.classList.toggle("idle", k > outputs || choice(`lfo.dest${k}`) === "none");
  });
  const network = document.querySelector('[data-network="arp"]');
  network?.classList.toggle("idle", choice("arp.mode") !== "reservoir");
}

function sectionBox(title, extra) {
  const box = element("section", "control-section");
  if (title) {
    const head = element("div", "section-head");
    head.append(element("h3", "", title));
    if (extra) head.append(extra);
    box.append(head);
  }
  return box;
}
