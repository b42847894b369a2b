//! A radix-2 real FFT (power-of-two sizes), hand-written so the page's wasm module needs no FFT
//! crate; all twiddles come from `libm` so native and wasm give the same bits.

/// A precomputed plan for real input of one power-of-two length `n`: a complex FFT of `n / 2`
/// points over the even/odd samples packed as re/im, then the split that unpacks the real
/// spectrum (half the work of a complex FFT of `n` points).
#[derive(Clone, Debug)]
pub struct RealFft {
    n: usize,
    /// exp(-2πi k / (n/2)) for k < n/4: the half-size complex FFT's twiddles.
    half_twiddles: Vec<(f64, f64)>,
    /// exp(-2πi k / n) for k <= n/2: the split's twiddles.
    split_twiddles: Vec<(f64, f64)>,
    /// Bit-reversal permutation of the half-size FFT.
    bit_reverse: Vec<u32>,
    scratch: Vec<(f64, f64)>,
}

impl RealFft {
    /// A plan for `n`-point real input. `n` must be a power of two, at least 4.
    pub fn new(n: usize) -> Self {
        assert!(
            n >= 4 && n.is_power_of_two(),
            "RealFft needs a power of two >= 4, got {n}"
        );
        let half = n / 2;
        let twiddle = |k: usize, size: usize| {
            let angle = -2.0 * core::f64::consts::PI * k as f64 / size as f64;
            (libm::cos(angle), libm::sin(angle))
        };
        let bits = half.trailing_zeros();
        let bit_reverse = (0..half as u32)
            .map(|i| {
                if bits == 0 {
                    0
                } else {
                    i.reverse_bits() >> (32 - bits)
                }
            })
            .collect();
        Self {
            n,
            half_twiddles: (0..half / 2).map(|k| twiddle(k, half)).collect(),
            split_twiddles: (0..=half).map(|k| twiddle(k, n)).collect(),
            bit_reverse,
            scratch: vec![(0.0, 0.0); half],
        }
    }

    /// The input length this plan takes.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always false: a plan has at least 4 points.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes `|X[k]|²` for k = 0..=n/2 (the one-sided power spectrum, unnormalised as numpy's
    /// `rfft` is) of the real input `x` (length n) into `power` (length n/2 + 1).
    pub fn power_spectrum(&mut self, x: &[f64], power: &mut [f64]) {
        let half = self.n / 2;
        assert_eq!(x.len(), self.n, "input length");
        assert_eq!(power.len(), half + 1, "output length");
        let z = &mut self.scratch;
        for (i, &j) in self.bit_reverse.iter().enumerate() {
            let j = j as usize;
            z[j] = (x[2 * i], x[2 * i + 1]);
        }
        fft_in_place(z, &self.half_twiddles);
        // Split: with Z the FFT of z[m] = x[2m] + i x[2m+1],
        // X[k] = (Z[k] + conj(Z[h-k])) / 2 - i/2 · W^k · (Z[k] - conj(Z[h-k])), W = e^{-2πi/n}.
        for (k, out) in power.iter_mut().enumerate() {
            let a = z[k % half];
            let b = z[(half - k) % half];
            let (er, ei) = ((a.0 + b.0) * 0.5, (a.1 - b.1) * 0.5);
            let (or, oi) = ((a.1 + b.1) * 0.5, (b.0 - a.0) * 0.5);
            let (wr, wi) = self.split_twiddles[k];
            let re = er + (or * wr - oi * wi);
            let im = ei + (or * wi + oi * wr);
            *out = re * re + im * im;
        }
    }
}

/// Iterative radix-2 decimation-in-time FFT of bit-reversed input; `twiddles[k]` =
/// exp(-2πi k / len) for k < len/2.
fn fft_in_place(z: &mut [(f64, f64)], twiddles: &[(f64, f64)]) {
    let len = z.len();
    let mut size = 2;
    while size <= len {
        let halfsize = size / 2;
        let stride = len / size;
        for start in (0..len).step_by(size) {
            for k in 0..halfsize {
                let (wr, wi) = twiddles[k * stride];
                let (br, bi) = z[start + k + halfsize];
                let t = (br * wr - bi * wi, br * wi + bi * wr);
                let u = z[start + k];
                z[start + k] = (u.0 + t.0, u.1 + t.1);
                z[start + k + halfsize] = (u.0 - t.0, u.1 - t.1);
            }
        }
        size *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook O(n²) DFT, the reference the fast one must agree with.
    fn naive_power(x: &[f64]) -> Vec<f64> {
        let n = x.len();
        (0..=n / 2)
            .map(|k| {
                let (mut re, mut im) = (0.0, 0.0);
                for (t, &v) in x.iter().enumerate() {
                    let a = -2.0 * core::f64::consts::PI * ((k * t) % n) as f64 / n as f64;
                    re += v * a.cos();
                    im += v * a.sin();
                }
                re * re + im * im
            })
            .collect()
    }

    #[test]
    fn agrees_with_the_naive_dft_at_every_size() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for n in [4, 8, 16, 64, 256, 2048] {
            let x: Vec<f64> = (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
                })
                .collect();
            let mut fast = vec![0.0; n / 2 + 1];
            RealFft::new(n).power_spectrum(&x, &mut fast);
            let slow = naive_power(&x);
            let scale = slow.iter().cloned().fold(1.0, f64::max);
            for (k, (f, s)) in fast.iter().zip(&slow).enumerate() {
                assert!((f - s).abs() <= 1e-9 * scale, "n {n} bin {k}: {f} vs {s}");
            }
        }
    }

    #[test]
    fn a_cosine_on_a_bin_puts_all_its_power_there() {
        let n = 2048;
        let x: Vec<f64> = (0..n)
            .map(|t| (2.0 * core::f64::consts::PI * 10.0 * t as f64 / n as f64).cos())
            .collect();
        let mut p = vec![0.0; n / 2 + 1];
        RealFft::new(n).power_spectrum(&x, &mut p);
        // A unit cosine on bin 10 has |X[10]| = n/2.
        assert!((p[10] - (n as f64 / 2.0).powi(2)).abs() < 1e-6);
        for (k, v) in p.iter().enumerate() {
            if k != 10 {
                assert!(*v < 1e-12, "bin {k}: {v}");
            }
        }
    }
}
