//! librosa's default onset strength envelope (`onset.onset_strength(y, sr)`): a 128-band mel
//! power spectrogram in dB (`power_to_db`, ref 1, amin 1e-10, top_db 80), the positive first
//! difference (lag 1) averaged over bands, shifted right by `lag + n_fft // (2 hop)` frames
//! (zeros in front) to undo the centred frames' lead, and cut to the spectrogram's length.

use super::mel::MelFilterbank;
use super::stft::{for_each_power_frame, frame_count};
use super::{HOP, N_FFT, N_MELS};

/// `power_to_db`'s floor on power (its `amin`).
const AMIN: f64 = 1e-10;
/// `power_to_db`'s dynamic range below the loudest bin (its `top_db`).
const TOP_DB: f32 = 80.0;
/// The difference lag.
const LAG: usize = 1;

/// The mel spectrogram in dB, frame-major (`frames x N_MELS`), as `power_to_db` leaves it:
/// float32 values, floored at the loudest value minus 80 dB.
pub fn mel_db(samples: &[f32], sample_rate: f64) -> Vec<f32> {
    let bank = MelFilterbank::slaney(sample_rate, N_FFT, N_MELS, 0.5 * sample_rate);
    let frames = frame_count(samples.len(), HOP);
    let mut db = vec![0.0f32; frames * N_MELS];
    let mut mel = vec![0.0f64; N_MELS];
    for_each_power_frame(samples, N_FFT, HOP, |t, power| {
        bank.apply(power, &mut mel);
        for (out, &m) in db[t * N_MELS..(t + 1) * N_MELS].iter_mut().zip(&mel) {
            // librosa's mel spectrogram is float32; its dB conversion then stays in float32.
            let m32 = m as f32 as f64;
            *out = (10.0 * libm::log10(m32.max(AMIN))) as f32;
        }
    });
    let top = db.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let floor = top - TOP_DB;
    for v in &mut db {
        *v = v.max(floor);
    }
    db
}

/// The onset strength envelope, one value per STFT frame (`1 + len / 512` of them).
pub fn onset_strength(samples: &[f32], sample_rate: f64) -> Vec<f32> {
    let db = mel_db(samples, sample_rate);
    let frames = db.len() / N_MELS;
    let shift = LAG + N_FFT / (2 * HOP);
    let mut env = vec![0.0f32; frames];
    for (t, out) in env.iter_mut().enumerate().skip(shift) {
        // env[t] is the rise from frame t - shift to frame t - shift + LAG.
        let now = &db[(t - shift + LAG) * N_MELS..(t - shift + LAG + 1) * N_MELS];
        let before = &db[(t - shift) * N_MELS..(t - shift + 1) * N_MELS];
        let sum: f64 = now
            .iter()
            .zip(before)
            .map(|(&a, &b)| (a - b).max(0.0) as f64)
            .sum();
        *out = (sum / N_MELS as f64) as f32;
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_flat_and_a_burst_first_shows_shift_frames_after_the_frame_it_enters() {
        let sr = 22050.0;
        assert!(onset_strength(&vec![0.0; 22050], sr)
            .iter()
            .all(|&v| v == 0.0));
        // A burst from sample 10 * 512 on: frame t spans [512t - 1024, 512t + 1024), so frame 9
        // is the first to hold any of it. Its rise over frame 8 is reported at 9 - LAG + shift
        // = 11, librosa's alignment; nothing before.
        let mut x = vec![0.0f32; 22050];
        for (i, v) in x.iter_mut().enumerate().skip(10 * 512) {
            *v = if (i / 7) % 2 == 0 { 0.5 } else { -0.5 };
        }
        let env = onset_strength(&x, sr);
        assert!(env[..11].iter().all(|&v| v == 0.0), "{:?}", &env[..12]);
        assert!(env[11] > 0.0);
        let peak = (0..env.len()).fold(0, |b, i| if env[i] > env[b] { i } else { b });
        assert!((11..=13).contains(&peak), "peak at frame {peak}");
    }
}
