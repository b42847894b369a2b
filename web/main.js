// Page bootstrap: compiles the wasm at load, starts audio on the user's gesture.
import { loadWasm, parsePatch, Instrument } from "./engine.js";

const status = document.getElementById("status");
const startButton = document.getElementById("start");
let instrument = null;

async function start() {
  startButton.disabled = true;
  const context = new AudioContext();
  const patch = parsePatch(location.hash.slice(1) || "").text;
  instrument = await Instrument.create(context, patch);
  await context.resume();
  status.textContent = "Playing";
  status.dataset.state = "ready";
}

loadWasm().then(() => {
  status.textContent = "Ready: press Start audio";
  status.dataset.state = "loaded";
  startButton.addEventListener("click", start);
});

window.addEventListener("keydown", (e) => {
  if (instrument && e.key === "a" && !e.repeat) instrument.noteOn(60, 100, e.timeStamp);
});
window.addEventListener("keyup", (e) => {
  if (instrument && e.key === "a") instrument.noteOff(60, e.timeStamp);
});
