//! Onset detection: a faithful reimplementation of librosa 0.11's default
//! `librosa.onset.onset_detect(y=y, sr=sr)`, the detector the paper used to turn audio loops
//! into rhythms, so a musician's loops give the rhythms librosa would have given.
//!
//! Pipeline (each stage in its own module, each matching librosa's source): a centred STFT
//! ([`stft`]: n_fft 2048, hop 512, periodic Hann, zero padding) through a real FFT ([`fft`]),
//! a 128-band Slaney mel power spectrum ([`mel`]), dB with an 80 dB floor, the positive first
//! difference averaged over bands and shifted by librosa's centring compensation
//! ([`envelope`]), normalised to 0..1, then librosa's peak picker ([`peaks`]). Times are
//! `frame * 512 / sample_rate`, as `frames_to_time` gives them.

pub mod envelope;
pub mod fft;
pub mod mel;
pub mod peaks;
pub mod stft;

pub use envelope::onset_strength;
pub use peaks::{peak_pick, PeakParams};

/// FFT length (librosa's `n_fft` default).
pub const N_FFT: usize = 2048;
/// Hop between frames in samples (librosa's `hop_length` default).
pub const HOP: usize = 512;
/// Mel bands (librosa's `n_mels` default).
pub const N_MELS: usize = 128;

/// The onsets found in a signal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Onsets {
    /// Onset times in seconds from the first sample (`frame * 512 / sample_rate`).
    pub times_s: Vec<f64>,
    /// The normalised onset envelope (0..1 over the file) at each onset.
    pub strength: Vec<f32>,
    /// The STFT frame of each onset (librosa's `onset_detect` default output).
    pub frames: Vec<usize>,
}

/// librosa's `onset.onset_detect(y=samples, sr=sample_rate)` with every default, in seconds.
///
/// An empty signal, a sample rate that is not a positive finite number, or a signal holding a
/// NaN or an infinity gives no onsets (librosa would raise; callers that need to tell these apart
/// check first, as [`crate::audio_windows`] does).
pub fn onset_detect(samples: &[f32], sample_rate: f32) -> Onsets {
    let sr = sample_rate as f64;
    if samples.is_empty() || !(sr.is_finite() && sr > 0.0) {
        return Onsets::default();
    }
    if samples.iter().any(|v| !v.is_finite()) {
        return Onsets::default();
    }
    onsets_from_envelope(&onset_strength(samples, sr), sr)
}

/// The second half of [`onset_detect`]: normalises an onset envelope to 0..1 (minus its minimum,
/// over its maximum plus float32's `tiny`, as librosa does) and picks its peaks.
pub fn onsets_from_envelope(envelope: &[f32], sample_rate: f64) -> Onsets {
    let normalised = normalise(envelope);
    if !normalised.iter().any(|&v| v != 0.0) || normalised.iter().any(|v| !v.is_finite()) {
        return Onsets::default();
    }
    let frames = peak_pick(&normalised, &PeakParams::librosa_onset(sample_rate, HOP));
    Onsets {
        times_s: frames
            .iter()
            .map(|&f| (f * HOP) as f64 / sample_rate)
            .collect(),
        strength: frames.iter().map(|&f| normalised[f]).collect(),
        frames,
    }
}

/// `(x - min) / (max(x - min) + tiny)` in float32.
fn normalise(envelope: &[f32]) -> Vec<f32> {
    let min = envelope.iter().copied().fold(f32::INFINITY, f32::min);
    let shifted: Vec<f32> = envelope.iter().map(|&v| v - min).collect();
    let max = shifted.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let scale = max + f32::MIN_POSITIVE;
    shifted.into_iter().map(|v| v / scale).collect()
}
