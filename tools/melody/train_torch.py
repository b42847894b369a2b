"""Train a melody LSTM in PyTorch (CPU) from a folder of MIDI files, for tidepool's Melody panel.

The model is the shipped one's kind with the size you choose: nn.Embedding(130, E) ->
nn.LSTM(E, H, num_layers=L, batch_first=True) -> nn.Linear(H, 130), over tidepool's tokens (one
per 16th note: 0-127 a note onset at that MIDI pitch, 128 note-off, 129 hold; see
data/chorales/README.md). It is written as safetensors (f16) with the PyTorch state-dict names
tidepool reads (`embedding.weight`, `lstm.weight_ih_l{k}` ..., `linear.weight`, `linear.bias`) and
metadata saying what it was trained on. Drop the file on the page's Melody panel (or pick it) and
choose the model "file". tidepool plays 1-3 layers of 64-512 units, embeddings 8-512 wide.

Tokenising a MIDI file (every track merged, like a piano roll):
- The grid is the 16th note of the file's own resolution (ticks per beat / 4); onsets and ends
  are rounded to the nearest 16th. Tempo changes do not matter: the grid is in beats.
- Monophonic: where notes overlap, the highest sounding one wins (a chord gives its top note;
  a note that starts under a higher held note is not heard until that note ends, and is heard
  from there as a new onset).
- Silence: a 128 then 129s; leading silence is dropped, and a silence of more than 2 bars
  splits the file into two lines (a training line is a phrase, not the pause between songs).
- Key: by default each line is moved to C major / A minor (the shipped model's data) by a
  Krumhansl-Schmuckler estimate over its duration-weighted pitch classes, shifting by -6..+5
  semitones; `--transpose none` keeps the pitches as played. The engine moves what the model
  plays to the key in force, so a model trained on untransposed data plays in its own keys.
- Lines start on their first note, not on a bar line (as the chorale data does); no position
  input is trained (metadata position_input "0").

Run:
    bash tools/melody/setup_venv.sh
    RAYON_NUM_THREADS=1 nice -n 10 tools/melody/.venv/bin/python tools/melody/train_torch.py \
        --midi my-midi-folder --out my-melody.safetensors --layers 1 --hidden 128 --epochs 20
"""

import argparse
import datetime
import hashlib
import math
import os
import random

import mido
import numpy as np
import torch
from safetensors.torch import save_file

VOCAB = 130
NOTE_OFF = 128
HOLD = 129
# Krumhansl-Kessler key profiles (major, minor), tonic first.
MAJOR = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]
MINOR = [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]


def notes_of(path):
    """(onset, end, pitch) in 16ths of every note of a MIDI file, all tracks merged."""
    midi = mido.MidiFile(path)
    sixteenth = midi.ticks_per_beat / 4
    notes = []
    for track in midi.tracks:
        tick = 0
        open_notes = {}
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                open_notes.setdefault((msg.channel, msg.note), []).append(tick)
            elif msg.type in ("note_off", "note_on"):
                starts = open_notes.get((msg.channel, msg.note))
                if starts:
                    start = starts.pop(0)
                    onset, end = round(start / sixteenth), round(tick / sixteenth)
                    notes.append((onset, max(end, onset + 1), msg.note))
    return notes


def closed(line):
    """`line` cut after its last note (and the holds that continue it), then one note-off."""
    i = max(i for i, t in enumerate(line) if t < 128) + 1
    while i < len(line) and line[i] == HOLD:
        i += 1
    return line[:i] + [NOTE_OFF]


def lines_of(notes, max_rest=32):
    """Token lines of a note list: the highest sounding note per 16th, split at long silences."""
    if not notes:
        return []
    length = max(end for _, end, _ in notes)
    top = [-1] * length  # the highest sounding pitch per 16th
    onset_at = [set() for _ in range(length)]
    for onset, end, pitch in notes:
        onset_at[onset].add(pitch)
        for t in range(onset, end):
            top[t] = max(top[t], pitch)
    lines, line, previous, rest = [], [], -1, 0
    for t in range(length):
        pitch = top[t]
        if pitch < 0:
            if line:
                line.append(NOTE_OFF if previous >= 0 else HOLD)
                rest += 1
                if rest > max_rest:
                    lines.append(closed(line))
                    line = []
            previous = -1
            continue
        rest = 0
        # A new top note, or the same pitch struck again, is an onset; else the note holds.
        line.append(pitch if pitch != previous or pitch in onset_at[t] else HOLD)
        previous = pitch
    if line:
        lines.append(closed(line))
    return [l for l in lines if sum(t < 128 for t in l) >= 2]


def key_shift(line):
    """Semitones (-6..+5) that move the line's estimated key to C major or A minor."""
    weight = np.zeros(12)
    pitch = None
    for t in line:
        if t < 128:
            pitch = t
        if t == NOTE_OFF:
            pitch = None
        if pitch is not None:
            weight[pitch % 12] += 1
    best = None
    for tonic in range(12):
        for profile, target in ((MAJOR, 0), (MINOR, 9)):
            score = np.corrcoef(weight, np.roll(profile, tonic))[0, 1] if weight.std() > 0 else 0
            if best is None or score > best[0]:
                best = (score, (target - tonic + 6) % 12 - 6)
    return best[1]


def transposed(line, shift):
    return [min(127, max(0, t + shift)) if t < 128 else t for t in line]


class Melody(torch.nn.Module):
    """The names tidepool reads: embedding, lstm, linear."""

    def __init__(self, embedding, hidden, layers):
        super().__init__()
        self.embedding = torch.nn.Embedding(VOCAB, embedding)
        self.lstm = torch.nn.LSTM(embedding, hidden, num_layers=layers, batch_first=True)
        self.linear = torch.nn.Linear(hidden, VOCAB)

    def forward(self, tokens):
        out, _ = self.lstm(self.embedding(tokens))
        return self.linear(out)


def windows(lines, length, rng):
    """One window of at most `length` + 1 tokens per line, at a random offset."""
    out = []
    for line in lines:
        start = rng.randrange(max(1, len(line) - length))
        out.append(line[start : start + length + 1])
    return out


def batch_loss(model, batch):
    """Mean cross entropy of next-token prediction over a list of windows (padded, masked)."""
    width = max(len(w) for w in batch)
    tokens = torch.full((len(batch), width), HOLD, dtype=torch.long)
    mask = torch.zeros((len(batch), width - 1))
    for i, w in enumerate(batch):
        tokens[i, : len(w)] = torch.tensor(w)
        mask[i, : len(w) - 1] = 1
    logits = model(tokens[:, :-1])
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), tokens[:, 1:].reshape(-1), reduction="none")
    return (loss * mask.reshape(-1)).sum() / mask.sum()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--midi", required=True, help="a folder of .mid/.midi files (searched recursively)")
    ap.add_argument("--out", required=True, help="the .safetensors file to write")
    ap.add_argument("--layers", type=int, default=1, choices=[1, 2, 3])
    ap.add_argument("--hidden", type=int, default=128, help="units per layer, 64-512")
    ap.add_argument("--embedding", type=int, default=32, help="embedding width, 8-512")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--window", type=int, default=64, help="16ths per training window")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--transpose", choices=["c", "none"], default="c", help="to C major / A minor, or as played")
    ap.add_argument("--name", default=None, help="what the page shows as trained on (default: the folder's name)")
    args = ap.parse_args()
    if not 64 <= args.hidden <= 512 or not 8 <= args.embedding <= 512:
        ap.error("tidepool plays hidden sizes 64-512 and embeddings 8-512")
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    rng = random.Random(args.seed)

    paths = sorted(
        os.path.join(d, f) for d, _, files in os.walk(args.midi) for f in files if f.lower().endswith((".mid", ".midi"))
    )
    lines, used, skipped = [], [], []
    digest = hashlib.sha256()
    for path in paths:
        try:
            found = lines_of(notes_of(path))
        except Exception as e:  # a broken file is named and skipped, the others are used
            skipped.append(f"{os.path.basename(path)} ({e})")
            continue
        if not found:
            skipped.append(f"{os.path.basename(path)} (no melody)")
            continue
        with open(path, "rb") as f:
            digest.update(f.read())
        used.append(os.path.basename(path))
        lines += [transposed(l, key_shift(l)) if args.transpose == "c" else l for l in found]
    for s in skipped:
        print(f"skipped {s}")
    if not lines:
        raise SystemExit(f"no melody lines in {args.midi} ({len(paths)} MIDI files)")
    tokens = sum(len(l) for l in lines)
    print(f"{len(used)} files, {len(lines)} lines, {tokens} tokens")

    model = Melody(args.embedding, args.hidden, args.layers)
    optimiser = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss = float("nan")
    for epoch in range(1, args.epochs + 1):
        order = windows(lines, args.window, rng)
        rng.shuffle(order)
        total, count = 0.0, 0
        for i in range(0, len(order), args.batch):
            optimiser.zero_grad()
            l = batch_loss(model, order[i : i + args.batch])
            l.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            total += l.item()
            count += 1
        loss = total / count
        print(f"epoch {epoch}: training NLL {loss:.4f} nats/token")
    if not math.isfinite(loss):
        raise SystemExit("training diverged (the loss is not a number): try a smaller --lr")

    name = args.name or os.path.basename(os.path.normpath(args.midi))
    shown = ", ".join(used[:8]) + (f" and {len(used) - 8} more" if len(used) > 8 else "")
    metadata = {
        "format_version": "1",
        "format": "tidepool-melody-lstm",
        "vocab_size": str(VOCAB),
        "vocab": "0-127 note onset (MIDI pitch), 128 note-off (rest), 129 hold",
        "step": "1/16 note",
        "num_layers": str(args.layers),
        "hidden_size": str(args.hidden),
        "embedding_dim": str(args.embedding),
        "position_input": "0",
        "key_normalisation": "C major / A minor" if args.transpose == "c" else "none (as played)",
        "trained_on": f"{name}: {len(used)} MIDI files ({shown}), {len(lines)} lines, {tokens} tokens",
        "trained_on_sha256": digest.hexdigest(),
        "trained_with": f"tools/melody/train_torch.py (PyTorch {torch.__version__}, CPU)",
        "epochs": str(args.epochs),
        "train_nll_nats": f"{loss:.5f}",
        "seed": str(args.seed),
        "date": datetime.date.today().isoformat(),
        "architecture": f"embedding -> LSTM x{args.layers} -> linear (PyTorch nn.Embedding, "
        f"nn.LSTM(num_layers={args.layers}, batch_first=True), nn.Linear; gates i,f,g,o)",
    }
    weights = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    save_file(weights, args.out, metadata=metadata)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes): {args.layers} x {args.hidden}, trained on {metadata['trained_on']}")


if __name__ == "__main__":
    main()
