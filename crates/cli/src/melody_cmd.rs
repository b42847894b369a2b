//! `tidepool melody eval`: negative log-likelihood of the melody models on a chorale split.

use crate::args::Args;
use tidepool_melody::{dataset, NGram};

fn load(dir: &str, split: &str) -> Result<Vec<Vec<u8>>, String> {
    let path = format!("{dir}/{split}.tokens");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    Ok(dataset::parse(&text)
        .map_err(|e| format!("{path}: {e}"))?
        .into_iter()
        .map(|l| l.tokens)
        .collect())
}

pub fn run(mut args: Args) -> Result<(), String> {
    match args.positional().as_deref() {
        Some("eval") => eval(args),
        other => Err(format!("melody needs a subcommand (eval), not {other:?}")),
    }
}

fn eval(mut args: Args) -> Result<(), String> {
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
    println!("| model | valid NLL (nats) | {split} NLL (nats/token) | {split} (bits/token) |");
    println!("|---|---|---|---|");
    let (best, scores) = NGram::choose_order(&train, &valid);
    for (order, valid_nll) in scores {
        let nll = if order == best.order() {
            best.nll(&target)
        } else {
            NGram::train(&train, order).nll(&target)
        };
        let chosen = if order == best.order() {
            " (chosen on valid)"
        } else {
            ""
        };
        println!(
            "| n-gram order {order}{chosen} | {valid_nll:.4} | {nll:.4} | {:.4} |",
            nll / std::f64::consts::LN_2
        );
    }
    Ok(())
}

/// `tidepool train melody [--out FILE] [--epochs N] [--patience N] [--seed N] [--data DIR]`.
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
