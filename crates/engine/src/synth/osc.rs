//! Band-limited oscillators (PolyBLEP): a saw and a square without the aliasing of naive ones.

/// The polynomial band-limited step residual at phase `t` for phase increment `dt`.
#[inline(always)]
fn blep(t: f32, dt: f32) -> f32 {
    if t < dt {
        let x = t / dt;
        x + x - x * x - 1.0
    } else if t > 1.0 - dt {
        let x = (t - 1.0) / dt;
        x * x + x + x + 1.0
    } else {
        0.0
    }
}

/// A phase in [0, 1) and its per-sample increment.
#[derive(Clone, Copy, Debug, Default)]
pub struct Phase {
    pub t: f32,
    pub dt: f32,
}

impl Phase {
    #[inline(always)]
    fn advance(&mut self) {
        self.t += self.dt;
        if self.t >= 1.0 {
            self.t -= 1.0;
        }
    }

    /// A band-limited saw in [-1, 1], then one sample's advance.
    #[inline(always)]
    pub fn saw(&mut self) -> f32 {
        let v = 2.0 * self.t - 1.0 - blep(self.t, self.dt);
        self.advance();
        v
    }

    /// A band-limited square in [-1, 1], then one sample's advance.
    #[inline(always)]
    pub fn square(&mut self) -> f32 {
        let naive = if self.t < 0.5 { 1.0 } else { -1.0 };
        let mut half = self.t + 0.5;
        if half >= 1.0 {
            half -= 1.0;
        }
        let v = naive + blep(self.t, self.dt) - blep(half, self.dt);
        self.advance();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Energy far above the fundamental, by a crude DFT at a few high harmonics' alias positions.
    fn high_band_energy(signal: &[f32], sample_rate: f32, from_hz: f32) -> f32 {
        let n = signal.len();
        let mut total = 0.0;
        let mut k = (from_hz / sample_rate * n as f32) as usize;
        while k < n / 2 {
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for (i, &s) in signal.iter().enumerate() {
                let a = 2.0 * std::f64::consts::PI * (k * i) as f64 / n as f64;
                re += s as f64 * a.cos();
                im -= s as f64 * a.sin();
            }
            total += (re * re + im * im) as f32;
            k += 37;
        }
        total
    }

    #[test]
    fn polyblep_saw_aliases_less_than_a_naive_saw() {
        let sr = 44100.0;
        let dt = 3520.0 / sr;
        let mut p = Phase { t: 0.0, dt };
        let blep: Vec<f32> = (0..2048).map(|_| p.saw()).collect();
        let mut t = 0.0f32;
        let naive: Vec<f32> = (0..2048)
            .map(|_| {
                let v = 2.0 * t - 1.0;
                t = (t + dt).fract();
                v
            })
            .collect();
        let (b, n) = (
            high_band_energy(&blep, sr, 15000.0),
            high_band_energy(&naive, sr, 15000.0),
        );
        assert!(b < n * 0.5, "blep {b} vs naive {n}");
    }

    #[test]
    fn waves_stay_bounded_and_have_no_dc() {
        let mut p = Phase {
            t: 0.0,
            dt: 220.0 / 48000.0,
        };
        let saw: Vec<f32> = (0..48000).map(|_| p.saw()).collect();
        let mut q = Phase {
            t: 0.0,
            dt: 220.0 / 48000.0,
        };
        let sq: Vec<f32> = (0..48000).map(|_| q.square()).collect();
        for w in [&saw, &sq] {
            assert!(w.iter().all(|v| v.abs() <= 1.0001));
            let mean = w.iter().sum::<f32>() / w.len() as f32;
            assert!(mean.abs() < 0.01, "dc {mean}");
        }
    }
}
