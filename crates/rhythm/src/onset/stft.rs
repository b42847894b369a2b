//! The short-time power spectrum as librosa's `stft(center=True, pad_mode="constant")` frames
//! it: frame `t` is centred on sample `t * hop`, the signal zero-padded by `n_fft / 2` on both
//! sides, a periodic Hann window, `|rfft|²`.

use super::fft::RealFft;

/// Frames a centred STFT of `len` samples has: `1 + len / hop` (librosa pads `n_fft / 2` on
/// both sides, so `1 + (len + n_fft - n_fft) / hop`); none for an empty signal.
pub fn frame_count(len: usize, hop: usize) -> usize {
    if len == 0 {
        0
    } else {
        1 + len / hop
    }
}

/// scipy's `get_window("hann", n, fftbins=True)`: the periodic Hann window
/// `0.5 - 0.5 cos(2πk/n)`.
pub fn periodic_hann(n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| 0.5 - 0.5 * libm::cos(2.0 * core::f64::consts::PI * k as f64 / n as f64))
        .collect()
}

/// Calls `each(t, power)` for every frame `t` in order with the one-sided power spectrum
/// (`n_fft / 2 + 1` bins) of the windowed, centred frame. `n_fft` is a power of two.
pub fn for_each_power_frame(
    samples: &[f32],
    n_fft: usize,
    hop: usize,
    mut each: impl FnMut(usize, &[f64]),
) {
    let window = periodic_hann(n_fft);
    let mut fft = RealFft::new(n_fft);
    let mut frame = vec![0.0f64; n_fft];
    let mut power = vec![0.0f64; n_fft / 2 + 1];
    let half = (n_fft / 2) as isize;
    for t in 0..frame_count(samples.len(), hop) {
        let first = (t * hop) as isize - half;
        for (j, (out, w)) in frame.iter_mut().zip(&window).enumerate() {
            let i = first + j as isize;
            let y = if i >= 0 && (i as usize) < samples.len() {
                samples[i as usize] as f64
            } else {
                0.0
            };
            *out = y * w;
        }
        fft.power_spectrum(&frame, &mut power);
        each(t, &power);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_centred_on_hop_multiples() {
        assert_eq!(frame_count(0, 512), 0);
        assert_eq!(frame_count(1, 512), 1);
        assert_eq!(frame_count(511, 512), 1);
        assert_eq!(frame_count(512, 512), 2);
        assert_eq!(frame_count(44100, 512), 87);
        // Frame t spans samples [512t - 1024, 512t + 1024), so an impulse at sample 1024 sits at
        // window offset 2048 - 512t: the Hann peak (1) in frame 2, half height in frames 1 and 3,
        // the window's zero in frame 4 and outside frame 0.
        let mut x = vec![0.0f32; 4096];
        x[1024] = 1.0;
        let mut dc = Vec::new();
        for_each_power_frame(&x, 2048, 512, |_, p| dc.push(p[0]));
        let expected = [0.0, 0.25, 1.0, 0.25, 0.0];
        for (t, e) in expected.iter().enumerate() {
            assert!((dc[t] - e).abs() < 1e-12, "frame {t}: {}", dc[t]);
        }
    }
}
