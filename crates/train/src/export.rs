//! Writes the trained weights as safetensors: f16, PyTorch's state-dict names and shapes, and
//! metadata that says what the tokens mean, so the file explains itself to any loader.

use crate::{Report, TrainConfig};
use candle_core::{DType, Tensor};
use half::f16;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;

/// Bumped whenever the file's meaning changes; loaders refuse other versions.
pub const FORMAT_VERSION: &str = "1";

pub fn write_safetensors(
    weights: &[(String, Tensor)],
    config: &TrainConfig,
    report: &Report,
) -> Result<(), String> {
    let mut buffers: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, t) in weights {
        let values: Vec<f16> = t
            .to_dtype(DType::F16)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f16>())
            .map_err(|e| e.to_string())?;
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        buffers.push((name.clone(), t.dims().to_vec(), bytes));
    }
    let views: Vec<(String, TensorView)> = buffers
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F16, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let metadata: HashMap<String, String> = [
        ("format", "tidepool-melody-lstm".to_string()),
        ("format_version", FORMAT_VERSION.to_string()),
        ("vocab_size", "130".to_string()),
        ("vocab", "0-127 note onset (MIDI pitch), 128 note-off (rest), 129 hold".to_string()),
        ("step", "1/16 note".to_string()),
        ("key_normalisation", "C major / A minor".to_string()),
        ("architecture", if config.position > 0 {
            "embedding, then position one-hot -> LSTM -> LSTM -> linear (PyTorch: nn.LSTM(num_layers=2, batch_first=True) over torch.cat([nn.Embedding(tokens), F.one_hot(positions % 16, 16)], -1), nn.Linear; gates i,f,g,o)"
        } else {
            "embedding -> LSTM -> LSTM -> linear (PyTorch nn.Embedding, nn.LSTM(num_layers=2, batch_first=True), nn.Linear; gates i,f,g,o)"
        }.to_string()),
        ("position_input", config.position.to_string()),
        ("position", "the 16th within the bar of each input token (0 = downbeat), from each chorale line's notated meter".to_string()),
        ("embedding_dim", config.embedding.to_string()),
        ("hidden_size", config.hidden.to_string()),
        ("num_layers", "2".to_string()),
        ("seed", config.seed.to_string()),
        ("best_epoch", report.best_epoch.to_string()),
        ("valid_nll_nats", format!("{:.5}", report.best_valid_nll)),
        ("trained_with", "tidepool train melody (candle 0.11, CPU)".to_string()),
        ("trained_on", "Bach chorale voices (music21 corpus), data/chorales train split, C major / A minor".to_string()),
        ("initialised_from", config.init.clone().unwrap_or_else(|| "random (seeded)".into())),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(dir) = std::path::Path::new(&config.out).parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    safetensors::tensor::serialize_to_file(views, Some(metadata), std::path::Path::new(&config.out))
        .map_err(|e| format!("cannot write {}: {e}", config.out))
}
