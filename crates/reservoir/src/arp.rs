//! ReMi §4: a reservoir that picks an index into the held notes, p = softmax(βy), θ ~ Cat(p).

use crate::esn::{Esn, EsnKnobs, Feedback, ReservoirConfig};
use crate::rng::SeededRng;

/// m, the most notes (held notes × octaves) the arpeggiator indexes.
pub const MAX_ARP_NOTES: usize = 32;

/// The smallest and largest confidence β offered.
const BETA_RANGE: (f32, f32) = (0.001, 1000.0);

/// `out[i] = softmax(beta * y)[i]`, computed stably (max subtracted). A non-finite input gives the
/// uniform distribution, so a bad value can never silence or crash the arpeggiator.
pub fn softmax_into(y: &[f32], beta: f32, out: &mut [f32]) {
    let n = y.len().min(out.len());
    if n == 0 {
        return;
    }
    let beta = if beta.is_finite() {
        beta.clamp(BETA_RANGE.0, BETA_RANGE.1)
    } else {
        1.0
    };
    let max = y[..n]
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| m.max(beta * v));
    let mut sum = 0.0f32;
    for (o, &v) in out[..n].iter_mut().zip(y) {
        *o = libm::expf(beta * v - max);
        sum += *o;
    }
    if !(sum.is_finite() && sum > 0.0) {
        out[..n].fill(1.0 / n as f32);
        return;
    }
    out[..n].iter_mut().for_each(|o| *o /= sum);
}

/// The reservoir arpeggiator: one step picks θ among the first `n` readout rows.
#[derive(Clone, Debug)]
pub struct ReservoirArp {
    esn: Esn,
    seed: u64,
    rng: SeededRng,
    last: Option<usize>,
    active: usize,
    probs: [f32; MAX_ARP_NOTES],
}

impl ReservoirArp {
    /// Builds the network (allocates; off the audio path): one input (the pulse), m readout rows,
    /// Wfb with m columns for the one-hot feedback. Sampling is seeded from `seed` too.
    pub fn new(neurons: usize, connectivity: f32, seed: u64) -> Self {
        Self::with_radius(neurons, connectivity, seed, f64::NAN)
    }

    /// As [`ReservoirArp::new`] with W's radius known (see [`Esn::generate_with_radius`]).
    pub fn with_radius(neurons: usize, connectivity: f32, seed: u64, radius: f64) -> Self {
        Self::from_esn(
            Esn::generate_with_radius(
                &ReservoirConfig::pulsed(neurons, connectivity, seed, MAX_ARP_NOTES),
                radius,
            ),
            seed,
        )
        .expect("a pulsed network has the arpeggiator's shape")
    }

    /// The arpeggiator around a network built elsewhere (read from bytes, say), sampling from
    /// `seed`. It must have one input and m readouts fed back; None otherwise.
    pub fn from_esn(esn: Esn, seed: u64) -> Option<Self> {
        let fits = esn.inputs == 1 && esn.outputs == MAX_ARP_NOTES && esn.feedback == MAX_ARP_NOTES;
        fits.then_some(Self {
            esn,
            seed,
            rng: Self::sampler(seed),
            last: None,
            active: 0,
            probs: [0.0; MAX_ARP_NOTES],
        })
    }

    fn sampler(seed: u64) -> SeededRng {
        SeededRng::new(seed, 16)
    }

    pub fn esn(&self) -> &Esn {
        &self.esn
    }

    pub fn esn_mut(&mut self) -> &mut Esn {
        &mut self.esn
    }

    pub fn set_knobs(&mut self, knobs: EsnKnobs) {
        self.esn.set_knobs(knobs);
    }

    /// Back to rest, with the sampler reseeded: the same patch replays the same notes.
    pub fn reset(&mut self) {
        self.esn.reset();
        self.rng = Self::sampler(self.seed);
        self.last = None;
        self.active = 0;
        self.probs = [0.0; MAX_ARP_NOTES];
    }

    /// One step over `n` entries (clamped to m): runs the reservoir with y'_{t-1} = one_hot(θ_{t-1}),
    /// p = softmax(β y[0..n]), draws θ ~ Cat(p). Returns None when `n` is 0 (nothing held).
    pub fn step(&mut self, n: usize, beta: f32, pulse: f32) -> Option<usize> {
        let n = n.min(MAX_ARP_NOTES);
        if n == 0 {
            return None;
        }
        let fb = self.last.map_or(Feedback::None, Feedback::OneHot);
        let y = self.esn.step(&[pulse], fb);
        softmax_into(&y[..n], beta, &mut self.probs[..n]);
        self.probs[n..].fill(0.0);
        self.active = n;
        let theta = sample(&self.probs[..n], self.rng.unit_f64());
        self.last = Some(theta);
        Some(theta)
    }

    /// p of the last step, one entry per active note (ReMi's Fig. 2 colours).
    pub fn probabilities(&self) -> &[f32] {
        &self.probs[..self.active]
    }

    /// θ of the last step.
    pub fn last_choice(&self) -> Option<usize> {
        self.last
    }
}

/// Inverse-CDF draw from `p` with uniform `u` in [0, 1).
fn sample(p: &[f32], u: f64) -> usize {
    let mut cumulative = 0.0f64;
    for (i, &pi) in p.iter().enumerate() {
        cumulative += pi as f64;
        if u < cumulative {
            return i;
        }
    }
    // Rounding left the total a hair under 1: the last index with any mass.
    p.iter().rposition(|&pi| pi > 0.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_beta_sharpens() {
        let y = [0.3, -1.0, 2.0, 0.0];
        let mut soft = [0.0; 4];
        let mut sharp = [0.0; 4];
        softmax_into(&y, 0.001, &mut soft);
        softmax_into(&y, 1000.0, &mut sharp);
        assert!((soft.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(soft.iter().all(|p| (p - 0.25).abs() < 1e-3), "{soft:?}");
        assert!((sharp[2] - 1.0).abs() < 1e-6, "{sharp:?}");
        let mut bad = [0.0; 2];
        softmax_into(&[f32::NAN, 1.0], 1.0, &mut bad);
        assert_eq!(bad, [0.5, 0.5]);
    }

    #[test]
    fn sampling_follows_the_distribution() {
        let p = [0.1, 0.6, 0.3];
        let mut counts = [0u32; 3];
        let mut rng = SeededRng::new(1, 0);
        for _ in 0..20000 {
            counts[sample(&p, rng.unit_f64())] += 1;
        }
        for (c, want) in counts.iter().zip(p) {
            assert!((*c as f32 / 20000.0 - want).abs() < 0.015, "{counts:?}");
        }
        assert_eq!(sample(&[0.5, 0.4999, 0.0], 0.99999), 1);
    }

    #[test]
    fn picks_stay_in_range_and_high_beta_is_deterministic_given_the_state() {
        let mut arp = ReservoirArp::new(100, 0.1, 3);
        let mut seen = [false; 4];
        for _ in 0..400 {
            let t = arp.step(4, 1.0, 0.0).unwrap();
            assert!(t < 4);
            seen[t] = true;
            assert!((arp.probabilities().iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        assert!(
            seen.iter().all(|s| *s),
            "β = 1 should visit every note: {seen:?}"
        );
        assert_eq!(arp.step(0, 1.0, 0.0), None);
        // With β = 1000 the draw is (nearly always) the argmax: p is one-hot but at near-ties.
        let mut arp = ReservoirArp::new(100, 0.1, 3);
        let mut decisive = 0;
        for _ in 0..400 {
            let t = arp.step(5, 1000.0, 0.0).unwrap();
            let p = arp.probabilities();
            let best = p.iter().cloned().fold(0.0f32, f32::max);
            if best > 0.999 {
                decisive += 1;
                assert_eq!(p[t], best, "a decisive step must pick the argmax");
            }
        }
        assert!(
            decisive > 360,
            "only {decisive} of 400 steps were decisive at β = 1000"
        );
    }

    #[test]
    fn reset_replays_the_same_notes() {
        let mut arp = ReservoirArp::new(60, 0.2, 8);
        arp.set_knobs(EsnKnobs {
            spectral_radius: 1.2,
            ..EsnKnobs::default()
        });
        let first: Vec<_> = (0..50).map(|_| arp.step(6, 2.0, 0.0)).collect();
        arp.reset();
        let again: Vec<_> = (0..50).map(|_| arp.step(6, 2.0, 0.0)).collect();
        assert_eq!(first, again);
    }
}
