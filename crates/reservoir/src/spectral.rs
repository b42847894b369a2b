//! Spectral radius of W, computed once per network, off the audio path.

use nalgebra::DMatrix;

/// The largest eigenvalue modulus of the row-major `n`×`n` matrix `w`.
///
/// nalgebra's real Schur decomposition, built with `libm-force` so that its square roots and
/// friends come from `libm` on every platform: the same W gives the same radius natively and in
/// wasm, bit for bit, and so the same normalised network. Costs O(N³): about a second at N = 1000.
pub fn spectral_radius(w: &[f64], n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let m = DMatrix::from_row_slice(n, n, w);
    m.complex_eigenvalues()
        .iter()
        // Modulus by hand: `Complex::norm` uses std's hypot, which differs between platforms.
        .map(|c| libm::sqrt(c.re * c.re + c.im * c.im))
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_matrices() {
        // A rotation scaled by 2 has complex eigenvalues of modulus 2.
        let r = spectral_radius(&[0.0, -2.0, 2.0, 0.0], 2);
        assert!((r - 2.0).abs() < 1e-12, "{r}");
        // Upper triangular: eigenvalues on the diagonal.
        let r = spectral_radius(&[0.5, 9.0, 3.0, 0.0, -3.0, 1.0, 0.0, 0.0, 1.0], 3);
        assert!((r - 3.0).abs() < 1e-12, "{r}");
        assert_eq!(spectral_radius(&[0.0; 4], 2), 0.0);
    }
}
