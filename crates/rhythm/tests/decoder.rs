//! The decoder the engine plays from: it never allocates, and its compact form (the patch
//! link's `~<text>`) round-trips within a stated tolerance and refuses every corrupt input
//! without panicking.

use tidepool_alloc_count::{allocations_during, CountingAlloc};
use tidepool_rhythm::arch::Arch;
use tidepool_rhythm::decoder::{Decoded, Decoder};
use tidepool_rhythm::dense::Dense;
use tidepool_rhythm::STEPS;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// xorshift64*: the tests' own seeded numbers.
struct Xs(u64);

impl Xs {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [-1, 1).
    fn signed(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// A decoder with Glorot-uniform weights and small random biases, as training starts from
/// (and of the same magnitudes as trained ones).
fn random_decoder(arch: Arch, head: bool, seed: u64) -> Decoder {
    let mut rng = Xs(seed | 1);
    let mut layer = |inputs: usize, outputs: usize| {
        let limit = (6.0 / (inputs + outputs) as f32).sqrt();
        let mut d = Dense::zeros(inputs, outputs);
        d.weight.iter_mut().for_each(|w| *w = limit * rng.signed());
        d.bias.iter_mut().for_each(|b| *b = 0.3 * rng.signed());
        d
    };
    let sizes = arch.decoder_sizes();
    let layers = sizes.windows(2).map(|io| layer(io[0], io[1])).collect();
    let velocity = head.then(|| layer(arch.last_hidden(), STEPS));
    Decoder::new(arch, layers, velocity).unwrap()
}

fn every_decoder() -> Vec<Decoder> {
    let mut out = Vec::new();
    for (i, arch) in Arch::ALL.into_iter().enumerate() {
        for head in [false, true] {
            out.push(random_decoder(
                arch,
                head,
                17 + i as u64 * 2 + u64::from(head),
            ));
        }
    }
    out
}

#[test]
fn decode_allocates_nothing() {
    for d in every_decoder() {
        let mut out = Decoded::default();
        let count = allocations_during(|| {
            for i in 0..100 {
                let t = i as f32 * 0.2 - 10.0;
                d.decode([t, -t * 0.5], &mut out);
            }
        });
        assert_eq!(count, 0, "{:?}: decode allocated {count} times", d.arch());
        assert!(out.prob.iter().all(|p| p.is_finite()));
    }
    // The counter is live.
    assert!(allocations_during(|| drop(vec![0u8; 16])) > 0);
}

/// Largest probability (and velocity) difference between two decoders over the pad's range
/// (the paper's ±10).
fn max_difference(a: &Decoder, b: &Decoder) -> f32 {
    let (mut oa, mut ob) = (Decoded::default(), Decoded::default());
    let mut worst = 0.0f32;
    for i in 0..=40 {
        for j in 0..=40 {
            let xy = [i as f32 * 0.5 - 10.0, j as f32 * 0.5 - 10.0];
            a.decode(xy, &mut oa);
            b.decode(xy, &mut ob);
            for s in 0..STEPS {
                worst = worst
                    .max((oa.prob[s] - ob.prob[s]).abs())
                    .max((oa.velocity[s] - ob.velocity[s]).abs());
            }
        }
    }
    worst
}

/// Stated tolerance of the int8 decoder: every probability and velocity within 0.03 of the f32
/// decoder's, anywhere on the pad.
const COMPACT_TOLERANCE: f32 = 0.03;

#[test]
fn compact_round_trips_within_the_stated_tolerance() {
    for d in every_decoder() {
        let bytes = d.to_compact();
        let back = Decoder::from_compact(&bytes).unwrap();
        assert_eq!(
            (back.arch(), back.has_velocity_head()),
            (d.arch(), d.has_velocity_head())
        );
        // Quantised values are exact in the second round.
        assert_eq!(back.to_compact(), bytes, "{:?}", d.arch());
        let worst = max_difference(&d, &back);
        assert!(
            worst < COMPACT_TOLERANCE,
            "{:?} head {}: off by {worst}",
            d.arch(),
            d.has_velocity_head()
        );
        // The size is what the layers need: 3 header bytes, per layer a bias scale and a scale
        // per row (4 bytes each) and one byte per weight and bias.
        let params: usize = d
            .layers()
            .iter()
            .chain(d.velocity_head())
            .map(|l| 4 + 4 * l.outputs + l.weight.len() + l.bias.len())
            .sum();
        assert_eq!(bytes.len(), 3 + params);
        let text = d.to_text();
        assert!(text
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(Decoder::from_text(&text).unwrap(), back);
    }
}

#[test]
fn the_model1_link_text_has_the_documented_length() {
    let d = random_decoder(Arch::Model1, true, 5);
    assert_eq!(d.to_compact().len(), 1935);
    assert_eq!(d.to_text().len(), 2580);
}

#[test]
fn corrupt_compact_bytes_are_refused_with_a_reason() {
    let d = random_decoder(Arch::Model3, true, 3);
    let bytes = d.to_compact();
    for n in 0..bytes.len() {
        let e = Decoder::from_compact(&bytes[..n]).unwrap_err();
        assert!(e.contains("truncated"), "{n}: {e}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Decoder::from_compact(&longer)
        .unwrap_err()
        .contains("1 bytes after its end"));
    let mut wrong = bytes.clone();
    wrong[0] = 0xA1;
    assert!(Decoder::from_compact(&wrong)
        .unwrap_err()
        .contains("version 2"));
    wrong = bytes.clone();
    wrong[1] = 9;
    assert!(Decoder::from_compact(&wrong)
        .unwrap_err()
        .contains("architecture 9"));
    wrong = bytes.clone();
    wrong[2] = 3;
    assert!(Decoder::from_compact(&wrong).unwrap_err().contains("flags"));
    wrong = bytes.clone();
    wrong[3..7].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(Decoder::from_compact(&wrong).unwrap_err().contains("scale"));
    // A model without a head read as one with a head runs out of bytes.
    let plain = random_decoder(Arch::Model1, false, 3).to_compact();
    let mut flagged = plain.clone();
    flagged[2] = 1;
    assert!(Decoder::from_compact(&flagged)
        .unwrap_err()
        .contains("velocity head"));
    assert!(Decoder::from_text("not base64!").is_err());
}

/// Random bytes, and valid bytes with random damage: never a panic; whatever is accepted
/// decodes to finite probabilities.
#[test]
fn fuzzed_compact_bytes_never_panic() {
    let mut rng = Xs(0x9e37_79b9_7f4a_7c15);
    let valid: Vec<Vec<u8>> = every_decoder().iter().map(Decoder::to_compact).collect();
    let mut accepted = 0;
    for round in 0..20_000 {
        let bytes: Vec<u8> = if round % 2 == 0 {
            let len = (rng.next() % 1700) as usize;
            let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if let Some(first) = b.first_mut() {
                *first = 0xA2;
            }
            b
        } else {
            let mut b = valid[(rng.next() % valid.len() as u64) as usize].clone();
            for _ in 0..1 + rng.next() % 4 {
                if b.is_empty() {
                    break;
                }
                let at = (rng.next() % b.len() as u64) as usize;
                match rng.next() % 3 {
                    0 => b[at] = rng.next() as u8,
                    1 => b.truncate(at),
                    _ => b.insert(at, rng.next() as u8),
                }
            }
            b
        };
        if let Ok(d) = Decoder::from_compact(&bytes) {
            accepted += 1;
            let mut out = Decoded::default();
            d.decode([1.0, -2.0], &mut out);
            assert!(out.prob.iter().chain(&out.velocity).all(|p| p.is_finite()));
        }
        let text: String = (0..rng.next() % 64)
            .map(|_| (rng.next() % 128) as u8 as char)
            .collect();
        let _ = Decoder::from_text(&text);
    }
    // Damaged weight bytes are still a decoder: the fuzzing reached the accepting path.
    assert!(accepted > 100, "{accepted}");
}
