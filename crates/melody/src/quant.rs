//! A quantized runtime copy of the melody [`Lstm`]: i8 recurrent weights, i16 activations and
//! exact integer dot products, so a step fits the browser's budget with the same bits everywhere.
//!
//! Why: the f32 step reads 3.5 MB of weights per token and is memory bound (about 0.12 ms in wasm
//! on the development machine, over the 0.12 ms budget). Here the three 1024 × 256 recurrent
//! matrices are 1 byte per weight (0.79 MB, which stays in L2), and a step takes about 0.024 ms
//! in wasm (headless Chromium and Node; 0.05 ms before the gates ran in SIMD lanes without
//! `expf`, see below), against 0.16–0.19 ms for TensorFlow.js's wasm backend on the same page
//! (tests/bench/melody_tfjs.mjs). About 0.02 ms of it are the 786k integer multiply-adds, bound
//! by `i32x4.dot_i16x8_s` (8 per instruction, the most simd128 offers).
//!
//! The numeric scheme:
//! - Weights, once in [`QuantLstm::new`]: each row `w` of `W_hh` and of `W_ih` (layers above the
//!   first) becomes `q = round(w · 127 / max|w|)` in i8 (symmetric, never −128) with one f32 scale
//!   `max|w| / 127` per row; `W_ih` and `W_hh` have separate row scales. In wasm they are stored
//!   two rows per i16 lane (see `Weights::Pairs`); the integers are the same.
//! - The first layer's input term is a table computed in f64 per token,
//!   `table[t] = W_ih0 · emb[t] + b_ih0 + b_hh0` (VOCAB × 4H f32, 0.53 MB); a step reads one row.
//!   Measured in wasm: 2–3 % faster than quantizing `W_ih0` and the embedding row, and exact.
//!   A model with the position input adds `W_ih0`'s column of the one-hot position (16 × 4H f32,
//!   kept as they are: a one-hot times a column is the column).
//! - A gate is `(bias + (Σ q_w·q_x) as f32 · s_row · s_x) + (Σ q_w·q_h) as f32 · s_row · s_h`,
//!   each Σ an exact integer.
//! - The cell update is the f32 [`Lstm`]'s with `σ(x) = 0.5 · tanh(x / 2) + 0.5` and a rational
//!   tanh (`fast_tanh`'s, as `tanh_r`) instead of libm's `expf`: within 2.5e-7 of the exact
//!   logistic, only `+ − × ÷`, so it runs four units at a time. With `expf`, the 1536 sigmoids of a
//!   step took 18 of its 50 µs in wasm; likelihood and probabilities did not change (test NLL
//!   0.73235 either way).
//! - Activations, once per step: each layer's new `h` becomes i16 with one scale per vector,
//!   `q = round(h · 32767 / max|h|)`, ties to even (max|h| is kept by the cell update; below 1e-30
//!   it gives all zeros and scale 0).
//! - The output layer (130 × 256) stays f32, as in [`Lstm`] and summed in the same order: in i8 it
//!   made 85 % of the error (max |Δp| 0.016 instead of 0.003 on a test line) and saved only 4 µs
//!   of 66.
//!
//! Determinism: integer sums are exact however they are added (wasm `simd128` lanes, pairs of
//! rows, or a loop LLVM vectorises). Every f32 operation is written once, over `Lanes` (one f32,
//! or four wasm lanes, each lane doing the scalar code's IEEE operations in the same order; no
//! FMA, which Rust never forms by itself) or, for the output layer's sums, as eight fixed lanes
//! that the wasm code keeps in two f32x4. So wasm and native logits are bit-identical, checked in
//! headless Chromium by crates/wasm/tests/quant_lstm.rs against goldens written natively.

use crate::lstm::{Lstm, Stepper, POSITIONS};
use crate::tokens::{Token, VOCAB};

/// The longest run of products summed in an i32: 127 · 32767 · 512 = 2 130 641 408 < 2^31 − 1,
/// so even all-extreme inputs cannot overflow. Longer dot products add such runs in i64.
pub const MAX_I32_RUN: usize = 512;
const _: () = assert!(127 * 32767 * MAX_I32_RUN as i64 <= i32::MAX as i64);

/// Largest magnitude of a quantized weight and of a quantized activation.
const W_MAX: f64 = 127.0;
const X_MAX: f32 = 32767.0;
/// Below this a vector counts as zero (its inverse scale `X_MAX / max` would overflow f32).
const X_TINY: f32 = 1e-30;

/// `Σ w[k]·x[k]` over the common length, exactly, for weights in −127..=127 and activations in
/// −32767..=32767 (what the quantizers produce). wasm with `simd128` uses `i32x4.dot_i16x8_s`;
/// elsewhere a plain loop. Public so the browser test can check the SIMD path.
#[inline]
pub fn dot_i8_i16(w: &[i8], x: &[i16]) -> i64 {
    let n = w.len().min(x.len());
    if n <= MAX_I32_RUN {
        return dot_run(&w[..n], &x[..n]) as i64;
    }
    w[..n]
        .chunks(MAX_I32_RUN)
        .zip(x[..n].chunks(MAX_I32_RUN))
        .map(|(w, x)| dot_run(w, x) as i64)
        .sum()
}

/// [`dot_i8_i16`] of four rows against the same `x`: shares the loads of `x` (a third faster in
/// wasm). Same values as four calls of [`dot_i8_i16`].
#[inline]
pub fn dot4_i8_i16(w: [&[i8]; 4], x: &[i16]) -> [i64; 4] {
    let n = x.len();
    if n <= MAX_I32_RUN && w.iter().all(|w| w.len() == n) {
        dot_run4(w, x).map(i64::from)
    } else {
        w.map(|w| dot_i8_i16(w, x))
    }
}

/// One run of at most [`MAX_I32_RUN`] products (equal lengths).
///
/// Widening 32 weights to i16 before multiplying lets LLVM use `pmaddwd` on baseline x86-64
/// (SSE2, how the workspace builds): the matrix products take 2.3× less time than with a plain
/// `zip().map().sum()` (measured; with `-C target-cpu=native` the plain loop is faster).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline]
fn dot_run(w: &[i8], x: &[i16]) -> i32 {
    let (wc, xc) = (w.chunks_exact(32), x.chunks_exact(32));
    let tail: i32 = (wc.remainder().iter().zip(xc.remainder()))
        .map(|(&a, &b)| a as i32 * b as i32)
        .sum();
    let mut acc = [0i32; 8];
    for (cw, cx) in wc.zip(xc) {
        let wide: [i16; 32] = std::array::from_fn(|l| cw[l] as i16);
        for (l, (&a, &b)) in wide.iter().zip(cx).enumerate() {
            acc[l % 8] += a as i32 * b as i32;
        }
    }
    acc.iter().sum::<i32>() + tail
}

/// Four runs of at most [`MAX_I32_RUN`] products, every row as long as `x`.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline]
fn dot_run4(w: [&[i8]; 4], x: &[i16]) -> [i32; 4] {
    w.map(|w| dot_run(w, x))
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::*;

/// `acc + w[k..k+16]·x[k..k+16]` in i32x4 lanes: the 16 weights load widened to two i16x8
/// (`v128.load8x8_s`, a load and a sign extension in one) and multiply pairwise with `x0`, `x1`
/// (a pair sums to at most 2 · 127 · 32767).
///
/// # Safety
/// `w` must hold 16 i8 from `k` (wasm loads need no alignment).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn mac16(acc: v128, w: &[i8], k: usize, x0: v128, x1: v128) -> v128 {
    let lo = i32x4_dot_i16x8(i16x8_load_extend_i8x8(w.as_ptr().add(k)), x0);
    let hi = i32x4_dot_i16x8(i16x8_load_extend_i8x8(w.as_ptr().add(k + 8)), x1);
    i32x4_add(acc, i32x4_add(lo, hi))
}

/// `x[k..k+16]` as two i16x8.
///
/// # Safety
/// `x` must hold 16 i16 from `k`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn load16(x: &[i16], k: usize) -> (v128, v128) {
    (
        v128_load(x.as_ptr().add(k) as *const v128),
        v128_load(x.as_ptr().add(k + 8) as *const v128),
    )
}

/// Scalar products of the last `n % 16` elements.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn tail(w: &[i8], x: &[i16], from: usize) -> i32 {
    w[from..]
        .iter()
        .zip(&x[from..])
        .map(|(&a, &b)| a as i32 * b as i32)
        .sum()
}

/// One run of at most [`MAX_I32_RUN`] products (equal lengths), 16 per iteration.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline]
fn dot_run(w: &[i8], x: &[i16]) -> i32 {
    let n = w.len().min(x.len());
    let body = n / 16 * 16;
    let mut acc = i32x4_splat(0);
    for k in (0..body).step_by(16) {
        // SAFETY: k + 16 <= body <= the length of both.
        unsafe {
            let (x0, x1) = load16(x, k);
            acc = mac16(acc, w, k, x0, x1);
        }
    }
    i32x4_extract_lane::<0>(acc)
        + i32x4_extract_lane::<1>(acc)
        + i32x4_extract_lane::<2>(acc)
        + i32x4_extract_lane::<3>(acc)
        + tail(&w[..n], &x[..n], body)
}

/// Four runs of at most [`MAX_I32_RUN`] products, every row as long as `x`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline]
fn dot_run4(w: [&[i8]; 4], x: &[i16]) -> [i32; 4] {
    let n = x.len();
    let body = n / 16 * 16;
    let mut acc = [i32x4_splat(0); 4];
    for k in (0..body).step_by(16) {
        // SAFETY: k + 16 <= body <= n, the length of x and of every row (checked by the caller).
        unsafe {
            let (x0, x1) = load16(x, k);
            for (a, w) in acc.iter_mut().zip(&w) {
                *a = mac16(*a, w, k, x0, x1);
            }
        }
    }
    let s = transpose_add(acc);
    [
        i32x4_extract_lane::<0>(s) + tail(w[0], x, body),
        i32x4_extract_lane::<1>(s) + tail(w[1], x, body),
        i32x4_extract_lane::<2>(s) + tail(w[2], x, body),
        i32x4_extract_lane::<3>(s) + tail(w[3], x, body),
    ]
}

/// Four i32x4 accumulators to one vector of their four lane sums.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn transpose_add(acc: [v128; 4]) -> v128 {
    let [a, b, c, d] = acc;
    let ab = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(a, b),
        i32x4_shuffle::<2, 6, 3, 7>(a, b),
    );
    let cd = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(c, d),
        i32x4_shuffle::<2, 6, 3, 7>(c, d),
    );
    i32x4_add(
        i32x4_shuffle::<0, 1, 4, 5>(ab, cd),
        i32x4_shuffle::<2, 3, 6, 7>(ab, cd),
    )
}

/// `q = round(x · 32767 / max|x|)`; returns the scale `max|x| / 32767` (0 for a zero vector).
#[cfg(test)]
fn quantize_vector(x: &[f32], q: &mut [i16]) -> f32 {
    let max = x.iter().fold(0.0f32, |m, &v| m.keep_max(v.abs()));
    quantize_with_max(x, max, q)
}

/// `q = round(x · 32767 / max)` for `max = max|x|`; returns the scale `max / 32767` (0 for a
/// zero vector).
#[inline]
fn quantize_with_max(x: &[f32], max: f32, q: &mut [i16]) -> f32 {
    if max < X_TINY || !max.is_finite() {
        q.fill(0);
        return 0.0;
    }
    let inv = X_MAX / max;
    let n = x.len().min(q.len());
    let body = simd_quantize(&x[..n], inv, &mut q[..n]);
    for (q, &v) in q[body..n].iter_mut().zip(&x[body..n]) {
        *q = quantize_one(v, inv);
    }
    max / X_MAX
}

/// Arithmetic on one f32 or (in wasm) four lanes, so that the gate and quantizer code is written
/// once and the wasm lanes do exactly the IEEE operations of the scalar code (no FMA, same order).
trait Lanes: Copy {
    fn splat(v: f32) -> Self;
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    /// `f32::clamp` (NaN stays NaN).
    fn clamp_to(self, lo: f32, hi: f32) -> Self;
    fn magnitude(self) -> Self;
    /// `if self < o { o } else { self }`: the larger, keeping `self` when `o` is NaN.
    fn keep_max(self, o: Self) -> Self;
}

impl Lanes for f32 {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        v
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self * o
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        self / o
    }
    #[inline(always)]
    fn clamp_to(self, lo: f32, hi: f32) -> Self {
        self.clamp(lo, hi)
    }
    #[inline(always)]
    fn magnitude(self) -> Self {
        self.abs()
    }
    #[inline(always)]
    fn keep_max(self, o: Self) -> Self {
        if self < o {
            o
        } else {
            self
        }
    }
}

/// Four f32 lanes of wasm `simd128`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[derive(Clone, Copy)]
struct F4(v128);

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl F4 {
    /// # Safety
    /// `x` must hold 4 f32 from `k`.
    #[inline(always)]
    unsafe fn load(x: &[f32], k: usize) -> Self {
        F4(v128_load(x.as_ptr().add(k) as *const v128))
    }
    /// # Safety
    /// `x` must hold 4 f32 from `k`.
    #[inline(always)]
    unsafe fn store(self, x: &mut [f32], k: usize) {
        v128_store(x.as_mut_ptr().add(k) as *mut v128, self.0)
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl Lanes for F4 {
    #[inline(always)]
    fn splat(v: f32) -> Self {
        F4(f32x4_splat(v))
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        F4(f32x4_add(self.0, o.0))
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        F4(f32x4_mul(self.0, o.0))
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        F4(f32x4_div(self.0, o.0))
    }
    #[inline(always)]
    fn clamp_to(self, lo: f32, hi: f32) -> Self {
        // pmax(a, b) = a < b ? b : a and pmin(a, b) = b < a ? b : a: NaN stays, as `f32::clamp`.
        F4(f32x4_pmin(
            f32x4_pmax(self.0, f32x4_splat(lo)),
            f32x4_splat(hi),
        ))
    }
    #[inline(always)]
    fn magnitude(self) -> Self {
        F4(f32x4_abs(self.0))
    }
    #[inline(always)]
    fn keep_max(self, o: Self) -> Self {
        F4(f32x4_pmax(self.0, o.0))
    }
}

// The 13/6 rational tanh of `tidepool_reservoir::fast_tanh` (its coefficients, clamp and order of
// operations; max error 4.2e-7), without its branch that returns x below 4e-4 (the ratio is within
// 2.5e-7 relative of tanh there too), so that it runs in four lanes. Written again over `Lanes`
// rather than called: the reservoir's goldens pin that function, these the LSTM's.
use tidepool_reservoir::dot;
use tidepool_reservoir::fast_tanh_coefficients::{
    A1, A11, A13, A3, A5, A7, A9, B0, B2, B4, B6, CLAMP as TANH_CLAMP,
};

/// tanh within 5e-7.
#[inline(always)]
fn tanh_r<T: Lanes>(x: T) -> T {
    let c = x.clamp_to(-TANH_CLAMP, TANH_CLAMP);
    let x2 = c.mul(c);
    let mut p = x2.mul(T::splat(A13)).add(T::splat(A11));
    p = x2.mul(p).add(T::splat(A9));
    p = x2.mul(p).add(T::splat(A7));
    p = x2.mul(p).add(T::splat(A5));
    p = x2.mul(p).add(T::splat(A3));
    p = x2.mul(p).add(T::splat(A1));
    p = p.mul(c);
    let mut q = x2.mul(T::splat(B6)).add(T::splat(B4));
    q = x2.mul(q).add(T::splat(B2));
    q = x2.mul(q).add(T::splat(B0));
    p.div(q)
}

/// The logistic function as `0.5 · tanh(x / 2) + 0.5`, within 2.5e-7.
#[inline(always)]
fn sigmoid_r<T: Lanes>(x: T) -> T {
    let half = T::splat(0.5);
    half.mul(tanh_r(half.mul(x))).add(half)
}

/// One LSTM unit: `c' = σ(f)·c + σ(i)·tanh(g)`, `h = σ(o)·tanh(c')`.
#[inline(always)]
fn lstm_unit<T: Lanes>(i: T, f: T, g: T, o: T, c: T) -> (T, T) {
    let c = sigmoid_r(f).mul(c).add(sigmoid_r(i).mul(tanh_r(g)));
    (c, sigmoid_r(o).mul(tanh_r(c)))
}

/// `1.5 · 2^23`: adding and subtracting it rounds an f32 below 2^22 in magnitude to the nearest
/// integer, ties to even (exact IEEE arithmetic, the same on every target).
const ROUNDER: f32 = 12_582_912.0;

/// `round(v · inv)` clamped to ±32767 (`|v · inv|` is at most 32767 and a rounding error here),
/// still in f32.
#[inline(always)]
fn quantize_lanes<T: Lanes>(v: T, inv: T) -> T {
    let r = v.mul(inv).add(T::splat(ROUNDER)).add(T::splat(-ROUNDER));
    r.clamp_to(-X_MAX, X_MAX)
}

/// One activation quantized (NaN becomes 0).
#[inline(always)]
fn quantize_one(v: f32, inv: f32) -> i16 {
    quantize_lanes(v, inv) as i16
}

/// The cell update of one layer from its gates (`i f g o`, H each): updates `c`, writes `h`,
/// returns max|h|.
fn cell_update(gates: &[f32], c: &mut [f32], h: &mut [f32]) -> f32 {
    let n = h.len().min(c.len()).min(gates.len() / 4);
    let (i, rest) = gates.split_at(n);
    let (f, rest) = rest.split_at(n);
    let (g, o) = rest.split_at(n);
    let (mut max, body) = simd_cell_update(i, f, g, &o[..n], &mut c[..n], &mut h[..n]);
    for k in body..n {
        let (ck, hk) = lstm_unit(i[k], f[k], g[k], o[k], c[k]);
        c[k] = ck;
        h[k] = hk;
        max = max.keep_max(hk.magnitude());
    }
    max
}

/// The first `n / 4 · 4` units of [`cell_update`] in four lanes; returns max|h| over them and
/// how many were done.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn simd_cell_update(
    i: &[f32],
    f: &[f32],
    g: &[f32],
    o: &[f32],
    c: &mut [f32],
    h: &mut [f32],
) -> (f32, usize) {
    let n = h.len();
    let body = n / 4 * 4;
    let mut max = F4::splat(0.0);
    for k in (0..body).step_by(4) {
        // SAFETY: k + 4 <= body <= n, and every slice holds n (the caller cut them so).
        unsafe {
            let (ck, hk) = lstm_unit(
                F4::load(i, k),
                F4::load(f, k),
                F4::load(g, k),
                F4::load(o, k),
                F4::load(c, k),
            );
            ck.store(c, k);
            hk.store(h, k);
            max = max.keep_max(hk.magnitude());
        }
    }
    let m = max.0;
    let lanes = [
        f32x4_extract_lane::<0>(m),
        f32x4_extract_lane::<1>(m),
        f32x4_extract_lane::<2>(m),
        f32x4_extract_lane::<3>(m),
    ];
    (lanes.iter().fold(0.0f32, |a, &b| a.keep_max(b)), body)
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn simd_cell_update(
    _: &[f32],
    _: &[f32],
    _: &[f32],
    _: &[f32],
    _: &mut [f32],
    _: &mut [f32],
) -> (f32, usize) {
    (0.0, 0)
}

/// The first `n / 8 · 8` activations of [`quantize_with_max`] in four lanes, as [`quantize_one`];
/// returns how many were done.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn simd_quantize(x: &[f32], inv: f32, q: &mut [i16]) -> usize {
    let body = x.len() / 8 * 8;
    let inv = F4::splat(inv);
    // Both in range after the clamp: the conversions are exact (NaN becomes 0, as `as i16`).
    let one = |v: F4| i32x4_trunc_sat_f32x4(quantize_lanes(v, inv).0);
    for k in (0..body).step_by(8) {
        // SAFETY: k + 8 <= body <= the length of x and of q (equal, cut by the caller).
        unsafe {
            let lo = one(F4::load(x, k));
            let hi = one(F4::load(x, k + 4));
            v128_store(
                q.as_mut_ptr().add(k) as *mut v128,
                i16x8_narrow_i32x4(lo, hi),
            );
        }
    }
    body
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn simd_quantize(_: &[f32], _: f32, _: &mut [i16]) -> usize {
    0
}

/// `out[r] = b[r] + w_r · h` for the rows `w_r` of the row-major `w` (as long as `h`), each dot
/// as `tidepool_reservoir::dot` (eight lanes `acc[k % 8]`, summed as
/// `((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7))`, plus the rest in order), the dot
/// [`Lstm`]'s output layer uses: given the same `h`, the same logits.
fn linear(w: &[f32], b: &[f32], h: &[f32], out: &mut [f32]) {
    let n = h.len();
    let rows = out.len().min(b.len()).min(w.len() / n.max(1));
    let done = linear_simd(&w[..rows * n], &b[..rows], h, &mut out[..rows]);
    for r in done..rows {
        out[r] = b[r] + dot(&w[r * n..(r + 1) * n], h);
    }
}

/// [`linear`] for the first rows in blocks of four when `h` is a whole number of 8-lane blocks
/// long: the lanes of `tidepool_reservoir::dot` as two f32x4 accumulators per row (lanes 0–3 and 4–7), summed
/// in its order. Returns how many rows were done.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn linear_simd(w: &[f32], b: &[f32], h: &[f32], out: &mut [f32]) -> usize {
    let n = h.len();
    if !n.is_multiple_of(8) {
        return 0;
    }
    let rows = out.len() / 4 * 4;
    assert!(w.len() >= rows * n && b.len() >= rows);
    let (wp, hp) = (w.as_ptr(), h.as_ptr());
    for r in (0..rows).step_by(4) {
        // SAFETY: rows r..r + 4 of n elements are inside `w` (asserted), `h` holds n (a multiple
        // of 8), `b` and `out` hold `rows` >= r + 4.
        unsafe {
            let w0 = wp.add(r * n);
            let rows4 = [w0, w0.add(n), w0.add(2 * n), w0.add(3 * n)];
            let mut lo = [f32x4_splat(0.0); 4];
            let mut hi = [f32x4_splat(0.0); 4];
            for k in (0..n).step_by(8) {
                let h0 = v128_load(hp.add(k) as *const v128);
                let h1 = v128_load(hp.add(k + 4) as *const v128);
                for j in 0..4 {
                    let w = rows4[j];
                    lo[j] = f32x4_add(lo[j], f32x4_mul(v128_load(w.add(k) as *const v128), h0));
                    hi[j] = f32x4_add(hi[j], f32x4_mul(v128_load(w.add(k + 4) as *const v128), h1));
                }
            }
            // s = (a0 + a4, a1 + a5, a2 + a6, a3 + a7) per row, then (s0 + s1) + (s2 + s3).
            let s: [v128; 4] = std::array::from_fn(|j| f32x4_add(lo[j], hi[j]));
            let ab = f32x4_add(
                i32x4_shuffle::<0, 4, 2, 6>(s[0], s[1]),
                i32x4_shuffle::<1, 5, 3, 7>(s[0], s[1]),
            );
            let cd = f32x4_add(
                i32x4_shuffle::<0, 4, 2, 6>(s[2], s[3]),
                i32x4_shuffle::<1, 5, 3, 7>(s[2], s[3]),
            );
            let dots = f32x4_add(
                i32x4_shuffle::<0, 1, 4, 5>(ab, cd),
                i32x4_shuffle::<2, 3, 6, 7>(ab, cd),
            );
            // `+ tail` with an empty tail (0.0) as in `dot`: it turns −0.0 into +0.0.
            let dots = f32x4_add(dots, f32x4_splat(0.0));
            let bias = v128_load(b.as_ptr().add(r) as *const v128);
            v128_store(out.as_mut_ptr().add(r) as *mut v128, f32x4_add(bias, dots));
        }
    }
    rows
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn linear_simd(_: &[f32], _: &[f32], _: &[f32], _: &mut [f32]) -> usize {
    0
}

/// An i8 matrix with one f32 scale per row.
#[derive(Clone, Debug)]
struct QuantMatrix {
    cols: usize,
    weights: Weights,
    scale: Vec<f32>,
}

/// Whether matrices are stored as [`Weights::Pairs`] when their shape allows: in wasm `simd128`,
/// where it makes the step 7 % faster. Natively the row-major kernel is faster (LLVM multiplies
/// i8 rows with `pmaddwd`; the portable pair kernel is scalar), and both give the same exact
/// integers, so the same logits.
const PAIRS: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

/// The most columns a [`Weights::Pairs`] matrix may have (see there).
const PAIR_MAX_COLS: usize = 256;
const _: () = assert!(255 * 32767 * PAIR_MAX_COLS as i64 <= i32::MAX as i64);

/// How a [`QuantMatrix`] stores its i8 weights.
#[derive(Clone, Debug)]
enum Weights {
    /// Row-major.
    Rows(Vec<i8>),
    /// Blocks of four rows `r0 r1 r2 r3`, each `2 · cols` i16: for every eight columns `k..k + 8`,
    /// eight lanes `256 · w[r0] + (w[r1] + 128)` then eight `256 · w[r2] + (w[r3] + 128)`.
    /// Used in wasm (see [`PAIRS`]) when the rows are a multiple of 4 and the columns a multiple
    /// of 8, at most [`PAIR_MAX_COLS`] (the shipped model's matrices).
    ///
    /// Why: an i16 lane `a` holds two weights, so `i32x4.dot_i16x8_s` reads eight columns of two
    /// rows with no sign extension (a quarter fewer SIMD instructions than widening i8 rows; the
    /// step is 7 % faster in wasm). Exact: `a` is in −32511..=32767, so a lane's pair of products
    /// with activations in ±32767 fits an i32; `a >> 8` (arithmetic) is the high row's weight, so
    /// `S0 = Σ (a >> 8)·x` and `R = Σ a·x = 256·S0 + S1 + 128·Σx`, and the low row's
    /// `S1 = R − 256·S0 − 128·Σx` in wrapping i32 is exact because the true
    /// `R − 256·S0 = Σ (w[r1] + 128)·x` is below 255 · 32767 · 256 < 2^31 in magnitude.
    Pairs(Vec<i16>),
}

/// The rows of the row-major `w` (`cols` wide) quantized: `q = round(w · 127 / max|w|)` in i8
/// (never −128) and one scale `max|w| / 127` per row (0 for a zero row).
fn quantize_rows(w: &[f32], cols: usize) -> QuantRows {
    let rows = w.len() / cols.max(1);
    let mut q = vec![0i8; rows * cols];
    let mut scale = vec![0.0f32; rows];
    for (r, (row, q)) in w
        .chunks_exact(cols.max(1))
        .zip(q.chunks_mut(cols.max(1)))
        .enumerate()
    {
        let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        if max > 0.0 {
            for (q, &v) in q.iter_mut().zip(row) {
                *q = (v as f64 * W_MAX / max as f64).round().clamp(-W_MAX, W_MAX) as i8;
            }
            scale[r] = max / W_MAX as f32;
        }
    }
    QuantRows { q, scale }
}

impl QuantMatrix {
    #[cfg(test)]
    fn new(w: &[f32], cols: usize) -> Self {
        let QuantRows { q, scale } = quantize_rows(w, cols);
        Self::from_quantized(q, cols, scale)
    }

    /// Row-major `q` (weights in ±127) with one scale per row, stored as [`Weights::Pairs`] in
    /// wasm when the shape allows.
    fn from_quantized(q: Vec<i8>, cols: usize, scale: Vec<f32>) -> Self {
        Self::with_layout(q, cols, scale, PAIRS)
    }

    /// [`QuantMatrix::from_quantized`], in pairs if `pairs` and the shape allows.
    fn with_layout(q: Vec<i8>, cols: usize, scale: Vec<f32>, pairs: bool) -> Self {
        let rows = scale.len();
        assert_eq!(q.len(), rows * cols);
        let pairs = pairs
            && rows.is_multiple_of(4)
            && cols.is_multiple_of(8)
            && cols > 0
            && cols <= PAIR_MAX_COLS;
        if !pairs {
            let weights = Weights::Rows(q);
            return Self {
                cols,
                weights,
                scale,
            };
        }
        let mut p = vec![0i16; rows * cols / 2];
        for (block, out) in q.chunks_exact(4 * cols).zip(p.chunks_exact_mut(2 * cols)) {
            let w = |r: usize, k: usize| block[r * cols + k] as i16;
            for (c, out) in out.chunks_exact_mut(16).enumerate() {
                for j in 0..8 {
                    let k = 8 * c + j;
                    out[j] = 256 * w(0, k) + (w(1, k) + 128);
                    out[8 + j] = 256 * w(2, k) + (w(3, k) + 128);
                }
            }
        }
        let weights = Weights::Pairs(p);
        Self {
            cols,
            weights,
            scale,
        }
    }

    /// The weight in row `r`, column `k`.
    #[cfg(test)]
    fn weight(&self, r: usize, k: usize) -> i8 {
        match &self.weights {
            Weights::Rows(w) => w[r * self.cols + k],
            Weights::Pairs(p) => {
                let a = p[(r / 4) * 2 * self.cols + (k / 8) * 16 + (r % 4 / 2) * 8 + k % 8];
                (if r.is_multiple_of(2) {
                    a >> 8
                } else {
                    (a & 0xff) - 128
                }) as i8
            }
        }
    }

    /// `out[r] += (W x)[r]` in real units, for `x` quantized with scale `x_scale`: the exact sum
    /// as f32, `o + (sum · scale) · x_scale`.
    fn add_product(&self, x: &[i16], x_scale: f32, out: &mut [f32]) {
        let rows = self.scale.len().min(out.len());
        let (scale, out) = (&self.scale[..rows], &mut out[..rows]);
        match &self.weights {
            Weights::Rows(w) => {
                let row = |r: usize| &w[r * self.cols..(r + 1) * self.cols];
                let (blocks, rest) = out.split_at_mut(rows / 4 * 4);
                for (b, out) in blocks.chunks_exact_mut(4).enumerate() {
                    let r = 4 * b;
                    let acc = dot4_i8_i16(std::array::from_fn(|j| row(r + j)), x);
                    for (j, (o, acc)) in out.iter_mut().zip(acc).enumerate() {
                        *o += acc as f32 * scale[r + j] * x_scale;
                    }
                }
                for (r, o) in (rows / 4 * 4..).zip(rest) {
                    *o += dot_i8_i16(row(r), x) as f32 * scale[r] * x_scale;
                }
            }
            Weights::Pairs(p) => {
                let mut padded = [0i16; PAIR_MAX_COLS];
                let x = self.row_long(x, &mut padded);
                let (cols, x128) = (self.cols, x128(x));
                let full = rows / 4 * 4;
                let (p_full, scale_full) = (&p[..full * cols / 2], &scale[..full]);
                pair_product(p_full, x, x128, x_scale, scale_full, &mut out[..full]);
                if full < rows {
                    // Only when `out` is shorter than the matrix: its last block through a copy.
                    let left = rows - full;
                    let mut last = [0.0f32; 4];
                    last[..left].copy_from_slice(&out[full..]);
                    let (p_last, scale_last) = (
                        &p[full * cols / 2..(full + 4) * cols / 2],
                        &self.scale[full..full + 4],
                    );
                    pair_product(p_last, x, x128, x_scale, scale_last, &mut last);
                    out[full..].copy_from_slice(&last[..left]);
                }
            }
        }
    }

    /// `x` as long as a row: itself, else its first `cols` (at most [`PAIR_MAX_COLS`]) padded
    /// with zeros in `buf` (the common length, as [`dot_i8_i16`]).
    fn row_long<'a>(&self, x: &'a [i16], buf: &'a mut [i16; PAIR_MAX_COLS]) -> &'a [i16] {
        if x.len() == self.cols {
            return x;
        }
        let n = x.len().min(self.cols);
        buf[..n].copy_from_slice(&x[..n]);
        &buf[..self.cols]
    }

    /// The exact `W x` from the kernels of [`QuantMatrix::add_product`] (see [`exact_product`]).
    fn sums(&self, x: &[i16]) -> Vec<i64> {
        let rows = self.scale.len();
        match &self.weights {
            Weights::Rows(w) => (0..rows)
                .map(|r| dot_i8_i16(&w[r * self.cols..(r + 1) * self.cols], x))
                .collect(),
            Weights::Pairs(p) => {
                let mut padded = [0i16; PAIR_MAX_COLS];
                let x = self.row_long(x, &mut padded);
                let x128 = x128(x);
                let block_sums = |b: usize| -> [i32; 4] {
                    let block = &p[b * 2 * self.cols..(b + 1) * 2 * self.cols];
                    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
                    // SAFETY: `block` holds 2 · cols i16 and `x` cols, a multiple of 8.
                    let s = unsafe {
                        let s = pair_block_sums(block.as_ptr(), x, i32x4_splat(x128));
                        [
                            i32x4_extract_lane::<0>(s),
                            i32x4_extract_lane::<1>(s),
                            i32x4_extract_lane::<2>(s),
                            i32x4_extract_lane::<3>(s),
                        ]
                    };
                    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
                    let s = pair_block_sums(block, x, x128);
                    s
                };
                (0..rows / 4).flat_map(block_sums).map(i64::from).collect()
            }
        }
    }

    fn bytes(&self) -> usize {
        let w = match &self.weights {
            Weights::Rows(w) => w.len(),
            Weights::Pairs(p) => 2 * p.len(),
        };
        w + 4 * self.scale.len()
    }
}

/// `128 · Σx` for activations at most [`PAIR_MAX_COLS`] long (below 2^31 in magnitude).
fn x128(x: &[i16]) -> i32 {
    x.iter().fold(0i32, |s, &v| s + v as i32) * 128
}

/// For the tests (natively and in the browser): `W x` exactly, for the row-major `q.len() / cols
/// × cols` weights `q` (in ±127) stored as [`QuantLstm`] stores a matrix of that shape and
/// multiplied by the kernels its step uses, and activations `x` in ±32767 (the common length of
/// `x` and a row counts).
#[doc(hidden)]
pub fn exact_product(q: &[i8], cols: usize, x: &[i16]) -> Vec<i64> {
    let rows = q.len() / cols.max(1);
    let m = QuantMatrix::from_quantized(q[..rows * cols].to_vec(), cols, vec![1.0; rows]);
    m.sums(x)
}

/// [`Weights::Pairs`] `p` (whole blocks) times `x` (`cols` long, `x128 = 128 · Σx`): `out[r] +=
/// (sum · scale[r]) · x_scale` with the exact sums of [`pair_block_sums`].
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn pair_product(p: &[i16], x: &[i16], x128: i32, x_scale: f32, scale: &[f32], out: &mut [f32]) {
    let cols = x.len();
    for (b, block) in p.chunks_exact(2 * cols).enumerate() {
        for (j, sum) in pair_block_sums(block, x, x128).into_iter().enumerate() {
            let r = 4 * b + j;
            out[r] += sum as f32 * scale[r] * x_scale;
        }
    }
}

/// The exact sums of one [`Weights::Pairs`] block (`2 · cols` i16) times `x` (`cols` long,
/// `x128 = 128 · Σx`). Portable scalar code, which only the tests run natively (native builds
/// store [`Weights::Rows`]).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline]
fn pair_block_sums(block: &[i16], x: &[i16], x128: i32) -> [i32; 4] {
    // Lanes of S0, R01, S2, R23 (see `Weights::Pairs`), wrapping.
    let mut acc = [[0i32; 8]; 4];
    for (x, ab) in x.chunks_exact(8).zip(block.chunks_exact(16)) {
        let (a, b) = ab.split_at(8);
        for j in 0..8 {
            let x = x[j] as i32;
            acc[0][j] = acc[0][j].wrapping_add((a[j] >> 8) as i32 * x);
            acc[1][j] = acc[1][j].wrapping_add(a[j] as i32 * x);
            acc[2][j] = acc[2][j].wrapping_add((b[j] >> 8) as i32 * x);
            acc[3][j] = acc[3][j].wrapping_add(b[j] as i32 * x);
        }
    }
    let [s0, r01, s2, r23] = acc.map(|a| a.iter().fold(0i32, |s, &v| s.wrapping_add(v)));
    let low = |s: i32, r: i32| r.wrapping_sub(s.wrapping_mul(256)).wrapping_sub(x128);
    [s0, low(s0, r01), s2, low(s2, r23)]
}

/// [`pair_product`] in wasm `simd128`; the four sums of a block are scaled and added in f32
/// lanes.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn pair_product(p: &[i16], x: &[i16], x128: i32, x_scale: f32, scale: &[f32], out: &mut [f32]) {
    let cols = x.len();
    let rows = 2 * p.len() / cols.max(1);
    assert!(cols.is_multiple_of(8) && rows.is_multiple_of(4));
    assert!(scale.len() >= rows && out.len() >= rows);
    let (x128, xs) = (i32x4_splat(x128), f32x4_splat(x_scale));
    for r in (0..rows).step_by(4) {
        // SAFETY: the block of rows r..r + 4 is the `2 · cols` i16 from `r · cols / 2` in `p`
        // (`rows · cols / 2` long), `x` holds `cols` (a multiple of 8), `scale` and `out` hold
        // at least r + 4.
        unsafe {
            let sums = f32x4_convert_i32x4(pair_block_sums(p.as_ptr().add(r * cols / 2), x, x128));
            let scale = v128_load(scale.as_ptr().add(r) as *const v128);
            let o = out.as_mut_ptr().add(r) as *mut v128;
            let term = f32x4_mul(f32x4_mul(sums, scale), xs);
            v128_store(o, f32x4_add(v128_load(o), term));
        }
    }
}

/// The exact sums of one [`Weights::Pairs`] block times `x` as i32x4: per eight columns, two
/// loads, two shifts and four `i32x4.dot_i16x8_s` (`x128` = 128 · Σx in every lane).
///
/// # Safety
/// `block` must point to `2 · x.len()` i16, and `x.len()` be a multiple of 8.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn pair_block_sums(block: *const i16, x: &[i16], x128: v128) -> v128 {
    let mut acc = [i32x4_splat(0); 4];
    for k in (0..x.len()).step_by(8) {
        let xv = v128_load(x.as_ptr().add(k) as *const v128);
        let a = v128_load(block.add(2 * k) as *const v128);
        let b = v128_load(block.add(2 * k + 8) as *const v128);
        acc[0] = i32x4_add(acc[0], i32x4_dot_i16x8(i16x8_shr(a, 8), xv));
        acc[1] = i32x4_add(acc[1], i32x4_dot_i16x8(a, xv));
        acc[2] = i32x4_add(acc[2], i32x4_dot_i16x8(i16x8_shr(b, 8), xv));
        acc[3] = i32x4_add(acc[3], i32x4_dot_i16x8(b, xv));
    }
    // (S0, R01, S2, R23) → (S0, R01 − 256·S0 − 128·Σx, S2, R23 − 256·S2 − 128·Σx).
    let s = transpose_add(acc);
    let high = i32x4_shl(i32x4_shuffle::<0, 0, 2, 2>(s, s), 8);
    i32x4_sub(s, v128_and(i32x4_add(high, x128), i32x4(0, -1, 0, -1)))
}

/// One quantized layer and its state.
#[derive(Clone, Debug)]
struct QuantLayer {
    /// None for the first layer, whose input term (and bias) comes from the token table.
    w_ih: Option<QuantMatrix>,
    w_hh: QuantMatrix,
    /// b_ih + b_hh (4H); empty for the first layer (folded into the table).
    bias: Vec<f32>,
    gates: Vec<f32>,
    c: Vec<f32>,
    h: Vec<f32>,
    /// `h` quantized: the input of the layer above now, this layer's recurrent input next step.
    h_q: Vec<i16>,
    h_scale: f32,
}

impl QuantLayer {
    fn reset(&mut self) {
        self.c.fill(0.0);
        self.h.fill(0.0);
        self.h_q.fill(0);
        self.h_scale = 0.0;
    }

    /// One step: the gates start from `pre` (a table row, else the bias), plus `position` (a
    /// position column) if any, plus `W_ih · x` for a quantized `x` with its scale, plus
    /// `W_hh · h`.
    fn step(&mut self, pre: Option<&[f32]>, position: Option<&[f32]>, x: Option<(&[i16], f32)>) {
        self.gates.copy_from_slice(pre.unwrap_or(&self.bias));
        if let Some(column) = position {
            self.gates.iter_mut().zip(column).for_each(|(g, c)| *g += c);
        }
        if let (Some(w), Some((xq, xs))) = (&self.w_ih, x) {
            w.add_product(xq, xs, &mut self.gates);
        }
        self.w_hh
            .add_product(&self.h_q, self.h_scale, &mut self.gates);
        let max = cell_update(&self.gates, &mut self.c, &mut self.h);
        self.h_scale = quantize_with_max(&self.h, max, &mut self.h_q);
    }
}

/// The melody LSTM with i8 recurrent weights, stepped in exact integer arithmetic (see the module
/// docs). Built from a loaded [`Lstm`]; its logits are the f32 model's within quantization error,
/// with the same bits on every target.
///
/// ```
/// # use tidepool_melody::{lstm::{Layer, Lstm}, quant::QuantLstm, VOCAB};
/// let (e, h) = (4, 8);
/// let layer = |input| Layer::new(input, h, vec![0.1; 4 * h * input], vec![-0.1; 4 * h * h], &[0.0; 32], &[0.0; 32]);
/// let model = Lstm::new(e, vec![0.5; VOCAB * e], vec![layer(e), layer(h)], vec![0.2; VOCAB * h], vec![0.0; VOCAB]);
/// let mut quant = QuantLstm::new(&model);
/// assert_eq!(quant.step(60, 0).len(), VOCAB);
/// ```
#[derive(Clone, Debug)]
pub struct QuantLstm {
    /// VOCAB × 4H: the first layer's `W_ih · emb[t] + b_ih + b_hh`.
    table: Vec<f32>,
    /// [`POSITIONS`] × 4H, or empty: the first layer's `W_ih` columns of the position one-hot.
    positions: Vec<f32>,
    layers: Vec<QuantLayer>,
    /// VOCAB × H, f32 as in [`Lstm`] (see the module docs).
    linear_w: Vec<f32>,
    linear_b: Vec<f32>,
    logits: Vec<f32>,
}

/// A quantized matrix as numbers: row-major i8 weights in −127..=127 and one f32 scale per row.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantRows {
    pub q: Vec<i8>,
    pub scale: Vec<f32>,
}

/// One layer of [`QuantWeights`].
#[derive(Clone, Debug, PartialEq)]
pub struct QuantLayerWeights {
    /// `W_ih` (4H × input) of a layer above the first; None for the first, whose input term is
    /// in the token table.
    pub w_ih: Option<QuantRows>,
    /// `W_hh` (4H × H).
    pub w_hh: QuantRows,
    /// `b_ih + b_hh` (4H); empty for the first layer (it is in the token table).
    pub bias: Vec<f32>,
}

/// The quantized model as numbers, before the runtime layout: what [`QuantLstm::new`] computes
/// from an [`Lstm`], and what a `.tpq` file holds ([`crate::quant_file`]), so that the page reads
/// the model the engine plays without the safetensors parser or the quantizer.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantWeights {
    /// VOCAB × 4H: the first layer's `W_ih · emb[t] + b_ih + b_hh`, summed in f64.
    pub table: Vec<f32>,
    /// [`POSITIONS`] × 4H for a model with the position input (row p: the first layer's `W_ih`
    /// column of position p), else empty.
    pub positions: Vec<f32>,
    pub layers: Vec<QuantLayerWeights>,
    /// VOCAB × H, f32 as in [`Lstm`].
    pub linear_w: Vec<f32>,
    /// VOCAB.
    pub linear_b: Vec<f32>,
}

impl QuantWeights {
    /// Quantizes `model`'s weights (see the module docs).
    pub fn of(model: &Lstm) -> QuantWeights {
        let e = model.embedding_dim;
        let g4 = model.layers.first().map_or(0, |l| 4 * l.hidden);
        let mut table = vec![0.0f32; VOCAB * g4];
        let mut positions = vec![0.0f32; model.position_width * g4];
        if let Some(first) = model.layers.first() {
            // The first layer's rows are the embedding's E columns, then the positions'.
            let n_in = first.input;
            for (p, row) in positions.chunks_exact_mut(g4).enumerate() {
                for (r, out) in row.iter_mut().enumerate() {
                    *out = first.w_ih[r * n_in + e + p];
                }
            }
            for (t, row) in table.chunks_exact_mut(g4).enumerate() {
                let emb = &model.embedding[t * e..(t + 1) * e];
                for (r, out) in row.iter_mut().enumerate() {
                    let w = &first.w_ih[r * n_in..r * n_in + e];
                    let sum: f64 = w.iter().zip(emb).map(|(a, b)| *a as f64 * *b as f64).sum();
                    *out = (first.bias[r] as f64 + sum) as f32;
                }
            }
        }
        let layers = model
            .layers
            .iter()
            .enumerate()
            .map(|(k, l)| QuantLayerWeights {
                w_ih: (k > 0).then(|| quantize_rows(&l.w_ih, l.input)),
                w_hh: quantize_rows(&l.w_hh, l.hidden),
                bias: if k > 0 { l.bias.clone() } else { Vec::new() },
            })
            .collect();
        QuantWeights {
            table,
            positions,
            layers,
            linear_w: model.linear_w.clone(),
            linear_b: model.linear_b.clone(),
        }
    }
}

impl QuantLstm {
    /// Quantizes `model`'s weights (allocates; off the real-time path). Starts at rest.
    pub fn new(model: &Lstm) -> QuantLstm {
        QuantLstm::from_weights(QuantWeights::of(model))
    }

    /// The model of quantized weights `w` (allocates), at rest. Its matrices must be 4H rows of
    /// H columns (the first layer's `W_ih` absent), each layer's H the same as its vectors',
    /// the table VOCAB × 4H of the first layer and the output layer VOCAB × H of the last, as
    /// [`QuantWeights::of`] and [`crate::quant_file::read`] make them.
    pub fn from_weights(w: QuantWeights) -> QuantLstm {
        let layers = w
            .layers
            .into_iter()
            .map(|l| {
                let hidden = l.w_hh.scale.len() / 4;
                let matrix = |m: QuantRows| {
                    let cols = m.q.len() / m.scale.len().max(1);
                    QuantMatrix::from_quantized(m.q, cols, m.scale)
                };
                QuantLayer {
                    w_ih: l.w_ih.map(matrix),
                    w_hh: matrix(l.w_hh),
                    bias: l.bias,
                    gates: vec![0.0; 4 * hidden],
                    c: vec![0.0; hidden],
                    h: vec![0.0; hidden],
                    h_q: vec![0; hidden],
                    h_scale: 0.0,
                }
            })
            .collect();
        QuantLstm {
            table: w.table,
            positions: w.positions,
            layers,
            linear_w: w.linear_w,
            linear_b: w.linear_b,
            logits: vec![0.0; VOCAB],
        }
    }

    /// Forgets the melody so far (h = c = 0).
    pub fn reset(&mut self) {
        self.layers.iter_mut().for_each(QuantLayer::reset);
    }

    /// Feeds `token` (clamped to the vocabulary, like [`Lstm::step`]) at `position` (the 16th
    /// within the bar, read `% 16` by a model with the position input, ignored by others);
    /// returns the logits of the next token (VOCAB). Never allocates.
    pub fn step(&mut self, token: Token, position: u8) -> &[f32] {
        let t = (token as usize).min(VOCAB - 1);
        let Some((first, rest)) = self.layers.split_first_mut() else {
            return &self.logits;
        };
        let g4 = first.gates.len();
        let p = position as usize % POSITIONS;
        let column = self.positions.get(p * g4..(p + 1) * g4);
        first.step(Some(&self.table[t * g4..(t + 1) * g4]), column, None);
        let mut below = &*first;
        for layer in rest.iter_mut() {
            layer.step(None, None, Some((&below.h_q, below.h_scale)));
            below = &*layer;
        }
        linear(&self.linear_w, &self.linear_b, &below.h, &mut self.logits);
        &self.logits
    }

    /// The logits of a line's first token, from rest (h = 0: the output layer's bias).
    pub fn rest_logits(&self) -> &[f32] {
        &self.linear_b
    }

    /// Bytes of weights a step reads: the i8 matrices with their row scales, the biases, one
    /// table row and the f32 output layer.
    pub fn weight_bytes(&self) -> usize {
        let layers: usize = self
            .layers
            .iter()
            .enumerate()
            .map(|(k, l)| {
                l.w_ih.as_ref().map_or(0, QuantMatrix::bytes)
                    + l.w_hh.bytes()
                    + if k > 0 { 4 * l.bias.len() } else { 0 }
            })
            .sum();
        // A table row, and a position column when the model takes the position.
        let table_row = self.layers.first().map_or(0, |l| 4 * l.gates.len());
        let column = if self.positions.is_empty() {
            0
        } else {
            table_row
        };
        layers + table_row + column + 4 * (self.linear_w.len() + self.linear_b.len())
    }

    /// LSTM layers.
    pub fn layer_count(&self) -> usize {
        self.layers.len()
    }

    /// Hidden units per layer.
    pub fn hidden(&self) -> usize {
        self.layers.first().map_or(0, |l| l.h.len())
    }

    /// Position inputs: 0 or [`POSITIONS`].
    pub fn position_width(&self) -> usize {
        self.positions.len() / (4 * self.hidden()).max(1)
    }
}

impl Stepper for QuantLstm {
    fn reset(&mut self) {
        QuantLstm::reset(self)
    }
    fn step(&mut self, token: Token, position: u8) -> &[f32] {
        QuantLstm::step(self, token, position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidepool_reservoir::SeededRng;

    fn reference(w: &[i8], x: &[i16]) -> i64 {
        w.iter().zip(x).map(|(&a, &b)| a as i64 * b as i64).sum()
    }

    #[test]
    fn integer_dots_are_exact_on_random_and_extreme_inputs() {
        let mut rng = SeededRng::new(17, 0);
        for k in [0, 1, 15, 16, 17, 64, 255, 256, 511, 512, 513, 1024, 1500] {
            let mut random_w = || -> Vec<i8> {
                (0..k)
                    .map(|_| (rng.symmetric_f64() * 127.0).round() as i8)
                    .collect()
            };
            let rows = [random_w(), random_w(), random_w(), random_w()];
            let x: Vec<i16> = (0..k)
                .map(|_| (rng.symmetric_f64() * 32767.0).round() as i16)
                .collect();
            let want = rows.each_ref().map(|w| reference(w, &x));
            assert_eq!(dot_i8_i16(&rows[0], &x), want[0], "random, K = {k}");
            assert_eq!(
                dot4_i8_i16(rows.each_ref().map(Vec::as_slice), &x),
                want,
                "random, K = {k}"
            );
            // All extremes: the largest magnitude a sum can have, each sign.
            let (hi_w, lo_w, hi_x, lo_x) = (
                vec![127i8; k],
                vec![-127i8; k],
                vec![32767i16; k],
                vec![-32767i16; k],
            );
            let most = 127 * 32767 * k as i64;
            for (w, x, want) in [
                (&hi_w, &hi_x, most),
                (&lo_w, &hi_x, -most),
                (&hi_w, &lo_x, -most),
                (&lo_w, &lo_x, most),
            ] {
                assert_eq!(dot_i8_i16(w, x), want, "extreme, K = {k}");
            }
            let four = dot4_i8_i16([&hi_w, &lo_w, &lo_w, &hi_w], &lo_x);
            assert_eq!(four, [-most, most, most, -most], "extreme, K = {k}");
        }
        // K = 512 all-extreme is the documented i32 bound.
        assert_eq!(dot_i8_i16(&[127; 512], &[32767; 512]), 2_130_641_408);
        // Mismatched lengths use the common prefix; four rows of other lengths fall back to it.
        assert_eq!(dot_i8_i16(&[2, 3, 4], &[5, 7]), 31);
        assert_eq!(
            dot4_i8_i16([&[2, 3, 4], &[1], &[], &[1, 1]], &[5, 7]),
            [31, 5, 0, 12]
        );
    }

    #[test]
    fn gate_nonlinearities_are_close_and_match_the_reservoir_tanh() {
        let (mut worst_tanh, mut worst_sigmoid) = (0.0f64, 0.0f64);
        let mut x = -20.0f32;
        while x <= 20.0 {
            let exact = libm::tanh(x as f64);
            worst_tanh = worst_tanh.max((tanh_r(x) as f64 - exact).abs());
            let logistic = 1.0 / (1.0 + libm::exp(-(x as f64)));
            worst_sigmoid = worst_sigmoid.max((sigmoid_r(x) as f64 - logistic).abs());
            // The same operations as `fast_tanh` but for its small-argument branch.
            if x.abs() >= 4e-4 {
                assert_eq!(tanh_r(x), tidepool_reservoir::fast_tanh(x), "x = {x}");
            }
            x += 1.0 / 4096.0;
        }
        assert!(worst_tanh < 5e-7, "tanh: {worst_tanh:e}");
        assert!(worst_sigmoid < 2.5e-7, "sigmoid: {worst_sigmoid:e}");
        // Small arguments (where `fast_tanh` returns x): relative error within about 2 ulp.
        for x in [1e-3f32, 4e-4, 3e-4, 1e-6, 1e-20, 1e-30, 0.0] {
            for x in [x, -x] {
                let err = (tanh_r(x) as f64 - libm::tanh(x as f64)).abs();
                assert!(err <= 2.5e-7 * x.abs() as f64, "tanh({x:e}) off by {err:e}");
            }
        }
        assert_eq!(sigmoid_r(0.0), 0.5);
        assert!(tanh_r(f32::NAN).is_nan() && sigmoid_r(f32::NAN).is_nan());
        assert_eq!((tanh_r(1e30), tanh_r(-1e30)), (1.0, -1.0));
        assert_eq!((sigmoid_r(1e30), sigmoid_r(-1e30)), (1.0, 0.0));
    }

    #[test]
    fn activation_rounding_is_to_nearest_even() {
        for (v, want) in [
            (0.5f32, 0i16),
            (1.5, 2),
            (2.5, 2),
            (-2.5, -2),
            (-0.49, 0),
            (3.7, 4),
        ] {
            assert_eq!(quantize_one(v, 1.0), want, "{v}");
        }
        assert_eq!(quantize_one(1.0, 32767.0), 32767);
        assert_eq!(quantize_one(-1.0000001, 32767.0), -32767);
        assert_eq!(quantize_one(f32::NAN, 32767.0), 0);
    }

    #[test]
    fn vector_quantizer_is_symmetric_and_zero_safe() {
        let mut q = [7i16; 4];
        assert_eq!(quantize_vector(&[0.0; 4], &mut q), 0.0);
        assert_eq!(q, [0; 4]);
        assert_eq!(quantize_vector(&[1e-35, -1e-36, 0.0, 0.0], &mut q), 0.0);
        assert_eq!(q, [0; 4]);
        let s = quantize_vector(&[0.5, -1.0, 0.25, 1.0], &mut q);
        assert_eq!(q, [16384, -32767, 8192, 32767]);
        assert_eq!(s, 1.0 / 32767.0);
    }

    #[test]
    fn weight_rows_use_the_full_range_and_zero_rows_stay_zero() {
        let m = QuantMatrix::new(&[0.0, 0.0, 0.0, 0.5, -0.25, 0.1], 3);
        let w: Vec<i8> = (0..6).map(|i| m.weight(i / 3, i % 3)).collect();
        assert_eq!(w, [0, 0, 0, 127, -64, 25]);
        assert_eq!(m.scale, [0.0, 0.5 / 127.0]);
    }

    fn random_weights(rng: &mut SeededRng, n: usize) -> Vec<i8> {
        (0..n)
            .map(|_| (rng.symmetric_f64() * 127.0).round() as i8)
            .collect()
    }

    fn random_activations(rng: &mut SeededRng, n: usize) -> Vec<i16> {
        (0..n)
            .map(|_| (rng.symmetric_f64() * 32767.0).round() as i16)
            .collect()
    }

    /// `W x` row by row in i64.
    fn reference_product(q: &[i8], cols: usize, x: &[i16]) -> Vec<i64> {
        q.chunks_exact(cols).map(|row| reference(row, x)).collect()
    }

    /// `W x` stored in pairs where the shape allows, on every target (`exact_product` stores
    /// them so only in wasm).
    fn products(q: &[i8], cols: usize, x: &[i16]) -> Vec<i64> {
        let rows = q.len() / cols;
        QuantMatrix::with_layout(q.to_vec(), cols, vec![1.0; rows], true).sums(x)
    }

    #[test]
    fn both_layouts_keep_every_weight() {
        let mut rng = SeededRng::new(5, 0);
        let shapes = [
            (8, 24, true),
            (4, 256, true),
            (7, 24, false),
            (4, 20, false),
        ];
        for (rows, cols, pairs) in shapes {
            let q = random_weights(&mut rng, rows * cols);
            let m = QuantMatrix::with_layout(q.clone(), cols, vec![1.0; rows], true);
            let stored_in_pairs = matches!(m.weights, Weights::Pairs(_));
            assert_eq!(stored_in_pairs, pairs, "{rows} × {cols}");
            let back: Vec<i8> = (0..rows * cols)
                .map(|i| m.weight(i / cols, i % cols))
                .collect();
            assert_eq!(back, q, "{rows} × {cols}");
        }
        // Too wide for pairs (the low rows' sums could overflow an i32).
        let wide = QuantMatrix::with_layout(vec![1; 4 * 264], 264, vec![1.0; 4], true);
        assert!(matches!(wide.weights, Weights::Rows(_)));
        // Natively in pairs only when asked (the tests); in wasm whenever the shape allows.
        let m = QuantMatrix::from_quantized(vec![1; 4 * 8], 8, vec![1.0; 4]);
        assert_eq!(matches!(m.weights, Weights::Pairs(_)), PAIRS);
    }

    #[test]
    fn matrix_products_are_exact_on_random_and_extreme_inputs() {
        let mut rng = SeededRng::new(11, 0);
        // Shapes that may be stored in pairs (up to the widest), then row-major ones.
        for (rows, cols) in [(4, 8), (8, 24), (12, 256), (1024, 256), (7, 21), (4, 264)] {
            let q = random_weights(&mut rng, rows * cols);
            let x = random_activations(&mut rng, cols);
            let want = reference_product(&q, cols, &x);
            assert_eq!(exact_product(&q, cols, &x), want, "{rows} × {cols}");
            assert_eq!(products(&q, cols, &x), want, "{rows} × {cols}");
            // Shorter and longer activations: the common length counts.
            for n in [cols - 3, cols + 5] {
                let x = random_activations(&mut rng, n);
                let want: Vec<i64> = q.chunks_exact(cols).map(|r| reference(r, &x)).collect();
                assert_eq!(exact_product(&q, cols, &x), want, "{rows} × {cols}, {n}");
                assert_eq!(products(&q, cols, &x), want, "{rows} × {cols}, {n}");
            }
            // Extremes: each row all +127 or all −127 (both signs in the high and low slots of
            // a pair), against all +32767 and all −32767.
            let signs = [127i8, 127, -127, -127, 127, -127, -127, 127];
            let q: Vec<i8> = (0..rows * cols).map(|i| signs[i / cols % 8]).collect();
            for v in [32767i16, -32767] {
                let x = vec![v; cols];
                let want = reference_product(&q, cols, &x);
                assert_eq!(exact_product(&q, cols, &x), want, "{rows} × {cols}, {v}");
                assert_eq!(products(&q, cols, &x), want, "{rows} × {cols}, {v}");
            }
        }
    }

    #[test]
    fn products_of_odd_shapes_match_the_row_by_row_sum() {
        // 7 rows (a block of four and three left over), 21 columns (a SIMD body and a tail); then
        // 8 × 24, in both layouts.
        let mut rng = SeededRng::new(3, 0);
        for (rows, cols) in [(7, 21), (8, 24)] {
            let w: Vec<f32> = (0..rows * cols)
                .map(|_| rng.symmetric_f64() as f32)
                .collect();
            let m = QuantMatrix::new(&w, cols);
            let q: Vec<i8> = (0..rows * cols)
                .map(|i| m.weight(i / cols, i % cols))
                .collect();
            let x: Vec<i16> = (0..cols).map(|i| (i * 1000) as i16 - 9000).collect();
            for pairs in [false, true] {
                let m = QuantMatrix::with_layout(q.clone(), cols, m.scale.clone(), pairs);
                // Every row, and (as no step does) fewer than the matrix has.
                for n in [rows, rows - 1, rows - 5] {
                    let mut out = vec![1.0f32; n];
                    m.add_product(&x, 0.5, &mut out);
                    for (r, (o, row)) in out.iter().zip(q.chunks_exact(cols)).enumerate() {
                        let want = 1.0 + reference(row, &x) as f32 * m.scale[r] * 0.5;
                        assert_eq!(
                            *o, want,
                            "{rows} × {cols}, pairs {pairs}, {n} rows, row {r}"
                        );
                    }
                }
            }
        }
    }
}
