//! The paper's four autoencoder architectures: layer widths, regularisation, names.

use crate::pattern::STEPS;

/// Width of the latent layer: the X/Y pad.
pub const LATENT: usize = 2;

/// The widest layer of any architecture (the input/output); decoders use stack arrays this wide.
pub const MAX_WIDTH: usize = STEPS;

/// One of the paper's architectures (section 3). Hidden layers are ReLU, the latent layer is
/// linear (a Keras `Dense` default, so latent values are unbounded), the output is sigmoid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    /// 32-16-2-16-32.
    Prototype,
    /// 32-20-8-2-8-20-32.
    Model1,
    /// Model 1 trained with L2 0.01 on every weight matrix and dropout 0.2 after every hidden
    /// (ReLU) layer.
    Model2,
    /// 32-20-10-5-2-5-10-20-32.
    Model3,
}

impl Arch {
    pub const ALL: [Arch; 4] = [Arch::Prototype, Arch::Model1, Arch::Model2, Arch::Model3];

    /// "prototype", "model1", "model2" or "model3".
    pub fn name(self) -> &'static str {
        match self {
            Arch::Prototype => "prototype",
            Arch::Model1 => "model1",
            Arch::Model2 => "model2",
            Arch::Model3 => "model3",
        }
    }

    /// The architecture of a [`name`](Arch::name).
    pub fn from_name(name: &str) -> Result<Arch, String> {
        Arch::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| {
                format!("unknown rhythm architecture `{name}` (prototype, model1, model2, model3)")
            })
    }

    /// A small stable number for binary formats.
    pub fn index(self) -> u8 {
        match self {
            Arch::Prototype => 0,
            Arch::Model1 => 1,
            Arch::Model2 => 2,
            Arch::Model3 => 3,
        }
    }

    pub fn from_index(index: u8) -> Option<Arch> {
        Arch::ALL.get(usize::from(index)).copied()
    }

    /// Layer widths from the input to the latent layer, e.g. `[32, 20, 8, 2]`.
    pub fn encoder_sizes(self) -> &'static [usize] {
        match self {
            Arch::Prototype => &[STEPS, 16, LATENT],
            Arch::Model1 | Arch::Model2 => &[STEPS, 20, 8, LATENT],
            Arch::Model3 => &[STEPS, 20, 10, 5, LATENT],
        }
    }

    /// Layer widths from the latent layer to the output: the encoder's, mirrored.
    pub fn decoder_sizes(self) -> Vec<usize> {
        self.encoder_sizes().iter().rev().copied().collect()
    }

    /// Width of the last hidden decoder layer, which the velocity head reads.
    pub fn last_hidden(self) -> usize {
        self.encoder_sizes()[1]
    }

    /// L2 factor on every weight matrix (the loss gains `l2 · Σw²`, as Keras's
    /// `kernel_regularizer=l2(0.01)`).
    pub fn l2(self) -> f32 {
        match self {
            Arch::Model2 => 0.01,
            _ => 0.0,
        }
    }

    /// Dropout rate after every hidden ReLU layer, in training only.
    pub fn dropout(self) -> f32 {
        match self {
            Arch::Model2 => 0.2,
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_indices_round_trip_and_decoders_mirror() {
        for a in Arch::ALL {
            assert_eq!(Arch::from_name(a.name()), Ok(a));
            assert_eq!(Arch::from_index(a.index()), Some(a));
            let enc = a.encoder_sizes();
            assert_eq!((enc[0], enc[enc.len() - 1]), (STEPS, LATENT));
            let dec = a.decoder_sizes();
            assert_eq!(dec.len(), enc.len());
            assert!(dec.iter().zip(enc.iter().rev()).all(|(d, e)| d == e));
            assert!(enc.iter().all(|&w| w <= MAX_WIDTH));
        }
        assert!(Arch::from_name("model4").unwrap_err().contains("model4"));
        assert_eq!(Arch::from_index(4), None);
        assert_eq!(Arch::Model3.encoder_sizes(), &[32, 20, 10, 5, 2]);
    }
}
