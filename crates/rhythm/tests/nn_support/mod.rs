//! Shared by the rhythm tests and the training bench: a seeded set of musical 2-bar rhythms
//! (common patterns with random variations and accents) and reconstruction measures.

#![allow(dead_code)]

use tidepool_rhythm::model::Autoencoder;
use tidepool_rhythm::{Rhythm, STEPS};

/// Patterns a synth-loop library is full of: four on the floor, off-beats, tresillo, son and
/// rumba clave, eighths, sixteenth runs, syncopations, half notes.
const PATTERNS: [&str; 12] = [
    "1000100010001000 1000100010001000",
    "0010001000100010 0010001000100010",
    "1001001000100000 1001001000100000",
    "1001001000101000 0010100000000000",
    "1001000100101000 0010100000000000",
    "1010101010101010 1010101010101010",
    "1111111111111111 1010101010101010",
    "1000001000100000 1000001000100010",
    "1000000010000000 1000000010000000",
    "0110011001100110 0110011001100110",
    "1000100110001001 1000100110001011",
    "1100110011001100 1111000011110000",
];

/// xorshift64*.
pub struct Xs(pub u64);

impl Xs {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// `n` rhythms: a pattern with each step flipped with probability 1/25, velocities accented
/// on the beats.
pub fn example_rhythms(n: usize, seed: u64) -> Vec<Rhythm> {
    let mut rng = Xs(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    (0..n)
        .map(|_| {
            let base = Rhythm::parse_pattern(PATTERNS[(rng.next() % 12) as usize]).unwrap();
            let mut hits = base.hits;
            let mut velocity = [0u8; STEPS];
            for (i, h) in hits.iter_mut().enumerate() {
                if rng.unit() < 0.04 {
                    *h = !*h;
                }
                let accent = if i % 4 == 0 { 30 } else { 0 };
                velocity[i] = 50 + accent + (rng.next() % 40) as u8;
            }
            Rhythm::new(hits, Some(&velocity))
        })
        .collect()
}

/// Fraction of steps whose thresholded (0.5) reconstruction equals the rhythm, and fraction
/// of rhythms reconstructed exactly.
pub fn reconstruction(model: &Autoencoder, data: &[Rhythm]) -> (f32, f32) {
    let (mut steps, mut exact) = (0usize, 0usize);
    for r in data {
        let out = model.reconstruct(r);
        let right = (0..STEPS)
            .filter(|&s| (out.prob[s] >= 0.5) == r.hits[s])
            .count();
        steps += right;
        exact += usize::from(right == STEPS);
    }
    (
        steps as f32 / (data.len() * STEPS) as f32,
        exact as f32 / data.len() as f32,
    )
}
