//! librosa's `util.peak_pick`, with the window sizes `onset.onset_detect` chooses, in the same
//! float32 arithmetic (its numba kernel sums the average window in float32, left to right).

/// Peak-picking windows in frames (librosa's names) and the threshold above the local mean.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeakParams {
    pub pre_max: usize,
    pub post_max: usize,
    pub pre_avg: usize,
    pub post_avg: usize,
    pub delta: f32,
    pub wait: usize,
}

impl PeakParams {
    /// The values `librosa.onset.onset_detect` sets: pre_max 30 ms, post_max 0 ms + 1 frame,
    /// pre_avg 100 ms, post_avg 100 ms + 1 frame, wait 30 ms, delta 0.07; each computed as
    /// Python computes `0.03 * sr // hop_length` (float floor division), then rounded up.
    pub fn librosa_onset(sample_rate: f64, hop: usize) -> Self {
        let frames = |seconds: f64| py_floordiv(seconds * sample_rate, hop as f64);
        let whole = |x: f64| libm::ceil(x).max(0.0) as usize;
        Self {
            pre_max: whole(frames(0.03)),
            post_max: whole(frames(0.00) + 1.0),
            pre_avg: whole(frames(0.10)),
            post_avg: whole(frames(0.10) + 1.0),
            delta: 0.07,
            wait: whole(frames(0.03)),
        }
    }
}

/// Python's `float.__floordiv__` (CPython's `float_floor_div`): floor of the exact quotient
/// via fmod, so the window sizes land where librosa's do even at awkward sample rates.
fn py_floordiv(a: f64, b: f64) -> f64 {
    let m = libm::fmod(a, b);
    let mut div = (a - m) / b;
    if m != 0.0 && ((b < 0.0) != (m < 0.0)) {
        div -= 1.0;
    }
    if div != 0.0 {
        let mut floor = libm::floor(div);
        if div - floor > 0.5 {
            floor += 1.0;
        }
        floor
    } else {
        0.0f64.copysign(a / b)
    }
}

/// Frames `n` where `x[n]` is the maximum of `x[n - pre_max .. n + post_max]` and at least
/// `mean(x[n - pre_avg .. n + post_avg]) + delta`, with at least `wait` frames between picks:
/// librosa's algorithm step for step (frame 0 looks only forward, a pick skips `wait` frames).
pub fn peak_pick(x: &[f32], p: &PeakParams) -> Vec<usize> {
    let n_len = x.len();
    let mut peaks = Vec::new();
    if n_len == 0 {
        return peaks;
    }
    let max_of = |s: &[f32]| s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    // numba's np.mean on float32: a float32 running sum, divided in f64, rounded to float32.
    let mean_of = |s: &[f32]| {
        let sum = s.iter().fold(0.0f32, |acc, &v| acc + v);
        (sum as f64 / s.len() as f64) as f32
    };
    let first = x[0] >= max_of(&x[..p.post_max.min(n_len)])
        && x[0] >= mean_of(&x[..p.post_avg.min(n_len)]) + p.delta;
    let mut n = if first {
        peaks.push(0);
        p.wait + 1
    } else {
        1
    };
    while n < n_len {
        let maxn = max_of(&x[n.saturating_sub(p.pre_max)..(n + p.post_max).min(n_len)]);
        if x[n] != maxn {
            n += 1;
            continue;
        }
        let avgn = mean_of(&x[n.saturating_sub(p.pre_avg)..(n + p.post_avg).min(n_len)]);
        if x[n] < avgn + p.delta {
            n += 1;
            continue;
        }
        peaks.push(n);
        n += p.wait + 1;
    }
    peaks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_sizes_match_librosa_at_common_rates() {
        // 0.03 * 44100 // 512 = 2, 0.1 * 44100 // 512 = 8; at 48 kHz 2 and 9; at 22050 1 and 4.
        let p = PeakParams::librosa_onset(44100.0, 512);
        assert_eq!(
            (p.pre_max, p.post_max, p.pre_avg, p.post_avg, p.wait),
            (2, 1, 8, 9, 2)
        );
        let p = PeakParams::librosa_onset(48000.0, 512);
        assert_eq!(
            (p.pre_max, p.post_max, p.pre_avg, p.post_avg, p.wait),
            (2, 1, 9, 10, 2)
        );
        let p = PeakParams::librosa_onset(22050.0, 512);
        assert_eq!(
            (p.pre_max, p.post_max, p.pre_avg, p.post_avg, p.wait),
            (1, 1, 4, 5, 1)
        );
        assert_eq!(py_floordiv(7.0, 2.0), 3.0);
        assert_eq!(py_floordiv(-7.0, 2.0), -4.0);
    }

    #[test]
    fn picks_isolated_peaks_and_respects_wait() {
        let p = PeakParams {
            pre_max: 2,
            post_max: 1,
            pre_avg: 4,
            post_avg: 5,
            delta: 0.07,
            wait: 2,
        };
        let mut x = vec![0.0f32; 40];
        x[5] = 1.0;
        x[7] = 0.9; // within wait of 5: skipped
        x[20] = 0.5;
        x[21] = 0.5; // a plateau: the first of equal values is picked, the next is in wait
        x[30] = 0.05; // below mean + delta
        assert_eq!(peak_pick(&x, &p), vec![5, 20]);
        // Frame 0 is a peak when it beats what follows.
        let mut y = vec![0.0f32; 10];
        y[0] = 1.0;
        assert_eq!(peak_pick(&y, &p), vec![0]);
    }
}
