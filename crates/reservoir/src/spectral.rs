//! Spectral radius of W, computed once per network, off the audio path.
//!
//! The general case ([`spectral_radius`], eigenvalues) needs the `spectral` feature; a single
//! wrapped diagonal ([`one_diagonal_radius`]) is exact without it.

#[cfg(feature = "spectral")]
use nalgebra::{DMatrix, Schur};

/// QR sweeps allowed per eigenvalue before giving up (LAPACK's limit is 30).
#[cfg(feature = "spectral")]
const SWEEPS_PER_EIGENVALUE: usize = 30;

/// The largest eigenvalue modulus of the row-major `n`×`n` matrix `w`.
///
/// nalgebra's real Schur decomposition, built with `libm-force` so that its square roots and
/// friends come from `libm` on every platform: the same W gives the same radius natively and in
/// wasm, bit for bit, and so the same normalised network. Costs O(N³): about a second at N = 1000.
///
/// The QR iteration is bounded: on matrices whose eigenvalues all share one modulus (a weighted
/// cycle, say) it can circle forever, and an unbounded loop froze the page's worker. Should it
/// not converge, the largest absolute row sum, an upper bound of the radius, is returned: the
/// network is then normalised a little below the edge instead of never built.
#[cfg(feature = "spectral")]
pub fn spectral_radius(w: &[f64], n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let m = DMatrix::from_row_slice(n, n, w);
    match Schur::try_new(m, f64::EPSILON, SWEEPS_PER_EIGENVALUE * n) {
        Some(schur) => schur
            .complex_eigenvalues()
            .iter()
            // Modulus by hand: `Complex::norm` uses std's hypot, which differs between platforms.
            .map(|c| libm::sqrt(c.re * c.re + c.im * c.im))
            .fold(0.0, f64::max),
        None => w
            .chunks_exact(n)
            .map(|row| row.iter().map(|v| v.abs()).sum::<f64>())
            .fold(0.0, f64::max),
    }
}

/// The spectral radius of a matrix with one wrapped diagonal: row r holds `values[r]` at column
/// (r + offset) mod n. It is a weighted permutation: its cycles' eigenvalues have modulus
/// |product of the cycle's weights|^(1/length), so the radius is exact in O(N), where QR would
/// not converge (all of a cycle's eigenvalues share one modulus).
pub fn one_diagonal_radius(values: &[f64], offset: usize) -> f64 {
    let n = values.len();
    let mut seen = vec![false; n];
    let mut radius = 0.0f64;
    for start in 0..n {
        if seen[start] {
            continue;
        }
        let (mut r, mut log_sum, mut len, mut zero) = (start, 0.0, 0usize, false);
        while !seen[r] {
            seen[r] = true;
            let v = values[r].abs();
            zero |= v == 0.0;
            log_sum += if v > 0.0 { libm::log(v) } else { 0.0 };
            len += 1;
            r = (r + offset) % n;
        }
        if !zero {
            radius = radius.max(libm::exp(log_sum / len as f64));
        }
    }
    radius
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "spectral")]
    fn known_matrices() {
        // A rotation scaled by 2 has complex eigenvalues of modulus 2.
        let r = spectral_radius(&[0.0, -2.0, 2.0, 0.0], 2);
        assert!((r - 2.0).abs() < 1e-12, "{r}");
        // Upper triangular: eigenvalues on the diagonal.
        let r = spectral_radius(&[0.5, 9.0, 3.0, 0.0, -3.0, 1.0, 0.0, 0.0, 1.0], 3);
        assert!((r - 3.0).abs() < 1e-12, "{r}");
        assert_eq!(spectral_radius(&[0.0; 4], 2), 0.0);
    }

    #[test]
    fn one_diagonal_agrees_with_the_product_of_its_cycles() {
        // Offset 2 of 6: two cycles (0 2 4) and (1 3 5).
        let v = [2.0, 1.0, 0.5, 1.0, 8.0, 1.0];
        let r = one_diagonal_radius(&v, 2);
        assert!((r - 2.0).abs() < 1e-12, "{r}");
        // A cycle through a zero weight is nilpotent.
        assert_eq!(one_diagonal_radius(&[0.0, 3.0], 1), 0.0);
    }

    #[test]
    #[cfg(feature = "spectral")]
    fn a_weighted_cycle_does_not_hang_the_general_path() {
        // All eigenvalues of one modulus: the unbounded QR iteration never converged on these.
        let n = 100;
        let mut w = vec![0.0; n * n];
        for r in 0..n {
            w[r * n + (r + 37) % n] = if r % 2 == 0 { 0.5 } else { -0.7 };
        }
        let r = spectral_radius(&w, n);
        assert!(r.is_finite() && r >= (0.5f64 * 0.7).sqrt() - 1e-9, "{r}");
    }
}
