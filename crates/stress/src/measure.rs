//! Measuring rendered audio: pitch from zero crossings, an amplitude envelope from per-cycle
//! peaks, and the times at which that envelope crosses a level. Used on a single held note with
//! a low-passed, undetuned oscillator, which is close to a sine: one upward crossing per period.

/// Times (in frames, linearly interpolated) where `x` crosses zero going up, within `range`.
pub fn upward_crossings(x: &[f32], range: std::ops::Range<usize>) -> Vec<f64> {
    let (from, to) = (range.start.max(1), range.end.min(x.len()));
    (from..to)
        .filter(|&i| x[i - 1] < 0.0 && x[i] >= 0.0)
        .map(|i| {
            let (a, b) = (x[i - 1] as f64, x[i] as f64);
            (i - 1) as f64 + a / (a - b)
        })
        .collect()
}

/// The frequency in Hz of `x` over `range` (frames), from its upward zero crossings; None with
/// fewer than 3 crossings.
pub fn frequency(x: &[f32], range: std::ops::Range<usize>, rate: f64) -> Option<f64> {
    let c = upward_crossings(x, range);
    (c.len() >= 3).then(|| (c.len() - 1) as f64 * rate / (c[c.len() - 1] - c[0]))
}

/// Deviation of `hz` from `expected` in cents.
pub fn cents(hz: f64, expected: f64) -> f64 {
    1200.0 * (hz / expected).log2()
}

/// The envelope of `x` as one point per cycle: (time in frames, peak), the peak between two
/// upward crossings refined by a parabola through the largest sample and its neighbours.
pub fn cycle_peaks(x: &[f32]) -> Vec<(f64, f64)> {
    let c = upward_crossings(x, 0..x.len());
    c.windows(2)
        .filter_map(|w| {
            let (a, b) = (
                w[0].ceil() as usize,
                (w[1].floor() as usize).min(x.len() - 1),
            );
            let i = (a..=b).max_by(|&i, &j| x[i].total_cmp(&x[j]))?;
            if i == 0 || i + 1 >= x.len() {
                return Some((i as f64, x[i] as f64));
            }
            let (y0, y1, y2) = (x[i - 1] as f64, x[i] as f64, x[i + 1] as f64);
            let d = y0 - 2.0 * y1 + y2;
            let (dt, peak) = if d < 0.0 {
                let dt = 0.5 * (y0 - y2) / d;
                (dt, y1 - 0.25 * (y0 - y2) * dt)
            } else {
                (0.0, y1)
            };
            Some((i as f64 + dt, peak))
        })
        .collect()
}

/// The first time after `after` (frames) at which the envelope `peaks` crosses `level`
/// (upwards if `rising`, else downwards), interpolated between the two peaks around it.
pub fn crossing(peaks: &[(f64, f64)], level: f64, rising: bool, after: f64) -> Option<f64> {
    peaks.windows(2).find_map(|w| {
        let ((t0, a), (t1, b)) = (w[0], w[1]);
        let crosses = if rising {
            a < level && b >= level
        } else {
            a > level && b <= level
        };
        (t0 >= after && crosses).then(|| t0 + (level - a) / (b - a) * (t1 - t0))
    })
}

/// The first frame at or after `from` whose sample is not exactly zero.
pub fn onset(x: &[f32], from: usize) -> Option<usize> {
    (from..x.len()).find(|&i| x[i] != 0.0)
}

/// The longest run of exactly-zero samples in `x[range]`.
pub fn longest_silence(x: &[f32], range: std::ops::Range<usize>) -> usize {
    let (mut best, mut run) = (0, 0);
    for &v in &x[range.start..range.end.min(x.len())] {
        run = if v == 0.0 { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(hz: f64, rate: f64, frames: usize, env: impl Fn(f64) -> f64) -> Vec<f32> {
        (0..frames)
            .map(|i| {
                let t = i as f64 / rate;
                (env(t) * (std::f64::consts::TAU * hz * t).sin()) as f32
            })
            .collect()
    }

    #[test]
    fn frequency_of_a_sine_is_found_within_a_hundredth_of_a_cent() {
        for rate in [22050.0, 48000.0, 192000.0] {
            let x = sine(443.0, rate, rate as usize, |_| 0.5);
            let hz = frequency(&x, 0..x.len(), rate).unwrap();
            assert!(cents(hz, 443.0).abs() < 0.01, "{rate}: {hz}");
            // And a wrong pitch is seen as wrong.
            assert!(cents(hz, 440.0).abs() > 10.0);
        }
    }

    #[test]
    fn a_linear_ramp_is_timed_from_its_peaks() {
        let rate = 22050.0;
        // 0 → 1 linearly from 0.1 s to 0.15 s.
        let x = sine(880.0, rate, 8000, |t| ((t - 0.1) / 0.05).clamp(0.0, 1.0));
        let p = cycle_peaks(&x);
        let t10 = crossing(&p, 0.1, true, 0.0).unwrap();
        let t90 = crossing(&p, 0.9, true, 0.0).unwrap();
        let ms = (t90 - t10) / 0.8 / rate * 1000.0;
        assert!((ms - 50.0).abs() < 0.5, "{ms}");
    }

    #[test]
    fn onsets_and_silences() {
        let x = [0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.1];
        assert_eq!(onset(&x, 0), Some(2));
        assert_eq!(onset(&x, 3), Some(6));
        assert_eq!(longest_silence(&x, 0..7), 3);
    }
}
