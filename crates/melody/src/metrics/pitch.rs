//! Pitch metrics of a line: pitch-class entropy, the interval histogram (steps, repeats, leaps),
//! range, and whether a note belongs to the key in force.

use super::notes::Note;
use crate::key::Key;

/// Largest interval (semitones, either way) with a bin of its own; larger ones share a bin.
pub const MAX_INTERVAL: i32 = 12;
/// Bins of [`Intervals`]: below −12, −12 ..= 12, above 12.
pub const INTERVAL_BINS: usize = 2 * MAX_INTERVAL as usize + 3;
/// The widest step: |interval| ≤ 2 semitones is a step (a repeated note, 0, included), wider
/// is a leap.
pub const MAX_STEP: i32 = 2;

/// Entropy in bits of the pitch-class histogram of the notes' onsets (each note counts once,
/// whatever its length): 0 for one pitch class or none, log2(12) ≈ 3.585 at most.
pub fn pitch_class_entropy_bits(notes: &[Note]) -> f64 {
    let mut counts = [0u32; 12];
    for n in notes {
        counts[n.pitch as usize % 12] += 1;
    }
    entropy_bits(&counts)
}

/// Entropy in bits of a histogram (0 when it is empty).
pub fn entropy_bits(counts: &[u32]) -> f64 {
    let total: u32 = counts.iter().sum();
    if total == 0 {
        return 0.0;
    }
    let total = total as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / total;
            -p * p.log2()
        })
        .sum()
}

/// Highest minus lowest pitch in semitones (0 for one note or none).
pub fn range_semitones(notes: &[Note]) -> u32 {
    let lo = notes.iter().map(|n| n.pitch).min();
    let hi = notes.iter().map(|n| n.pitch).max();
    match (lo, hi) {
        (Some(lo), Some(hi)) => (hi - lo) as u32,
        _ => 0,
    }
}

/// Histogram of the intervals between consecutive notes (a rest between them does not break
/// the melody: the interval across it counts). Bin 0 is below −12 semitones, bin `i + 13` the
/// interval `i` for −12 ≤ i ≤ 12, the last bin above 12.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Intervals {
    pub bins: [u64; INTERVAL_BINS],
}

impl Default for Intervals {
    fn default() -> Self {
        Self {
            bins: [0; INTERVAL_BINS],
        }
    }
}

impl Intervals {
    /// The intervals of a line's consecutive notes.
    pub fn of(notes: &[Note]) -> Intervals {
        let mut out = Intervals::default();
        for w in notes.windows(2) {
            out.bins[bin(w[1].pitch as i32 - w[0].pitch as i32)] += 1;
        }
        out
    }

    /// Adds another histogram's counts (pooling lines).
    pub fn add(&mut self, other: &Intervals) {
        for (a, b) in self.bins.iter_mut().zip(other.bins) {
            *a += b;
        }
    }

    pub fn total(&self) -> u64 {
        self.bins.iter().sum()
    }

    /// Intervals of exactly `semitones` (−12 ..= 12; others count in the outer bins).
    pub fn count(&self, semitones: i32) -> u64 {
        self.bins[bin(semitones)]
    }

    /// Intervals with |interval| in `range` (the outer bins count as 13).
    fn count_abs(&self, lo: i32, hi: i32) -> u64 {
        (-MAX_INTERVAL - 1..=MAX_INTERVAL + 1)
            .filter(|i| (lo..=hi).contains(&i.abs()))
            .map(|i| self.bins[bin(i)])
            .sum()
    }

    /// Repeated notes (interval 0).
    pub fn repeats(&self) -> u64 {
        self.count(0)
    }

    /// Steps: |interval| ≤ [`MAX_STEP`], repeated notes included.
    pub fn steps(&self) -> u64 {
        self.count_abs(0, MAX_STEP)
    }

    /// Leaps: |interval| > [`MAX_STEP`].
    pub fn leaps(&self) -> u64 {
        self.count_abs(MAX_STEP + 1, i32::MAX)
    }
}

/// The bin of an interval in semitones.
fn bin(semitones: i32) -> usize {
    (semitones.clamp(-MAX_INTERVAL - 1, MAX_INTERVAL + 1) + MAX_INTERVAL + 1) as usize
}

/// Pitch classes of the key's scale, from its tonic: major, and for minor the natural minor
/// with the raised sixth and seventh as well (melodic and harmonic minor: the chorales' minor
/// lines use both; without them a correct leading tone would count as out of key).
const MAJOR_SCALE: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];
const MINOR_SCALE: [u8; 9] = [0, 2, 3, 5, 7, 8, 9, 10, 11];

/// The pitch belongs to the key's scale (see [`MAJOR_SCALE`], [`MINOR_SCALE`]).
pub fn in_key(pitch: u8, key: Key) -> bool {
    let degree = (pitch as i32 - key.tonic as i32).rem_euclid(12) as u8;
    if key.minor {
        MINOR_SCALE.contains(&degree)
    } else {
        MAJOR_SCALE.contains(&degree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notes(pitches: &[u8]) -> Vec<Note> {
        pitches
            .iter()
            .enumerate()
            .map(|(i, &pitch)| Note {
                onset: 4 * i as u32,
                duration: 4,
                pitch,
            })
            .collect()
    }

    #[test]
    fn entropy_by_hand() {
        assert_eq!(pitch_class_entropy_bits(&[]), 0.0);
        assert_eq!(pitch_class_entropy_bits(&notes(&[60])), 0.0);
        // C, C (an octave up: the same class), E, G: classes {C: 2, E: 1, G: 1} of 4,
        // H = ½·1 + ¼·2 + ¼·2 = 1.5 bits.
        assert!((pitch_class_entropy_bits(&notes(&[60, 72, 64, 67])) - 1.5).abs() < 1e-12);
        // All 12 classes once: log2 12 = 3.5849625…
        let chromatic: Vec<u8> = (60..72).collect();
        assert!((pitch_class_entropy_bits(&notes(&chromatic)) - 12f64.log2()).abs() < 1e-12);
    }

    #[test]
    fn intervals_steps_and_leaps_by_hand() {
        // 60 → 62 (+2 step) → 62 (0 repeat) → 59 (−3 leap) → 79 (+20, above 12) → 77 (−2 step)
        let iv = Intervals::of(&notes(&[60, 62, 62, 59, 79, 77]));
        assert_eq!(iv.total(), 5);
        assert_eq!(
            (iv.count(2), iv.count(0), iv.count(-3), iv.count(-2)),
            (1, 1, 1, 1)
        );
        assert_eq!(iv.bins[INTERVAL_BINS - 1], 1, "+20 in the top bin");
        assert_eq!((iv.steps(), iv.repeats(), iv.leaps()), (3, 1, 2));
        assert_eq!(Intervals::of(&notes(&[60])).total(), 0);
        assert_eq!(Intervals::of(&[]).total(), 0);
        assert_eq!(range_semitones(&notes(&[60, 62, 62, 59, 79, 77])), 20);
        assert_eq!(range_semitones(&notes(&[64])), 0);
        assert_eq!(range_semitones(&[]), 0);
    }

    #[test]
    fn scales_of_major_and_minor_keys() {
        let c = Key::C_MAJOR;
        let in_c: Vec<u8> = (60..72).filter(|&p| in_key(p, c)).collect();
        assert_eq!(in_c, [60, 62, 64, 65, 67, 69, 71]);
        let a_minor = Key {
            tonic: 9,
            minor: true,
        };
        // A B C D E F F# G G#: natural minor plus the raised sixth and seventh.
        let in_a: Vec<u8> = (57..69).filter(|&p| in_key(p, a_minor)).collect();
        assert_eq!(in_a, [57, 59, 60, 62, 64, 65, 66, 67, 68]);
        // D major: F# in, F out.
        let d = Key {
            tonic: 2,
            minor: false,
        };
        assert!(in_key(66, d) && !in_key(65, d));
    }
}
