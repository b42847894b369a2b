//! Keys and key estimation. The models work in C major / A minor (the training data is transposed
//! there), so a key in force is just the number of semitones to move their output by.
//!
//! Estimation is the Krumhansl–Schmuckler method: a pitch-class histogram of what the musician
//! played (each note weighted by how long it was held) is correlated with the Krumhansl–Kessler
//! major and minor profiles rotated to all 12 tonics; the best correlation wins. Old notes fade
//! (a decay per note), so the estimate follows a musician who changes key.

/// A key: tonic pitch class (0 = C) and mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub tonic: u8,
    pub minor: bool,
}

impl Key {
    pub const C_MAJOR: Key = Key {
        tonic: 0,
        minor: false,
    };

    /// Semitones that move C major / A minor to this key, in −5..=6 (the nearest way).
    pub fn transpose(self) -> i8 {
        let from = if self.minor { 9 } else { 0 };
        let up = (self.tonic as i32 - from).rem_euclid(12);
        (if up > 6 { up - 12 } else { up }) as i8
    }

    /// The key's index in the engine's key choices: 1..=12 major C…B, 13..=24 minor.
    pub fn choice_index(self) -> usize {
        1 + self.tonic as usize % 12 + if self.minor { 12 } else { 0 }
    }

    /// The key for a choice index (1..=24); None for 0 ("follow") and out of range.
    pub fn from_choice_index(index: usize) -> Option<Key> {
        (1..=24).contains(&index).then(|| Key {
            tonic: ((index - 1) % 12) as u8,
            minor: index > 12,
        })
    }
}

/// Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
const MAJOR_PROFILE: [f32; 12] = [
    6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88,
];
const MINOR_PROFILE: [f32; 12] = [
    6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17,
];

/// Weight kept by the older notes each time a note is added: about the last 24 notes count.
const DECAY: f32 = 0.96;

/// Running pitch-class histogram of the notes played. Fixed size; never allocates.
#[derive(Clone, Debug, Default)]
pub struct KeyEstimator {
    weights: [f32; 12],
}

impl KeyEstimator {
    pub fn clear(&mut self) {
        self.weights = [0.0; 12];
    }

    /// Counts a note of `pitch` held for `weight` (e.g. its length in 16ths; at least a little).
    pub fn add(&mut self, pitch: u8, weight: f32) {
        let w = if weight.is_finite() {
            weight.clamp(0.25, 64.0)
        } else {
            1.0
        };
        self.weights.iter_mut().for_each(|x| *x *= DECAY);
        self.weights[pitch as usize % 12] += w;
    }

    /// The best-correlated key, or None before any note (or with one pitch class only, where
    /// every key containing it is as good: then the tonic is that pitch class, major).
    pub fn estimate(&self) -> Option<Key> {
        let used = self.weights.iter().filter(|&&w| w > 1e-6).count();
        match used {
            0 => return None,
            1 => {
                let pc = self.weights.iter().position(|&w| w > 1e-6)?;
                return Some(Key {
                    tonic: pc as u8,
                    minor: false,
                });
            }
            _ => {}
        }
        let mut best = (f32::NEG_INFINITY, Key::C_MAJOR);
        for minor in [false, true] {
            let profile = if minor {
                &MINOR_PROFILE
            } else {
                &MAJOR_PROFILE
            };
            for tonic in 0..12u8 {
                let r = correlation(&self.weights, profile, tonic as usize);
                if r > best.0 {
                    best = (r, Key { tonic, minor });
                }
            }
        }
        Some(best.1)
    }
}

/// Pearson correlation of `weights` with `profile` rotated so its tonic is at `tonic`.
fn correlation(weights: &[f32; 12], profile: &[f32; 12], tonic: usize) -> f32 {
    let mean_w = weights.iter().sum::<f32>() / 12.0;
    let mean_p = profile.iter().sum::<f32>() / 12.0;
    let (mut num, mut ww, mut pp) = (0.0f32, 0.0f32, 0.0f32);
    for (pc, &w) in weights.iter().enumerate() {
        let p = profile[(pc + 12 - tonic) % 12] - mean_p;
        let w = w - mean_w;
        num += w * p;
        ww += w * w;
        pp += p * p;
    }
    if ww <= 0.0 {
        return f32::NEG_INFINITY;
    }
    num / libm::sqrtf(ww * pp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(pitches: &[u8]) -> Option<Key> {
        let mut k = KeyEstimator::default();
        pitches.iter().for_each(|&p| k.add(p, 2.0));
        k.estimate()
    }

    #[test]
    fn scales_and_arpeggios_find_their_key() {
        // G major scale with its tonic triad at the end.
        let g = [67, 69, 71, 72, 74, 76, 78, 79, 71, 74, 67];
        assert_eq!(
            estimate(&g),
            Some(Key {
                tonic: 7,
                minor: false
            })
        );
        // D minor (harmonic) phrase.
        let dm = [62, 64, 65, 67, 69, 70, 73, 74, 69, 65, 62];
        assert_eq!(
            estimate(&dm),
            Some(Key {
                tonic: 2,
                minor: true
            })
        );
        // E♭ major triad and scale.
        let eb = [63, 67, 70, 63, 65, 67, 68, 70, 72, 74, 75];
        assert_eq!(
            estimate(&eb),
            Some(Key {
                tonic: 3,
                minor: false
            })
        );
        assert_eq!(estimate(&[]), None);
        assert_eq!(
            estimate(&[64, 76]),
            Some(Key {
                tonic: 4,
                minor: false
            })
        );
    }

    #[test]
    fn transposition_moves_c_or_a_to_the_tonic_the_short_way() {
        let t = |tonic, minor| Key { tonic, minor }.transpose();
        assert_eq!(t(0, false), 0);
        assert_eq!(t(9, true), 0);
        assert_eq!(t(7, false), -5);
        assert_eq!(t(2, false), 2);
        assert_eq!(t(6, false), 6);
        assert_eq!(t(2, true), 5); // A minor → D minor: up a fourth
        assert_eq!(t(4, true), -5); // A minor → E minor: down a fourth
        for i in 1..=24 {
            let k = Key::from_choice_index(i).unwrap();
            assert_eq!(k.choice_index(), i);
            assert!((-5..=6).contains(&k.transpose()));
        }
        assert_eq!(Key::from_choice_index(0), None);
        assert_eq!(Key::from_choice_index(25), None);
    }

    #[test]
    fn the_estimate_follows_a_change_of_key() {
        let mut k = KeyEstimator::default();
        for p in [60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60] {
            k.add(p, 2.0);
        }
        assert_eq!(k.estimate(), Some(Key::C_MAJOR));
        for _ in 0..4 {
            for p in [66, 68, 70, 71, 73, 75, 77, 78, 73, 70, 66] {
                k.add(p, 2.0);
            }
        }
        assert_eq!(
            k.estimate(),
            Some(Key {
                tonic: 6,
                minor: false
            })
        );
    }
}
