//! The melody LSTM's forward step: token embedding → LSTM → LSTM → linear → logits, in
//! PyTorch's layout (gate order i, f, g, o; `weight_ih_l{k}` is 4H×in, `weight_hh_l{k}` 4H×H),
//! so weights trained in PyTorch and here are interchangeable.

use crate::tokens::{Token, VOCAB};
use tidepool_reservoir::{dot, fast_tanh, sigmoid};

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
    /// VOCAB × E.
    pub embedding: Vec<f32>,
    pub layers: Vec<Layer>,
    /// VOCAB × H.
    pub linear_w: Vec<f32>,
    pub linear_b: Vec<f32>,
    logits: Vec<f32>,
}

impl Lstm {
    pub fn new(
        embedding_dim: usize,
        embedding: Vec<f32>,
        layers: Vec<Layer>,
        linear_w: Vec<f32>,
        linear_b: Vec<f32>,
    ) -> Self {
        assert_eq!(embedding.len(), VOCAB * embedding_dim);
        assert_eq!(linear_b.len(), VOCAB);
        Self {
            embedding_dim,
            embedding,
            layers,
            linear_w,
            linear_b,
            logits: vec![0.0; VOCAB],
        }
    }

    /// Forgets the melody so far.
    pub fn reset(&mut self) {
        self.layers.iter_mut().for_each(Layer::reset);
    }

    /// Feeds `token`; returns the logits of the next token. Never allocates.
    pub fn step(&mut self, token: Token) -> &[f32] {
        let e = self.embedding_dim;
        let t = (token as usize).min(VOCAB - 1);
        let (first, rest) = self.layers.split_first_mut().expect("at least one layer");
        first.step(&self.embedding[t * e..(t + 1) * e]);
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
    /// Feeds `token`; returns the logits of the next token (VOCAB).
    fn step(&mut self, token: Token) -> &[f32];
}

impl Stepper for Lstm {
    fn reset(&mut self) {
        Lstm::reset(self)
    }
    fn step(&mut self, token: Token) -> &[f32] {
        Lstm::step(self, token)
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

/// Mean negative log-likelihood per token (nats) of `lines`, each from the rest state.
pub fn nll(model: &mut impl Stepper, lines: &[Vec<Token>]) -> f64 {
    let (mut sum, mut count) = (0.0f64, 0usize);
    let mut p = vec![0.0f32; VOCAB];
    for line in lines {
        model.reset();
        for pair in line.windows(2) {
            softmax(model.step(pair[0]), 1.0, &mut p);
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

    fn model(e: usize, h: usize) -> Lstm {
        let mut rng = SeededRng::new(5, 0);
        let l0 = Layer::new(
            e,
            h,
            random(&mut rng, 4 * h * e, 0.3),
            random(&mut rng, 4 * h * h, 0.3),
            &random(&mut rng, 4 * h, 0.1),
            &random(&mut rng, 4 * h, 0.1),
        );
        let l1 = Layer::new(
            h,
            h,
            random(&mut rng, 4 * h * h, 0.3),
            random(&mut rng, 4 * h * h, 0.3),
            &random(&mut rng, 4 * h, 0.1),
            &random(&mut rng, 4 * h, 0.1),
        );
        Lstm::new(
            e,
            random(&mut rng, VOCAB * e, 1.0),
            vec![l0, l1],
            random(&mut rng, VOCAB * h, 0.3),
            random(&mut rng, VOCAB, 0.1),
        )
    }

    /// A plain f64 LSTM written from the PyTorch documentation's equations.
    fn reference(m: &Lstm, tokens: &[Token]) -> Vec<f64> {
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let mut states: Vec<(Vec<f64>, Vec<f64>)> = m
            .layers
            .iter()
            .map(|l| (vec![0.0; l.hidden], vec![0.0; l.hidden]))
            .collect();
        let mut logits = vec![];
        for &t in tokens {
            let e = m.embedding_dim;
            let mut x: Vec<f64> = m.embedding[t as usize * e..(t as usize + 1) * e]
                .iter()
                .map(|v| *v as f64)
                .collect();
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
        let mut m = model(16, 24);
        let tokens = [60, 129, 129, 62, 128, 64, 129, 65];
        for n in 1..=tokens.len() {
            m.reset();
            let mut got = vec![];
            for &t in &tokens[..n] {
                got = m.step(t).to_vec();
            }
            let want = reference(&m, &tokens[..n]);
            let worst = got
                .iter()
                .zip(&want)
                .map(|(a, b)| (*a as f64 - b).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-5, "after {n} tokens: {worst:e}");
        }
    }
}
