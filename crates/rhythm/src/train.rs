//! Training an autoencoder on rhythms, one epoch per call (the page's Web Worker reports
//! progress and can cancel between epochs): Glorot-uniform init, shuffled mini-batches, Adam
//! with Keras's defaults. Same seed and data ⇒ the same weights, bit for bit, natively and in
//! wasm (every random number comes from [`rng::SplitMix`], every transcendental from `libm` or
//! the `+ − × ÷` of `fastmath`, every sum has a fixed order).

mod fastmath;
mod net;
pub mod rng;
#[cfg(test)]
mod tests;

use crate::arch::Arch;
use crate::model::{Autoencoder, TrainingInfo};
use crate::pattern::{Rhythm, STEPS};
use net::{Net, Work};
use rng::SplitMix;

/// Adam's constants (Keras's defaults).
const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPSILON: f32 = 1e-7;

/// What to train.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub arch: Arch,
    /// Epochs [`train`] runs (a [`Trainer`] runs as many as it is asked).
    pub epochs: usize,
    /// Rhythms per mini-batch (the last batch of an epoch may be smaller).
    pub batch: usize,
    pub learning_rate: f32,
    pub seed: u64,
    /// Train a velocity head (Dense → 32, sigmoid, squared error on the hits' velocities).
    pub velocity_head: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            arch: Arch::Model1,
            epochs: 500,
            batch: 32,
            learning_rate: 1e-3,
            seed: 1,
            velocity_head: true,
        }
    }
}

/// A training run in progress. Allocates everything in [`Trainer::new`]; an epoch allocates
/// nothing.
pub struct Trainer {
    config: TrainConfig,
    net: Net,
    work: Work,
    /// The rhythms as 0/1 rows of 32, and their velocities / 127.
    inputs: Vec<f32>,
    velocities: Vec<f32>,
    order: Vec<usize>,
    /// Adam's moments and the running powers of its betas.
    m: Vec<f32>,
    v: Vec<f32>,
    beta1_power: f32,
    beta2_power: f32,
    rng: SplitMix,
    epochs_done: usize,
    last_loss: f32,
}

impl Trainer {
    /// A fresh model (weights drawn from `config.seed`) over `data`. Refuses an empty data set,
    /// a zero batch and a learning rate that is not a positive number.
    pub fn new(data: &[Rhythm], config: &TrainConfig) -> Result<Trainer, String> {
        if data.is_empty() {
            return Err("no rhythms to train on".into());
        }
        if config.batch == 0 {
            return Err("the batch size must be at least 1".into());
        }
        if !(config.learning_rate.is_finite() && config.learning_rate > 0.0) {
            return Err(format!(
                "the learning rate must be a positive number, not {}",
                config.learning_rate
            ));
        }
        let mut rng = SplitMix::new(config.seed);
        let mut net = Net::new(config.arch, config.velocity_head);
        net.init_glorot(&mut rng);
        let cap = config.batch.min(data.len());
        let work = Work::new(&net, cap);
        let inputs = data.iter().flat_map(|r| r.as_input()).collect();
        let velocities = data
            .iter()
            .flat_map(|r| r.velocity.map(|v| f32::from(v) / 127.0))
            .collect();
        let params = net.params.len();
        Ok(Trainer {
            config: config.clone(),
            net,
            work,
            inputs,
            velocities,
            order: (0..data.len()).collect(),
            m: vec![0.0; params],
            v: vec![0.0; params],
            beta1_power: 1.0,
            beta2_power: 1.0,
            rng,
            epochs_done: 0,
            last_loss: f32::NAN,
        })
    }

    /// One pass over the data in a new random order; returns the epoch's mean loss (per
    /// rhythm, the regularisation included, as Keras reports it).
    pub fn epoch(&mut self) -> f32 {
        let len = self.order.len();
        for i in (1..len).rev() {
            let j = self.rng.below(i + 1);
            self.order.swap(i, j);
        }
        let mut total = 0.0f64;
        let mut start = 0;
        while start < len {
            let n = self.work.cap.min(len - start);
            self.gather(start, n);
            let rate = self.config.arch.dropout();
            if rate > 0.0 {
                self.work.draw_masks(rate, n, &mut self.rng);
            }
            let loss = self.net.loss_and_gradient(&mut self.work, n, rate > 0.0);
            total += loss * n as f64;
            self.adam_step();
            start += n;
        }
        self.epochs_done += 1;
        self.last_loss = (total / len as f64) as f32;
        self.last_loss
    }

    /// Copies the rhythms `order[start..start + n]` into the batch buffers (feature-major).
    fn gather(&mut self, start: usize, n: usize) {
        let w = &mut self.work;
        let cap = w.cap;
        for (b, &j) in self.order[start..start + n].iter().enumerate() {
            let row = j * STEPS..(j + 1) * STEPS;
            for (f, (&x, &v)) in self.inputs[row.clone()]
                .iter()
                .zip(&self.velocities[row])
                .enumerate()
            {
                w.x[f * cap + b] = x;
                w.vm[f * cap + b] = x;
                w.vt[f * cap + b] = v;
            }
        }
    }

    /// Adam as Keras writes it: `w -= lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε)`. (`f32::sqrt` is
    /// correctly rounded on every target, and unlike a call it vectorises.) Moments below
    /// 1e-30 are flushed to zero: a dead unit's would otherwise decay into subnormal numbers,
    /// which are many times slower to compute with.
    fn adam_step(&mut self) {
        self.beta1_power *= BETA1;
        self.beta2_power *= BETA2;
        let alpha =
            self.config.learning_rate * (1.0 - self.beta2_power).sqrt() / (1.0 - self.beta1_power);
        let n = self.net.params.len();
        let (p, g) = (&mut self.net.params[..n], &self.work.grads[..n]);
        let (m, v) = (&mut self.m[..n], &mut self.v[..n]);
        for i in 0..n {
            let mi = m[i] + (g[i] - m[i]) * (1.0 - BETA1);
            let vi = v[i] + (g[i] * g[i] - v[i]) * (1.0 - BETA2);
            m[i] = if mi.abs() < 1e-30 { 0.0 } else { mi };
            v[i] = if vi < 1e-30 { 0.0 } else { vi };
            p[i] -= alpha * m[i] / (v[i].sqrt() + EPSILON);
        }
    }

    pub fn epochs_done(&self) -> usize {
        self.epochs_done
    }

    /// Mean loss of the last epoch (NaN before the first).
    pub fn last_loss(&self) -> f32 {
        self.last_loss
    }

    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The model as it stands, with its training metadata.
    pub fn model(&self) -> Autoencoder {
        let mut model = self.net.to_autoencoder();
        model.training = Some(TrainingInfo {
            epochs: self.epochs_done,
            seed: self.config.seed,
            data_count: self.order.len(),
            final_loss: self.last_loss,
        });
        model
    }

    /// The flat parameter vector (for determinism checks: two runs compare bit for bit).
    pub fn parameters(&self) -> &[f32] {
        &self.net.params
    }
}

/// Trains `config.epochs` epochs, calling `progress(epoch, loss)` after each (epoch counts
/// from 1); stops early when it returns `false`. Returns the model as trained so far.
pub fn train(
    data: &[Rhythm],
    config: &TrainConfig,
    mut progress: impl FnMut(usize, f32) -> bool,
) -> Result<Autoencoder, String> {
    let mut trainer = Trainer::new(data, config)?;
    for e in 1..=config.epochs {
        let loss = trainer.epoch();
        if !progress(e, loss) {
            break;
        }
    }
    Ok(trainer.model())
}
