//! ADSR envelope: linear attack, exponential decay and release, retriggerable without a click.

/// Per-sample rates derived from the ADSR times, shared by every voice (control rate).
#[derive(Clone, Copy, Debug)]
pub struct AdsrRates {
    attack_step: f32,
    decay_coef: f32,
    sustain: f32,
    release_coef: f32,
}

/// Exponential segments reach -60 dB in the given time.
fn coef(ms: f32, sample_rate: f32) -> f32 {
    let samples = (ms * 0.001 * sample_rate).max(1.0);
    libm::expf(-6.907_755 / samples)
}

impl AdsrRates {
    pub fn new(
        attack_ms: f32,
        decay_ms: f32,
        sustain: f32,
        release_ms: f32,
        sample_rate: f32,
    ) -> Self {
        Self {
            attack_step: 1.0 / (attack_ms * 0.001 * sample_rate).max(1.0),
            decay_coef: coef(decay_ms, sample_rate),
            sustain: sustain.clamp(0.0, 1.0),
            release_coef: coef(release_ms, sample_rate),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Idle,
    Attack,
    Decay,
    Release,
}

/// One voice's envelope.
#[derive(Clone, Copy, Debug)]
pub struct Adsr {
    stage: Stage,
    level: f32,
}

impl Default for Adsr {
    fn default() -> Self {
        Self {
            stage: Stage::Idle,
            level: 0.0,
        }
    }
}

/// Below this the voice is silent and can be reused.
const SILENT: f32 = 1e-4;

impl Adsr {
    /// Starts the attack from the current level, so a retriggered or stolen voice does not click.
    pub fn gate_on(&mut self) {
        self.stage = Stage::Attack;
    }

    pub fn gate_off(&mut self) {
        if self.stage != Stage::Idle {
            self.stage = Stage::Release;
        }
    }

    pub fn is_idle(&self) -> bool {
        self.stage == Stage::Idle
    }

    pub fn is_released(&self) -> bool {
        matches!(self.stage, Stage::Release | Stage::Idle)
    }

    pub fn level(&self) -> f32 {
        self.level
    }

    #[inline(always)]
    pub fn next(&mut self, r: &AdsrRates) -> f32 {
        match self.stage {
            Stage::Idle => {}
            Stage::Attack => {
                self.level += r.attack_step;
                if self.level >= 1.0 {
                    self.level = 1.0;
                    self.stage = Stage::Decay;
                }
            }
            Stage::Decay => self.level = r.sustain + (self.level - r.sustain) * r.decay_coef,
            Stage::Release => {
                self.level *= r.release_coef;
                if self.level < SILENT {
                    self.level = 0.0;
                    self.stage = Stage::Idle;
                }
            }
        }
        self.level
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_follows_the_times() {
        let sr = 1000.0;
        let r = AdsrRates::new(10.0, 100.0, 0.5, 100.0, sr);
        let mut e = Adsr::default();
        e.gate_on();
        let attack: Vec<f32> = (0..10).map(|_| e.next(&r)).collect();
        assert_eq!(attack[9], 1.0);
        for _ in 0..500 {
            e.next(&r);
        }
        assert!((e.level() - 0.5).abs() < 1e-3);
        e.gate_off();
        for _ in 0..99 {
            e.next(&r);
        }
        assert!(!e.is_idle());
        // -60 dB after the release time, silent (1e-4 from 0.5: -74 dB) about 24 ms later.
        for _ in 0..30 {
            e.next(&r);
        }
        assert!(e.is_idle(), "release reaches silence in about its time");
    }

    #[test]
    fn retrigger_continues_from_the_current_level() {
        let r = AdsrRates::new(100.0, 100.0, 0.2, 100.0, 1000.0);
        let mut e = Adsr::default();
        e.gate_on();
        for _ in 0..300 {
            e.next(&r);
        }
        let before = e.level();
        e.gate_on();
        let after = e.next(&r);
        assert!((after - before).abs() < 0.011, "{before} -> {after}");
    }
}
