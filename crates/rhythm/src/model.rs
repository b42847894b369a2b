//! A trained stacked autoencoder: the encoder (rhythm → X/Y point, for the scatter and
//! `tidepool rhythm encode`) and the [`Decoder`] the engine plays from.

use crate::arch::{Arch, LATENT, MAX_WIDTH};
use crate::decoder::{Decoded, Decoder};
use crate::dense::Dense;
use crate::pattern::Rhythm;

/// How a model was trained (the model file's metadata).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingInfo {
    pub epochs: usize,
    pub seed: u64,
    /// Rhythms in the training set.
    pub data_count: usize,
    /// Mean loss of the last epoch.
    pub final_loss: f32,
}

/// Encoder layers (32 → … → 2: ReLU between, the latent layer linear) and the decoder.
#[derive(Clone, Debug, PartialEq)]
pub struct Autoencoder {
    encoder: Vec<Dense>,
    decoder: Decoder,
    /// `None` for a model built by hand; a trainer or a model file fills it.
    pub training: Option<TrainingInfo>,
}

impl Autoencoder {
    /// Refuses encoder layers that do not chain as the decoder's architecture says.
    pub fn new(encoder: Vec<Dense>, decoder: Decoder) -> Result<Autoencoder, String> {
        let arch = decoder.arch();
        let sizes = arch.encoder_sizes();
        if encoder.len() != sizes.len() - 1 {
            return Err(format!(
                "a {} encoder has {} layers, not {}",
                arch.name(),
                sizes.len() - 1,
                encoder.len()
            ));
        }
        for (i, (layer, io)) in encoder.iter().zip(sizes.windows(2)).enumerate() {
            if (layer.inputs, layer.outputs) != (io[0], io[1]) {
                return Err(format!(
                    "encoder layer {i} of {} is {}→{}, not {}→{}",
                    arch.name(),
                    layer.inputs,
                    layer.outputs,
                    io[0],
                    io[1]
                ));
            }
            layer.validate(&format!("encoder layer {i}"))?;
        }
        Ok(Autoencoder {
            encoder,
            decoder,
            training: None,
        })
    }

    /// An encoder the caller built to fit (the trainer); see
    /// [`Decoder::from_trusted_layers`].
    pub(crate) fn from_trusted_parts(encoder: Vec<Dense>, decoder: Decoder) -> Autoencoder {
        Autoencoder {
            encoder,
            decoder,
            training: None,
        }
    }

    pub fn arch(&self) -> Arch {
        self.decoder.arch()
    }

    /// The encoder's layers, input side first.
    pub fn encoder_layers(&self) -> &[Dense] {
        &self.encoder
    }

    /// The decoder half (a copy, for the engine).
    pub fn decoder(&self) -> Decoder {
        self.decoder.clone()
    }

    pub fn decoder_ref(&self) -> &Decoder {
        &self.decoder
    }

    /// The rhythm's point in the latent plane.
    pub fn encode(&self, rhythm: &Rhythm) -> [f32; LATENT] {
        let mut a = [0.0f32; MAX_WIDTH];
        let mut b = [0.0f32; MAX_WIDTH];
        a.copy_from_slice(&rhythm.as_input());
        let last = self.encoder.len() - 1;
        for (k, layer) in self.encoder.iter().enumerate() {
            layer.forward(&a, &mut b);
            if k != last {
                for v in &mut b[..layer.outputs] {
                    *v = v.max(0.0);
                }
            }
            std::mem::swap(&mut a, &mut b);
        }
        [a[0], a[1]]
    }

    /// The decoding of the rhythm's own latent point.
    pub fn reconstruct(&self, rhythm: &Rhythm) -> Decoded {
        let mut out = Decoded::default();
        self.decoder.decode(self.encode(rhythm), &mut out);
        out
    }

    /// The latent point of every rhythm (the X/Y pad's scatter).
    pub fn latent_points(&self, data: &[Rhythm]) -> Vec<[f32; LATENT]> {
        data.iter().map(|r| self.encode(r)).collect()
    }
}
