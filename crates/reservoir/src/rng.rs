//! A seeded, portable random generator: the same seed gives the same numbers on every platform.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// ChaCha8 with explicit seed and stream. ChaCha's output is specified bit for bit (unlike `SmallRng`),
/// and the float conversions below use only exact arithmetic, so wasm and native agree.
#[derive(Clone, Debug)]
pub struct SeededRng(ChaCha8Rng);

impl SeededRng {
    /// A generator for `seed`; different `stream`s of one seed are independent sequences, so the
    /// recurrent weights do not shift when, say, the number of outputs changes.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Self(rng)
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn unit_f64(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [-1, 1).
    pub fn symmetric_f64(&mut self) -> f64 {
        self.unit_f64() * 2.0 - 1.0
    }

    /// Uniform integer in 0..n (n > 0), by rejection so there is no modulo bias.
    pub fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.0.next_u64();
            if v < zone {
                return (v % n) as usize;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_streams_differ() {
        let a: Vec<f64> = (0..8)
            .map({
                let mut r = SeededRng::new(7, 0);
                move |_| r.unit_f64()
            })
            .collect();
        let mut r = SeededRng::new(7, 0);
        let b: Vec<f64> = (0..8).map(|_| r.unit_f64()).collect();
        assert_eq!(a, b);
        let mut other = SeededRng::new(7, 1);
        assert_ne!(a[0], other.unit_f64());
        assert!(a.iter().all(|v| (0.0..1.0).contains(v)));
    }

    #[test]
    fn known_first_value_pins_the_generator() {
        // Values written down from rand_chacha 0.9's ChaCha8 (seed_from_u64, set_stream), not
        // computed here: a change of generator, seeding or float conversion would change every
        // patch's network and arpeggio, and must be noticed.
        let mut r = SeededRng::new(1, 0);
        let firsts: Vec<u64> = (0..3).map(|_| r.unit_f64().to_bits()).collect();
        assert_eq!(
            firsts,
            [
                0.402_485_663_664_848_06f64.to_bits(),
                0.080_383_708_929_781_97f64.to_bits(),
                0.596_560_180_934_854_9f64.to_bits(),
            ]
        );
        let mut s = SeededRng::new(1, 17);
        let draws: Vec<usize> = (0..3).map(|_| s.below(1000)).collect();
        assert_eq!(draws, [79, 991, 526]);
    }

    #[test]
    fn below_covers_the_range_without_escaping_it() {
        let mut r = SeededRng::new(3, 0);
        let mut seen = [0u32; 5];
        for _ in 0..5000 {
            seen[r.below(5)] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800), "{seen:?}");
    }
}
