"""librosa's default onset detection on every WAV in a folder, scored with mir_eval where the
true onsets are known: the reference the Rust onset detector is tested against.

What it does
------------
For each ``NAME.wav`` (sorted by name) in the folder:

1. ``y, sr = librosa.load(path, sr=None)`` (the file's own rate, mono float32), as the issue
   asks the comparison to load.
2. ``envelope = librosa.onset.onset_strength(y=y, sr=sr)`` and
   ``frames = librosa.onset.onset_detect(y=y, sr=sr)`` with every default, ``times_s`` =
   ``librosa.frames_to_time(frames, sr=sr)``.
3. If ``NAME.truth.txt`` exists (one true onset time in seconds per line, written next to
   the WAV by the Rust test that rendered it), ``mir_eval.onset.f_measure(truth, times_s,
   window=0.05)``: F-measure, precision, recall.
4. ``fnv1a64``: FNV-1a over the little-endian float32 bytes of ``y``, the samples librosa
   saw. The Rust tests regenerate each signal and compare this fingerprint, so they know the
   committed numbers belong to their samples.

The JSON (``-o``) lists the files in name order with these fields, plus the versions of
librosa, mir_eval and numpy. Build and test never run this script; its output is committed
(tools/rhythm/librosa-onsets.json). ``onsets_librosa.sh`` regenerates everything: the Rust
tests write the WAVs, this script analyses them.

Usage: python tools/rhythm/onsets_librosa.py WAV_DIR -o tools/rhythm/librosa-onsets.json
"""

import argparse
import json
import sys
from pathlib import Path

import librosa
import mir_eval
import numpy as np

WINDOW_S = 0.05


def fnv1a64(samples: np.ndarray) -> str:
    """FNV-1a 64 over the samples' float32 little-endian bytes, in order."""
    data = np.ascontiguousarray(samples, dtype="<f4").tobytes()
    h = 0xCBF29CE484222325
    prime = 0x100000001B3
    mask = 0xFFFFFFFFFFFFFFFF
    for byte in data:
        h = ((h ^ byte) * prime) & mask
    return f"{h:016x}"


def short(x: float) -> float:
    """A float32 value written with the 9 significant digits that round-trip float32."""
    return float(f"{float(x):.9g}")


def analyse(wav: Path) -> dict:
    y, sr = librosa.load(wav, sr=None)
    if y.dtype != np.float32:
        raise SystemExit(f"{wav}: librosa loaded {y.dtype}, expected float32")
    envelope = librosa.onset.onset_strength(y=y, sr=sr)
    frames = librosa.onset.onset_detect(y=y, sr=sr)
    times = librosa.frames_to_time(frames, sr=sr)
    entry = {
        "name": wav.stem,
        "sr": sr,
        "samples": int(y.shape[0]),
        "fnv1a64": fnv1a64(y),
        "frames": [int(f) for f in frames],
        "times_s": [float(t) for t in times],
        "envelope": [short(v) for v in envelope],
    }
    truth_path = wav.with_suffix(".truth.txt")
    if truth_path.exists():
        truth = np.array(
            [float(line) for line in truth_path.read_text().split() if line.strip()]
        )
        f, p, r = mir_eval.onset.f_measure(truth, np.asarray(times), window=WINDOW_S)
        entry.update(
            {
                "truth_s": [float(t) for t in truth],
                "f_measure": float(f),
                "precision": float(p),
                "recall": float(r),
            }
        )
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("wav_dir", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    wavs = sorted(args.wav_dir.glob("*.wav"))
    if not wavs:
        raise SystemExit(f"no .wav files in {args.wav_dir}")
    files = []
    for wav in wavs:
        entry = analyse(wav)
        files.append(entry)
        score = f" F {entry['f_measure']:.3f}" if "f_measure" in entry else ""
        print(f"{entry['name']}: {len(entry['frames'])} onsets{score}", file=sys.stderr)
    out = {
        "tool": "tools/rhythm/onsets_librosa.py",
        "window_s": WINDOW_S,
        "versions": {
            "librosa": librosa.__version__,
            "mir_eval": mir_eval.__version__,
            "numpy": np.__version__,
        },
        "files": files,
    }
    args.output.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
