"""Extract the built-in rhythm corpus: 2-bar melodic rhythms from a tune collection in music21.

What it does
------------
Builds ``data/rhythm/builtin.json`` (the rhythm sequencer's training set before the musician
drops any file of their own) and ``data/rhythm/MANIFEST.md``.

1. Collections: the three tune collections music21's corpus ships are read and measured: ``ryansMammoth`` (Ryan's Mammoth Collection, 1883, fiddle tunes),
   ``oneills1850`` (O'Neill's Music of Ireland) and ``essenFolksong`` (the Essen folk song
   collection, ABC files). Every ABC file is parsed with ``music21.converter.parse``; a file
   holding several tunes (an Opus) gives each. The tune id is ``collection/file.abc`` plus
   ``#X`` (the tune's ABC ``X:`` number) for files of several tunes.
2. Meter: a tune is kept when it has one time signature throughout and it is 2/4, 4/4 (``C``)
   or 2/2 (``C|``, cut time: a bar of 16 sixteenths like 4/4; the reels and hornpipes are
   written so). Other meters (6/8, 3/4, 9/8, ...) and tunes that change meter are skipped.
3. Onsets: the first part's notes and chords (a chord or double stop is one onset); rests are
   silence; grace notes are ornaments, not rhythm, and are left out; a note tied from the one
   before is a continuation, not an onset. Repeats are not expanded (the notated music is read
   once).
4. Bars: a bar is used when it is complete (its length is the meter's bar length) and every
   onset in it falls on the sixteenth grid. Pickup bars, the short bars at the ends of repeated
   sections, over-full bars (errors in the source) and bars with triplets or 32nds are left out,
   and they break the sequence: windows are made of consecutive usable bars.
5. Windows: 32 sixteenths = 2 bars of 4/4 or 2/2, 4 bars of 2/4, one starting at every bar
   line that begins a window's worth of consecutive usable bars (so windows overlap: a 2/4
   tune gives a window at bars 1-4, 2-5, 3-6, ...; laid end to end, each public-domain
   collection gives only about a thousand distinct windows). Every window starts on a bar line, so the
   accents stay in place. Usable bars in no window (runs too short) are counted. A window with
   no onset is skipped. (The musician's MIDI files are cut end to end instead: their windows
   are the loops they play; see ``crates/rhythm/src/midi_windows.rs``.)
6. Velocity (notation has none): a metrical accent by position in the bar: bar start 112, half
   bar 96, other quarter beats 84, eighth off-beats 72, sixteenth off-beats 60. So the velocity
   head learns the meter, and "velocity from the model output" has an accent to follow.
7. Duplicates: windows with the same hits are kept once, the first in (collection, tune id,
   bar) order (the same hits in 2/4 and in 4/4 differ only in the accents of the middle bar
   line; one copy is enough).
8. Choice: all three collections are measured on every run (MANIFEST.md has the table);
   Ryan's Mammoth and O'Neill's, both public domain, are written together (``--collections``
   changes that). Ryan's has the richest sixteenth rhythms (largest share of onsets on sixteenth
   off-beats), O'Neill's about as many distinct windows, and only together do they reach several
   thousand. Essen is measured but not written: its license.txt in music21 calls its legal
   status unclear (permission for non-commercial use), and its songs have the fewest sixteenths.

Output format: the data-set JSON of ``crates/rhythm/src/dataset.rs`` (version 1, one rhythm a
line, ``v`` the velocities of the hits only, ``src`` the tune id and bar), which
``tidepool rhythm train --data builtin`` reads.

How to run (from the repository root)
-------------------------------------
    bash tools/chorales/setup_venv.sh      # music21 10.5.1, all this script needs
    nice -n 10 tools/chorales/.venv/bin/python tools/rhythm/corpus.py --cache /tmp/rhythm-corpus

Options: ``--out DIR`` (default ``data/rhythm``), ``--cache DIR`` (per-file extraction cache,
default none: parsing the Essen files takes minutes), ``--jobs N`` (parallel parses, default 2),
``--collections NAME...`` (the collections written; default ryansMammoth oneills1850). The run is
deterministic: the same music21 version gives byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter
from fractions import Fraction
from multiprocessing import Pool
from pathlib import Path

import music21
from music21 import common, converter, stream

STEPS = 32
COLLECTIONS = ["ryansMammoth", "oneills1850", "essenFolksong"]
# Public domain (1883, 1850/1903); Essen's status is "unclear" by its own license.txt.
WRITTEN = ["ryansMammoth", "oneills1850"]
METERS = {"2/4": 8, "4/4": 16, "2/2": 16}  # bar length in sixteenths
ACCENT = {"bar": 112, "half": 96, "beat": 84, "eighth": 72, "sixteenth": 60}

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "data" / "rhythm"


def accent(pos: int, bar16: int) -> int:
    """The metrical velocity of an onset `pos` sixteenths into a bar of `bar16` sixteenths."""
    if pos == 0:
        return ACCENT["bar"]
    if pos == bar16 // 2:
        return ACCENT["half"]
    if pos % 4 == 0:
        return ACCENT["beat"]
    if pos % 2 == 0:
        return ACCENT["eighth"]
    return ACCENT["sixteenth"]


# ------------------------------------------------------------------ tunes ---

def tune_bars(score: stream.Score) -> dict:
    """One tune: its meter and bars as lists of onset sixteenths, or why it was skipped.

    Bars are ``None`` when unusable (incomplete, over-full or off the sixteenth grid), with the
    reason counted in ``bar_skips``.
    """
    part = score.parts[0] if score.parts else score
    sigs = {ts.ratioString for ts in part.recurse().getElementsByClass("TimeSignature")}
    if not sigs:
        return {"skip": "no time signature"}
    if len(sigs) > 1:
        return {"skip": "meter changes (" + ", ".join(sorted(sigs)) + ")"}
    meter = sigs.pop()
    if meter not in METERS:
        return {"skip": f"meter {meter}"}
    bar16 = METERS[meter]
    measures = list(part.getElementsByClass("Measure"))
    if not measures:
        return {"skip": "no bars"}
    bars, skips, onsets_skipped, graces = [], Counter(), 0, 0
    for m in measures:
        onsets, offgrid = [], False
        for n in m.recurse().notes:
            if n.duration.isGrace:
                graces += 1
                continue
            if n.tie is not None and n.tie.type in ("stop", "continue"):
                continue
            q = Fraction(n.getOffsetInHierarchy(m)) * 4
            if q.denominator != 1:
                offgrid = True
            onsets.append(q)
        length = Fraction(m.highestTime) * 4
        reason = None
        if length < bar16:
            reason = "incomplete bar (pickup or end of a repeated section)"
        elif length > bar16:
            reason = "over-full bar"
        elif offgrid:
            reason = "onsets off the sixteenth grid (triplets, 32nds)"
        if reason:
            skips[reason] += 1
            onsets_skipped += len(onsets)
            bars.append(None)
        else:
            bars.append(sorted({int(q) for q in onsets}))
    return {
        "meter": meter,
        "bars": bars,
        "bar_skips": dict(skips),
        "onsets_skipped": onsets_skipped,
        "graces": graces,
    }


def windows(tune: dict) -> tuple[list[tuple[int, list[int]]], int]:
    """(first bar index, 32 velocities) of the window at every bar line that starts a window's
    worth of consecutive usable bars, and the usable bars in no window (runs too short)."""
    bar16 = METERS[tune["meter"]]
    per = STEPS // bar16
    bars = tune["bars"]
    out, covered = [], set()
    for i in range(len(bars) - per + 1):
        run = bars[i:i + per]
        if any(b is None for b in run):
            continue
        covered.update(range(i, i + per))
        vel = [0] * STEPS
        for k, onsets in enumerate(run):
            for pos in onsets:
                vel[k * bar16 + pos] = accent(pos, bar16)
        if any(vel):
            out.append((i, vel))
    unused = sum(1 for i, b in enumerate(bars) if b is not None and i not in covered)
    return out, unused


def tune_id(collection: str, path: Path, score: stream.Score, several: bool) -> str:
    base = f"{collection}/{path.name}"
    if not several:
        return base
    number = score.metadata.number if score.metadata is not None else None
    return f"{base}:X{number}"


def read_file(job: tuple[str, str, str | None]) -> list[dict]:
    """Every tune of one ABC file, extracted (cached as JSON when a cache dir is given)."""
    collection, path_s, cache = job
    path = Path(path_s)
    cache_file = Path(cache) / collection / (path.name + ".json") if cache else None
    if cache_file and cache_file.exists():
        return json.loads(cache_file.read_text())
    try:
        parsed = converter.parse(path, format="abc")
    except Exception as e:  # music21 raises many kinds on bad ABC
        result = [{"id": f"{collection}/{path.name}", "skip": f"music21 cannot parse it: {type(e).__name__}"}]
    else:
        scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
        result = []
        for s in scores:
            try:
                t = tune_bars(s)
            except Exception as e:
                t = {"skip": f"music21 failed on it: {type(e).__name__}"}
            t["id"] = tune_id(collection, path, s, len(scores) > 1)
            result.append(t)
    if cache_file:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(result))
    return result


# ------------------------------------------------------------ collections ---

def collection_files(collection: str) -> list[Path]:
    root = Path(common.getCorpusFilePath()) / collection
    return sorted(p for p in root.iterdir() if p.suffix.lower() == ".abc")


def measure(collection: str, tunes: list[dict]) -> dict:
    """Windows (deduplicated) and the counts the manifest reports, for one collection."""
    skipped = Counter()
    meters = Counter()
    bar_skips = Counter()
    stats = Counter()
    seen, kept = set(), []
    all_patterns = Counter()
    for t in sorted(tunes, key=lambda t: t["id"]):
        stats["tunes"] += 1
        if "skip" in t:
            key = t["skip"]
            if key.startswith("meter ") and not key.startswith("meter changes"):
                meters[key[6:]] += 1
                key = "meter not 2/4, 4/4 or 2/2"
            elif key.startswith("meter changes"):
                key = "meter changes"
            skipped[key] += 1
            continue
        meters[t["meter"]] += 1
        stats["tunes used"] += 1
        stats["bars"] += len(t["bars"])
        bar_skips.update(t["bar_skips"])
        stats["onsets in skipped bars"] += t["onsets_skipped"]
        stats["grace notes left out"] += t["graces"]
        ws, leftover = windows(t)
        stats["usable bars in no window"] += leftover
        for first, vel in ws:
            stats["windows"] += 1
            key = tuple(v > 0 for v in vel)
            all_patterns[key] += 1
            if key in seen:
                stats["duplicate windows"] += 1
                continue
            seen.add(key)
            kept.append({"vel": vel, "src": f"{t['id']}#bar {first + 1}", "meter": t["meter"]})
    hits = [sum(1 for v in w["vel"] if v) for w in kept]
    odd = [sum(1 for s, v in enumerate(w["vel"]) if v and s % 2) for w in kept]
    n = len(kept)
    # Of the patterns over all windows, duplicates included: how varied the music is as played.
    total = sum(all_patterns.values())
    entropy = -sum(c / total * math.log2(c / total) for c in all_patterns.values()) if total else 0.0
    return {
        "collection": collection,
        "counts": dict(stats),
        "skipped tunes": dict(skipped),
        "meters": dict(meters),
        "skipped bars": dict(bar_skips),
        "distinct windows": n,
        "distinct windows with sixteenth off-beats": sum(1 for o in odd if o),
        "mean hits per window": round(sum(hits) / n, 2) if n else 0,
        "share of onsets on sixteenth off-beats": round(sum(odd) / sum(hits), 4) if n else 0,
        "windows in 2/4, 4/4, 2/2": [sum(1 for w in kept if w["meter"] == m) for m in ("2/4", "4/4", "2/2")],
        "entropy bits": round(entropy, 2),
        "kept": kept,
    }


# ---------------------------------------------------------------- outputs ---

def dataset_json(kept: list[dict]) -> str:
    lines = []
    for w in kept:
        p = "".join("1" if v else "0" for v in w["vel"])
        v = ",".join(str(x) for x in w["vel"] if x)
        lines.append(f'{{"p":"{p}","v":[{v}],"src":{json.dumps(w["src"])}}}')
    return '{"version":1,\n"rhythms":[\n' + ",\n".join(lines) + '\n],\n"refused":[\n]}\n'


def manifest(results: list[dict], written: dict) -> str:
    name = written["collection"]
    out = [
        "# Built-in rhythm corpus",
        "",
        f"`builtin.json`: **{written['distinct windows']}** distinct 32-step windows of melodic rhythm (2 bars",
        f"of 4/4 or 2/2, 4 bars of 2/4) from **{name}** in music21 {music21.__version__}'s corpus, made by",
        "`tools/rhythm/corpus.py` (its docstring has every rule). The format is the data-set JSON of",
        "`crates/rhythm/src/dataset.rs`; `tidepool rhythm train --data builtin` reads it.",
        "",
        "Velocities: notation has none, so each onset gets a metrical accent by its place in the bar:",
        f"bar start {ACCENT['bar']}, half bar {ACCENT['half']}, other quarter beats {ACCENT['beat']}, "
        f"eighth off-beats {ACCENT['eighth']}, sixteenth off-beats {ACCENT['sixteenth']}.",
        "",
        "## Why these collections",
        "",
        "All three collections music21 ships were read with the same rules (a window at every bar line",
        "that starts a window's worth of complete, on-grid bars):",
        "",
        "| | " + " | ".join(r["collection"] for r in results) + f" | **written: {name}** |",
        "|---|" + "---|" * (len(results) + 1),
    ]
    rows = [
        ("tunes read", lambda r: r["counts"].get("tunes", 0)),
        ("tunes used (2/4, 4/4, 2/2)", lambda r: r["counts"].get("tunes used", 0)),
        ("windows (before deduplication)", lambda r: r["counts"].get("windows", 0)),
        ("distinct windows", lambda r: r["distinct windows"]),
        ("... in 2/4 / 4/4 / 2/2", lambda r: " / ".join(map(str, r["windows in 2/4, 4/4, 2/2"]))),
        ("distinct windows with sixteenth off-beats", lambda r: r["distinct windows with sixteenth off-beats"]),
        ("share of onsets on sixteenth off-beats", lambda r: f"{100 * r['share of onsets on sixteenth off-beats']:.1f} %"),
        ("mean hits per window", lambda r: r["mean hits per window"]),
        ("entropy of the patterns of all windows (bits)", lambda r: r["entropy bits"]),
    ]
    for label, f in rows:
        out.append(f"| {label} | " + " | ".join(str(f(r)) for r in results + [written]) + " |")
    out += [
        "",
        "Ryan's Mammoth Collection (1883) has the richest sixteenth-note rhythms: the largest share of",
        "onsets on sixteenth off-beats (its reels and hornpipes are written in 2/4 and 2/2 with running",
        "and dotted sixteenths). O'Neill's Music of Ireland adds a similar number of distinct windows,",
        "fewer of them with sixteenths. Neither alone gives much over two thousand distinct windows",
        "(fiddle tunes repeat their figures: most windows are duplicates), so both are written,",
        "deduplicated together. Both are public domain. The Essen collection gives the most windows but the fewest",
        "sixteenth off-beats per onset (folk songs in quarters and eighths), and its own license.txt",
        "in music21 calls its legal status unclear (permission for non-commercial use in music21), so",
        "it is measured here and not shipped.",
        "",
        f"## What was skipped in {name}, and why",
        "",
    ]
    c = written["counts"]
    out.append(f"- Tunes read: {c.get('tunes', 0)}; used: {c.get('tunes used', 0)}.")
    other = {m: n for m, n in written["meters"].items() if m not in METERS}
    for reason, n in sorted(written["skipped tunes"].items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(f"- Tunes skipped, {reason}: {n}.")
        if reason.startswith("meter not") and other:
            out.append("  Their meters: " + ", ".join(f"{m} {n}" for m, n in sorted(other.items(), key=lambda kv: (-kv[1], kv[0]))) + ".")
    out.append(f"- Bars in the tunes used: {c.get('bars', 0)}. Bars left out:")
    for reason, n in sorted(written["skipped bars"].items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(f"  - {reason}: {n}")
    out.append(f"  ({c.get('onsets in skipped bars', 0)} onsets were in them.)")
    out.append(f"- Usable bars in no window (a run of usable bars shorter than a window): {c.get('usable bars in no window', 0)}.")
    out.append(f"- Grace notes left out (ornaments): {c.get('grace notes left out', 0)}.")
    out.append(f"- Windows: {c.get('windows', 0)}; duplicates removed: {c.get('duplicate windows', 0)}; kept: {written['distinct windows']}.")
    out += ["", f"Generated with music21 {music21.__version__}.", ""]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--cache", type=str, default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--collections", nargs="+", choices=COLLECTIONS, default=WRITTEN,
                    help="the collections written to builtin.json (all are measured)")
    args = ap.parse_args()
    start = time.time()
    results, tunes_of = [], {}
    with Pool(args.jobs) as pool:
        for collection in COLLECTIONS:
            jobs = [(collection, str(p), args.cache) for p in collection_files(collection)]
            tunes_of[collection] = [t for file_tunes in pool.imap(read_file, jobs) for t in file_tunes]
            r = measure(collection, tunes_of[collection])
            print(f"{collection}: {len(tunes_of[collection])} tunes, {r['distinct windows']} distinct windows, "
                  f"{r['distinct windows with sixteenth off-beats']} with sixteenth off-beats "
                  f"({time.time() - start:.0f} s)", file=sys.stderr)
            results.append(r)
    name = " + ".join(args.collections)
    written = measure(name, [t for c in args.collections for t in tunes_of[c]])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "builtin.json").write_text(dataset_json(written["kept"]))
    (args.out / "MANIFEST.md").write_text(manifest(results, written))
    print(f"wrote {args.out / 'builtin.json'}: {written['distinct windows']} rhythms from {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
