//! The built-in polyphonic synth: two detuned band-limited oscillators, a resonant low-pass with
//! its own envelope, an ADSR, voice stealing, output gain, pan and a limiter.
//!
//! Written here rather than with fundsp: its math comes from std (the platform's libm natively,
//! Rust's port in wasm) so its samples would differ between the CLI and the browser, and its
//! graph would have to be rebuilt or parameterised per voice. This synth uses `libm` only.

mod envelope;
mod filter;
mod limiter;
mod osc;

pub use limiter::CEILING;

use envelope::{Adsr, AdsrRates};
use filter::{Svf, SvfCoefs};
use limiter::Limiter;
use osc::Phase;

/// The most voices the synth holds (the voice count knob chooses how many are used).
pub const MAX_VOICES: usize = 16;
/// Level of one full-velocity voice before the output gain: leaves headroom for chords.
const VOICE_LEVEL: f32 = 0.5;

/// Synth settings, read at control rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SynthSettings {
    /// 0 saw, 1 square.
    pub wave: usize,
    pub detune_cents: f32,
    pub osc2_level: f32,
    pub cutoff_hz: f32,
    pub resonance: f32,
    pub filter_env_oct: f32,
    pub attack_ms: f32,
    pub decay_ms: f32,
    pub sustain: f32,
    pub release_ms: f32,
    pub voices: usize,
    pub gain_db: f32,
}

/// Modulation from the LFO, at control rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Modulation {
    pub cutoff_oct: f32,
    pub pitch_cents: f32,
    /// Amplitude factor, 0..=1.
    pub amp: f32,
    /// -1 left … +1 right.
    pub pan: f32,
}

impl Default for Modulation {
    fn default() -> Self {
        Self {
            cutoff_oct: 0.0,
            pitch_cents: 0.0,
            amp: 1.0,
            pan: 0.0,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Voice {
    pitch: u8,
    velocity: f32,
    /// Note-on order, for stealing the oldest.
    started: u64,
    osc1: Phase,
    osc2: Phase,
    env: Adsr,
    filter: Svf,
    coefs: Option<SvfCoefs>,
}

/// A linear ramp to the value set at a control tick, reached after the given number of frames.
#[derive(Clone, Copy, Debug, Default)]
struct Ramp {
    value: f32,
    step: f32,
    left: u32,
}

impl Ramp {
    fn aim(&mut self, target: f32, frames: u32) {
        self.left = frames.max(1);
        self.step = (target - self.value) / self.left as f32;
    }

    fn jump(&mut self, target: f32) {
        *self = Self {
            value: target,
            step: 0.0,
            left: 0,
        };
    }

    #[inline(always)]
    fn next(&mut self) -> f32 {
        if self.left > 0 {
            self.value += self.step;
            self.left -= 1;
        }
        self.value
    }
}

/// The synth. `control` every [`crate::CONTROL_FRAMES`] frames, `frame` every frame.
#[derive(Clone, Debug)]
pub struct Synth {
    sample_rate: f32,
    voices: [Voice; MAX_VOICES],
    active_voices: usize,
    notes_started: u64,
    settings: SynthSettings,
    modulation: Modulation,
    rates: AdsrRates,
    gain_l: Ramp,
    gain_r: Ramp,
    limiter: Limiter,
    stolen: u64,
    non_finite: u64,
}

impl Synth {
    pub fn new(sample_rate: f32, settings: SynthSettings) -> Self {
        let mut s = Self {
            sample_rate,
            voices: [Voice::default(); MAX_VOICES],
            active_voices: settings.voices.clamp(1, MAX_VOICES),
            notes_started: 0,
            settings,
            modulation: Modulation::default(),
            rates: AdsrRates::new(1.0, 1.0, 1.0, 1.0, sample_rate),
            gain_l: Ramp::default(),
            gain_r: Ramp::default(),
            limiter: Limiter::new(sample_rate),
            stolen: 0,
            non_finite: 0,
        };
        s.control(settings, Modulation::default(), 1);
        let (l, r) = (s.gain_l.next(), s.gain_r.next());
        s.gain_l.jump(l);
        s.gain_r.jump(r);
        s
    }

    /// Voices stolen so far (a note-on found every voice busy).
    pub fn stolen(&self) -> u64 {
        self.stolen
    }

    /// Frames where a non-finite sample was caught and the voices reset.
    pub fn non_finite(&self) -> u64 {
        self.non_finite
    }

    /// Voices currently making sound.
    pub fn sounding(&self) -> usize {
        self.voices.iter().filter(|v| !v.env.is_idle()).count()
    }

    pub fn note_on(&mut self, pitch: u8, velocity: u8) {
        let n = self.active_voices;
        let pool = &mut self.voices[..n];
        // Same pitch still held: retrigger it rather than stack a second copy.
        let slot = pool
            .iter()
            .position(|v| v.pitch == pitch && !v.env.is_released())
            .or_else(|| pool.iter().position(|v| v.env.is_idle()))
            .or_else(|| oldest(pool, |v| v.env.is_released()))
            .or_else(|| {
                self.stolen += 1;
                oldest(pool, |_| true)
            })
            .unwrap_or(0);
        self.notes_started += 1;
        let v = &mut self.voices[slot];
        if v.env.is_idle() {
            // A fresh voice starts at a fixed phase: that keeps renders reproducible.
            v.osc1 = Phase::default();
            v.osc2 = Phase { t: 0.5, dt: 0.0 };
            v.filter.reset();
        }
        v.pitch = pitch;
        v.velocity = velocity.min(127) as f32 / 127.0;
        v.started = self.notes_started;
        v.env.gate_on();
        // Tuned now, not at the next control tick: the note sounds from this very frame, and a
        // retriggered voice never drops out for the frames until the tick (a click).
        tune(v, &self.settings, &self.modulation, self.sample_rate);
    }

    pub fn note_off(&mut self, pitch: u8) {
        for v in self
            .voices
            .iter_mut()
            .filter(|v| v.pitch == pitch && !v.env.is_released())
        {
            v.env.gate_off();
        }
    }

    /// Releases every voice (they fade out over the release time).
    pub fn release_all(&mut self) {
        self.voices.iter_mut().for_each(|v| v.env.gate_off());
    }

    /// Applies settings and modulation; the output gain ramps to its new value over `frames`.
    pub fn control(&mut self, settings: SynthSettings, modulation: Modulation, frames: u32) {
        let s = settings;
        self.settings = s;
        self.modulation = modulation;
        let voices = s.voices.clamp(1, MAX_VOICES);
        if voices < self.active_voices {
            self.voices[voices..]
                .iter_mut()
                .for_each(|v| v.env.gate_off());
        }
        self.active_voices = voices;
        self.rates = AdsrRates::new(
            s.attack_ms,
            s.decay_ms,
            s.sustain,
            s.release_ms,
            self.sample_rate,
        );
        let gain = VOICE_LEVEL
            * libm::powf(10.0, s.gain_db.clamp(-60.0, 12.0) / 20.0)
            * modulation.amp.clamp(0.0, 1.0);
        // Equal-power pan.
        let angle = (modulation.pan.clamp(-1.0, 1.0) + 1.0) * core::f32::consts::FRAC_PI_4;
        self.gain_l
            .aim(gain * libm::cosf(angle) * core::f32::consts::SQRT_2, frames);
        self.gain_r
            .aim(gain * libm::sinf(angle) * core::f32::consts::SQRT_2, frames);
        for v in self.voices.iter_mut().filter(|v| !v.env.is_idle()) {
            tune(v, &s, &modulation, self.sample_rate);
        }
    }

    /// Renders one stereo frame.
    #[inline]
    pub fn frame(&mut self) -> (f32, f32) {
        let (l, r) = self.mix();
        self.limiter.process(l, r)
    }

    /// Renders one stereo frame through this synth's limiter after adding `other` (another
    /// synth's [`Synth::mix`]), so two voices share one output ceiling.
    #[inline]
    pub fn frame_with(&mut self, other: (f32, f32)) -> (f32, f32) {
        let (l, r) = self.mix();
        self.limiter.process(l + other.0, r + other.1)
    }

    /// One stereo frame before the limiter: finite, gain applied.
    #[inline]
    pub fn mix(&mut self) -> (f32, f32) {
        let square = self.settings.wave == 1;
        let osc2 = self.settings.osc2_level;
        let norm = 1.0 / (1.0 + osc2);
        let mut mix = 0.0f32;
        for v in self.voices.iter_mut().filter(|v| !v.env.is_idle()) {
            let Some(coefs) = v.coefs else { continue };
            let raw = if square {
                v.osc1.square() + osc2 * v.osc2.square()
            } else {
                v.osc1.saw() + osc2 * v.osc2.saw()
            };
            let level = v.env.next(&self.rates);
            mix += v.filter.lowpass(&coefs, raw * norm) * level * v.velocity;
        }
        let (l, r) = (mix * self.gain_l.next(), mix * self.gain_r.next());
        if !(l.is_finite() && r.is_finite()) {
            // Cannot happen with clamped settings; if it ever does, silence one frame and recover.
            self.non_finite += 1;
            self.voices.iter_mut().for_each(|v| v.filter.reset());
            return (0.0, 0.0);
        }
        (l, r)
    }
}

/// A voice's oscillator increments and filter coefficients for its pitch, the settings, the
/// modulation and its envelope's level now.
fn tune(v: &mut Voice, s: &SynthSettings, modulation: &Modulation, sr: f32) {
    let semis = (v.pitch as f32 - 69.0) + modulation.pitch_cents / 100.0;
    let half_detune = s.detune_cents / 200.0;
    v.osc1.dt = (440.0 * libm::exp2f((semis - half_detune) / 12.0) / sr).min(0.45);
    v.osc2.dt = (440.0 * libm::exp2f((semis + half_detune) / 12.0) / sr).min(0.45);
    let octaves = modulation.cutoff_oct + s.filter_env_oct * v.env.level();
    let cutoff = s.cutoff_hz * libm::exp2f(octaves.clamp(-10.0, 10.0));
    v.coefs = Some(SvfCoefs::lowpass(cutoff, s.resonance, sr));
}

fn oldest(pool: &[Voice], pred: impl Fn(&Voice) -> bool) -> Option<usize> {
    pool.iter()
        .enumerate()
        .filter(|(_, v)| pred(v))
        .min_by_key(|(_, v)| v.started)
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn settings() -> SynthSettings {
        SynthSettings {
            wave: 0,
            detune_cents: 8.0,
            osc2_level: 0.6,
            cutoff_hz: 1800.0,
            resonance: 0.35,
            filter_env_oct: 1.5,
            attack_ms: 4.0,
            decay_ms: 220.0,
            sustain: 0.5,
            release_ms: 250.0,
            voices: 8,
            gain_db: -6.0,
        }
    }

    fn run(s: &mut Synth, frames: usize) -> Vec<(f32, f32)> {
        (0..frames)
            .map(|i| {
                if i % 16 == 0 {
                    s.control(s.settings, s.modulation, 16);
                }
                s.frame()
            })
            .collect()
    }

    #[test]
    fn plays_and_releases_to_silence() {
        let mut s = Synth::new(48000.0, settings());
        s.note_on(60, 100);
        let on = run(&mut s, 4800);
        assert!(on.iter().map(|f| f.0.abs()).fold(0.0, f32::max) > 0.05);
        s.note_off(60);
        run(&mut s, 48000);
        assert_eq!(s.sounding(), 0);
    }

    #[test]
    fn steals_the_oldest_voice_beyond_the_voice_count() {
        let mut s = Synth::new(
            48000.0,
            SynthSettings {
                voices: 3,
                ..settings()
            },
        );
        for p in [60, 62, 64, 65] {
            s.note_on(p, 100);
            run(&mut s, 100);
        }
        assert_eq!(s.stolen(), 1);
        assert_eq!(s.sounding(), 3);
        assert!(
            s.voices[..3].iter().all(|v| v.pitch != 60),
            "the first note was stolen"
        );
    }

    #[test]
    fn loud_chords_never_exceed_the_ceiling() {
        let mut s = Synth::new(
            44100.0,
            SynthSettings {
                gain_db: 12.0,
                resonance: 1.0,
                voices: 16,
                ..settings()
            },
        );
        for p in 36..52 {
            s.note_on(p, 127);
        }
        let out = run(&mut s, 44100);
        let peak = out
            .iter()
            .map(|f| f.0.abs().max(f.1.abs()))
            .fold(0.0, f32::max);
        assert!(peak <= CEILING, "peak {peak}");
        assert!(peak > 0.9, "the limiter should be working here: {peak}");
    }

    #[test]
    fn pan_moves_the_image() {
        let mut s = Synth::new(48000.0, settings());
        s.note_on(57, 100);
        s.control(
            settings(),
            Modulation {
                pan: -1.0,
                ..Modulation::default()
            },
            16,
        );
        s.modulation.pan = -1.0;
        let out = run(&mut s, 4800);
        let (l, r) = out[2000..]
            .iter()
            .fold((0.0f32, 0.0f32), |(a, b), f| (a + f.0.abs(), b + f.1.abs()));
        assert!(r < l * 1e-3, "hard left: l {l} r {r}");
    }
}
