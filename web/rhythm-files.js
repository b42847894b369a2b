// The musician's files for the rhythm data set: dropped on the drop zone or picked. MIDI files go
// to the worker as bytes; audio (WAV, FLAC, OGG, MP3: whatever the browser decodes) is decoded
// here with decodeAudioData, mixed to mono, and its samples go to the worker, which finds the
// onsets. A file that gives nothing is named with its reason; the others are used.

import { element } from "./dom.js";

// The same limit as `tidepool rhythm dataset` (crates/rhythm/src/dataset.rs MAX_FILE_BYTES);
// the worker's rhythm_file_limit() says so too (checked by tests/e2e/rhythm.test.mjs).
export const FILE_LIMIT_BYTES = 64 << 20;
// Decoded audio longer than this is refused: ten minutes of loops is hundreds of rhythms, and a
// long file would take hundreds of megabytes once decoded.
export const AUDIO_LIMIT_S = 600;
// Audio is decoded at this rate (decodeAudioData resamples to its context's rate).
const DECODE_RATE = 44100;

const bytesText = (n) => n.toLocaleString("en");

function isMidi(bytes) {
  return bytes.length >= 4 && bytes[0] === 0x4d && bytes[1] === 0x54 && bytes[2] === 0x68 && bytes[3] === 0x64; // "MThd"
}

/** The file's samples, mono, or throws with the reason the browser gave. */
async function decodeAudio(buffer) {
  const context = new OfflineAudioContext(1, 1, DECODE_RATE);
  let audio;
  try {
    audio = await context.decodeAudioData(buffer);
  } catch (e) {
    throw new Error("neither a MIDI file nor audio this browser can decode");
  }
  if (audio.duration > AUDIO_LIMIT_S) {
    throw new Error(`${Math.round(audio.duration)} s of audio is over the limit of ${AUDIO_LIMIT_S / 60} minutes`);
  }
  const mono = new Float32Array(audio.length);
  for (let c = 0; c < audio.numberOfChannels; c++) {
    const channel = audio.getChannelData(c);
    for (let i = 0; i < mono.length; i++) mono[i] += channel[i] / audio.numberOfChannels;
  }
  return { samples: mono, sampleRate: audio.sampleRate };
}

/**
 * Adds `files` to the worker's data set (`trainer`: a RhythmTrainer client) with the loop grid
 * `tempo` ({bars, bpm}: NaN when not given). Resolves `{added: [{file, count}], refused: [{file,
 * reason}], total}`; one file's failure never stops the others.
 */
export async function addFiles(files, trainer, tempo) {
  const added = [];
  const refused = [];
  let total = null;
  for (const file of files) {
    try {
      if (file.size > FILE_LIMIT_BYTES) {
        throw new Error(`${bytesText(file.size)} bytes is over the limit of ${FILE_LIMIT_BYTES >> 20} MB (${bytesText(FILE_LIMIT_BYTES)} bytes)`);
      }
      if (file.size === 0) throw new Error("the file is empty");
      const buffer = await file.arrayBuffer();
      const bytes = new Uint8Array(buffer);
      let result;
      if (isMidi(bytes)) {
        result = await trainer.request("add-midi", { name: file.name, bytes }, [buffer]);
      } else {
        const { samples, sampleRate } = await decodeAudio(buffer);
        result = await trainer.request("add-audio", { name: file.name, samples, sampleRate, ...tempo }, [samples.buffer]);
      }
      added.push({ file: file.name, count: result.added });
      total = result.total;
    } catch (e) {
      refused.push({ file: file.name, reason: e.message || String(e) });
    }
  }
  return { added, refused, total };
}

/**
 * Shows the refused files in the page's messages box (`box`, #messages), each named with its
 * reason, in a part of the box of its own (a patch's ignored settings stay).
 */
export function showRefused(box, refused, usedCount) {
  box.querySelector('[data-part="rhythm-files"]')?.remove();
  if (refused.length === 0) {
    box.hidden = box.childElementCount === 0;
    return;
  }
  const part = element("div");
  part.dataset.part = "rhythm-files";
  const files = refused.length === 1 ? "One file was" : `${refused.length} files were`;
  const rest = usedCount > 0 ? `; the other ${usedCount === 1 ? "file was" : `${usedCount} were`} added to the rhythm data set` : "";
  part.append(element("p", "", `${files} not used for rhythm training${rest}:`));
  const list = element("ul");
  for (const r of refused) list.append(element("li", "", `${r.file}: ${r.reason}`));
  const dismiss = element("button", "dismiss", "Dismiss");
  dismiss.type = "button";
  dismiss.addEventListener("click", () => showRefused(box, [], 0));
  part.append(list, dismiss);
  box.append(part);
  box.hidden = false;
}

/** Makes `zone` take dropped files and `picker` (a file input) picked ones: `onFiles(FileList)`. */
export function acceptFiles(zone, picker, onFiles) {
  zone.addEventListener("dragover", (e) => {
    if (![...(e.dataTransfer?.types ?? [])].includes("Files")) return;
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer?.files?.length) onFiles([...e.dataTransfer.files]);
  });
  picker.addEventListener("change", () => {
    if (picker.files.length) onFiles([...picker.files]);
    picker.value = "";
  });
}
