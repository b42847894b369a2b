//! Output limiter: a stereo-linked peak follower with a soft knee, so nothing exceeds the ceiling.
//!
//! The gain is computed from a peak envelope that includes the current sample (instant attack),
//! so |out| ≤ knee(peak) < CEILING always holds; the release keeps the gain change smooth.

use tidepool_reservoir::fast_tanh;

/// The highest output level, -0.18 dBFS.
pub const CEILING: f32 = 0.98;
/// Below this level the limiter does nothing.
const KNEE: f32 = 0.7;

#[derive(Clone, Copy, Debug)]
pub struct Limiter {
    envelope: f32,
    release_coef: f32,
}

impl Limiter {
    pub fn new(sample_rate: f32) -> Self {
        // 100 ms release to -60 dB.
        Self {
            envelope: 0.0,
            release_coef: libm::expf(-6.907_755 / (0.1 * sample_rate)),
        }
    }

    #[inline(always)]
    pub fn process(&mut self, l: f32, r: f32) -> (f32, f32) {
        let peak = l.abs().max(r.abs());
        self.envelope = (self.envelope * self.release_coef).max(peak);
        if self.envelope <= KNEE {
            return (l, r);
        }
        let span = CEILING - KNEE;
        let limited = KNEE + span * fast_tanh((self.envelope - KNEE) / span);
        let gain = limited / self.envelope;
        // The clamp only catches the last-bit rounding of `l * gain` above the knee's value.
        (
            (l * gain).clamp(-CEILING, CEILING),
            (r * gain).clamp(-CEILING, CEILING),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_exceeds_the_ceiling_and_leaves_quiet_signals_alone() {
        let mut lim = Limiter::new(48000.0);
        for i in 0..48000 {
            let x = 50.0 * libm::sinf(i as f32 * 0.01) * (i as f32 / 4800.0);
            let (l, r) = lim.process(x, -x * 0.5);
            assert!(l.abs() <= CEILING && r.abs() <= CEILING, "{l} at {i}");
        }
        let mut quiet = Limiter::new(48000.0);
        for i in 0..1000 {
            let x = 0.5 * libm::sinf(i as f32 * 0.05);
            assert_eq!(quiet.process(x, x), (x, x));
        }
    }
}
