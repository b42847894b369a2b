//! Trains the melody LSTM of the embedded-instrument paper (embedding → LSTM 256 → LSTM 256 →
//! linear → softmax over 130 tokens) on the chorale token files, with candle on the CPU, and
//! writes it as safetensors in PyTorch's state-dict names and layout, f16.
//!
//! Reproducible from a seed: initial weights, window offsets, shuffling and dropout masks all
//! come from the seeded generator (candle's own CPU random numbers are not seedable).
//!
//! The model is told where the bar is (a one-hot of the 16th within the bar after the
//! embedding, from each line's `bar` and `phase`): trained on windows at random offsets without
//! it, it could not tell a downbeat from an offbeat. A run may start from a model file
//! (`init`), its position columns zero, so it begins as exactly that model and learns only what
//! the position adds.

mod export;
mod model;

pub use export::{write_safetensors, FORMAT_VERSION};
pub use model::MelodyNet;

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder, VarMap};
use std::time::Instant;
use tidepool_melody::dataset::{self, Line};
use tidepool_melody::lstm::POSITIONS;
use tidepool_reservoir::SeededRng;

/// What to train and how.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub data_dir: String,
    pub out: String,
    pub seed: u64,
    pub max_epochs: usize,
    /// Epochs without a better validation loss before stopping.
    pub patience: usize,
    pub batch: usize,
    /// Tokens per training window (truncated back-propagation through time).
    pub window: usize,
    pub learning_rate: f64,
    pub dropout: f32,
    pub embedding: usize,
    pub hidden: usize,
    /// Use only this many training and validation lines (smoke tests).
    pub limit_lines: Option<usize>,
    /// Width of the position input: 0 (none) or `tidepool_melody::lstm::POSITIONS`.
    pub position: usize,
    /// Start from this model file's weights instead of random ones (same sizes; a position
    /// input it lacks starts at zero).
    pub init: Option<String>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            data_dir: "data/chorales".into(),
            out: "web/models/melody-lstm.safetensors".into(),
            seed: 1,
            max_epochs: 40,
            patience: 3,
            batch: 32,
            window: 64,
            learning_rate: 2e-3,
            dropout: 0.2,
            embedding: 64,
            hidden: 256,
            limit_lines: None,
            position: POSITIONS,
            init: None,
        }
    }
}

/// What a training run did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// (epoch, mean train loss, validation NLL) per epoch, nats per token.
    pub epochs: Vec<(usize, f64, f64)>,
    pub best_epoch: usize,
    pub best_valid_nll: f64,
    pub tokens_per_second: f64,
    pub seconds: f64,
}

fn load(dir: &str, split: &str, limit: Option<usize>) -> Result<Vec<Line>, String> {
    let mut lines = dataset::read_lines(std::path::Path::new(dir), split)?;
    lines.truncate(limit.unwrap_or(usize::MAX));
    Ok(lines)
}

/// Trains, keeps the weights of the epoch with the best validation NLL, writes them to
/// `config.out`. `progress` receives one-line updates (a progress bar and per-epoch losses).
pub fn train_melody(
    config: &TrainConfig,
    mut progress: impl FnMut(&str),
) -> Result<Report, String> {
    let e = |err: candle_core::Error| err.to_string();
    let train = load(&config.data_dir, "train", config.limit_lines)?;
    let valid = load(&config.data_dir, "valid", config.limit_lines)?;
    let device = Device::Cpu;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &device);
    let net = MelodyNet::new(config.embedding, config.hidden, config.position, vb).map_err(e)?;
    let mut rng = SeededRng::new(config.seed, 0);
    model::seeded_init(&varmap, &mut rng).map_err(e)?;
    if let Some(path) = &config.init {
        let bytes = std::fs::read(path).map_err(|err| format!("cannot read {path}: {err}"))?;
        let (start, _) =
            tidepool_melody::model_file::load(&bytes).map_err(|err| format!("{path}: {err}"))?;
        model::init_from(&varmap, &start).map_err(|err| format!("{path}: {err}"))?;
        let nll = net.nll(&valid, &device).map_err(e)?;
        progress(&format!("starting from {path}: validation NLL {nll:.4}\n"));
    }
    let params = ParamsAdamW {
        lr: config.learning_rate,
        weight_decay: 0.0,
        ..Default::default()
    };
    let mut opt = AdamW::new(varmap.all_vars(), params).map_err(e)?;
    let mut report = Report {
        best_valid_nll: f64::INFINITY,
        ..Report::default()
    };
    let mut best: Option<Vec<(String, Tensor)>> = None;
    let started = Instant::now();
    let mut trained_tokens = 0usize;
    for epoch in 1..=config.max_epochs {
        let windows = windows(&train, config.window + 1, &mut rng);
        let batches = windows.len() / config.batch;
        let (mut loss_sum, mut loss_n) = (0.0, 0usize);
        for b in 0..batches {
            let chunk = &windows[b * config.batch..(b + 1) * config.batch];
            let (xs, ps, ys) = batch_tensors(chunk, &device).map_err(e)?;
            let logits = net
                .forward(&xs, &ps, Some((config.dropout, &mut rng)))
                .map_err(e)?;
            let loss = candle_nn::loss::cross_entropy(
                &logits.flatten_to(1).map_err(e)?,
                &ys.flatten_all().map_err(e)?,
            )
            .map_err(e)?;
            opt.backward_step(&loss).map_err(e)?;
            loss_sum += loss.to_scalar::<f32>().map_err(e)? as f64;
            loss_n += 1;
            trained_tokens += config.batch * config.window;
            let rate = trained_tokens as f64 / started.elapsed().as_secs_f64();
            progress(&format!(
                "\repoch {epoch:>2} [{}{}] {}/{batches} loss {:.4} {:.0} tok/s",
                "#".repeat(30 * (b + 1) / batches),
                " ".repeat(30 - 30 * (b + 1) / batches),
                b + 1,
                loss_sum / loss_n as f64,
                rate
            ));
        }
        let valid_nll = net.nll(&valid, &device).map_err(e)?;
        let train_loss = loss_sum / loss_n.max(1) as f64;
        report.epochs.push((epoch, train_loss, valid_nll));
        progress(&format!("\nepoch {epoch}: train loss {train_loss:.4}, validation NLL {valid_nll:.4} nats/token\n"));
        if valid_nll < report.best_valid_nll {
            report.best_valid_nll = valid_nll;
            report.best_epoch = epoch;
            let weights = model::snapshot(&varmap);
            // Written at every improvement: an interrupted run still leaves its best model.
            report.seconds = started.elapsed().as_secs_f64();
            write_safetensors(&weights, config, &report)?;
            best = Some(weights);
        } else if epoch - report.best_epoch >= config.patience {
            progress(&format!(
                "early stop: no better validation NLL since epoch {}\n",
                report.best_epoch
            ));
            break;
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.tokens_per_second = trained_tokens as f64 / report.seconds;
    let weights = best.ok_or("no epoch finished: too little data for one batch")?;
    write_safetensors(&weights, config, &report)?;
    Ok(report)
}

/// A training window: tokens and the 16th within the bar of each.
type Window = (Vec<u8>, Vec<u8>);

/// Windows of `len` tokens from every line, starting at a random offset so each epoch sees
/// different cuts (each token keeps its place in the bar); shuffled.
fn windows(lines: &[Line], len: usize, rng: &mut SeededRng) -> Vec<Window> {
    let mut out = Vec::new();
    for line in lines {
        let n = line.tokens.len();
        if n < len {
            continue;
        }
        let mut start = rng.below(len.min(n - len + 1));
        while start + len <= n {
            let positions = (start..start + len).map(|i| line.position(i)).collect();
            out.push((line.tokens[start..start + len].to_vec(), positions));
            start += len - 1;
        }
    }
    for i in (1..out.len()).rev() {
        out.swap(i, rng.below(i + 1));
    }
    out
}

/// Inputs (all but the last token), their positions, and targets (all but the first), as u32
/// (batch, window).
fn batch_tensors(
    chunk: &[Window],
    device: &Device,
) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
    let t = chunk[0].0.len() - 1;
    let column = |pick: fn(&Window) -> &[u8], from: usize| -> candle_core::Result<Tensor> {
        let v: Vec<u32> = chunk
            .iter()
            .flat_map(|w| pick(w)[from..from + t].iter().map(|&v| v as u32))
            .collect();
        Tensor::from_vec(v, (chunk.len(), t), device)
    };
    Ok((
        column(|w| &w.0, 0)?,
        column(|w| &w.1, 0)?,
        column(|w| &w.0, 1)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smoke run on a few lines: trains, improves, writes a file the inference code loads.
    #[test]
    fn smoke_training_on_a_few_lines() {
        let out =
            std::env::temp_dir().join(format!("tidepool-smoke-{}.safetensors", std::process::id()));
        let config = TrainConfig {
            data_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/chorales").into(),
            out: out.to_string_lossy().into(),
            max_epochs: 3,
            patience: 5,
            batch: 4,
            window: 16,
            embedding: 8,
            hidden: 16,
            limit_lines: Some(12),
            learning_rate: 1e-2,
            ..TrainConfig::default()
        };
        let report = train_melody(&config, |_| {}).unwrap();
        assert_eq!(report.epochs.len(), 3);
        let (first, last) = (report.epochs[0].1, report.epochs[2].1);
        assert!(last < first, "training loss should fall: {first} -> {last}");
        assert!(report.best_valid_nll < (130f64).ln(), "better than uniform");
        let bytes = std::fs::read(&out).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        assert_eq!(
            st.tensor("lstm.weight_ih_l0").unwrap().shape(),
            [64, 8 + 16]
        );
        // (The page's loader refuses a model this small, so its metadata is read directly.)
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        let meta = meta.metadata().clone().unwrap_or_default();
        assert_eq!(meta.get("position_input").map(String::as_str), Some("16"));
        assert_eq!(st.tensor("lstm.weight_hh_l1").unwrap().shape(), [64, 16]);
        assert_eq!(st.tensor("linear.weight").unwrap().shape(), [130, 16]);
        assert_eq!(
            st.tensor("embedding.weight").unwrap().dtype(),
            safetensors::Dtype::F16
        );
        std::fs::remove_file(&out).ok();
    }

    #[test]
    fn windows_cover_lines_and_are_reproducible() {
        let line = |n: u8| {
            let tokens: Vec<String> = (0..n).map(|t| t.to_string()).collect();
            format!("p S 0 major 0 16 12|{}", tokens.join(" "))
        };
        let lines = dataset::parse(&format!("{}\n{}", line(100), line(10))).unwrap();
        let a = windows(&lines, 17, &mut SeededRng::new(3, 0));
        let b = windows(&lines, 17, &mut SeededRng::new(3, 0));
        assert_eq!(a, b);
        assert!(a.len() >= 5 && a.iter().all(|w| w.0.len() == 17 && w.1.len() == 17));
        assert!(
            a.iter().all(|w| w.0.windows(2).all(|p| p[1] == p[0] + 1)),
            "windows are contiguous"
        );
        // Token i of the line (its value here) is at 16th (12 + i) mod 16 of its bar.
        assert!(a.iter().all(|(t, p)| t
            .iter()
            .zip(p)
            .all(|(t, p)| *p as usize == (12 + *t as usize) % 16)));
    }
}
