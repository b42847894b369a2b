//! The autoencoder as the trainer sees it: every parameter in one flat vector (so Adam is one
//! loop), and the forward and backward passes of a batch over preallocated buffers.
//!
//! Activations are stored feature-major: row `f` of a buffer holds feature `f` of every sample
//! of the batch (`cap` floats, the first `n` used). The forward pass and the input gradient are
//! then loops of `y[..n] += w · x[..n]` over contiguous rows, which vectorise, and every sum has
//! a fixed order, so the same seed gives the same bits natively and in wasm.

use super::fastmath::{sigmoid, sigmoid_and_tail};
use super::rng::SplitMix;
use crate::arch::{Arch, MAX_WIDTH};
use crate::decoder::Decoder;
use crate::dense::{dot, Dense};
use crate::model::Autoencoder;
use crate::pattern::STEPS;

/// Where one layer's weights (`outputs × inputs`, row-major) and biases live in the flat vector.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub inputs: usize,
    pub outputs: usize,
    pub w: usize,
    pub b: usize,
}

impl Spec {
    fn weights<'a>(&self, params: &'a [f32]) -> &'a [f32] {
        &params[self.w..self.w + self.inputs * self.outputs]
    }
    fn biases<'a>(&self, params: &'a [f32]) -> &'a [f32] {
        &params[self.b..self.b + self.outputs]
    }
}

pub struct Net {
    pub arch: Arch,
    /// Encoder layers, then decoder layers, in forward order.
    pub layers: Vec<Spec>,
    pub head: Option<Spec>,
    pub params: Vec<f32>,
}

impl Net {
    /// All parameters zero.
    pub fn new(arch: Arch, head: bool) -> Net {
        let mut widths: Vec<usize> = arch.encoder_sizes().to_vec();
        widths.extend(&arch.decoder_sizes()[1..]);
        let mut len = 0;
        let mut spec = |inputs: usize, outputs: usize| {
            let s = Spec {
                inputs,
                outputs,
                w: len,
                b: len + inputs * outputs,
            };
            len = s.b + outputs;
            s
        };
        let layers: Vec<Spec> = widths.windows(2).map(|io| spec(io[0], io[1])).collect();
        let head = head.then(|| spec(arch.last_hidden(), STEPS));
        Net {
            arch,
            layers,
            head,
            params: vec![0.0; len],
        }
    }

    /// Glorot-uniform weights (Keras's default: ±√(6 / (in + out))), zero biases.
    pub fn init_glorot(&mut self, rng: &mut SplitMix) {
        for s in self.layers.iter().chain(&self.head) {
            let limit = libm::sqrtf(6.0 / (s.inputs + s.outputs) as f32);
            for w in &mut self.params[s.w..s.w + s.inputs * s.outputs] {
                *w = limit * (2.0 * rng.unit() - 1.0);
            }
            self.params[s.b..s.b + s.outputs].fill(0.0);
        }
    }

    /// Index of the latent (linear) layer.
    pub fn latent(&self) -> usize {
        self.arch.encoder_sizes().len() - 2
    }

    /// Whether layer `k`'s output goes through ReLU (and dropout): every layer but the latent
    /// one and the output.
    pub fn is_hidden(&self, k: usize) -> bool {
        k != self.latent() && k + 1 != self.layers.len()
    }

    /// The weight ranges of the flat vector (what L2 applies to).
    pub fn weight_ranges(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        self.layers
            .iter()
            .chain(&self.head)
            .map(|s| s.w..s.w + s.inputs * s.outputs)
    }

    fn dense(&self, s: &Spec) -> Dense {
        Dense {
            inputs: s.inputs,
            outputs: s.outputs,
            weight: s.weights(&self.params).to_vec(),
            bias: s.biases(&self.params).to_vec(),
        }
    }

    pub fn to_autoencoder(&self) -> Autoencoder {
        let split = self.latent() + 1;
        let encoder = self.layers[..split].iter().map(|s| self.dense(s)).collect();
        let decoder = self.layers[split..].iter().map(|s| self.dense(s)).collect();
        let head = self.head.as_ref().map(|s| self.dense(s));
        // The layout is the architecture's by construction; weights may be non-finite after a
        // diverged run, which the caller sees in the loss.
        let decoder = Decoder::from_trusted_layers(self.arch, decoder, head);
        Autoencoder::from_trusted_parts(encoder, decoder)
    }
}

/// A batch's buffers, allocated once for `cap` samples.
pub struct Work {
    pub cap: usize,
    /// The inputs, which are also the BCE targets (32 rows).
    pub x: Vec<f32>,
    /// Velocity targets (velocity / 127) and their mask (1 at hits).
    pub vt: Vec<f32>,
    pub vm: Vec<f32>,
    /// Each layer's output (after ReLU and dropout for hidden layers; logits for the last).
    pub acts: Vec<Vec<f32>>,
    /// Dropout multipliers per hidden layer (0 or 1 / (1 − rate)); empty without dropout.
    pub masks: Vec<Vec<f32>>,
    /// The velocity head's logits.
    pub head: Vec<f32>,
    pub grads: Vec<f32>,
    delta: Vec<f32>,
    delta_in: Vec<f32>,
    delta_head: Vec<f32>,
    /// One row of per-sample loss terms (f64: the loss is only reported and checked, and
    /// the gradient checks need it finer than f32).
    terms: Vec<f64>,
}

impl Work {
    pub fn new(net: &Net, cap: usize) -> Work {
        let dropout = net.arch.dropout() > 0.0;
        Work {
            cap,
            x: vec![0.0; STEPS * cap],
            vt: vec![0.0; STEPS * cap],
            vm: vec![0.0; STEPS * cap],
            acts: net
                .layers
                .iter()
                .map(|s| vec![0.0; s.outputs * cap])
                .collect(),
            masks: (0..net.layers.len())
                .map(|k| {
                    let len = if dropout && net.is_hidden(k) {
                        net.layers[k].outputs * cap
                    } else {
                        0
                    };
                    vec![0.0; len]
                })
                .collect(),
            head: vec![0.0; STEPS * cap],
            grads: vec![0.0; net.params.len()],
            delta: vec![0.0; MAX_WIDTH * cap],
            delta_in: vec![0.0; MAX_WIDTH * cap],
            delta_head: vec![0.0; STEPS * cap],
            terms: vec![0.0; cap],
        }
    }

    /// New dropout multipliers for the first `n` samples.
    pub fn draw_masks(&mut self, rate: f32, n: usize, rng: &mut SplitMix) {
        let keep = 1.0 / (1.0 - rate);
        let cap = self.cap;
        for mask in self.masks.iter_mut().filter(|m| !m.is_empty()) {
            for row in mask.chunks_exact_mut(cap) {
                for m in &mut row[..n] {
                    *m = if rng.unit() < rate { 0.0 } else { keep };
                }
            }
        }
    }
}

/// `y += Σₖ c(k) · row(k)[..y.len()]` for k in 0..count, four rows per pass over `y` (a
/// quarter of the loads and stores of one row at a time), in a fixed order.
fn add_weighted_rows<'a>(
    y: &mut [f32],
    count: usize,
    c: impl Fn(usize) -> f32,
    row: impl Fn(usize) -> &'a [f32],
) {
    let n = y.len();
    let mut k = 0;
    while k + 4 <= count {
        let (c0, c1, c2, c3) = (c(k), c(k + 1), c(k + 2), c(k + 3));
        let (r0, r1, r2, r3) = (
            &row(k)[..n],
            &row(k + 1)[..n],
            &row(k + 2)[..n],
            &row(k + 3)[..n],
        );
        for b in 0..n {
            y[b] += (c0 * r0[b] + c1 * r1[b]) + (c2 * r2[b] + c3 * r3[b]);
        }
        k += 4;
    }
    for k in k..count {
        let (ck, r) = (c(k), &row(k)[..n]);
        for b in 0..n {
            y[b] += ck * r[b];
        }
    }
}

/// `y[o][..n] = b[o] + Σᵢ w[o][i] · x[i][..n]`.
fn layer_forward(s: &Spec, params: &[f32], x: &[f32], y: &mut [f32], cap: usize, n: usize) {
    let (w, b) = (s.weights(params), s.biases(params));
    for (o, (row, &bias)) in w.chunks_exact(s.inputs).zip(b).enumerate() {
        let yr = &mut y[o * cap..o * cap + n];
        yr.fill(bias);
        add_weighted_rows(yr, s.inputs, |i| row[i], |i| &x[i * cap..]);
    }
}

/// Adds the layer's weight and bias gradients (from the output gradient `delta`) to `grads`
/// and, when `dx` is given, adds `Wᵀ delta` to it.
#[allow(clippy::too_many_arguments)]
fn layer_backward(
    s: &Spec,
    params: &[f32],
    x: &[f32],
    delta: &[f32],
    grads: &mut [f32],
    dx: Option<&mut [f32]>,
    cap: usize,
    n: usize,
) {
    for o in 0..s.outputs {
        let d = &delta[o * cap..o * cap + n];
        grads[s.b + o] += d.iter().sum::<f32>();
        let gw = &mut grads[s.w + o * s.inputs..s.w + (o + 1) * s.inputs];
        for (i, g) in gw.iter_mut().enumerate() {
            *g += dot(d, &x[i * cap..i * cap + n]);
        }
    }
    if let Some(dx) = dx {
        let w = s.weights(params);
        for i in 0..s.inputs {
            let row = &mut dx[i * cap..i * cap + n];
            add_weighted_rows(
                row,
                s.outputs,
                |o| w[o * s.inputs + i],
                |o| &delta[o * cap..],
            );
        }
    }
}

impl Net {
    /// Forward and backward over the first `n` samples of `work` (inputs, targets and dropout
    /// masks already in place); leaves the gradient of the returned loss in `work.grads`.
    ///
    /// Loss = mean binary cross-entropy over the batch's 32 × n outputs (from the logits, as
    /// Keras does for a sigmoid output) + the velocity head's squared error averaged over the
    /// batch's hits + `l2 · Σw²` over every weight matrix.
    /// The loss is summed in f64 (it is only reported and checked; the gradient is f32).
    pub fn loss_and_gradient(&self, work: &mut Work, n: usize, dropout: bool) -> f64 {
        let cap = work.cap;
        let last = self.layers.len() - 1;
        let p = &self.params;
        for k in 0..=last {
            let (before, rest) = work.acts.split_at_mut(k);
            let input: &[f32] = if k == 0 { &work.x } else { &before[k - 1] };
            let out = &mut rest[0];
            layer_forward(&self.layers[k], p, input, out, cap, n);
            if self.is_hidden(k) {
                let mask = &work.masks[k];
                for (row_i, row) in out.chunks_exact_mut(cap).enumerate() {
                    let row = &mut row[..n];
                    row.iter_mut().for_each(|v| *v = v.max(0.0));
                    if dropout && !mask.is_empty() {
                        let m = &mask[row_i * cap..row_i * cap + n];
                        row.iter_mut().zip(m).for_each(|(v, m)| *v *= m);
                    }
                }
            }
        }
        work.grads.fill(0.0);
        let scale = 1.0 / (STEPS * n) as f32;
        let mut bce = 0.0f64;
        for f in 0..STEPS {
            let z = &work.acts[last][f * cap..f * cap + n];
            let y = &work.x[f * cap..f * cap + n];
            let d = &mut work.delta[f * cap..f * cap + n];
            let terms = &mut work.terms[..n];
            for (((d, term), &z), &y) in d.iter_mut().zip(terms.iter_mut()).zip(z).zip(y) {
                let (prob, tail) = sigmoid_and_tail(z);
                *term = f64::from(z.max(0.0) - z * y) + f64::from(tail);
                *d = (prob - y) * scale;
            }
            // Summed apart, in order, so the loop above vectorises.
            bce += terms.iter().sum::<f64>();
        }
        let mut loss = bce / (STEPS * n) as f64;
        let hidden_in: &[f32] = &work.acts[last - 1];
        if let Some(head) = &self.head {
            layer_forward(head, p, hidden_in, &mut work.head, cap, n);
            let hits: f32 = (0..STEPS)
                .map(|f| work.vm[f * cap..f * cap + n].iter().sum::<f32>())
                .sum();
            let per = if hits > 0.0 { 1.0 / hits } else { 0.0 };
            let mut sq = 0.0f64;
            for f in 0..STEPS {
                let r = f * cap..f * cap + n;
                let (u, t, m) = (
                    &work.head[r.clone()],
                    &work.vt[r.clone()],
                    &work.vm[r.clone()],
                );
                let terms = &mut work.terms[..n];
                let d = &mut work.delta_head[r];
                for ((((d, term), &u), &t), &m) in
                    d.iter_mut().zip(terms.iter_mut()).zip(u).zip(t).zip(m)
                {
                    let v = sigmoid(u);
                    let e = (v - t) * m;
                    *term = f64::from(e * e);
                    *d = 2.0 * e * v * (1.0 - v) * per;
                }
                sq += terms.iter().sum::<f64>();
            }
            loss += sq * f64::from(per);
        }
        // Backward: `delta` holds the gradient of layer k's output (before its activation).
        for k in (0..=last).rev() {
            let s = &self.layers[k];
            let input: &[f32] = if k == 0 { &work.x } else { &work.acts[k - 1] };
            if k == 0 {
                layer_backward(s, p, input, &work.delta, &mut work.grads, None, cap, n);
                break;
            }
            let dx = &mut work.delta_in[..s.inputs * cap];
            for row in dx.chunks_exact_mut(cap) {
                row[..n].fill(0.0);
            }
            layer_backward(s, p, input, &work.delta, &mut work.grads, Some(dx), cap, n);
            if k == last {
                if let Some(head) = &self.head {
                    layer_backward(
                        head,
                        p,
                        input,
                        &work.delta_head,
                        &mut work.grads,
                        Some(dx),
                        cap,
                        n,
                    );
                }
            }
            if self.is_hidden(k - 1) {
                // Through ReLU and dropout: the output was ReLU(pre) · mask, so its derivative
                // is the mask where the output is positive and 0 elsewhere.
                let keep = if dropout {
                    1.0 / (1.0 - self.arch.dropout())
                } else {
                    1.0
                };
                for (drow, arow) in dx.chunks_exact_mut(cap).zip(input.chunks_exact(cap)) {
                    for (g, &a) in drow[..n].iter_mut().zip(&arow[..n]) {
                        *g = if a > 0.0 { *g * keep } else { 0.0 };
                    }
                }
            }
            std::mem::swap(&mut work.delta, &mut work.delta_in);
        }
        let l2 = self.arch.l2();
        if l2 > 0.0 {
            let mut sum = 0.0f64;
            for r in self.weight_ranges() {
                for (g, &w) in work.grads[r.clone()].iter_mut().zip(&p[r]) {
                    sum += f64::from(w * w);
                    *g += 2.0 * l2 * w;
                }
            }
            loss += f64::from(l2) * sum;
        }
        loss
    }
}
