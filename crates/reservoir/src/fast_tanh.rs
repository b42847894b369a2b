//! A rational tanh that vectorises and is bit-identical natively and in wasm.
//!
//! `libm::tanhf` costs tens of nanoseconds and does not vectorise; the reservoir evaluates N of them
//! per step. This is the 13/6 rational minimax fit used by Eigen's `generic_fast_tanh_float`: only
//! `+ - * /` and clamping, so every IEEE platform computes the same bits (Rust never contracts to
//! FMA on its own). Its error against the exact tanh is tested below.

/// The fit's constants, public so a vectorised copy elsewhere (the melody LSTM's four-lane gates)
/// computes exactly the same function from the same numbers.
pub mod coefficients {
    // Eigen clamps at 7.9053, but in f32 this fit first reaches 1.0 at 7.7865615 and then dips
    // by an ulp or two: clamping where it first reaches 1.0 keeps it monotone and bounded by 1.
    pub const CLAMP: f32 = 7.786_561_5;
    /// Below this |x|, `fast_tanh` returns x itself.
    pub const TINY: f32 = 0.0004;
    pub const A1: f32 = 4.893_524_6e-3;
    pub const A3: f32 = 6.372_619_3e-4;
    pub const A5: f32 = 1.485_722_4e-5;
    pub const A7: f32 = 5.122_297e-8;
    pub const A9: f32 = -8.604_672e-11;
    pub const A11: f32 = 2.000_188e-13;
    pub const A13: f32 = -2.760_768_5e-16;
    pub const B0: f32 = 4.893_525e-3;
    pub const B2: f32 = 2.268_434_6e-3;
    pub const B4: f32 = 1.185_347e-4;
    pub const B6: f32 = 1.198_258_4e-6;
}

use coefficients::*;

/// tanh(x) within 5e-7 absolute (measured 4.2e-7, see the test); NaN in gives NaN out.
#[inline(always)]
pub fn fast_tanh(x: f32) -> f32 {
    // `clamp` keeps NaN (unlike max/min), so the reservoir can still detect it.
    let c = x.clamp(-CLAMP, CLAMP);
    let x2 = c * c;
    let mut p = x2 * A13 + A11;
    p = x2 * p + A9;
    p = x2 * p + A7;
    p = x2 * p + A5;
    p = x2 * p + A3;
    p = x2 * p + A1;
    p *= c;
    let mut q = x2 * B6 + B4;
    q = x2 * q + B2;
    q = x2 * q + B0;
    let r = p / q;
    if c.abs() < TINY {
        c
    } else {
        r
    }
}

/// Applies [`fast_tanh`] in place; written as a plain loop so LLVM vectorises it.
#[inline]
pub fn fast_tanh_slice(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        *x = fast_tanh(*x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_to_exact_tanh_everywhere() {
        let mut worst = 0.0f64;
        let mut x = -12.0f32;
        while x <= 12.0 {
            let err = (fast_tanh(x) as f64 - libm::tanh(x as f64)).abs();
            worst = worst.max(err);
            x += 1.0 / 4096.0;
        }
        assert!(worst < 5e-7, "worst absolute error {worst:e}");
    }

    #[test]
    fn odd_bounded_and_monotone() {
        let mut prev = -1.0f32;
        for i in -20000..=20000 {
            let x = i as f32 * 1e-3;
            let y = fast_tanh(x);
            assert!(y.abs() <= 1.0, "|tanh({x})| = {y}");
            assert_eq!(y, -fast_tanh(-x));
            // Near ±1 the f32 evaluation wobbles by a few ulp (6e-8 each), inside the error bound.
            assert!(y >= prev - 5e-7, "not monotone at {x}: {y} < {prev}");
            prev = y;
        }
        assert_eq!(fast_tanh(1e30), fast_tanh(100.0));
    }

    #[test]
    fn nan_propagates_and_infinities_saturate() {
        assert!(fast_tanh(f32::NAN).is_nan());
        assert!((fast_tanh(f32::INFINITY) - 1.0).abs() < 1e-6);
        assert!((fast_tanh(f32::NEG_INFINITY) + 1.0).abs() < 1e-6);
    }
}
