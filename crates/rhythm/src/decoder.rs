//! The decoder half of a trained autoencoder, which the engine plays from: an X/Y point in,
//! 32 hit probabilities and 32 velocities out, on the stack (no allocation, so it may run on
//! the audio thread).

use crate::arch::{Arch, LATENT, MAX_WIDTH};
use crate::dense::{sigmoid, Dense};
use crate::pattern::STEPS;

/// What [`Decoder::decode`] writes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decoded {
    /// Probability of a hit at each step, 0..1 (the sigmoid output).
    pub prob: [f32; STEPS],
    /// Velocity at each step, 0..1: the velocity head's output, or a copy of `prob` when the
    /// model has no head (the paper's "velocity from a model output").
    pub velocity: [f32; STEPS],
}

impl Default for Decoded {
    fn default() -> Self {
        Decoded {
            prob: [0.0; STEPS],
            velocity: [0.0; STEPS],
        }
    }
}

/// Latent point → rhythm probabilities. Built only through [`Decoder::new`], which checks the
/// layers fit the architecture, so [`decode`](Decoder::decode) cannot fail.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoder {
    arch: Arch,
    layers: Vec<Dense>,
    velocity: Option<Dense>,
}

impl Decoder {
    /// The decoder of `arch` from its layers (latent → … → 32; ReLU between, sigmoid at the
    /// end) and an optional velocity head (last hidden width → 32, sigmoid). Refuses layers
    /// whose shapes do not chain as `arch` says, or that hold a non-finite value.
    pub fn new(arch: Arch, layers: Vec<Dense>, velocity: Option<Dense>) -> Result<Decoder, String> {
        let sizes = arch.decoder_sizes();
        if layers.len() != sizes.len() - 1 {
            return Err(format!(
                "a {} decoder has {} layers, not {}",
                arch.name(),
                sizes.len() - 1,
                layers.len()
            ));
        }
        for (i, (layer, io)) in layers.iter().zip(sizes.windows(2)).enumerate() {
            if (layer.inputs, layer.outputs) != (io[0], io[1]) {
                return Err(format!(
                    "decoder layer {i} of {} is {}→{}, not {}→{}",
                    arch.name(),
                    layer.inputs,
                    layer.outputs,
                    io[0],
                    io[1]
                ));
            }
            layer.validate(&format!("decoder layer {i}"))?;
        }
        if let Some(head) = &velocity {
            if (head.inputs, head.outputs) != (arch.last_hidden(), STEPS) {
                return Err(format!(
                    "the velocity head of {} is {}→{}, not {}→{STEPS}",
                    arch.name(),
                    head.inputs,
                    head.outputs,
                    arch.last_hidden()
                ));
            }
            head.validate("the velocity head")?;
        }
        Ok(Decoder {
            arch,
            layers,
            velocity,
        })
    }

    /// Layers the caller built to fit `arch` (the trainer), not checked: a diverged training
    /// run's non-finite weights stay visible (its loss says so; a model file or link of it is
    /// refused when read) instead of panicking here.
    pub(crate) fn from_trusted_layers(
        arch: Arch,
        layers: Vec<Dense>,
        velocity: Option<Dense>,
    ) -> Decoder {
        debug_assert_eq!(layers.len(), arch.decoder_sizes().len() - 1);
        Decoder {
            arch,
            layers,
            velocity,
        }
    }

    pub fn arch(&self) -> Arch {
        self.arch
    }

    pub fn has_velocity_head(&self) -> bool {
        self.velocity.is_some()
    }

    /// The layers, latent side first.
    pub fn layers(&self) -> &[Dense] {
        &self.layers
    }

    pub fn velocity_head(&self) -> Option<&Dense> {
        self.velocity.as_ref()
    }

    /// Decodes the latent point `xy` into `out`. Never allocates; non-finite input gives
    /// non-finite output, so callers sanitise the pad's values first.
    pub fn decode(&self, xy: [f32; LATENT], out: &mut Decoded) {
        let mut a = [0.0f32; MAX_WIDTH];
        let mut b = [0.0f32; MAX_WIDTH];
        a[..LATENT].copy_from_slice(&xy);
        let last = self.layers.len() - 1;
        for layer in &self.layers[..last] {
            layer.forward(&a, &mut b);
            for v in &mut b[..layer.outputs] {
                *v = v.max(0.0);
            }
            std::mem::swap(&mut a, &mut b);
        }
        // `a` holds the last hidden layer, which both heads read.
        self.layers[last].forward(&a, &mut b);
        for (p, z) in out.prob.iter_mut().zip(&b) {
            *p = sigmoid(*z);
        }
        match &self.velocity {
            Some(head) => {
                head.forward(&a, &mut b);
                for (v, z) in out.velocity.iter_mut().zip(&b) {
                    *v = sigmoid(*z);
                }
            }
            None => out.velocity = out.prob,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(inputs: usize, outputs: usize, seed: u32) -> Dense {
        let mut d = Dense::zeros(inputs, outputs);
        for (i, w) in d.weight.iter_mut().chain(&mut d.bias).enumerate() {
            *w = ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0
                - 1.0;
        }
        d
    }

    pub(crate) fn some_decoder(arch: Arch, head: bool) -> Decoder {
        let sizes = arch.decoder_sizes();
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, io)| layer(io[0], io[1], i as u32))
            .collect();
        let velocity = head.then(|| layer(arch.last_hidden(), STEPS, 99));
        Decoder::new(arch, layers, velocity).unwrap()
    }

    /// A decode computed by hand for a 2→1→…: here the prototype with a zero first layer,
    /// so every hidden unit is ReLU(bias) and the output is sigmoid(W relu(b1) + b2).
    #[test]
    fn decode_follows_relu_then_sigmoid() {
        let mut d = some_decoder(Arch::Prototype, false);
        d.layers[0].weight.fill(0.0);
        let hidden: Vec<f32> = d.layers[0].bias.iter().map(|b| b.max(0.0)).collect();
        let mut out = Decoded::default();
        d.decode([3.0, -7.0], &mut out);
        let l = &d.layers[1];
        for s in 0..STEPS {
            let z: f64 = f64::from(l.bias[s])
                + (0..16)
                    .map(|h| f64::from(l.weight[s * 16 + h]) * f64::from(hidden[h]))
                    .sum::<f64>();
            let want = 1.0 / (1.0 + (-z).exp());
            assert!((f64::from(out.prob[s]) - want).abs() < 1e-6, "step {s}");
        }
        assert_eq!(out.velocity, out.prob, "no head: velocity is the output");
    }

    #[test]
    fn the_head_gives_its_own_velocities() {
        let d = some_decoder(Arch::Model3, true);
        let mut out = Decoded::default();
        d.decode([0.5, 1.5], &mut out);
        assert_ne!(out.velocity, out.prob);
        assert!(out
            .prob
            .iter()
            .chain(&out.velocity)
            .all(|p| (0.0..=1.0).contains(p)));
    }

    #[test]
    fn new_refuses_layers_that_do_not_fit() {
        let good = some_decoder(Arch::Model1, true);
        let mut layers = good.layers().to_vec();
        let e = Decoder::new(Arch::Model3, layers.clone(), None).unwrap_err();
        assert!(e.contains("a model3 decoder has 4 layers, not 3"), "{e}");
        layers.swap(0, 1);
        let e = Decoder::new(Arch::Model1, layers, None).unwrap_err();
        assert!(
            e.contains("decoder layer 0 of model1 is 8→20, not 2→8"),
            "{e}"
        );
        let e = Decoder::new(
            Arch::Model1,
            good.layers().to_vec(),
            Some(Dense::zeros(8, STEPS)),
        )
        .unwrap_err();
        assert!(e.contains("velocity head"), "{e}");
    }
}
