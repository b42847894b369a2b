//! Pooling the metrics over many lines into one row of the table.
//!
//! Where a metric is a ratio of counts, the counts are pooled (Σ on-beat onsets / Σ onsets,
//! not the mean of each line's share): a 4-note line must not weigh as much as a 200-note one.
//! The metrics whose value grows with a line's length (pitch-class entropy, range, longest
//! repeated figure) are measured on whole 8-bar windows (the live view's span) and averaged over
//! windows, so 32-bar generated lines and 10-bar chorale lines are comparable. The onset variance
//! pools the sums of squares over the lines' degrees of freedom; the tension averages over bars
//! with a note.

use super::figure::longest_repeated_figure;
use super::notes::Line;
use super::pitch::{in_key, pitch_class_entropy_bits, range_semitones, Intervals};
use super::rhythm::{onsets_on_beat, OnsetVariance};
use super::tension::tension_curve;
use crate::key::Key;

/// Bars in a window of the length-dependent metrics.
pub const WINDOW_BARS: u32 = 8;

/// Running sums over lines; see the module doc.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    lines: u64,
    notes: u64,
    bars: f64,
    intervals: Intervals,
    on_beat: u64,
    in_key: u64,
    variance: OnsetVariance,
    windows: u64,
    entropy_sum: f64,
    range_sum: f64,
    figure_sum: f64,
    tension_bars: u64,
    curve_bars: u64,
    diameter_sum: f64,
    strain_sum: f64,
}

/// One row: every metric of the lines measured (None where there was nothing to measure).
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub lines: u64,
    pub notes: u64,
    pub bars: f64,
    /// Whole 8-bar windows the entropy, range and figure were measured on.
    pub windows: u64,
    /// Pitch-class entropy in bits, mean over windows.
    pub entropy_bits: Option<f64>,
    /// Share of intervals with |interval| ≤ 2 semitones (repeated notes included).
    pub step_share: Option<f64>,
    /// Share of intervals that repeat the note (part of the steps).
    pub repeat_share: Option<f64>,
    /// Share of intervals wider than 2 semitones (1 − step share).
    pub leap_share: Option<f64>,
    pub intervals: Intervals,
    /// Highest minus lowest pitch, mean over windows.
    pub range_semitones: Option<f64>,
    /// Onsets per bar.
    pub density: Option<f64>,
    /// Share of onsets on a quarter-note position.
    pub on_beat_share: Option<f64>,
    /// See [`OnsetVariance::value`].
    pub onset_variance: Option<f64>,
    /// Share of notes in the key's scale.
    pub in_key_share: Option<f64>,
    /// Moves of the longest repeated figure, mean over windows.
    pub longest_figure: Option<f64>,
    /// Spiral-array cloud diameter, mean over bars with a note.
    pub mean_diameter: Option<f64>,
    /// Spiral-array tensile strain, mean over bars with a note.
    pub mean_strain: Option<f64>,
    /// Share of the bars the lines touch in which no note sounds (a free line that has ended
    /// itself with a note-off and stays silent shows here, and lowers the density).
    pub silent_bar_share: Option<f64>,
}

fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

impl Tally {
    /// Adds a line measured in `key`.
    pub fn add(&mut self, line: &Line, key: Key) {
        self.lines += 1;
        self.notes += line.notes.len() as u64;
        self.bars += line.bars();
        self.intervals.add(&Intervals::of(&line.notes));
        self.on_beat += onsets_on_beat(line);
        self.in_key += line.notes.iter().filter(|n| in_key(n.pitch, key)).count() as u64;
        self.variance.add(OnsetVariance::of(line));
        for window in line.windows(WINDOW_BARS) {
            self.windows += 1;
            self.entropy_sum += pitch_class_entropy_bits(window);
            self.range_sum += range_semitones(window) as f64;
            self.figure_sum += longest_repeated_figure(window) as f64;
        }
        let curve = tension_curve(line, key);
        self.curve_bars += curve.len() as u64;
        for bar in curve.into_iter().flatten() {
            self.tension_bars += 1;
            self.diameter_sum += bar.diameter;
            self.strain_sum += bar.strain;
        }
    }

    /// The metrics of the lines added so far.
    pub fn summary(&self) -> Summary {
        let intervals = self.intervals.total() as f64;
        let notes = self.notes as f64;
        let windows = self.windows as f64;
        let bars = self.tension_bars as f64;
        Summary {
            lines: self.lines,
            notes: self.notes,
            bars: self.bars,
            windows: self.windows,
            entropy_bits: ratio(self.entropy_sum, windows),
            step_share: ratio(self.intervals.steps() as f64, intervals),
            repeat_share: ratio(self.intervals.repeats() as f64, intervals),
            leap_share: ratio(self.intervals.leaps() as f64, intervals),
            intervals: self.intervals,
            range_semitones: ratio(self.range_sum, windows),
            density: ratio(notes, self.bars),
            on_beat_share: ratio(self.on_beat as f64, notes),
            onset_variance: self.variance.value(),
            in_key_share: ratio(self.in_key as f64, notes),
            longest_figure: ratio(self.figure_sum, windows),
            mean_diameter: ratio(self.diameter_sum, bars),
            mean_strain: ratio(self.strain_sum, bars),
            silent_bar_share: ratio(
                (self.curve_bars - self.tension_bars) as f64,
                self.curve_bars as f64,
            ),
        }
    }
}

impl Summary {
    /// The metrics of one line.
    pub fn of(line: &Line, key: Key) -> Summary {
        let mut t = Tally::default();
        t.add(line, key);
        t.summary()
    }
}

#[cfg(test)]
mod tests {
    use super::super::notes::{Meter, Note};
    use super::super::tension::{distance, key_point, pitch_point};
    use super::*;
    use crate::tokens::{HOLD, NOTE_OFF};

    /// Eight bars of 4/4: bars 1–4 (t 0..64) "C D E C" in quarters, repeated as bars 5–8
    /// except bar 8 is "C" for a whole bar. Then a closing note-off: length 129.
    fn eight_bars() -> Line {
        let mut tokens = Vec::new();
        for bar in 0..8 {
            if bar == 7 {
                tokens.push(60);
                tokens.extend([HOLD; 15]);
            } else {
                for p in [60, 62, 64, 60] {
                    tokens.extend([p, HOLD, HOLD, HOLD]);
                }
            }
        }
        tokens.push(NOTE_OFF);
        Line::from_tokens(&tokens, Meter::FOUR_FOUR)
    }

    #[test]
    fn one_line_by_hand() {
        let s = Summary::of(&eight_bars(), Key::C_MAJOR);
        // Notes: 7 bars × 4 + 1 = 29; length 129 16ths = 8.0625 bars.
        assert_eq!((s.lines, s.notes, s.windows), (1, 29, 1));
        assert!((s.density.unwrap() - 29.0 / 8.0625).abs() < 1e-12);
        // Every onset is on a quarter; every note is in C major.
        assert_eq!(s.on_beat_share, Some(1.0));
        assert_eq!(s.in_key_share, Some(1.0));
        // Pitch classes: C 7·2 + 1 = 15, D 7, E 7 of 29:
        // H = −(15/29·log2(15/29) + 2·7/29·log2(7/29)) = 0.491943 + 2·0.494979 = 1.481901.
        assert!((s.entropy_bits.unwrap() - 1.481901).abs() < 1e-6, "{s:?}");
        // Intervals: per bar C→D +2, D→E +2, E→C −4, and C→C 0 between bars (7 times):
        // +2: 14, −4: 7, 0: 7 → 28; steps (≤ 2, repeats in) 21/28 = 0.75, repeats 7/28.
        assert_eq!(s.intervals.total(), 28);
        assert_eq!(s.step_share, Some(0.75));
        assert_eq!(s.repeat_share, Some(0.25));
        assert_eq!(s.leap_share, Some(0.25));
        assert_eq!(s.range_semitones, Some(4.0));
        // Onset variance over the 8 whole bars (t 0..128): positions 4, 8, 12 have onsets in 7
        // bars of 8: q = 7/8, SS = 8·7/8·1/8 = 0.875 each; position 0 always (SS 0).
        // Σ SS / 16 = 2.625/16 = 0.1640625, dof 7 → 0.0234375.
        assert!((s.onset_variance.unwrap() - 0.0234375).abs() < 1e-12);
        // Moves (interval, inter-onset time) repeat with period 4, (+2,4) (+2,4) (−4,4) (0,4),
        // 28 of them (the last (0,4) goes into bar 8's C). Equal runs start 4m apart (no other
        // shift matches: (+2,4) (+2,4) is followed by (−4,4)); two runs of k moves that do not
        // share one need k ≤ 4m and 4m + k ≤ 28: m = 3 gives 12 (moves 0–11 and 12–23), m = 4
        // gives min(16, 12) = 12. So 12.
        assert_eq!(s.longest_figure, Some(12.0));
        // Tension: bars 1–7 hold C (8 16ths), D (4), E (4); bar 8 C alone; bar 9 (the closing
        // 16th of rest) has no cloud. Bar 8's strain is C's distance from the key.
        let key_at = key_point(Key::C_MAJOR);
        let (c, d, e) = (pitch_point(0), pitch_point(2), pitch_point(4));
        let centre: [f64; 3] =
            std::array::from_fn(|i| (8.0 * c[i] + 4.0 * d[i] + 4.0 * e[i]) / 16.0);
        let strain = (7.0 * distance(centre, key_at) + distance(c, key_at)) / 8.0;
        // Diameter of {C, D, E}: |D−E| = |(0, −1, 2h) − (0, 1, 4h)| = √(4 + 4h²) = the largest
        // (|C−D| = √(4 + 4h²) too, |C−E| = 4h = 1.46 < 2.13).
        let diameter = 7.0 * distance(d, e) / 8.0;
        assert!((s.mean_strain.unwrap() - strain).abs() < 1e-12);
        assert!((s.mean_diameter.unwrap() - diameter).abs() < 1e-12);
        // 9 bars touched (the 9th by the closing 16th of rest), 1 without a note.
        assert_eq!(s.silent_bar_share, Some(1.0 / 9.0));
    }

    #[test]
    fn pooling_adds_counts_not_ratios() {
        // Line A: 4 quarter notes on the beat; line B: 1 note off the beat. Pooled on-beat
        // share is 4/5 = 0.8, not the mean of 1 and 0 (0.5).
        let a = Line::from_tokens(
            &[
                60, HOLD, HOLD, HOLD, 62, HOLD, HOLD, HOLD, 64, HOLD, HOLD, HOLD, 65, HOLD, HOLD,
                HOLD,
            ],
            Meter::FOUR_FOUR,
        );
        let b = Line::from_notes(
            vec![Note {
                onset: 2,
                duration: 2,
                pitch: 67,
            }],
            16,
            Meter::FOUR_FOUR,
        );
        let mut t = Tally::default();
        t.add(&a, Key::C_MAJOR);
        t.add(&b, Key::C_MAJOR);
        let s = t.summary();
        assert_eq!(s.on_beat_share, Some(0.8));
        assert_eq!(s.density, Some(5.0 / 2.0));
        assert_eq!(s.lines, 2);
        // No 8-bar window in either: the windowed metrics have no value.
        assert_eq!(
            (s.windows, s.entropy_bits, s.range_semitones),
            (0, None, None)
        );
    }

    #[test]
    fn empty_one_note_and_silent_lines() {
        let empty = Summary::of(&Line::from_tokens(&[], Meter::FOUR_FOUR), Key::C_MAJOR);
        assert_eq!(empty.notes, 0);
        assert_eq!(empty.density, None);
        assert_eq!(empty.step_share, None);
        assert_eq!(empty.on_beat_share, None);
        assert_eq!(empty.mean_strain, None);
        assert_eq!(empty.onset_variance, None);
        // One note held for 8 bars: no intervals, entropy 0, range 0, figure 0, density 1/8.
        let mut tokens = vec![62];
        tokens.extend([HOLD; 127]);
        let one = Summary::of(&Line::from_tokens(&tokens, Meter::FOUR_FOUR), Key::C_MAJOR);
        assert_eq!(one.notes, 1);
        assert_eq!(one.step_share, None);
        assert_eq!(
            (one.entropy_bits, one.range_semitones, one.longest_figure),
            (Some(0.0), Some(0.0), Some(0.0))
        );
        assert_eq!(one.density, Some(0.125));
        assert_eq!(one.mean_diameter, Some(0.0));
        // Only bar 0 has an onset (at position 0): q_0 = 1/8, SS = 8·(1/8)(7/8) = 0.875,
        // / 16 / 7 dof = 0.0078125.
        assert!((one.onset_variance.unwrap() - 0.0078125).abs() < 1e-12);
        // Eight bars of rest.
        let mut rests = vec![NOTE_OFF];
        rests.extend([HOLD; 127]);
        let silent = Summary::of(&Line::from_tokens(&rests, Meter::FOUR_FOUR), Key::C_MAJOR);
        assert_eq!((silent.notes, silent.density), (0, Some(0.0)));
        assert_eq!((silent.on_beat_share, silent.mean_strain), (None, None));
        assert_eq!(silent.onset_variance, Some(0.0));
        assert_eq!(silent.silent_bar_share, Some(1.0));
        assert_eq!(one.silent_bar_share, Some(0.0));
        assert_eq!(empty.silent_bar_share, None);
        assert_eq!(silent.entropy_bits, Some(0.0));
    }
}
