//! A quantized runtime copy of the melody [`Lstm`]: i8 recurrent weights, i16 activations and
//! exact integer dot products, so a step fits the browser's budget with the same bits everywhere.
//!
//! Why: the f32 step reads 3.5 MB of weights per token and is memory bound (about 0.12 ms in wasm
//! on the development machine, over the 0.12 ms budget). Here the three 1024 × 256 recurrent
//! matrices are 1 byte per weight (0.79 MB, which stays in a 2 MB L2) and are multiplied four rows
//! at a time, and the step takes about 0.05 ms in wasm.
//!
//! The numeric scheme:
//! - Weights, once in [`QuantLstm::new`]: each row `w` of `W_hh` and of `W_ih` (layers above the
//!   first) becomes `q = round(w · 127 / max|w|)` in i8 (symmetric, never −128) with one f32 scale
//!   `max|w| / 127` per row; `W_ih` and `W_hh` have separate row scales.
//! - The first layer's input term is a table computed in f64 per token,
//!   `table[t] = W_ih0 · emb[t] + b_ih0 + b_hh0` (VOCAB × 4H f32, 0.53 MB); a step reads one row.
//!   Measured in wasm: 2–3 % faster than quantizing `W_ih0` and the embedding row, and exact.
//! - Activations, once per step: each layer's new `h` becomes i16 with one scale per vector,
//!   `q = round(h · 32767 / max|h|)` (max|h| below 1e-30 gives all zeros and scale 0).
//! - A gate is `(bias + (Σ q_w·q_x) as f32 · s_row · s_x) + (Σ q_w·q_h) as f32 · s_row · s_h`,
//!   each Σ an exact integer ([`dot_i8_i16`]); then the f32 [`Lstm`]'s cell update (`sigmoid`,
//!   `fast_tanh`).
//! - The output layer (130 × 256) stays f32, as in [`Lstm`]: in i8 it made 85 % of the error
//!   (max |Δp| 0.016 instead of 0.003 on a test line) and saved only 4 µs of 66.
//!
//! Determinism: the only code that differs between targets is how [`dot_i8_i16`] and
//! [`dot4_i8_i16`] add integer products (wasm `simd128` lanes, or a loop LLVM vectorises), and
//! integer addition without overflow does not depend on the order. All f32 arithmetic is scalar
//! code shared by both targets, so wasm and native logits are bit-identical (checked in headless
//! Chromium by crates/wasm/tests/quant_lstm.rs against goldens written natively).

use crate::lstm::{Lstm, Stepper};
use crate::tokens::{Token, VOCAB};
use tidepool_reservoir::{dot, fast_tanh, sigmoid};

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

/// `acc + w[k..k+16]·x[k..k+16]` in i32x4 lanes: the 16 weights widen to two i16x8 and
/// multiply pairwise with `x0`, `x1` (a pair sums to at most 2 · 127 · 32767).
///
/// # Safety
/// `w` must hold 16 i8 from `k` (wasm loads need no alignment).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn mac16(acc: v128, w: &[i8], k: usize, x0: v128, x1: v128) -> v128 {
    let wv = v128_load(w.as_ptr().add(k) as *const v128);
    let lo = i32x4_dot_i16x8(i16x8_extend_low_i8x16(wv), x0);
    let hi = i32x4_dot_i16x8(i16x8_extend_high_i8x16(wv), x1);
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
    // Transpose-add the four accumulators into one vector of the four row sums.
    let [a, b, c, d] = acc;
    let ab = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(a, b),
        i32x4_shuffle::<2, 6, 3, 7>(a, b),
    );
    let cd = i32x4_add(
        i32x4_shuffle::<0, 4, 1, 5>(c, d),
        i32x4_shuffle::<2, 6, 3, 7>(c, d),
    );
    let s = i32x4_add(
        i32x4_shuffle::<0, 1, 4, 5>(ab, cd),
        i32x4_shuffle::<2, 3, 6, 7>(ab, cd),
    );
    [
        i32x4_extract_lane::<0>(s) + tail(w[0], x, body),
        i32x4_extract_lane::<1>(s) + tail(w[1], x, body),
        i32x4_extract_lane::<2>(s) + tail(w[2], x, body),
        i32x4_extract_lane::<3>(s) + tail(w[3], x, body),
    ]
}

/// `q = round(x · 32767 / max|x|)`; returns the scale `max|x| / 32767` (0 for a zero vector).
fn quantize_vector(x: &[f32], q: &mut [i16]) -> f32 {
    let max = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if max < X_TINY || !max.is_finite() {
        q.fill(0);
        return 0.0;
    }
    let inv = X_MAX / max;
    for (q, &v) in q.iter_mut().zip(x) {
        // `as` maps NaN to 0; the clamp keeps −32768 out (it would break the dot's bound).
        *q = (v * inv).round_ties_even().clamp(-X_MAX, X_MAX) as i16;
    }
    max / X_MAX
}

/// A row-major i8 matrix with one f32 scale per row.
#[derive(Clone, Debug)]
struct QuantMatrix {
    cols: usize,
    w: Vec<i8>,
    scale: Vec<f32>,
}

impl QuantMatrix {
    fn new(w: &[f32], cols: usize) -> Self {
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
        Self { cols, w: q, scale }
    }

    fn row(&self, r: usize) -> &[i8] {
        &self.w[r * self.cols..(r + 1) * self.cols]
    }

    /// `out[r] += (W x)[r]` in real units, for `x` quantized with scale `x_scale`.
    fn add_product(&self, x: &[i16], x_scale: f32, out: &mut [f32]) {
        let rows = self.scale.len().min(out.len());
        let (blocks, rest) = out[..rows].split_at_mut(rows / 4 * 4);
        for (b, out) in blocks.chunks_exact_mut(4).enumerate() {
            let r = 4 * b;
            let acc = dot4_i8_i16(std::array::from_fn(|j| self.row(r + j)), x);
            for (j, (o, acc)) in out.iter_mut().zip(acc).enumerate() {
                *o += acc as f32 * self.scale[r + j] * x_scale;
            }
        }
        for (r, o) in (rows / 4 * 4..).zip(rest) {
            *o += dot_i8_i16(self.row(r), x) as f32 * self.scale[r] * x_scale;
        }
    }

    fn bytes(&self) -> usize {
        self.w.len() + 4 * self.scale.len()
    }
}

/// One quantized layer and its state.
#[derive(Clone, Debug)]
struct QuantLayer {
    /// None for the first layer, whose input term (and bias) comes from the token table.
    w_ih: Option<QuantMatrix>,
    w_hh: QuantMatrix,
    /// b_ih + b_hh (4H); folded into the table for the first layer.
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

    /// One step: the gates start from `pre` (a table row, else the bias), plus `W_ih · x` for a
    /// quantized `x` with its scale, plus `W_hh · h`.
    fn step(&mut self, pre: Option<&[f32]>, x: Option<(&[i16], f32)>) {
        self.gates.copy_from_slice(pre.unwrap_or(&self.bias));
        if let (Some(w), Some((xq, xs))) = (&self.w_ih, x) {
            w.add_product(xq, xs, &mut self.gates);
        }
        self.w_hh
            .add_product(&self.h_q, self.h_scale, &mut self.gates);
        let n = self.h.len();
        let (i, rest) = self.gates.split_at(n);
        let (f, rest) = rest.split_at(n);
        let (g, o) = rest.split_at(n);
        for k in 0..n {
            self.c[k] = sigmoid(f[k]) * self.c[k] + sigmoid(i[k]) * fast_tanh(g[k]);
            self.h[k] = sigmoid(o[k]) * fast_tanh(self.c[k]);
        }
        self.h_scale = quantize_vector(&self.h, &mut self.h_q);
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
/// assert_eq!(quant.step(60).len(), VOCAB);
/// ```
#[derive(Clone, Debug)]
pub struct QuantLstm {
    /// VOCAB × 4H: the first layer's `W_ih · emb[t] + b_ih + b_hh`.
    table: Vec<f32>,
    layers: Vec<QuantLayer>,
    /// VOCAB × H, f32 as in [`Lstm`] (see the module docs).
    linear_w: Vec<f32>,
    linear_b: Vec<f32>,
    logits: Vec<f32>,
}

impl QuantLstm {
    /// Quantizes `model`'s weights (allocates; off the real-time path). Starts at rest.
    pub fn new(model: &Lstm) -> QuantLstm {
        let e = model.embedding_dim;
        let g4 = model.layers.first().map_or(0, |l| 4 * l.hidden);
        let mut table = vec![0.0f32; VOCAB * g4];
        if let Some(first) = model.layers.first() {
            for (t, row) in table.chunks_exact_mut(g4).enumerate() {
                let emb = &model.embedding[t * e..(t + 1) * e];
                for (r, out) in row.iter_mut().enumerate() {
                    let w = &first.w_ih[r * e..(r + 1) * e];
                    let sum: f64 = w.iter().zip(emb).map(|(a, b)| *a as f64 * *b as f64).sum();
                    *out = (first.bias[r] as f64 + sum) as f32;
                }
            }
        }
        let layers = model
            .layers
            .iter()
            .enumerate()
            .map(|(k, l)| QuantLayer {
                w_ih: (k > 0).then(|| QuantMatrix::new(&l.w_ih, l.input)),
                w_hh: QuantMatrix::new(&l.w_hh, l.hidden),
                bias: l.bias.clone(),
                gates: vec![0.0; 4 * l.hidden],
                c: vec![0.0; l.hidden],
                h: vec![0.0; l.hidden],
                h_q: vec![0; l.hidden],
                h_scale: 0.0,
            })
            .collect();
        QuantLstm {
            table,
            layers,
            linear_w: model.linear_w.clone(),
            linear_b: model.linear_b.clone(),
            logits: vec![0.0; VOCAB],
        }
    }

    /// Forgets the melody so far (h = c = 0).
    pub fn reset(&mut self) {
        self.layers.iter_mut().for_each(QuantLayer::reset);
    }

    /// Feeds `token` (clamped to the vocabulary, like [`Lstm::step`]); returns the logits of the
    /// next token (VOCAB). Never allocates.
    pub fn step(&mut self, token: Token) -> &[f32] {
        let t = (token as usize).min(VOCAB - 1);
        let Some((first, rest)) = self.layers.split_first_mut() else {
            return &self.logits;
        };
        let g4 = first.gates.len();
        first.step(Some(&self.table[t * g4..(t + 1) * g4]), None);
        let mut below = &*first;
        for layer in rest.iter_mut() {
            layer.step(None, Some((&below.h_q, below.h_scale)));
            below = &*layer;
        }
        let h = &below.h;
        let n = h.len();
        for (r, l) in self.logits.iter_mut().enumerate() {
            *l = self.linear_b[r] + dot(&self.linear_w[r * n..(r + 1) * n], h);
        }
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
        let table_row = self.layers.first().map_or(0, |l| 4 * l.gates.len());
        layers + table_row + 4 * (self.linear_w.len() + self.linear_b.len())
    }
}

impl Stepper for QuantLstm {
    fn reset(&mut self) {
        QuantLstm::reset(self)
    }
    fn step(&mut self, token: Token) -> &[f32] {
        QuantLstm::step(self, token)
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
        assert_eq!(m.w, [0, 0, 0, 127, -64, 25]);
        assert_eq!(m.scale, [0.0, 0.5 / 127.0]);
    }

    #[test]
    fn products_of_odd_shapes_match_the_row_by_row_sum() {
        // 7 rows (a block of four and three left over), 21 columns (a SIMD body and a tail).
        let mut rng = SeededRng::new(3, 0);
        let w: Vec<f32> = (0..7 * 21).map(|_| rng.symmetric_f64() as f32).collect();
        let m = QuantMatrix::new(&w, 21);
        let x: Vec<i16> = (0..21).map(|i| (i * 1000 - 9000) as i16).collect();
        let mut out = [1.0f32; 7];
        m.add_product(&x, 0.5, &mut out);
        for (r, o) in out.iter().enumerate() {
            let want = 1.0 + reference(m.row(r), &x) as f32 * m.scale[r] * 0.5;
            assert_eq!(*o, want, "row {r}");
        }
    }
}
