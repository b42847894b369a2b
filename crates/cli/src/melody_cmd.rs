//! `tidepool melody eval | probs | export-ngrams | export-quantized | metrics` and `tidepool
//! train melody`: the melody models from the command line (metrics in [`crate::melody_metrics`]).

use crate::args::Args;
use std::f64::consts::LN_2;
use tidepool_engine::Brain;
use tidepool_melody::lstm::{self, Lstm};
use tidepool_melody::{dataset, model_file, quant_file, tokens, NGram, VOCAB};

fn load(dir: &str, split: &str) -> Result<Vec<Vec<u8>>, String> {
    dataset::read_split(std::path::Path::new(dir), split)
}

fn load_model(path: &str) -> Result<Lstm, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    model_file::load(&bytes)
        .map(|(m, _)| m)
        .map_err(|e| format!("{path}: {e}"))
}

pub fn run(mut args: Args) -> Result<(), String> {
    match args.positional().as_deref() {
        Some("eval") => eval(args),
        Some("probs") => probs(args),
        Some("export-ngrams") => export_ngrams(args),
        Some("export-quantized") => export_quantized(args),
        Some("metrics") => crate::melody_metrics::run(args),
        other => Err(format!(
            "melody needs a subcommand (eval, probs, export-ngrams, export-quantized, metrics), \
             not {other:?}"
        )),
    }
}

/// Where the page and `tidepool render` find the n-gram model of `order`.
pub fn ngram_file(dir: &str, order: usize) -> String {
    format!("{dir}/melody-ngram-{order}.tpng")
}

/// Where the page and `tidepool render` find the quantized LSTM (`export-quantized`).
pub fn lstm_file(dir: &str) -> String {
    format!("{dir}/melody-lstm.tpq")
}

/// The melody model of `mel.model` choice `which` (0 the LSTM, 1–4 an n-gram order) from the
/// files in `dir` the page loads too; the error names the file and what is wrong with it.
pub fn load_brain(dir: &str, which: usize) -> Result<Brain, String> {
    type Loader = fn(&[u8]) -> Result<Brain, String>;
    let (path, load): (String, Loader) = match which {
        0 => (lstm_file(dir), Brain::lstm_from_tpq),
        1..=4 => (ngram_file(dir, which), Brain::ngram_from_bytes),
        _ => return Err(format!("melody model {which} has no model file")),
    };
    let bytes =
        std::fs::read(&path).map_err(|e| format!("cannot read the melody model {path}: {e}"))?;
    load(&bytes).map_err(|e| format!("{path}: {e}"))
}

/// Quantizes the LSTM of a safetensors model file and writes it in the `.tpq` format the page
/// hands to the engine (a test checks the committed file is exactly this).
fn export_quantized(mut args: Args) -> Result<(), String> {
    let model = args
        .value(&["--model"])?
        .unwrap_or_else(|| "web/models/melody-lstm.safetensors".into());
    let out = args
        .value(&["--out", "-o"])?
        .unwrap_or_else(|| lstm_file("web/models"));
    args.finish()?;
    let bytes = quant_file::write(&load_model(&model)?).map_err(|e| format!("{model}: {e}"))?;
    std::fs::write(&out, &bytes).map_err(|e| format!("cannot write {out}: {e}"))?;
    println!("wrote {out} ({} bytes) from {model}", bytes.len());
    Ok(())
}

/// Counts the n-gram models of orders 1–4 on the training split and writes them in the TPNG
/// format the page hands to the engine (a test checks the committed files are exactly these).
fn export_ngrams(mut args: Args) -> Result<(), String> {
    let data = args
        .value(&["--data"])?
        .unwrap_or_else(|| "data/chorales".into());
    let out = args
        .value(&["--out"])?
        .unwrap_or_else(|| "web/models".into());
    args.finish()?;
    let train = load(&data, "train")?;
    for order in 1..=4 {
        let bytes = NGram::train(&train, order).to_bytes();
        let path = ngram_file(&out, order);
        std::fs::write(&path, &bytes).map_err(|e| format!("cannot write {path}: {e}"))?;
        println!("wrote {path} ({} bytes)", bytes.len());
    }
    Ok(())
}

/// The next-token distribution after each token, as JSON (130 probabilities per token), the
/// first token on a downbeat.
fn probs(mut args: Args) -> Result<(), String> {
    let path = args
        .value(&["--model"])?
        .ok_or("probs needs --model FILE")?;
    let text = args
        .value(&["--tokens"])?
        .ok_or("probs needs --tokens \"60 129 …\"")?;
    args.finish()?;
    let tokens = tokens::parse(&text)?;
    let mut model = load_model(&path)?;
    let mut p = vec![0.0f32; VOCAB];
    let rows: Vec<String> = tokens
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            lstm::softmax(model.step(t, (i % 16) as u8), 1.0, &mut p);
            let cells: Vec<String> = p.iter().map(|v| format!("{v:e}")).collect();
            format!("[{}]", cells.join(","))
        })
        .collect();
    println!("[{}]", rows.join(",\n"));
    Ok(())
}

/// NLL per token of every n-gram order (the order is chosen on validation) and, with
/// `--model`, of the LSTM, on a split.
fn eval(mut args: Args) -> Result<(), String> {
    let model = args.value(&["--model"])?;
    let dir = args
        .value(&["--data"])?
        .unwrap_or_else(|| "data/chorales".into());
    let split = args.value(&["--split"])?.unwrap_or_else(|| "test".into());
    args.finish()?;
    let (train, valid, target) = (
        load(&dir, "train")?,
        load(&dir, "valid")?,
        load(&dir, &split)?,
    );
    let tokens: usize = target.iter().map(Vec::len).sum();
    println!("split {split}: {} lines, {tokens} tokens", target.len());
    println!(
        "| model | valid NLL (nats/token) | {split} NLL (nats/token) | {split} (bits/token) |"
    );
    println!("|---|---|---|---|");
    let (best, scores) = NGram::choose_order(&train, &valid);
    let best_nll = best.nll(&target);
    for (order, valid_nll) in scores {
        let chosen = order == best.order();
        let nll = if chosen {
            best_nll
        } else {
            NGram::train(&train, order).nll(&target)
        };
        let mark = if chosen { " (chosen on valid)" } else { "" };
        println!(
            "| n-gram order {order}{mark} | {valid_nll:.4} | {nll:.4} | {:.4} |",
            nll / LN_2
        );
    }
    if let Some(path) = model {
        let mut lstm = load_model(&path)?;
        let lines = |split: &str| dataset::read_lines(std::path::Path::new(&dir), split);
        let v = lstm::nll(&mut lstm, &lines("valid")?);
        let nll = lstm::nll(&mut lstm, &lines(&split)?);
        println!("| LSTM ({path}) | {v:.4} | {nll:.4} | {:.4} |", nll / LN_2);
        println!(
            "LSTM vs the best n-gram on {split}: {:.1}% lower NLL",
            100.0 * (1.0 - nll / best_nll)
        );
    }
    Ok(())
}

/// `tidepool train melody [--out FILE] [--epochs N] [--patience N] [--seed N] [--data DIR]
/// [--lr X] [--position 0|16] [--init MODEL]`.
#[cfg(feature = "train")]
pub fn train(mut args: Args) -> Result<(), String> {
    use std::io::Write;
    match args.positional().as_deref() {
        Some("melody") => {}
        other => return Err(format!("train needs a model name (melody), not {other:?}")),
    }
    let defaults = tidepool_train::TrainConfig::default();
    let config = tidepool_train::TrainConfig {
        data_dir: args
            .value(&["--data"])?
            .unwrap_or(defaults.data_dir.clone()),
        out: args
            .value(&["--out", "-o"])?
            .unwrap_or(defaults.out.clone()),
        max_epochs: args.parsed(&["--epochs"], defaults.max_epochs)?,
        patience: args.parsed(&["--patience"], defaults.patience)?,
        seed: args.parsed(&["--seed"], defaults.seed)?,
        learning_rate: args.parsed(&["--lr"], defaults.learning_rate)?,
        position: args.parsed(&["--position"], defaults.position)?,
        init: args.value(&["--init"])?,
        ..defaults
    };
    args.finish()?;
    let report = tidepool_train::train_melody(&config, |line| {
        eprint!("{line}");
        std::io::stderr().flush().ok();
    })?;
    println!(
        "best epoch {} of {}: validation NLL {:.4} nats/token; {:.0} s, {:.0} tokens/s; wrote {}",
        report.best_epoch,
        report.epochs.len(),
        report.best_valid_nll,
        report.seconds,
        report.tokens_per_second,
        config.out
    );
    Ok(())
}

#[cfg(not(feature = "train"))]
pub fn train(_args: Args) -> Result<(), String> {
    Err(
        "this tidepool was built without training (it needs candle): \
         cargo run --release -p tidepool-cli --features train -- train melody"
            .into(),
    )
}
