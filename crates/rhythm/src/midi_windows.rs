//! MIDI notes to training rhythms: every window of 32 sixteenths that starts on a bar line and
//! holds at least one onset becomes a [`Rhythm`] with the notes' velocities.
//!
//! The grid is in beats, not seconds, so tempo changes do not move a note off its step. Onsets
//! are rounded to the nearest sixteenth (half a sixteenth rounds later). Windows are laid per
//! stretch of one time signature, starting at the signature's first bar line, and follow each
//! other every whole number of bars that covers 32 sixteenths:
//! - 4/4 (and 2/2): a window is two bars, windows every 2 bars: nothing is lost;
//! - 2/4: four bars, every 4 bars: nothing is lost;
//! - 3/4 and 6/8 (12 sixteenths a bar): windows every 3 bars (36 sixteenths); the last 4
//!   sixteenths of every third bar fall between windows and are dropped (counted in
//!   [`MidiRhythms::onsets_dropped`]); likewise 5/4 (8 of 40), 12/8 (16 of 48);
//! - a bar of more than 32 sixteenths: one window per bar, its first 32 sixteenths.
//!
//! A window is cut short where a new time signature starts (its steps there stay rests; the
//! new signature's windows start at its own bar line). A bar length that is not a whole number
//! of sixteenths (x/32, x/64) is rounded to one. Several onsets on one step (chords, doubled
//! notes) make one hit with the loudest velocity. Windows with no onset are skipped.

use crate::midi_file::MidiFile;
use crate::pattern::{Rhythm, STEPS};

/// Which notes count as onsets (all of them by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoteFilter {
    /// Only this channel, 0..=15 (channel 10 of the MIDI spec is 9).
    pub channel: Option<u8>,
    /// Lowest and highest pitch taken, inclusive.
    pub pitch_min: u8,
    pub pitch_max: u8,
}

impl Default for NoteFilter {
    fn default() -> Self {
        NoteFilter {
            channel: None,
            pitch_min: 0,
            pitch_max: 127,
        }
    }
}

impl NoteFilter {
    fn admits(&self, channel: u8, pitch: u8) -> bool {
        self.channel.is_none_or(|c| c == channel)
            && (self.pitch_min..=self.pitch_max).contains(&pitch)
    }
}

/// One window's rhythm and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct MidiRhythm {
    pub rhythm: Rhythm,
    /// Where the window starts, in quarter-note beats from the file's start.
    pub start_beats: f64,
    /// The bar the window starts in, counting from 1.
    pub bar: usize,
}

/// The rhythms of one file and what happened to its onsets.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct MidiRhythms {
    pub rhythms: Vec<MidiRhythm>,
    /// Onsets that passed the filter.
    pub onsets: usize,
    /// Of those, onsets that fell between windows (see the module notes on 3/4 and 6/8).
    pub onsets_dropped: usize,
}

/// One stretch of a single time signature, in whole sixteenths.
struct Segment {
    start16: i64,
    bar16: i64,
    /// Sixteenths between window starts: the whole bars that cover 32 sixteenths.
    window16: i64,
    /// Bars before this segment, for the `bar` numbers.
    bars_before: i64,
}

fn segments(file: &MidiFile) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for sig in &file.time_signatures {
        let start16 = (sig.beat * 4.0 + 0.5).floor() as i64;
        let bar16 = ((sig.bar_beats() * 4.0).round() as i64).max(1);
        let steps = STEPS as i64;
        let window16 = bar16 * ((steps + bar16 - 1) / bar16);
        let bars_before = match out.last() {
            Some(prev) => prev.bars_before + (start16 - prev.start16 + prev.bar16 - 1) / prev.bar16,
            None => 0,
        };
        // Two signatures rounding to the same sixteenth: the later one rules.
        if out.last().is_some_and(|prev| prev.start16 == start16) {
            out.pop();
        }
        out.push(Segment {
            start16,
            bar16,
            window16,
            bars_before,
        });
    }
    out
}

/// The rhythms of every window of `file` that holds an onset admitted by `filter`, in order.
pub fn rhythms_from_midi(file: &MidiFile, filter: &NoteFilter) -> MidiRhythms {
    let segs = segments(file);
    let mut out = MidiRhythms::default();
    // (segment, window index) of the window being filled, and its steps.
    let mut current: Option<(usize, i64)> = None;
    let mut velocity = [0u8; STEPS];
    let flush = |key: Option<(usize, i64)>, velocity: &mut [u8; STEPS], out: &mut MidiRhythms| {
        if let Some((s, k)) = key {
            let seg = &segs[s];
            let hits = velocity.map(|v| v > 0);
            if hits.iter().any(|&h| h) {
                out.rhythms.push(MidiRhythm {
                    rhythm: Rhythm::new(hits, Some(velocity)),
                    start_beats: (seg.start16 + k * seg.window16) as f64 / 4.0,
                    bar: (seg.bars_before + k * seg.window16 / seg.bar16 + 1) as usize,
                });
            }
        }
        *velocity = [0; STEPS];
    };
    for note in &file.notes {
        if !filter.admits(note.channel, note.pitch) {
            continue;
        }
        out.onsets += 1;
        let q = (note.start_beats * 4.0 + 0.5).floor() as i64;
        // The segment the rounded onset lies in (segments[0] starts at 0, notes never before).
        let s = segs
            .partition_point(|seg| seg.start16 <= q)
            .saturating_sub(1);
        let seg = &segs[s];
        let into = q - seg.start16;
        let (k, step) = (into.div_euclid(seg.window16), into.rem_euclid(seg.window16));
        if step >= STEPS as i64 {
            out.onsets_dropped += 1;
            continue;
        }
        // Notes are sorted by onset, and rounding keeps the order, so windows come in order.
        if current != Some((s, k)) {
            flush(current, &mut velocity, &mut out);
            current = Some((s, k));
        }
        let v = &mut velocity[step as usize];
        *v = (*v).max(note.velocity.max(1));
    }
    flush(current, &mut velocity, &mut out);
    out
}
