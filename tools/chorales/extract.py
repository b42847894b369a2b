"""Extract the Bach chorales in music21's corpus as monophonic 16th-note token lines.

What it does
------------
Builds the melody-model training data in ``data/chorales/`` (the data setup of
the embedded-LSTM intelligent-instrument paper: every chorale voice becomes
one monophonic melody, transposed to C major / A minor, in the Melody-RNN
16th-note event encoding).

1. Corpus: every score file under music21's ``corpus/bach`` (``.mxl``, ``.xml``,
   ``.krn``; the ``.rntxt`` Roman-numeral analyses hold no notes and are
   skipped, as is any file without a vocal part, i.e. ``bwv846``, the WTC
   prelude). The piece id is the corpus path *with* extension
   (``bach/bwv269.mxl``): ``corpus.parse('bach/bwv277')`` silently resolves to
   ``bwv277.krn`` and ``'bach/bwv69.6'`` to ``bwv69.6-a.mxl``, so the bare stem is
   ambiguous. ``corpus.parse(piece_id)`` reopens exactly the file used.
2. Voices: a part is a vocal line when the first word of its name (or id) is
   Soprano/Alto/Tenor/Bass (``Soprano 1`` -> S, ``Soprano 2`` -> S2, doubled
   parts such as ``Soprano Oboe 1 Violin1`` -> S). Instrumental parts
   (horns, trumpets, timpani, strings, continuo, organ, ...) are ignored. The
   three Humdrum files (``.krn``) have unnamed spines; when a score has exactly
   four unnamed parts they are taken as S, A, T, B from top to bottom (checked:
   mean pitch must descend). Every piece's used/ignored parts are listed in
   the manifest.
3. Tokens (one per 16th note): 0-127 = note onset (MIDI number), 128 = note
   off, 129 = no change. As in the paper's Melody-RNN encoding, 129 continues
   whatever the previous state is: after a pitch it holds the note, after 128
   it continues the silence; a rest of n 16ths is ``128`` + (n-1) x ``129``; a
   repeated pitch is a new onset token. Tied notes merge into one note (the
   tie continues as 129). Leading and trailing silence of each voice is
   dropped: every line starts with a pitch token and ends with exactly one
   128 (the last note's note-off), so a line of last-note-end ``E`` (in 16ths
   after the first onset) has ``E + 1`` tokens. Internal rests are kept as
   they are. Repeats are not expanded (the notated music is read once).
4. What does not fit (all counted and located in the manifest's ``irregular``):
   grace notes are skipped; notes whose onset or end is off the 16th grid
   (32nds in this corpus; tuplets would be treated the same) have onset and
   end rounded to the nearest 16th (half rounds up) and a note that then has
   no length is dropped (it merges into its neighbour); a chord inside a voice
   keeps its highest pitch; overlapping notes inside a voice are made
   monophonic (a new onset cuts the sounding note, simultaneous onsets keep
   the highest pitch); a tie that does not connect to the same pitch is read
   as a new onset. A line is excluded when more than MAX_OFFGRID_FRACTION of its
   notes are off the grid (none is, in music21 10.5).
5. Key: music21's ``Score.analyze('key')`` (Krumhansl-Schmuckler with
   Aarden-Essen weights, music21's default) on the piece's vocal parts
   together, one key per piece. The notated key (signature + ``<mode>``) is
   kept in the manifest for comparison but not used: the corpus writes many
   minor/Dorian chorales with one flat fewer than modern usage (g minor with a
   one-flat signature, encoded as "d minor"). Major keys go to C, minor keys to
   A minor by ``transpose = ((target - tonic + 6) mod 12) - 6`` semitones, in
   -6..+5, i.e. the direction that moves the voice least (a tritone goes down).
   The same shift is applied to all voices of a piece. To get the original
   back, subtract ``transpose``.
6. Duplicates: lines with identical (transposed) token sequences are kept once,
   the first in (piece id, voice) order; the count and every removed line are
   in the manifest.
7. Split, by chorale and by tune: pieces are grouped (union-find) when they
   share a file stem (``bwv277.mxl`` / ``bwv277.krn``), an exact duplicate
   line, or a hymn tune: their soprano lines' interval sequences (successive
   onset-pitch differences, so key-independent; rhythm ignored) have a
   ``difflib.SequenceMatcher`` ratio >= TUNE_RATIO (0.7; unrelated chorales
   stay below ~0.65, alternate settings of one tune are mostly above 0.75).
   Exact duplicates alone leave most alternate harmonisations of a tune in
   different splits. A group's split comes from the first 8 bytes of
   SHA-256 of SPLIT_SALT + its smallest piece id, big-endian, mod 100: 0-89
   train, 90-94 valid, 95-99 test. Adding a piece can only move the group it
   joins. With ~220 groups of uneven size the hash alone lands far from
   90/5/5 (unsalted: 91/3/7 % of lines), so the constant salt was picked once,
   as the best of ``tidepool-chorales-0:`` .. ``-199:`` for line counts near
   90/5/5; only sizes were looked at, never model results.

Outputs (``data/chorales/``): ``train.tokens``, ``valid.tokens``,
``test.tokens`` (one line per voice: ``piece_id voice key_tonic mode
transpose|tok tok ...``, tokens already transposed), ``manifest.json`` and
``example.json`` (one short chorale's soprano: source notes and expected
tokens, for a Rust unit test). See ``data/chorales/README.md``.

How to run (from the repository root)
--------------------------------------
    bash tools/chorales/setup_venv.sh
    nice -n 10 tools/chorales/.venv/bin/python tools/chorales/extract.py

Options: ``--out DIR`` (default ``data/chorales`` next to ``tools/``),
``--example PIECE_ID`` (default ``bach/bwv282.mxl``). The run is deterministic:
rerunning with the same music21 version rewrites byte-identical files.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import re
import sys
import time
from collections import Counter, defaultdict
from fractions import Fraction
from pathlib import Path

import music21
from music21 import chord, common, corpus, key, meter, note, stream

STEPS_PER_QUARTER = 4
NOTE_OFF = 128
NO_EVENT = 129
MAX_OFFGRID_FRACTION = 0.10
TUNE_RATIO = 0.7
SPLIT_SALT = "tidepool-chorales-131:"
VOICE_ORDER = ["S", "S2", "A", "A2", "T", "T2", "B", "B2"]
VOICE_WORDS = {"soprano": "S", "alto": "A", "tenor": "T", "bass": "B"}
TARGET_TONIC = {"major": 0, "minor": 9}  # C major, A minor
SPLITS = ["train", "valid", "test"]
SCORE_SUFFIXES = {".mxl", ".xml", ".musicxml", ".krn", ".mid", ".midi", ".abc", ".mei"}

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "data" / "chorales"


# ---------------------------------------------------------------- corpus ---

def corpus_files() -> tuple[list[tuple[str, Path]], list[dict]]:
    """All files of music21's bach corpus: (piece_id, path) to read, and skipped ones."""
    root = Path(common.getCorpusFilePath())
    keep, skipped = [], []
    for p in sorted(corpus.getComposer("bach")):
        pid = p.relative_to(root).as_posix()
        if p.suffix.lower() in SCORE_SUFFIXES:
            keep.append((pid, p))
        else:
            skipped.append({"piece": pid, "reason": f"not a score file ({p.suffix})"})
    keep.sort()
    return keep, skipped


def split_of(group_rep: str) -> str:
    h = int.from_bytes(hashlib.sha256((SPLIT_SALT + group_rep).encode("utf-8")).digest()[:8], "big") % 100
    return "train" if h < 90 else ("valid" if h < 95 else "test")


def stem_of(pid: str) -> str:
    return pid.rsplit(".", 1)[0] if "." in pid.rsplit("/", 1)[-1] else pid


# ---------------------------------------------------------------- voices ---

def part_label(part: stream.Part) -> str:
    name = part.partName or str(part.id) or ""
    return " ".join(name.split())  # \r inside names -> spaces


def vocal_voice(label: str) -> str | None:
    words = re.findall(r"[A-Za-z]+|\d+", label)
    if not words or words[0].lower() not in VOICE_WORDS:
        return None
    v = VOICE_WORDS[words[0].lower()]
    if len(words) > 1 and words[1].isdigit() and words[1] != "1":
        v += words[1]
    return v


def pick_vocal_parts(score: stream.Score):
    """Return ({voice: part}, used_info, ignored_labels, notes_for_manifest)."""
    parts = list(score.parts)
    labels = [part_label(p) for p in parts]
    chosen, used, ignored, remarks = {}, {}, [], []
    for p, lab in zip(parts, labels):
        v = vocal_voice(lab)
        if v is None:
            ignored.append(lab)
        elif v in chosen:
            ignored.append(lab)
            remarks.append(f"second part for voice {v} ignored: {lab!r}")
        else:
            chosen[v] = p
            used[v] = lab
    if not chosen and len(parts) == 4 and all(p.partName is None for p in parts):
        means = []
        for p in parts:
            ns = [n for n in p.flatten().notes if not n.duration.isGrace]
            means.append(sum(max(x.midi for x in n.pitches) for n in ns) / max(1, len(ns)))
        if all(means[i] > means[i + 1] for i in range(3)):
            for v, p, lab in zip("SATB", parts, labels):
                chosen[v] = p
                used[v] = f"{lab} (unnamed; S/A/T/B by score order, mean pitch descends)"
            ignored = []
            remarks.append("unnamed parts mapped S,A,T,B by score order; mean pitches "
                           + ", ".join(f"{m:.1f}" for m in means))
        else:
            remarks.append("four unnamed parts but mean pitch does not descend; not used")
    return chosen, used, ignored, remarks


# ------------------------------------------------------------ tokenising ---

def frac(x) -> Fraction:
    return Fraction(x).limit_denominator(10_000)


def on_grid(q: Fraction) -> bool:
    return (q * STEPS_PER_QUARTER).denominator == 1


def to_step(q: Fraction) -> int:
    """Nearest 16th; exact halves round up."""
    x = q * STEPS_PER_QUARTER
    return int((x + Fraction(1, 2)) // 1)


def part_notes(part: stream.Part, where: str, irregular: dict) -> list[dict]:
    """Sounding notes of one part, ties merged: dicts with start/end (quarter
    lengths, exact), midi. Grace notes skipped, chords reduced, all recorded."""
    raw = []
    for el in part.flatten().notes:
        off = frac(el.offset)
        if el.duration.isGrace:
            irregular["grace_note_skipped"].append(
                {"where": where, "offset": float(off), "pitch": el.pitches[0].nameWithOctave})
            continue
        if isinstance(el, chord.Chord):
            ps = sorted(el.pitches, key=lambda x: x.ps)
            irregular["chord_in_voice_top_kept"].append(
                {"where": where, "offset": float(off), "pitches": [x.nameWithOctave for x in ps]})
            midi = ps[-1].midi
        elif isinstance(el, note.Note):
            midi = el.pitch.midi
        else:  # Unpitched etc.
            irregular["unpitched_skipped"].append({"where": where, "offset": float(off)})
            continue
        if el.pitches[0].microtone and el.pitches[0].microtone.cents:
            irregular["microtone_rounded"].append({"where": where, "offset": float(off)})
        tie = el.tie.type if el.tie is not None else None
        raw.append({"start": off, "end": off + frac(el.quarterLength), "midi": midi, "tie": tie,
                    "ql": frac(el.quarterLength)})
    raw.sort(key=lambda n: (n["start"], -n["midi"]))

    merged: list[dict] = []
    for n in raw:
        if n["tie"] in ("stop", "continue"):
            prev = next((m for m in reversed(merged)
                         if m["midi"] == n["midi"] and m["end"] == n["start"]), None)
            if prev is not None and prev.get("open_tie"):
                prev["end"] = n["end"]
                prev["open_tie"] = n["tie"] == "continue"
                prev["parts"].append(n)
                continue
            irregular["tie_without_start_new_onset"].append(
                {"where": where, "offset": float(n["start"]), "midi": n["midi"]})
        merged.append({"start": n["start"], "end": n["end"], "midi": n["midi"],
                       "open_tie": n["tie"] in ("start", "continue"), "parts": [n]})
    for m in merged:
        if m["open_tie"]:
            irregular["tie_without_stop"].append(
                {"where": where, "offset": float(m["start"]), "midi": m["midi"]})
    return merged


def quantise(notes: list[dict], where: str, irregular: dict) -> tuple[list[tuple[int, int, int]], int]:
    """(start_step, end_step, midi) non-overlapping, plus the number of off-grid notes."""
    offgrid = 0
    q = []
    for n in notes:
        bad = [p for p in n["parts"] if not (on_grid(p["start"]) and on_grid(p["end"]))]
        if bad:
            offgrid += 1
            for p in bad:
                kind = "sub_16th_duration" if not on_grid(p["ql"]) else "off_grid_onset"
                irregular["off_grid_rounded"].append(
                    {"where": where, "offset": float(p["start"]), "quarterLength": float(p["ql"]),
                     "midi": n["midi"], "kind": kind})
        s, e = to_step(n["start"]), to_step(n["end"])
        if e <= s:
            irregular["zero_length_after_rounding_dropped"].append(
                {"where": where, "offset": float(n["start"]), "midi": n["midi"]})
            continue
        q.append((s, e, n["midi"]))
    q.sort(key=lambda t: (t[0], -t[2]))
    out: list[tuple[int, int, int]] = []
    for s, e, m in q:
        if out and s == out[-1][0]:
            irregular["simultaneous_onsets_top_kept"].append(
                {"where": where, "step": s, "kept": out[-1][2], "dropped": m})
            continue
        if out and s < out[-1][1]:
            ps, pe, pm = out[-1]
            irregular["overlap_cut"].append({"where": where, "step": s, "cut_midi": pm})
            out[-1] = (ps, s, pm)
        out.append((s, e, m))
    return out, offgrid


def bar_positions(part: stream.Part) -> list[tuple[Fraction, Fraction, Fraction]]:
    """(start, length, beat-one offset) of every measure of `part`, in quarter lengths. A pickup
    measure's missing beats (paddingLeft) are counted, so position 0 is always the downbeat."""
    out = []
    for m in part.getElementsByClass(stream.Measure):
        ts = m.timeSignature or m.getContextByClass(meter.TimeSignature)
        bar = frac(ts.barDuration.quarterLength) if ts is not None else Fraction(4)
        out.append((frac(m.offset), bar, frac(m.paddingLeft)))
    return out


def line_meter(part: stream.Part, events: list[tuple[int, int, int]], where: str,
               irregular: dict) -> tuple[int, int]:
    """(16ths per bar, 16th within the bar of the line's first token) for a line whose notes are
    `events`. Each onset's notated bar position implies a phase for the line's first token; the
    most common one is kept (a pickup bar without its padding, or one odd bar at a repeat, then
    cannot move the whole line), and the onsets that disagree with it are recorded."""
    measures = bar_positions(part)
    if not measures:
        irregular["no_measures_phase_0"].append({"where": where})
        return 16, 0
    votes: Counter = Counter()
    first = events[0][0]
    for s, _, _ in events:
        q = Fraction(s, STEPS_PER_QUARTER)
        start, bar, pad = next(((a, b, c) for a, b, c in reversed(measures) if a <= q), measures[0])
        bar16 = to_step(bar)
        pos = to_step(q - start + pad) % bar16
        votes[(bar16, (pos - (s - first)) % bar16)] += 1
    (bar16, phase), agree = votes.most_common(1)[0]
    if agree < len(events):
        irregular["onsets_off_the_line_meter"].append(
            {"where": where, "onsets": len(events), "agree": agree, "bar": bar16, "phase": phase})
    return bar16, phase


def tokens_of(events: list[tuple[int, int, int]], shift: int = 0) -> list[int]:
    """Melody-RNN tokens from non-overlapping (start, end, midi) steps.
    Leading/trailing silence dropped; ends with one NOTE_OFF."""
    toks: list[int] = []
    if not events:
        return toks
    cursor = events[0][0]
    for s, e, m in events:
        if s > cursor:
            toks.append(NOTE_OFF)
            toks.extend([NO_EVENT] * (s - cursor - 1))
        p = m + shift
        if not 0 <= p <= 127:
            raise ValueError(f"pitch {p} out of MIDI range")
        toks.append(p)
        toks.extend([NO_EVENT] * (e - s - 1))
        cursor = e
    toks.append(NOTE_OFF)
    return toks


def transpose_for(tonic_pc: int, mode: str) -> int:
    return ((TARGET_TONIC[mode] - tonic_pc + 6) % 12) - 6


# ---------------------------------------------------------------- main -----

class UnionFind:
    def __init__(self):
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo


def voice_rank(v: str) -> int:
    return VOICE_ORDER.index(v) if v in VOICE_ORDER else len(VOICE_ORDER)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--example", default="bach/bwv282.mxl")
    args = ap.parse_args(argv)
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)

    files, skipped = corpus_files()
    irregular: dict[str, list] = defaultdict(list)
    pieces: dict[str, dict] = {}
    lines: list[dict] = []
    example_src = None
    t0 = time.perf_counter()
    parse_s = 0.0

    for pid, path in files:
        tp = time.perf_counter()
        score = corpus.parse(path)
        parse_s += time.perf_counter() - tp
        chosen, used, ignored, remarks = pick_vocal_parts(score)
        if not chosen:
            skipped.append({"piece": pid, "reason": "no vocal (S/A/T/B) part",
                            "parts": [part_label(p) for p in score.parts]})
            continue
        order = sorted(chosen, key=voice_rank)
        vocal = stream.Score([chosen[v] for v in order])
        k = vocal.analyze("key")
        tonic, mode = k.tonic.pitchClass, k.mode
        if mode not in TARGET_TONIC:
            raise SystemExit(f"{pid}: unexpected mode {mode}")
        shift = transpose_for(tonic, mode)
        ks = next(iter(score.parts[0].recurse().getElementsByClass(key.KeySignature)), None)
        notated = None
        if ks is not None:
            notated = {"sharps": ks.sharps}
            if isinstance(ks, key.Key):
                notated.update(tonic=ks.tonic.pitchClass, mode=ks.mode, name=str(ks))
        final_bass = None
        low = chosen.get("B") or chosen[order[-1]]
        lowest_last = [n for n in low.flatten().notes if not n.duration.isGrace]
        if lowest_last:
            final_bass = min(x.midi for x in lowest_last[-1].pitches) % 12
        info = {
            "file": pid, "stem": stem_of(pid), "title": (score.metadata.title if score.metadata else None),
            "parts_used": used, "parts_ignored": ignored,
            "key": {"tonic": tonic, "mode": mode, "name": str(k),
                    "correlation": round(float(k.correlationCoefficient), 4)},
            "notated_key": notated, "final_bass_pc": final_bass, "transpose": shift,
            "lines": {},
        }
        if remarks:
            info["remarks"] = remarks
        for v in order:
            where = f"{pid}:{v}"
            notes = part_notes(chosen[v], where, irregular)
            events, offgrid = quantise(notes, where, irregular)
            n_notes = len(notes)
            frac_off = offgrid / n_notes if n_notes else 0.0
            if not events:
                info["lines"][v] = "excluded: no notes"
                irregular["line_excluded"].append({"where": where, "reason": "no notes"})
                continue
            if frac_off > MAX_OFFGRID_FRACTION:
                info["lines"][v] = f"excluded: {offgrid}/{n_notes} notes off grid"
                irregular["line_excluded"].append(
                    {"where": where, "reason": f"{offgrid}/{n_notes} notes off the 16th grid"})
                continue
            toks = tokens_of(events, shift)
            bar16, phase = line_meter(chosen[v], events, where, irregular)
            lines.append({"piece": pid, "voice": v, "tonic": tonic, "mode": mode,
                          "transpose": shift, "bar": bar16, "phase": phase,
                          "tokens": toks, "notes": n_notes,
                          "lead_rest_steps": events[0][0]})
            info["lines"][v] = "kept"
            if pid == args.example and v == "S":
                example_src = (chosen[v], events, notes)
        pieces[pid] = info
        print(f"{pid:28s} {str(k):10s} {shift:+d} {' '.join(order)}", file=sys.stderr)

    total_s = time.perf_counter() - t0

    # ---- duplicates
    lines.sort(key=lambda l: (l["piece"], voice_rank(l["voice"])))
    first_of: dict[tuple, dict] = {}
    kept, removed = [], []
    uf = UnionFind()
    for pid in pieces:
        uf.union(pid, pieces[pid]["stem"])
    for l in lines:
        t = tuple(l["tokens"])
        if t in first_of:
            s = first_of[t]
            removed.append({"removed": f"{l['piece']}:{l['voice']}", "same_as": f"{s['piece']}:{s['voice']}"})
            pieces[l["piece"]]["lines"][l["voice"]] = f"duplicate of {s['piece']}:{s['voice']}"
            uf.union(l["piece"], s["piece"])
        else:
            first_of[t] = l
            kept.append(l)

    # ---- same hymn tune (soprano interval sequences), for the split only
    sops = []
    for l in lines:
        if l["voice"] == "S":
            p = [t for t in l["tokens"] if t < 128]
            sops.append((l["piece"], [b - a for a, b in zip(p, p[1:])]))
    tune_links = []
    for i, (pa, ia) in enumerate(sops):
        sm = difflib.SequenceMatcher(None, autojunk=False)
        sm.set_seq2(ia)
        for pb, ib in sops[i + 1:]:
            sm.set_seq1(ib)
            if sm.real_quick_ratio() < TUNE_RATIO or sm.quick_ratio() < TUNE_RATIO:
                continue
            r = sm.ratio()
            if r >= TUNE_RATIO:
                tune_links.append([pa, pb, round(r, 3)])
                uf.union(pa, pb)

    # ---- split
    groups: dict[str, list[str]] = defaultdict(list)
    for pid in pieces:
        groups[uf.find(pid)].append(pid)
    piece_split = {}
    for members in groups.values():
        rep = min(members)
        sp = split_of(rep)
        for m in members:
            piece_split[m] = sp
            pieces[m]["split"] = sp
            pieces[m]["split_group"] = rep
    multi_groups = sorted(sorted(m) for m in groups.values() if len(m) > 1)

    # ---- write token files
    sizes = {}
    per_split = {}
    for sp in SPLITS:
        sl = [l for l in kept if piece_split[l["piece"]] == sp]
        text = "".join(
            f"{l['piece']} {l['voice']} {l['tonic']} {l['mode']} {l['transpose']} {l['bar']} {l['phase']}|"
            + " ".join(map(str, l["tokens"])) + "\n" for l in sl)
        fn = out_dir / f"{sp}.tokens"
        fn.write_text(text, encoding="ascii")
        sizes[fn.name] = fn.stat().st_size
        ids = sorted(p for p in pieces if piece_split[p] == sp)
        with_lines = sorted({l["piece"] for l in sl})
        per_split[sp] = {
            "pieces": len(ids), "pieces_with_lines": len(with_lines), "groups": len({pieces[p]["split_group"] for p in ids}),
            "lines": len(sl), "tokens": sum(len(l["tokens"]) for l in sl),
            "lines_per_voice": dict(sorted(Counter(l["voice"] for l in sl).items(), key=lambda kv: voice_rank(kv[0]))),
            "piece_ids": ids,
        }

    # ---- token statistics
    all_toks = Counter(t for l in kept for t in l["tokens"])
    pitches = [t for t in all_toks if t < 128]
    lens = sorted(len(l["tokens"]) for l in kept)
    longest_rest = []
    for l in kept:
        run, best = 0, 0
        for t in l["tokens"]:
            if t == NOTE_OFF:
                run = 1
            elif t == NO_EVENT and run:
                run += 1
            else:
                best, run = max(best, run), 0
        best = max(best, run - 1)  # final NOTE_OFF is not a rest
        if best >= 16:
            longest_rest.append({"line": f"{l['piece']}:{l['voice']}", "rest_steps": best})
    longest_rest.sort(key=lambda d: -d["rest_steps"])

    # ---- key comparison
    disagree = []
    for pid, info in pieces.items():
        nk = info["notated_key"]
        if nk and "tonic" in nk and (nk["tonic"], nk["mode"]) != (info["key"]["tonic"], info["key"]["mode"]):
            disagree.append({"piece": pid, "notated": nk["name"], "analysed": info["key"]["name"],
                             "final_bass_pc": info["final_bass_pc"],
                             "final_bass_is": ("analysed tonic" if info["final_bass_pc"] == info["key"]["tonic"]
                                               else "notated tonic" if info["final_bass_pc"] == nk["tonic"]
                                               else "neither")})
    fb_match = sum(1 for i in pieces.values() if i["final_bass_pc"] == i["key"]["tonic"])

    irr_summary = {k: len(v) for k, v in sorted(irregular.items())}
    offgrid_lines = Counter(d["where"] for d in irregular.get("off_grid_rounded", []))
    manifest = {
        "description": "Bach chorale voices from music21's corpus as monophonic 16th-note token lines "
                       "(Melody-RNN encoding), transposed to C major / A minor. Format: README.md.",
        "command": "bash tools/chorales/setup_venv.sh && nice -n 10 tools/chorales/.venv/bin/python "
                   "tools/chorales/extract.py" + ("" if args.out == DEFAULT_OUT else f" --out {args.out}")
                   + ("" if args.example == "bach/bwv282.mxl" else f" --example {args.example}"),
        "music21_version": music21.__version__,
        "python_version": sys.version.split()[0],
        "encoding": {
            "steps_per_quarter": STEPS_PER_QUARTER,
            "0-127": "note onset, MIDI pitch (after transposition)",
            "128": "note off: the sounding note stops (first 16th of a rest; also the last token of every line)",
            "129": "no change: the previous state continues (note held, or silence continued after 128)",
            "line_start": "first note onset (leading silence dropped); lines are not aligned to bars, "
                          "but each line's header says its bar length and the first token's 16th "
                          "within the bar (0 = downbeat)",
            "meter": "bar = 16ths per bar, phase = 16th of the bar of the line's first token: the "
                     "most common phase implied by the notated bar position of each onset "
                     "(pickup padding counted); disagreeing onsets in irregular.onsets_off_the_line_meter",
            "meter_histogram": dict(sorted(Counter(l["bar"] for l in kept).items())),
            "ties": "merged: a tied note is one onset plus 129s",
            "repeats": "not expanded (notated music read once)",
        },
        "key": {
            "method": "music21 Score.analyze('key') on the piece's vocal parts together (Krumhansl-Schmuckler, "
                      "Aarden-Essen weights); one key per piece; notated key signature/mode recorded, not used",
            "target": "major -> C (0), minor -> A (9)",
            "transpose": "((target - tonic + 6) mod 12) - 6, range -6..+5; original pitch = token - transpose",
            "analysed_modes": dict(Counter(i["key"]["mode"] for i in pieces.values())),
            "transpose_histogram": dict(sorted(Counter(i["transpose"] for i in pieces.values()).items())),
            "notated_vs_analysed_disagree": len(disagree),
            "final_bass_note_is_analysed_tonic": f"{fb_match}/{len(pieces)}",
            "disagreements": disagree,
        },
        "split": {
            "rule": "pieces grouped by shared file stem, shared exact duplicate line, or same hymn tune (soprano "
                    f"interval sequences with difflib ratio >= {TUNE_RATIO}); group split = "
                    f"int.from_bytes(sha256({SPLIT_SALT!r} + min piece id of group)[:8], 'big') % 100: "
                    "<90 train, <95 valid, else test",
            "groups": len(groups),
            "groups_with_several_pieces": multi_groups,
            "tune_links": tune_links,
        },
        "counts": {
            "files_in_bach_corpus": len(files) + sum(1 for s in skipped if s["reason"].startswith("not a score")),
            "score_files_parsed": len(files),
            "pieces_used": len(pieces),
            "pieces_plain_four_part": sum(1 for i in pieces.values() if not i["parts_ignored"] and len(i["parts_used"]) == 4),
            "pieces_with_extra_parts": sum(1 for i in pieces.values() if i["parts_ignored"] or len(i["parts_used"]) != 4),
            "voice_lines_extracted": len(lines),
            "duplicate_lines_removed": len(removed),
            "lines_kept": len(kept),
            "tokens_kept": sum(len(l["tokens"]) for l in kept),
            "line_length_tokens": {"min": lens[0], "median": lens[len(lens) // 2], "max": lens[-1]},
            "pitch_range_after_transpose": [min(pitches), max(pitches)],
            "token_histogram": {"note_off_128": all_toks[NOTE_OFF], "no_event_129": all_toks[NO_EVENT],
                                "onsets": sum(v for t, v in all_toks.items() if t < 128)},
            "file_bytes": sizes,
            "per_split": {sp: {k: v for k, v in d.items() if k != "piece_ids"} for sp, d in per_split.items()},
        },
        "irregular": {
            "handling": {
                "grace_note_skipped": "grace notes are not written",
                "off_grid_rounded": "onset and end rounded to the nearest 16th (half up); listed per notated note",
                "zero_length_after_rounding_dropped": "a note left with no length after rounding is not written",
                "chord_in_voice_top_kept": "highest pitch kept",
                "simultaneous_onsets_top_kept": "highest pitch kept",
                "overlap_cut": "a new onset ends the sounding note",
                "tie_without_start_new_onset": "a tie-stop that does not continue the same pitch is a new onset",
                "tie_without_stop": "note ends where notated",
                "line_excluded": f"a line with more than {MAX_OFFGRID_FRACTION:.0%} of its notes off the grid, "
                                 "or without notes, is not written",
            },
            "counts": irr_summary,
            "lines_with_off_grid_notes": dict(sorted(offgrid_lines.items())),
            "details": {k: v for k, v in sorted(irregular.items())},
            "long_internal_rests_ge_16_steps": longest_rest,
        },
        "duplicates_removed": removed,
        "skipped_files": skipped,
        "splits": {sp: d["piece_ids"] for sp, d in per_split.items()},
        "pieces": pieces,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                           encoding="utf-8")

    # ---- example for a Rust unit test
    if example_src is None:
        raise SystemExit(f"example {args.example} soprano not found")
    part, events, notes = example_src
    ex_info = pieces[args.example]
    src = []
    for el in part.flatten().notesAndRests:
        if el.duration.isGrace:
            continue
        d = {"offset": float(el.offset), "duration": float(el.quarterLength)}
        if isinstance(el, note.Rest):
            d["rest"] = True
        else:
            d["midi"] = el.pitch.midi
            d["name"] = el.pitch.nameWithOctave
            if el.tie is not None:
                d["tie"] = el.tie.type
        src.append(d)
    ex_line = next(l for l in lines if l["piece"] == args.example and l["voice"] == "S")
    example = {
        "piece_id": args.example,
        "voice": "S",
        "source_part": ex_info["parts_used"]["S"],
        "title": ex_info["title"],
        "key": ex_info["key"],
        "transpose": ex_info["transpose"],
        "split": ex_info["split"],
        "in_token_file": ex_info["lines"]["S"] == "kept",
        "rules": "offset/duration in quarter lengths from the part start; 4 steps per quarter; onset -> "
                 "midi+transpose, following steps -> 129; tied continuation -> 129; rest -> 128 then 129s; "
                 "leading rests dropped; one final 128",
        "source_notes": src,
        "tokens_untransposed": tokens_of(events, 0),
        "tokens": ex_line["tokens"],
    }
    (out_dir / "example.json").write_text(json.dumps(example, indent=1) + "\n", encoding="utf-8")

    print(json.dumps({"parse_seconds": round(parse_s, 1), "total_seconds": round(total_s, 1),
                      **{k: manifest["counts"][k] for k in ("pieces_used", "voice_lines_extracted",
                                                            "duplicate_lines_removed", "lines_kept",
                                                            "tokens_kept", "file_bytes")},
                      "per_split": manifest["counts"]["per_split"], "irregular": irr_summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
