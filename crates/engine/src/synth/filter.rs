//! A resonant low-pass filter: Zavalishin's topology-preserving state-variable filter.
//!
//! Stable for any cutoff below Nyquist and any resonance up to (not including) self-oscillation,
//! and smooth under modulation, which is what an LFO on the cutoff needs.

use core::f32::consts::PI;

/// Coefficients, computed at control rate (a `tan` per voice every few frames).
#[derive(Clone, Copy, Debug)]
pub struct SvfCoefs {
    a1: f32,
    a2: f32,
    a3: f32,
}

impl SvfCoefs {
    /// `resonance` in [0, 1]: 0 is a gentle 12 dB/oct slope, 1 a sharp peak (Q ≈ 25).
    pub fn lowpass(cutoff_hz: f32, resonance: f32, sample_rate: f32) -> Self {
        let fc = cutoff_hz.clamp(10.0, 0.45 * sample_rate);
        let g = libm::tanf(PI * fc / sample_rate);
        let k = 2.0 - 1.96 * resonance.clamp(0.0, 1.0);
        let a1 = 1.0 / (1.0 + g * (g + k));
        let a2 = g * a1;
        Self { a1, a2, a3: g * a2 }
    }
}

/// Filter memory.
#[derive(Clone, Copy, Debug, Default)]
pub struct Svf {
    ic1: f32,
    ic2: f32,
}

impl Svf {
    #[inline(always)]
    pub fn lowpass(&mut self, c: &SvfCoefs, x: f32) -> f32 {
        let v3 = x - self.ic2;
        let v1 = c.a1 * self.ic1 + c.a2 * v3;
        let v2 = self.ic2 + c.a2 * self.ic1 + c.a3 * v3;
        self.ic1 = 2.0 * v1 - self.ic1;
        self.ic2 = 2.0 * v2 - self.ic2;
        v2
    }

    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gain_at(freq: f32, cutoff: f32, res: f32) -> f32 {
        let sr = 48000.0;
        let c = SvfCoefs::lowpass(cutoff, res, sr);
        let mut f = Svf::default();
        let mut peak = 0.0f32;
        for i in 0..48000 {
            let y = f.lowpass(&c, libm::sinf(2.0 * PI * freq * i as f32 / sr));
            if i > 24000 {
                peak = peak.max(y.abs());
            }
        }
        peak
    }

    #[test]
    fn passes_lows_cuts_highs_and_resonates() {
        assert!((gain_at(100.0, 2000.0, 0.0) - 1.0).abs() < 0.02);
        assert!(gain_at(16000.0, 1000.0, 0.0) < 0.01);
        assert!(gain_at(1000.0, 1000.0, 0.9) > 4.0, "resonance peak");
        assert!(
            (gain_at(1000.0, 1000.0, 0.0) - 0.5).abs() < 0.02,
            "-6 dB at cutoff"
        );
    }
}
