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
