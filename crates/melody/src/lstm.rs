//! The melody LSTM's forward step: token embedding (and, for a model that takes it, the one-hot
//! metrical position appended after it) → 1 to 3 LSTM layers → linear → logits, in PyTorch's
//! layout (gate order i, f, g, o; `weight_ih_l{k}` is 4H×in, `weight_hh_l{k}` 4H×H), so weights
//! trained in PyTorch and here are interchangeable.

use crate::tokens::{Token, VOCAB};
use tidepool_reservoir::{dot, fast_tanh, sigmoid};

/// Width of the metrical position input of a model that takes one (metadata `position_input` =
/// "16"): a one-hot of the 16th within the bar, `position % 16`, appended after the embedding.
pub const POSITIONS: usize = 16;

/// One LSTM layer's weights (row-major, PyTorch order) and state.
#[derive(Clone, Debug)]
pub struct Layer {
    pub input: usize,
    pub hidden: usize,
    /// 4H × input.
    pub w_ih: Vec<f32>,
    /// 4H × H.
    pub w_hh: Vec<f32>,
    /// b_ih + b_hh (4H): PyTorch keeps two biases, the step only needs their sum.
    pub bias: Vec<f32>,
    h: Vec<f32>,
    c: Vec<f32>,
    gates: Vec<f32>,
}

impl Layer {
    pub fn new(
        input: usize,
        hidden: usize,
        w_ih: Vec<f32>,
        w_hh: Vec<f32>,
        b_ih: &[f32],
        b_hh: &[f32],
    ) -> Self {
        assert_eq!(w_ih.len(), 4 * hidden * input);
        assert_eq!(w_hh.len(), 4 * hidden * hidden);
        let bias = b_ih.iter().zip(b_hh).map(|(a, b)| a + b).collect();
        Self {
            input,
            hidden,
            w_ih,
            w_hh,
            bias,
            h: vec![0.0; hidden],
            c: vec![0.0; hidden],
            gates: vec![0.0; 4 * hidden],
        }
    }

    fn reset(&mut self) {
        self.h.fill(0.0);
        self.c.fill(0.0);
    }

    /// One step on input `x`; the new h is in `self.h`.
    fn step(&mut self, x: &[f32]) {
        let (n_in, n_h) = (self.input, self.hidden);
        for (r, g) in self.gates.iter_mut().enumerate() {
            *g = self.bias[r]
                + dot(&self.w_ih[r * n_in..(r + 1) * n_in], x)
                + dot(&self.w_hh[r * n_h..(r + 1) * n_h], &self.h);
        }
        let (i, rest) = self.gates.split_at(n_h);
        let (f, rest) = rest.split_at(n_h);
        let (g, o) = rest.split_at(n_h);
        for k in 0..n_h {
            self.c[k] = sigmoid(f[k]) * self.c[k] + sigmoid(i[k]) * fast_tanh(g[k]);
            self.h[k] = sigmoid(o[k]) * fast_tanh(self.c[k]);
        }
    }
}

/// The whole model with its recurrent state.
#[derive(Clone, Debug)]
pub struct Lstm {
    pub embedding_dim: usize,
    /// 0, or [`POSITIONS`]: the first layer's input is the embedding, then the position one-hot.
    pub position_width: usize,
    /// VOCAB × E.
    pub embedding: Vec<f32>,
    pub layers: Vec<Layer>,
    /// VOCAB × H.
    pub linear_w: Vec<f32>,
    pub linear_b: Vec<f32>,
    /// The first layer's input (embedding row, then the position one-hot), kept so a step never
    /// allocates.
    input: Vec<f32>,
    logits: Vec<f32>,
}

impl Lstm {
    /// A model without position input.
    pub fn new(
        embedding_dim: usize,
        embedding: Vec<f32>,
        layers: Vec<Layer>,
        linear_w: Vec<f32>,
        linear_b: Vec<f32>,
    ) -> Self {
        Self::with_position(embedding_dim, 0, embedding, layers, linear_w, linear_b)
    }

    /// A model whose first layer takes `position_width` (0 or [`POSITIONS`]) position inputs
    /// after the embedding (its `w_ih` is 4H × (E + position_width)).
    pub fn with_position(
        embedding_dim: usize,
        position_width: usize,
        embedding: Vec<f32>,
        layers: Vec<Layer>,
        linear_w: Vec<f32>,
        linear_b: Vec<f32>,
    ) -> Self {
        assert_eq!(embedding.len(), VOCAB * embedding_dim);
        assert_eq!(linear_b.len(), VOCAB);
        assert!(position_width == 0 || position_width == POSITIONS);
        assert_eq!(
            layers.first().map(|l| l.input),
            Some(embedding_dim + position_width)
        );
        Self {
            embedding_dim,
            position_width,
            embedding,
            layers,
            linear_w,
            linear_b,
            input: vec![0.0; embedding_dim + position_width],
            logits: vec![0.0; VOCAB],
        }
    }

    /// Forgets the melody so far.
    pub fn reset(&mut self) {
        self.layers.iter_mut().for_each(Layer::reset);
    }

    /// Feeds `token` at `position` (the 16th within the bar, 0 = downbeat; read `% 16`, and only
    /// by a model with position input); returns the logits of the next token. Never allocates.
    pub fn step(&mut self, token: Token, position: u8) -> &[f32] {
        let e = self.embedding_dim;
        let t = (token as usize).min(VOCAB - 1);
        self.input[..e].copy_from_slice(&self.embedding[t * e..(t + 1) * e]);
        if self.position_width > 0 {
            let onehot = &mut self.input[e..];
            onehot.fill(0.0);
            onehot[position as usize % POSITIONS] = 1.0;
        }
        let (first, rest) = self.layers.split_first_mut().expect("at least one layer");
        first.step(&self.input);
        let mut below = &first.h;
        for layer in rest.iter_mut() {
            layer.step(below);
            below = &layer.h;
        }
        let h = below.len();
        for (r, l) in self.logits.iter_mut().enumerate() {
            *l = self.linear_b[r] + dot(&self.linear_w[r * h..(r + 1) * h], below);
        }
        &self.logits
    }
}

/// A next-token model fed one token at a time: the f32 [`Lstm`] and its quantized copy
/// ([`crate::quant::QuantLstm`]), so evaluation code serves both.
pub trait Stepper {
    /// Back to the rest state.
    fn reset(&mut self);
    /// Feeds `token` at `position` (the 16th within the bar); returns the logits of the next
    /// token (VOCAB).
    fn step(&mut self, token: Token, position: u8) -> &[f32];
}

impl Stepper for Lstm {
    fn reset(&mut self) {
        Lstm::reset(self)
    }
    fn step(&mut self, token: Token, position: u8) -> &[f32] {
        Lstm::step(self, token, position)
    }
}

/// `out = softmax(logits / temperature)`; temperature 0 puts all the mass on the argmax (the
/// paper's knob runs 0–10). Stable (max subtracted); a non-finite input gives the uniform.
pub fn softmax(logits: &[f32], temperature: f32, out: &mut [f32]) {
    let n = logits.len().min(out.len());
    let max = logits[..n]
        .iter()
        .cloned()
        .fold(f32::NEG_INFINITY, f32::max);
    // NaN and 0 both mean argmax: a bad knob value must not stop the melody.
    if !temperature.is_finite() || temperature.is_nan() || temperature <= 0.0 {
        let best = logits[..n].iter().position(|&v| v == max).unwrap_or(0);
        out[..n]
            .iter_mut()
            .enumerate()
            .for_each(|(i, o)| *o = (i == best) as u8 as f32);
        return;
    }
    let mut sum = 0.0f32;
    for (o, &l) in out[..n].iter_mut().zip(logits) {
        *o = libm::expf((l - max) / temperature);
        sum += *o;
    }
    if !(sum.is_finite() && sum > 0.0) {
        out[..n].fill(1.0 / n as f32);
        return;
    }
    out[..n].iter_mut().for_each(|o| *o /= sum);
}

/// Mean negative log-likelihood per token (nats) of `lines`, each from the rest state and read as
/// starting on a downbeat (token i at position `i % 16`).
pub fn nll(model: &mut impl Stepper, lines: &[Vec<Token>]) -> f64 {
    let (mut sum, mut count) = (0.0f64, 0usize);
    let mut p = vec![0.0f32; VOCAB];
    for line in lines {
        model.reset();
        for (i, pair) in line.windows(2).enumerate() {
            softmax(model.step(pair[0], (i % POSITIONS) as u8), 1.0, &mut p);
            sum -= libm::log(p[pair[1] as usize].max(1e-30) as f64);
            count += 1;
        }
    }
    sum / count.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidepool_reservoir::SeededRng;

    fn random(rng: &mut SeededRng, n: usize, scale: f64) -> Vec<f32> {
        (0..n)
            .map(|_| (rng.symmetric_f64() * scale) as f32)
            .collect()
    }

    /// A random model of embedding `e`, `layers` layers of `h` units and `p` position inputs.
    fn model(e: usize, h: usize, layers: usize, p: usize) -> Lstm {
        let mut rng = SeededRng::new(5, 0);
        let layers = (0..layers)
            .map(|k| {
                let input = if k == 0 { e + p } else { h };
                Layer::new(
                    input,
                    h,
                    random(&mut rng, 4 * h * input, 0.3),
                    random(&mut rng, 4 * h * h, 0.3),
                    &random(&mut rng, 4 * h, 0.1),
                    &random(&mut rng, 4 * h, 0.1),
                )
            })
            .collect();
        Lstm::with_position(
            e,
            p,
            random(&mut rng, VOCAB * e, 1.0),
            layers,
            random(&mut rng, VOCAB * h, 0.3),
            random(&mut rng, VOCAB, 0.1),
        )
    }

    /// A plain f64 LSTM written from the PyTorch documentation's equations.
    /// Token i is at position `positions[i]`.
    fn reference(m: &Lstm, tokens: &[Token], positions: &[u8]) -> Vec<f64> {
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let mut states: Vec<(Vec<f64>, Vec<f64>)> = m
            .layers
            .iter()
            .map(|l| (vec![0.0; l.hidden], vec![0.0; l.hidden]))
            .collect();
        let mut logits = vec![];
        for (&t, &pos) in tokens.iter().zip(positions) {
            let e = m.embedding_dim;
            let mut x: Vec<f64> = m.embedding[t as usize * e..(t as usize + 1) * e]
                .iter()
                .map(|v| *v as f64)
                .collect();
            x.extend((0..m.position_width).map(|k| (k == pos as usize % 16) as u8 as f64));
            for (layer, (h, c)) in m.layers.iter().zip(states.iter_mut()) {
                let n = layer.hidden;
                let gate = |r: usize| -> f64 {
                    layer.bias[r] as f64
                        + (0..layer.input)
                            .map(|k| layer.w_ih[r * layer.input + k] as f64 * x[k])
                            .sum::<f64>()
                        + (0..n)
                            .map(|k| layer.w_hh[r * n + k] as f64 * h[k])
                            .sum::<f64>()
                };
                let gates: Vec<f64> = (0..4 * n).map(gate).collect();
                for k in 0..n {
                    c[k] = sig(gates[n + k]) * c[k] + sig(gates[k]) * gates[2 * n + k].tanh();
                    h[k] = sig(gates[3 * n + k]) * c[k].tanh();
                }
                x = h.clone();
            }
            logits = (0..VOCAB)
                .map(|r| {
                    m.linear_b[r] as f64
                        + (0..x.len())
                            .map(|k| m.linear_w[r * x.len() + k] as f64 * x[k])
                            .sum::<f64>()
                })
                .collect();
        }
        logits
    }

    #[test]
    fn softmax_temperature_and_argmax() {
        let mut p = [0.0; 3];
        softmax(&[1.0, 3.0, 2.0], 1.0, &mut p);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6 && p[1] > p[2] && p[2] > p[0]);
        softmax(&[1.0, 3.0, 2.0], 0.0, &mut p);
        assert_eq!(p, [0.0, 1.0, 0.0]);
        let mut hot = [0.0; 3];
        softmax(&[1.0, 3.0, 2.0], 10.0, &mut hot);
        assert!(
            hot[1] < 0.4 && hot[0] > 0.28,
            "a high temperature flattens: {hot:?}"
        );
    }

    #[test]
    fn step_matches_the_pytorch_equations() {
        let tokens = [60, 129, 129, 62, 128, 64, 129, 65];
        let positions = [14, 15, 0, 1, 2, 19, 4, 5];
        // 1, 2 and 3 layers; with and without the position input.
        for (layers, p) in [(1, 0), (2, 0), (3, 0), (1, 16), (2, 16), (3, 16)] {
            let mut m = model(16, 24, layers, p);
            for n in 1..=tokens.len() {
                m.reset();
                let mut got = vec![];
                for (&t, &pos) in tokens[..n].iter().zip(&positions) {
                    got = m.step(t, pos).to_vec();
                }
                let want = reference(&m, &tokens[..n], &positions);
                let worst = got
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (*a as f64 - b).abs())
                    .fold(0.0, f64::max);
                assert!(
                    worst < 1e-5,
                    "{layers} layers, {p} positions, after {n}: {worst:e}"
                );
            }
        }
    }

    #[test]
    fn the_position_input_changes_the_logits_only_when_the_model_takes_it() {
        for (p, differs) in [(0, false), (16, true)] {
            let mut m = model(8, 12, 2, p);
            let a = m.step(60, 0).to_vec();
            m.reset();
            // 16 is position 0 again (% 16).
            assert_eq!(m.step(60, 16), &a[..]);
            m.reset();
            let b = m.step(60, 5).to_vec();
            assert_eq!(a != b, differs, "{p} positions");
        }
    }
}
