//! The LFO as the engine runs it: when the reservoir steps, how its output is smoothed between
//! steps, and where it is routed.

use crate::params::{ParamId, ParamValues};
use crate::synth::Modulation;
use tidepool_reservoir::{ReservoirLfo, MAX_LFO_OUTPUTS};

/// Octaves of cutoff movement at full depth.
const CUTOFF_RANGE_OCT: f32 = 4.0;

/// How the LFO's value moves from one step's output to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Smoothing {
    /// Jumps at each step (a sample-and-hold sound).
    Off,
    /// A straight line over one step.
    Linear,
    /// An S-curve (smoothstep) over one step: no corners at all.
    Smooth,
}

impl Smoothing {
    pub fn from_index(i: usize) -> Self {
        match i {
            0 => Smoothing::Off,
            1 => Smoothing::Linear,
            _ => Smoothing::Smooth,
        }
    }
}

/// A routing destination of an LFO output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    None,
    Cutoff,
    Amp,
    Pitch,
    Pan,
}

impl Destination {
    pub fn from_index(i: usize) -> Self {
        match i {
            1 => Destination::Cutoff,
            2 => Destination::Amp,
            3 => Destination::Pitch,
            4 => Destination::Pan,
            _ => Destination::None,
        }
    }
}

const ROUTES: [(ParamId, ParamId, ParamId); MAX_LFO_OUTPUTS] = [
    (ParamId::LfoDest1, ParamId::LfoDepth1, ParamId::LfoOffset1),
    (ParamId::LfoDest2, ParamId::LfoDepth2, ParamId::LfoOffset2),
    (ParamId::LfoDest3, ParamId::LfoDepth3, ParamId::LfoOffset3),
    (ParamId::LfoDest4, ParamId::LfoDepth4, ParamId::LfoOffset4),
];

/// The reservoir LFO plus its between-step interpolation.
#[derive(Clone, Debug)]
pub struct LfoUnit {
    pub reservoir: ReservoirLfo,
    from: [f32; MAX_LFO_OUTPUTS],
    to: [f32; MAX_LFO_OUTPUTS],
    step_frame: u64,
    step_frames: f64,
    steps: u64,
    /// A beat or bar boundary passed since the last step (for beat/bar pulses).
    pub pulse_pending: bool,
}

impl LfoUnit {
    pub fn new(reservoir: ReservoirLfo) -> Self {
        Self {
            reservoir,
            from: [0.5; MAX_LFO_OUTPUTS],
            to: [0.5; MAX_LFO_OUTPUTS],
            step_frame: 0,
            step_frames: 1.0,
            steps: 0,
            pulse_pending: false,
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Restarts the network and the step count (transport start, new network).
    pub fn restart(&mut self) {
        self.reservoir.reset();
        self.steps = 0;
        self.pulse_pending = false;
    }

    /// One reservoir step at `frame`; the value glides to the new output over `step_frames`.
    pub fn step(&mut self, frame: u64, step_frames: f64, pulse: f32, smoothing: Smoothing) {
        let now = self.values_at(frame, smoothing);
        let y = self.reservoir.step(pulse);
        self.from = now;
        self.to[..y.len()].copy_from_slice(y);
        self.step_frame = frame;
        self.step_frames = step_frames.max(1.0);
        self.steps += 1;
        self.pulse_pending = false;
    }

    /// The smoothed LFO outputs (0..1 each) at `frame`.
    pub fn values_at(&self, frame: u64, smoothing: Smoothing) -> [f32; MAX_LFO_OUTPUTS] {
        let t = (frame.saturating_sub(self.step_frame) as f64 / self.step_frames).min(1.0) as f32;
        let w = match smoothing {
            Smoothing::Off => 1.0,
            Smoothing::Linear => t,
            Smoothing::Smooth => t * t * (3.0 - 2.0 * t),
        };
        let mut out = [0.0; MAX_LFO_OUTPUTS];
        for ((o, f), to) in out.iter_mut().zip(&self.from).zip(&self.to) {
            *o = f + (to - f) * w;
        }
        out
    }

    /// Routes the outputs through depth, offset and destination. `smoothed` are the engine's
    /// smoothed parameter values (depths and offsets glide).
    pub fn modulation(
        values: &[f32; MAX_LFO_OUTPUTS],
        outputs: usize,
        params: &ParamValues,
        smoothed: &[f64],
    ) -> Modulation {
        let mut m = Modulation::default();
        for (k, &(dest, depth, offset)) in ROUTES.iter().enumerate().take(outputs) {
            let depth = smoothed[depth.index()] as f32;
            let offset = smoothed[offset.index()] as f32;
            let v = (offset + depth * (2.0 * values[k] - 1.0)).clamp(-1.0, 1.0);
            match Destination::from_index(params.index(dest)) {
                Destination::None => {}
                Destination::Cutoff => m.cutoff_oct += CUTOFF_RANGE_OCT * v,
                Destination::Amp => m.amp *= (1.0 + v).clamp(0.0, 1.0),
                Destination::Pitch => {
                    m.pitch_cents += v * params.get(ParamId::LfoPitchRange) as f32
                }
                Destination::Pan => m.pan += v,
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_modes_interpolate_between_steps() {
        let mut u = LfoUnit::new(ReservoirLfo::new(20, 0.3, 1));
        u.reservoir.set_outputs(1);
        u.step(0, 100.0, 0.0, Smoothing::Linear);
        u.step(100, 100.0, 0.0, Smoothing::Linear);
        let (a, b) = (u.from[0], u.to[0]);
        let mid = u.values_at(150, Smoothing::Linear)[0];
        assert!((mid - (a + b) / 2.0).abs() < 1e-6);
        assert_eq!(u.values_at(150, Smoothing::Off)[0], b);
        let s = u.values_at(125, Smoothing::Smooth)[0];
        assert!((s - (a + (b - a) * 0.15625)).abs() < 1e-6);
        assert_eq!(u.values_at(10_000, Smoothing::Linear)[0], b);
    }

    #[test]
    fn routing_applies_depth_offset_and_destinations() {
        let mut p = ParamValues::default();
        p.set(ParamId::LfoDest1, 1.0);
        p.set(ParamId::LfoDest2, 2.0);
        p.set(ParamId::LfoDepth1, 1.0);
        p.set(ParamId::LfoDepth2, 1.0);
        p.set(ParamId::LfoOffset2, -0.5);
        let smoothed: Vec<f64> = crate::params::ParamId::all()
            .iter()
            .map(|id| p.get(*id))
            .collect();
        let m = LfoUnit::modulation(&[1.0, 0.0, 0.5, 0.5], 2, &p, &smoothed);
        assert_eq!(m.cutoff_oct, 4.0);
        assert_eq!(m.amp, 0.0);
        let m = LfoUnit::modulation(&[0.5, 1.0, 0.5, 0.5], 2, &p, &smoothed);
        assert_eq!(m.cutoff_oct, 0.0);
        assert_eq!(m.amp, 1.0);
        let m = LfoUnit::modulation(&[1.0, 1.0, 0.5, 0.5], 1, &p, &smoothed);
        assert_eq!(m.amp, 1.0, "inactive outputs route nowhere");
    }
}
