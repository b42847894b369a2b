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
pub mod eval;
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
///
/// ```
/// use tidepool_rhythm::onset::onset_detect;
/// // Two short buzzes, at 0.5 s and 1.2 s.
/// let sr = 22050.0;
/// let mut x = vec![0.0f32; 2 * 22050];
/// for start in [11025, 26460] {
///     for i in 0..600 {
///         x[start + i] = if i % 10 < 5 { 0.4 } else { -0.4 };
///     }
/// }
/// let onsets = onset_detect(&x, sr);
/// assert_eq!(onsets.times_s.len(), 2);
/// assert!((onsets.times_s[0] - 0.5).abs() < 0.05 && (onsets.times_s[1] - 1.2).abs() < 0.05);
/// assert_eq!(onsets.times_s[0], (onsets.frames[0] * 512) as f64 / 22050.0);
/// ```
pub fn onset_detect(samples: &[f32], sample_rate: f32) -> Onsets {
    let sr = sample_rate as f64;
    if !analysable(samples, sr) {
        return Onsets::default();
    }
    onsets_from_envelope(&onset_strength(samples, sr), sr)
}

/// Samples of a loop's end put before its start by [`onset_detect_looped`]: a whole number of
/// hops (so the file's frames stay on librosa's grid) covering the envelope's reach back in time
/// (the window's half plus the three-frame shift) with room to spare.
pub const LOOP_PREROLL: usize = 8 * HOP;

/// [`onset_detect`] for a loop: the audio as it sounds when it repeats, its end played before its
/// start, so a note on the loop's first sample is found. Plain `onset_detect` misses it: its
/// first frames are centred on the file's start and already hold the note, so no rise is seen
/// (librosa finds nothing at 0 s in a loop whose downbeat sounds on sample 0). Onsets before the
/// file's start (the end's own, heard again) are dropped; frames and times count from the file's
/// start; strengths are normalised over the extended envelope.
pub fn onset_detect_looped(samples: &[f32], sample_rate: f32) -> Onsets {
    let sr = sample_rate as f64;
    if !analysable(samples, sr) {
        return Onsets::default();
    }
    let preroll = LOOP_PREROLL.min(samples.len() / HOP * HOP);
    let mut looped = Vec::with_capacity(preroll + samples.len());
    looped.extend_from_slice(&samples[samples.len() - preroll..]);
    looped.extend_from_slice(samples);
    let all = onsets_from_envelope(&onset_strength(&looped, sr), sr);
    let skip = preroll / HOP;
    let mut onsets = Onsets::default();
    for (&frame, &strength) in all.frames.iter().zip(&all.strength) {
        if frame >= skip {
            onsets.frames.push(frame - skip);
            onsets.times_s.push(((frame - skip) * HOP) as f64 / sr);
            onsets.strength.push(strength);
        }
    }
    onsets
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

/// A signal the detector can work on: not empty, finite, at a positive finite rate.
fn analysable(samples: &[f32], sample_rate: f64) -> bool {
    !samples.is_empty()
        && sample_rate.is_finite()
        && sample_rate > 0.0
        && samples.iter().all(|v| v.is_finite())
}

/// `(x - min) / (max(x - min) + tiny)` in float32.
fn normalise(envelope: &[f32]) -> Vec<f32> {
    let min = envelope.iter().copied().fold(f32::INFINITY, f32::min);
    let shifted: Vec<f32> = envelope.iter().map(|&v| v - min).collect();
    let max = shifted.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let scale = max + f32::MIN_POSITIVE;
    shifted.into_iter().map(|v| v / scale).collect()
}
