//! ReMi §3: a reservoir LFO, y' = sigmoid(y) fed back, with the optional rhythmic pulse input.

use crate::esn::{Esn, EsnKnobs, Feedback, ReservoirConfig};

/// Readout rows the LFO offers (the active count is a knob, 1..=4).
pub const MAX_LFO_OUTPUTS: usize = 4;

/// σ(y) = 1 / (1 + e^-y), eq. (4), with `libm` so it is the same on every platform.
#[inline]
pub fn sigmoid(y: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-y))
}

/// A reservoir whose sigmoid readout is an LFO in (0, 1).
#[derive(Clone, Debug)]
pub struct ReservoirLfo {
    esn: Esn,
    outputs: usize,
    /// y'_{t-1}; σ(0) = 0.5 before the first step, as ReservoirPy does.
    y_prime: [f32; MAX_LFO_OUTPUTS],
}

impl ReservoirLfo {
    /// Builds the network (allocates; off the audio path). One input (the pulse), four readout rows.
    pub fn new(neurons: usize, connectivity: f32, seed: u64) -> Self {
        Self::with_radius(neurons, connectivity, seed, f64::NAN)
    }

    /// As [`ReservoirLfo::new`] with W's radius known (see [`Esn::generate_with_radius`]).
    pub fn with_radius(neurons: usize, connectivity: f32, seed: u64, radius: f64) -> Self {
        Self::from_esn(Esn::generate_with_radius(
            &ReservoirConfig::pulsed(neurons, connectivity, seed, MAX_LFO_OUTPUTS),
            radius,
        ))
        .expect("a pulsed network has the LFO's shape")
    }

    /// The LFO around a network built elsewhere (read from bytes, say). It must have one input
    /// and four readouts fed back; None otherwise.
    pub fn from_esn(esn: Esn) -> Option<Self> {
        let fits =
            esn.inputs == 1 && esn.outputs == MAX_LFO_OUTPUTS && esn.feedback == MAX_LFO_OUTPUTS;
        fits.then_some(Self {
            esn,
            outputs: 1,
            y_prime: [0.5; MAX_LFO_OUTPUTS],
        })
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

    /// How many readout rows are active (clamped to 1..=4); only those are fed back.
    pub fn set_outputs(&mut self, outputs: usize) {
        self.outputs = outputs.clamp(1, MAX_LFO_OUTPUTS);
    }

    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// Back to rest: s = 0, y' = σ(0).
    pub fn reset(&mut self) {
        self.esn.reset();
        self.y_prime = [0.5; MAX_LFO_OUTPUTS];
    }

    /// One LFO step with pulse input `pulse` (0 when no pulse). Returns y'_t of the active outputs,
    /// each in [0, 1].
    pub fn step(&mut self, pulse: f32) -> &[f32] {
        let k = self.outputs;
        let fb = self.y_prime;
        let y = self.esn.step(&[pulse], Feedback::Dense(&fb[..k]));
        for (yp, &yi) in self.y_prime.iter_mut().zip(y).take(k) {
            *yp = sigmoid(yi);
        }
        &self.y_prime[..k]
    }

    /// The last y' of the active outputs.
    pub fn values(&self) -> &[f32] {
        &self.y_prime[..self.outputs]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_feedback_lfo(seed: u64) -> ReservoirLfo {
        let mut lfo = ReservoirLfo::new(100, 0.1, seed);
        lfo.set_knobs(EsnKnobs {
            spectral_radius: 0.9,
            leak: 0.5,
            input_scaling: 1.0,
            feedback_scaling: 0.0,
            bias_scaling: 0.2,
            output_scaling: 3.0,
        });
        lfo
    }

    fn periodicity_error(values: &[f32], period: usize, from: usize) -> f32 {
        (from..values.len())
            .map(|t| (values[t] - values[t - period]).abs())
            .fold(0.0, f32::max)
    }

    /// The echo-state property: with ρ < 1 and no feedback the state forgets its start, so a pulse
    /// every P steps makes the output P-periodic after a transient.
    #[test]
    fn pulse_every_p_steps_makes_the_output_p_periodic() {
        for (seed, period) in [(1, 8), (2, 12), (3, 5)] {
            let mut lfo = no_feedback_lfo(seed);
            let ys: Vec<f32> = (0..600)
                .map(|t| lfo.step(if t % period == 0 { 1.0 } else { 0.0 })[0])
                .collect();
            let err = periodicity_error(&ys, period, 400);
            assert!(
                err < 1e-5,
                "seed {seed}, P={period}: max |y_t - y_(t-P)| = {err:e}"
            );
            // …and it is not trivially constant.
            let spread = ys[400..]
                .iter()
                .fold(0.0f32, |m, v| m.max((v - ys[400]).abs()));
            assert!(spread > 1e-3, "output is flat: {spread}");
        }
    }

    /// The period comes from the pulse, not from the network: without the pulse the same reservoir
    /// settles to a constant (no oscillation of period P at all), and a pulse every Q ≠ P steps
    /// gives an output that is not P-periodic.
    #[test]
    fn the_same_reservoir_without_pulse_is_not_p_periodic() {
        let period = 8;
        let mut lfo = no_feedback_lfo(1);
        let still: Vec<f32> = (0..600).map(|_| lfo.step(0.0)[0]).collect();
        let spread = still[400..]
            .iter()
            .fold(0.0f32, |m, v| m.max((v - still[400]).abs()));
        assert!(
            spread < 1e-6,
            "without pulse the output should come to rest, moved {spread}"
        );
        let mut lfo = no_feedback_lfo(1);
        let other: Vec<f32> = (0..600)
            .map(|t| lfo.step(if t % 7 == 0 { 1.0 } else { 0.0 })[0])
            .collect();
        assert!(periodicity_error(&other, period, 400) > 1e-3);
        assert!(periodicity_error(&other, 7, 400) < 1e-5);
    }

    #[test]
    fn outputs_stay_in_the_unit_interval_and_only_active_ones_are_returned() {
        let mut lfo = ReservoirLfo::new(50, 0.2, 7);
        lfo.set_outputs(3);
        for _ in 0..300 {
            let v = lfo.step(0.0);
            assert_eq!(v.len(), 3);
            assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
        }
        lfo.set_outputs(9);
        assert_eq!(lfo.outputs(), 4);
    }
}
