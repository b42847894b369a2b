//! librosa's mel filter bank (`filters.mel` defaults: Slaney's mel scale, `htk=False`,
//! `norm="slaney"`, float32 weights), stored sparsely: each triangle as its first bin and its
//! non-zero weights.

/// Hz to mels on Slaney's scale (librosa's `hz_to_mel(htk=False)`): linear below 1 kHz,
/// logarithmic above.
pub fn hz_to_mel(hz: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    if hz >= min_log_hz {
        min_log_mel + libm::log(hz / min_log_hz) / log_step()
    } else {
        hz / f_sp
    }
}

/// The inverse of [`hz_to_mel`] (librosa's `mel_to_hz(htk=False)`).
pub fn mel_to_hz(mel: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    if mel >= min_log_mel {
        min_log_hz * libm::exp(log_step() * (mel - min_log_mel))
    } else {
        f_sp * mel
    }
}

fn log_step() -> f64 {
    libm::log(6.4) / 27.0
}

/// One triangular filter: weights for bins `first..first + weights.len()`.
#[derive(Clone, Debug, PartialEq)]
struct Band {
    first: usize,
    weights: Vec<f64>,
}

/// A bank of `n_mels` triangular filters over the `n_fft / 2 + 1` bins of a power spectrum.
#[derive(Clone, Debug, PartialEq)]
pub struct MelFilterbank {
    bands: Vec<Band>,
    bins: usize,
}

impl MelFilterbank {
    /// librosa's `filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=0, fmax=fmax)`
    /// with its defaults, computed in f64 as librosa does and rounded to f32 at the same two
    /// places (its weight matrix is float32).
    pub fn slaney(sample_rate: f64, n_fft: usize, n_mels: usize, fmax: f64) -> Self {
        let bins = n_fft / 2 + 1;
        // numpy's rfftfreq: k * (1 / (n * d)) with d = 1 / sr.
        let bin_hz = 1.0 / (n_fft as f64 * (1.0 / sample_rate));
        let fft_hz: Vec<f64> = (0..bins).map(|k| k as f64 * bin_hz).collect();
        let mel_hz = mel_frequencies(n_mels + 2, 0.0, fmax);
        let bands = (0..n_mels)
            .map(|i| {
                let (lo, mid, hi) = (mel_hz[i], mel_hz[i + 1], mel_hz[i + 2]);
                let enorm = 2.0 / (hi - lo);
                let full: Vec<f64> = fft_hz
                    .iter()
                    .map(|&f| {
                        let lower = -(lo - f) / (mid - lo);
                        let upper = (hi - f) / (hi - mid);
                        let tri = 0.0f64.max(lower.min(upper));
                        // Stored as float32, then scaled in f64 and stored as float32 again.
                        ((tri as f32) as f64 * enorm) as f32 as f64
                    })
                    .collect();
                match full.iter().position(|&w| w != 0.0) {
                    None => Band {
                        first: 0,
                        weights: Vec::new(),
                    },
                    Some(first) => {
                        let last = full.iter().rposition(|&w| w != 0.0).unwrap_or(first);
                        Band {
                            first,
                            weights: full[first..=last].to_vec(),
                        }
                    }
                }
            })
            .collect();
        Self { bands, bins }
    }

    /// Number of mel bands.
    pub fn bands(&self) -> usize {
        self.bands.len()
    }

    /// Writes each band's weighted sum of `power` (length `n_fft / 2 + 1`) into `out`.
    pub fn apply(&self, power: &[f64], out: &mut [f64]) {
        assert_eq!(power.len(), self.bins, "power spectrum length");
        for (band, o) in self.bands.iter().zip(out.iter_mut()) {
            let bins = &power[band.first..band.first + band.weights.len()];
            *o = band.weights.iter().zip(bins).map(|(w, p)| w * p).sum();
        }
    }

    /// The dense weight of `band` at `bin` (for tests and comparisons).
    pub fn weight(&self, band: usize, bin: usize) -> f64 {
        let b = &self.bands[band];
        if bin >= b.first && bin < b.first + b.weights.len() {
            b.weights[bin - b.first]
        } else {
            0.0
        }
    }
}

/// librosa's `mel_frequencies(n, fmin, fmax, htk=False)`: `n` points evenly spaced in mels, as
/// numpy's `linspace` spaces them (start + i·step, the last point exactly the end).
pub fn mel_frequencies(n: usize, fmin: f64, fmax: f64) -> Vec<f64> {
    let (lo, hi) = (hz_to_mel(fmin), hz_to_mel(fmax));
    let step = if n > 1 {
        (hi - lo) / (n - 1) as f64
    } else {
        0.0
    };
    (0..n)
        .map(|i| {
            let mel = if i + 1 == n && n > 1 {
                hi
            } else {
                i as f64 * step + lo
            };
            mel_to_hz(mel)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mel_scale_round_trips_and_bends_at_1khz() {
        for hz in [0.0, 100.0, 999.0, 1000.0, 4000.0, 22050.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9 * hz.max(1.0));
        }
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        // Slaney: 27 mels per factor 6.4 above 1 kHz.
        assert!((hz_to_mel(6400.0) - 42.0).abs() < 1e-9);
    }

    #[test]
    fn slaney_normalisation_gives_each_triangle_unit_area_in_hz() {
        // With norm="slaney" a triangle's peak is 2 / (width in Hz), so its area in Hz is 1:
        // the sum of its weights times the bin width (where the triangle spans many bins).
        let sr = 44100.0;
        let bank = MelFilterbank::slaney(sr, 2048, 128, sr / 2.0);
        let bin_hz = sr / 2048.0;
        for band in 100..128 {
            let area: f64 = (0..1025).map(|k| bank.weight(band, k)).sum::<f64>() * bin_hz;
            assert!((area - 1.0).abs() < 0.02, "band {band}: area {area}");
        }
    }
}
