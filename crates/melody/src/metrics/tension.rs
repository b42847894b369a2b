//! Tonal tension per bar in Chew's spiral array, with two of Herremans & Chew's measures
//! ("Tension ribbons", TENOR 2016): the cloud diameter and the tensile strain.
//!
//! The spiral array (Chew 2000) puts pitch class k of the line of fifths (C = 0, G = 1, F = −1,
//! …) at P(k) = (r·sin(kπ/2), r·cos(kπ/2), k·h): a quarter turn and a rise of h per fifth, so a
//! major third (4 fifths) sits straight above. A major chord is a weighted mean of its root, fifth
//! and third, a key a weighted mean of its tonic, dominant and subdominant chords.
//!
//! Constants, and why:
//! - r = 1 and h = √(2/15): Chew's calibration (2000), the rise at which a perfect fifth and a
//!   major third are equally far apart (|P(0) − P(1)| = |P(0) − P(4)| = √(32/15)), as the brief
//!   asks. (The midi-miner code of Herremans' group uses h = 0.4, which moves distances by a few
//!   percent; only the z components change.)
//! - Weights (0.536, 0.274, 0.190) for root, fifth and third of a chord, and the same for tonic,
//!   dominant and subdominant chords of a key; for a minor key the dominant is 0.75 major + 0.25
//!   minor (α = 0.75) and the subdominant 0.75 minor + 0.25 major (β = 0.75). These are the values
//!   in the tension code published with Herremans' later work (midi-miner's
//!   `tension_calculation.py`, Guo, Simpson, Magnusson, Kiefer & Herremans 2020), which
//!   implements Herremans & Chew 2016's measures. We could not check the weights against the 2000
//!   thesis itself from here; they satisfy its conditions (decreasing, summing to 1).
//!
//! A melody has one note at a time, so the "cloud" here is a bar (the paper's clouds are chords
//! or beats; a monophonic beat would always have diameter 0): the notes sounding in the bar, each
//! pitch weighted by the 16ths it sounds in the bar (a note tied over the bar line counts in
//! both). Cloud diameter: the largest distance between two of its pitch points. Centre of effect:
//! the duration-weighted mean of its pitch points. Tensile strain: the distance from the centre of
//! effect to the key's point. A bar of rests has no cloud.
//!
//! A line carries no spelling, so each pitch class is spelled at the line-of-fifths index within
//! five fifths flat-wards to six sharp-wards of the key's tonic (C major: D♭ … F♯; A minor:
//! B♭ … D♯, which spells the raised sixth and seventh F♯ and G♯ as they are in the key).

use super::notes::Line;
use crate::key::Key;

/// Radius of the pitch helix.
pub const R: f64 = 1.0;
/// Rise per fifth: √(2/15).
pub const H: f64 = 0.365_148_371_670_110_7;
/// Root, fifth, third of a chord; tonic, dominant, subdominant chord of a key.
pub const WEIGHTS: [f64; 3] = [0.536, 0.274, 0.190];
/// Share of the major dominant in a minor key's dominant.
pub const ALPHA: f64 = 0.75;
/// Share of the minor subdominant in a minor key's subdominant.
pub const BETA: f64 = 0.75;

pub type Point = [f64; 3];

/// Pitch class at line-of-fifths index `k` (C = 0, G = 1, F = −1).
pub fn pitch_point(k: i32) -> Point {
    // sin and cos of kπ/2 exactly (0 or ±1): no rounding, the same on every platform.
    let (s, c) = match k.rem_euclid(4) {
        0 => (0.0, 1.0),
        1 => (1.0, 0.0),
        2 => (0.0, -1.0),
        _ => (-1.0, 0.0),
    };
    [R * s, R * c, k as f64 * H]
}

fn mix(parts: [(f64, Point); 3]) -> Point {
    let mut out = [0.0; 3];
    for (w, p) in parts {
        for (o, v) in out.iter_mut().zip(p) {
            *o += w * v;
        }
    }
    out
}

fn lerp(a: f64, p: Point, q: Point) -> Point {
    [
        a * p[0] + (1.0 - a) * q[0],
        a * p[1] + (1.0 - a) * q[1],
        a * p[2] + (1.0 - a) * q[2],
    ]
}

/// The major chord with its root at index `k`: root, fifth (k + 1), major third (k + 4).
pub fn major_chord(k: i32) -> Point {
    let [w1, w2, w3] = WEIGHTS;
    mix([
        (w1, pitch_point(k)),
        (w2, pitch_point(k + 1)),
        (w3, pitch_point(k + 4)),
    ])
}

/// The minor chord with its root at index `k`: root, fifth (k + 1), minor third (k − 3).
pub fn minor_chord(k: i32) -> Point {
    let [w1, w2, w3] = WEIGHTS;
    mix([
        (w1, pitch_point(k)),
        (w2, pitch_point(k + 1)),
        (w3, pitch_point(k - 3)),
    ])
}

/// The key's tonic on the line of fifths: a major tonic within D♭ … F♯ (−5 ..= 6), a minor one
/// three fifths above its relative major's (A minor: 3).
pub fn tonic_index(key: Key) -> i32 {
    let spell = |pc: i32| {
        let k = (7 * pc).rem_euclid(12);
        if k > 6 {
            k - 12
        } else {
            k
        }
    };
    if key.minor {
        spell(key.tonic as i32 + 3) + 3
    } else {
        spell(key.tonic as i32)
    }
}

/// The key's point: tonic, dominant and subdominant chords mixed by [`WEIGHTS`] (a minor key's
/// dominant and subdominant mixed from major and minor chords by [`ALPHA`], [`BETA`]).
pub fn key_point(key: Key) -> Point {
    let t = tonic_index(key);
    let [w1, w2, w3] = WEIGHTS;
    if key.minor {
        mix([
            (w1, minor_chord(t)),
            (w2, lerp(ALPHA, major_chord(t + 1), minor_chord(t + 1))),
            (w3, lerp(BETA, minor_chord(t - 1), major_chord(t - 1))),
        ])
    } else {
        mix([
            (w1, major_chord(t)),
            (w2, major_chord(t + 1)),
            (w3, major_chord(t - 1)),
        ])
    }
}

/// The line-of-fifths index of a pitch in a key (see the module doc for the spelling).
pub fn spelled(pitch: u8, key: Key) -> i32 {
    let low = tonic_index(key) - 5;
    low + (7 * pitch as i32 - low).rem_euclid(12)
}

/// Euclidean distance.
pub fn distance(a: Point, b: Point) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// One bar's tension.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BarTension {
    /// Largest distance between two pitch points sounding in the bar (0 for one pitch class).
    pub diameter: f64,
    /// Distance from the bar's centre of effect to the key's point.
    pub strain: f64,
}

/// The tension of every bar the line touches (bar 0 is the one it starts in, partial bars
/// included), None for a bar without a sounding note.
pub fn tension_curve(line: &Line, key: Key) -> Vec<Option<BarTension>> {
    let m = line.meter;
    if line.length == 0 {
        return Vec::new();
    }
    let bars = m.bar_of(line.length - 1) as usize + 1;
    let key_at = key_point(key);
    // Per bar: Σ weight·point, Σ weight, and which line-of-fifths indices sound (spelled
    // indices lie in a window of 12, so a 12-bit set).
    let mut sums = vec![([0.0f64; 3], 0u32, 0u16); bars];
    let low = tonic_index(key) - 5;
    for note in &line.notes {
        let k = spelled(note.pitch, key);
        let p = pitch_point(k);
        let end = (note.onset + note.duration).min(line.length);
        let mut t = note.onset;
        while t < end {
            let b = m.bar_of(t);
            let bar_end = (b + 1) * m.bar - m.phase;
            let dur = bar_end.min(end) - t;
            let (sum, weight, set) = &mut sums[b as usize];
            for (s, v) in sum.iter_mut().zip(p) {
                *s += dur as f64 * v;
            }
            *weight += dur;
            *set |= 1 << (k - low);
            t += dur;
        }
    }
    sums.into_iter()
        .map(|(sum, weight, set)| {
            if weight == 0 {
                return None;
            }
            let centre = sum.map(|s| s / weight as f64);
            let points: Vec<Point> = (0..12)
                .filter(|i| set & (1 << i) != 0)
                .map(|i| pitch_point(low + i))
                .collect();
            let mut diameter = 0.0f64;
            for (i, &a) in points.iter().enumerate() {
                for &b in &points[i + 1..] {
                    diameter = diameter.max(distance(a, b));
                }
            }
            Some(BarTension {
                diameter,
                strain: distance(centre, key_at),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::notes::Meter;
    use super::*;
    use crate::tokens::{HOLD, NOTE_OFF};

    const A_MINOR: Key = Key {
        tonic: 9,
        minor: true,
    };

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_constants_are_chews() {
        assert!(close(H, (2.0f64 / 15.0).sqrt()));
        assert!(close(WEIGHTS.iter().sum::<f64>(), 1.0));
        // The calibration: a fifth and a major third equally far, √(32/15).
        let c = pitch_point(0);
        assert!(close(distance(c, pitch_point(1)), (32.0f64 / 15.0).sqrt()));
        assert!(close(distance(c, pitch_point(4)), (32.0f64 / 15.0).sqrt()));
    }

    #[test]
    fn spelling_around_the_key() {
        let c = Key::C_MAJOR;
        // C G D A E B F#: 0..6; F Bb Eb Ab Db: −1..−5.
        let want = [(60, 0), (67, 1), (66, 6), (65, -1), (61, -5), (70, -2)];
        for (p, k) in want {
            assert_eq!(spelled(p, c), k, "pitch {p}");
        }
        assert_eq!(tonic_index(A_MINOR), 3);
        // In A minor, G# is 8 (three fifths above A … E B F# C# G#) and Eb is D# (9).
        assert_eq!(spelled(68, A_MINOR), 8);
        assert_eq!(spelled(63, A_MINOR), 9);
        assert_eq!(spelled(70, A_MINOR), -2);
        let g = Key {
            tonic: 7,
            minor: false,
        };
        assert_eq!(tonic_index(g), 1);
    }

    /// The C major triad, C E G a quarter each and a quarter's rest, one bar of 4/4, in C major.
    ///
    /// Points (h² = 2/15): C = P(0) = (0, 1, 0), G = P(1) = (1, 0, h), E = P(4) = (0, 1, 4h).
    /// Diameter: |C−E| = 4h = 1.46059, |C−G| = √(1 + 1 + h²) = √(32/15) = 1.46059,
    /// |G−E| = √(1 + 1 + 9h²) = √(2 + 18/15) = √3.2 = 1.788854 (the largest).
    /// Centre of effect (equal weights): (1/3, 2/3, 5h/3).
    /// Key of C, with w = (0.536, 0.274, 0.19):
    ///   C major chord C_M(0) = w1·P0 + w2·P1 + w3·P4 = (0.274, 0.726, (0.274 + 0.76)h)
    ///   G major C_M(1) = w1·P1 + w2·P2 + w3·P5, P2 = (0, −1, 2h), P5 = (1, 0, 5h)
    ///                  = (0.726, −0.274, 2.034h)
    ///   F major C_M(−1) = w1·P(−1) + w2·P0 + w3·P3, P(−1) = (−1, 0, −h), P3 = (−1, 0, 3h)
    ///                   = (−0.726, 0.274, 0.034h)
    ///   key = 0.536·C_M(0) + 0.274·C_M(1) + 0.19·C_M(−1):
    ///     x = 0.146864 + 0.198924 − 0.137940 = 0.207848
    ///     y = 0.389136 − 0.075076 + 0.052060 = 0.366120
    ///     z = (0.554224 + 0.557316 + 0.006460)h = 1.118h = 0.408236
    /// Strain = |(0.333333 − 0.207848, 0.666667 − 0.366120, (1.666667 − 1.118)h)|
    ///        = |(0.125485, 0.300547, 0.200345)| = √(0.015747 + 0.090328 + 0.040138)
    ///        = √0.146213 = 0.382378.
    #[test]
    fn a_c_major_triad_in_c_major_by_hand() {
        let key_at = key_point(Key::C_MAJOR);
        assert!((key_at[0] - 0.207848).abs() < 1e-6);
        assert!((key_at[1] - 0.366120).abs() < 1e-6);
        assert!((key_at[2] - 1.118 * H).abs() < 1e-9);
        let tokens = [
            60, HOLD, HOLD, HOLD, 64, HOLD, HOLD, HOLD, 67, HOLD, HOLD, HOLD, NOTE_OFF, HOLD, HOLD,
            HOLD,
        ];
        let line = Line::from_tokens(&tokens, Meter::FOUR_FOUR);
        let curve = tension_curve(&line, Key::C_MAJOR);
        assert_eq!(curve.len(), 1);
        let bar = curve[0].unwrap();
        assert!((bar.diameter - 3.2f64.sqrt()).abs() < 1e-9, "{bar:?}");
        assert!((bar.strain - 0.382378).abs() < 1e-5, "{bar:?}");
    }

    #[test]
    fn tension_moves_with_the_key_and_the_notes() {
        let one_bar = |pitches: [u8; 3]| {
            let mut tokens = Vec::new();
            for p in pitches {
                tokens.extend([p, HOLD, HOLD, HOLD]);
            }
            tokens.extend([NOTE_OFF, HOLD, HOLD, HOLD]);
            Line::from_tokens(&tokens, Meter::FOUR_FOUR)
        };
        let strain = |line: &Line, key| tension_curve(line, key)[0].unwrap().strain;
        // The spiral array is the same from every fifth: G B D in G major = C E G in C major.
        let c_in_c = tension_curve(&one_bar([60, 64, 67]), Key::C_MAJOR)[0].unwrap();
        let g = Key {
            tonic: 7,
            minor: false,
        };
        let g_in_g = tension_curve(&one_bar([67, 71, 74]), g)[0].unwrap();
        assert!(close(c_in_c.diameter, g_in_g.diameter) && close(c_in_c.strain, g_in_g.strain));
        // A minor's triad is nearer A minor's point than C major's, and C major's triad the
        // other way round.
        let a = one_bar([57, 60, 64]);
        assert!(strain(&a, A_MINOR) < strain(&a, Key::C_MAJOR));
        let c = one_bar([60, 64, 67]);
        assert!(strain(&c, Key::C_MAJOR) < strain(&c, A_MINOR));
        // A tritone-laden bar (F# C Eb) is tenser than the tonic triad on both measures.
        let far = tension_curve(&one_bar([66, 60, 63]), Key::C_MAJOR)[0].unwrap();
        assert!(far.diameter > c_in_c.diameter && far.strain > c_in_c.strain);
    }

    #[test]
    fn bars_rests_ties_and_edges() {
        // Bar 0: C for the whole bar; bar 1: rest; bars 2–3: G from 32, held 20 16ths into
        // bar 3 (partial: the line is 52 long).
        let mut tokens = vec![60];
        tokens.extend([HOLD; 15]);
        tokens.push(NOTE_OFF);
        tokens.extend([HOLD; 15]);
        tokens.push(67);
        tokens.extend([HOLD; 19]);
        let line = Line::from_tokens(&tokens, Meter::FOUR_FOUR);
        let curve = tension_curve(&line, Key::C_MAJOR);
        assert_eq!(curve.len(), 4);
        assert!(curve[1].is_none());
        let key_at = key_point(Key::C_MAJOR);
        // One pitch per bar: diameter 0, strain = the pitch's distance from the key.
        let c = curve[0].unwrap();
        assert_eq!(c.diameter, 0.0);
        assert!(close(c.strain, distance(pitch_point(0), key_at)));
        for g in [curve[2].unwrap(), curve[3].unwrap()] {
            assert_eq!(g.diameter, 0.0);
            assert!(close(g.strain, distance(pitch_point(1), key_at)));
        }
        // Empty line, all rests.
        assert!(tension_curve(&Line::from_tokens(&[], Meter::FOUR_FOUR), Key::C_MAJOR).is_empty());
        let rests = Line::from_tokens(&[NOTE_OFF, HOLD, HOLD], Meter::FOUR_FOUR);
        assert_eq!(tension_curve(&rests, Key::C_MAJOR), vec![None]);
    }

    #[test]
    fn a_note_tied_over_the_bar_line_weighs_in_both_bars() {
        // Phase 12: C for 8 16ths from the pickup (4 in bar 0, 4 in bar 1), then E for 12 in
        // bar 1. Bar 1's centre of effect is (4·P0 + 12·P4) / 16.
        let mut tokens = vec![60];
        tokens.extend([HOLD; 7]);
        tokens.push(64);
        tokens.extend([HOLD; 11]);
        let line = Line::from_tokens(&tokens, Meter::new(16, 12).unwrap());
        let curve = tension_curve(&line, Key::C_MAJOR);
        assert_eq!(curve.len(), 2);
        let (c, e) = (pitch_point(0), pitch_point(4));
        let centre: Point = std::array::from_fn(|i| (4.0 * c[i] + 12.0 * e[i]) / 16.0);
        let bar1 = curve[1].unwrap();
        assert!(close(
            bar1.strain,
            distance(centre, key_point(Key::C_MAJOR))
        ));
        assert!(close(bar1.diameter, 4.0 * H));
    }
}
