//! `tidepool rhythm onsets | dataset | train | decode | encode`: the rhythm sequencer's data
//! pipeline and models from the command line (the same Rust code the page runs).

use crate::args::Args;
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};
use tidepool_rhythm::arch::Arch;
use tidepool_rhythm::audio_file::read_wav;
use tidepool_rhythm::audio_windows::{rhythms_from_audio, LoopSpec};
use tidepool_rhythm::dataset::{Dataset, SourceOptions, MAX_FILE_BYTES};
use tidepool_rhythm::decoder::{Decoded, Decoder};
use tidepool_rhythm::midi_windows::NoteFilter;
use tidepool_rhythm::model::Autoencoder;
use tidepool_rhythm::train::{TrainConfig, Trainer};
use tidepool_rhythm::{model_file, Rhythm, STEPS};

/// The built-in corpus (`tools/rhythm/corpus.py`), compiled in so `--data builtin` works from
/// any directory.
const BUILTIN: &str = include_str!("../../../data/rhythm/builtin.json");

pub fn run(mut args: Args) -> Result<(), String> {
    match args.positional().as_deref() {
        Some("onsets") => onsets(args),
        Some("dataset") => dataset(args),
        Some("train") => train(args),
        Some("decode") => decode(args),
        Some("encode") => encode(args),
        Some("compact") => compact(args),
        other => Err(format!(
            "rhythm needs a subcommand (onsets, dataset, train, decode, encode, compact), not \
             {other:?}"
        )),
    }
}

/// A file's bytes, refused before reading when it is over the data set's size limit.
fn read_file(path: &str) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    if meta.len() > MAX_FILE_BYTES as u64 {
        return Err(format!(
            "{path}: {} bytes is over the limit of {} MiB",
            meta.len(),
            MAX_FILE_BYTES >> 20
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
}

fn loop_spec(args: &mut Args) -> Result<LoopSpec, String> {
    let bars: Option<f64> = args
        .value(&["--bars"])?
        .map(|v| {
            v.parse()
                .map_err(|_| format!("--bars: `{v}` is not a number"))
        })
        .transpose()?;
    let bpm: Option<f64> = args
        .value(&["--bpm"])?
        .map(|v| {
            v.parse()
                .map_err(|_| format!("--bpm: `{v}` is not a number"))
        })
        .transpose()?;
    Ok(LoopSpec {
        bars,
        bpm,
        ..LoopSpec::default()
    })
}

/// Rounds for printing: six decimals say all a 0..1 probability or a latent coordinate needs.
fn num(x: f32) -> Value {
    json!((x as f64 * 1e6).round() / 1e6)
}

/// `onsets FILE [--bars 2] [--bpm B]`: onset times and strengths, and the first window's
/// pattern and velocities, as JSON.
fn onsets(mut args: Args) -> Result<(), String> {
    let spec = loop_spec(&mut args)?;
    let path = args.positional().ok_or("onsets needs a WAV file")?;
    args.finish()?;
    let bytes = read_file(&path)?;
    let audio = read_wav(&bytes).map_err(|e| format!("{path}: {e}"))?;
    let found = rhythms_from_audio(&audio.samples, audio.sample_rate as f32, &spec)
        .map_err(|e| format!("{path}: {e}"))?;
    let first = found.rhythms.first().cloned().unwrap_or_default();
    let out = json!({
        "onsets_s": found.onsets.times_s.iter().map(|&t| json!((t * 1e6).round() / 1e6)).collect::<Vec<_>>(),
        "strength": found.onsets.strength.iter().map(|&s| num(s)).collect::<Vec<_>>(),
        "pattern": first.hits.map(u8::from),
        "velocity": first.velocity,
    });
    println!("{out}");
    Ok(())
}

/// `--channel 10` (1..=16, as MIDI devices number them) and `--pitches 36-51`.
fn note_filter(args: &mut Args) -> Result<NoteFilter, String> {
    let mut f = NoteFilter::default();
    if let Some(c) = args.value(&["--channel"])? {
        match c.parse::<u8>() {
            Ok(n @ 1..=16) => f.channel = Some(n - 1),
            _ => return Err(format!("--channel takes 1..16, not `{c}`")),
        }
    }
    if let Some(range) = args.value(&["--pitches"])? {
        let parsed = range
            .split_once('-')
            .and_then(|(a, b)| Some((a.trim().parse::<u8>().ok()?, b.trim().parse::<u8>().ok()?)));
        match parsed {
            Some((lo, hi)) if lo <= hi && hi <= 127 => (f.pitch_min, f.pitch_max) = (lo, hi),
            _ => return Err(format!("--pitches takes LOW-HIGH in 0..127, not `{range}`")),
        }
    }
    Ok(f)
}

/// A switch given as `--name on` or `--name off`.
fn on_off(args: &mut Args, name: &str, default: bool) -> Result<bool, String> {
    match args.value(&[name])?.as_deref() {
        None => Ok(default),
        Some("on") => Ok(true),
        Some("off") => Ok(false),
        Some(other) => Err(format!("{name} takes on or off, not `{other}`")),
    }
}

/// `dataset FILES… -o rhythms.json`: every file's rhythms, the refused ones named on stderr
/// (and in the file). Fails only when no file gave a rhythm.
fn dataset(mut args: Args) -> Result<(), String> {
    let out = args
        .value(&["-o", "--out"])?
        .ok_or("dataset needs -o FILE")?;
    let options = SourceOptions {
        loop_spec: loop_spec(&mut args)?,
        notes: note_filter(&mut args)?,
    };
    let dedup = on_off(&mut args, "--dedup", false)?;
    let mut files = Vec::new();
    while let Some(word) = args.positional() {
        files.push(word);
    }
    args.finish()?;
    if files.is_empty() {
        return Err("dataset needs at least one file".into());
    }
    let mut set = Dataset::new();
    for path in &files {
        match read_file(path) {
            Ok(bytes) => {
                set.add_file(path, &bytes, &options);
            }
            Err(reason) => set.refused.push(tidepool_rhythm::dataset::Refused {
                file: path.clone(),
                reason,
            }),
        }
    }
    let removed = if dedup { set.dedup() } else { 0 };
    for r in &set.refused {
        eprintln!("refused {}: {}", r.file, r.reason);
    }
    if set.entries.is_empty() {
        return Err(format!("no rhythm in any of the {} files", files.len()));
    }
    std::fs::write(&out, set.to_json()).map_err(|e| format!("cannot write {out}: {e}"))?;
    let dup = if dedup {
        format!(", {removed} duplicates removed")
    } else {
        String::new()
    };
    eprintln!(
        "{} rhythms from {} of {} files{dup} -> {out}",
        set.entries.len(),
        files.len() - set.refused.len(),
        files.len()
    );
    Ok(())
}

fn load_dataset(which: &str) -> Result<Vec<Rhythm>, String> {
    let set = if which == "builtin" {
        Dataset::from_json(BUILTIN).map_err(|e| format!("the built-in corpus: {e}"))?
    } else {
        let text =
            std::fs::read_to_string(which).map_err(|e| format!("cannot read {which}: {e}"))?;
        Dataset::from_json(&text).map_err(|e| format!("{which}: {e}"))?
    };
    Ok(set.rhythms())
}

/// `train --data rhythms.json|builtin --arch … [--epochs 500] [--seed 1] -o model.safetensors`.
fn train(mut args: Args) -> Result<(), String> {
    let data = args
        .value(&["--data"])?
        .ok_or("train needs --data FILE (or --data builtin)")?;
    let out = args.value(&["-o", "--out"])?.ok_or("train needs -o FILE")?;
    let defaults = TrainConfig::default();
    let arch = match args.value(&["--arch"])? {
        Some(name) => Arch::from_name(&name)?,
        None => defaults.arch,
    };
    let config = TrainConfig {
        arch,
        epochs: args.parsed(&["--epochs"], defaults.epochs)?,
        batch: args.parsed(&["--batch"], defaults.batch)?,
        learning_rate: args.parsed(&["--learning-rate"], defaults.learning_rate)?,
        seed: args.parsed(&["--seed"], defaults.seed)?,
        velocity_head: on_off(&mut args, "--velocity-head", defaults.velocity_head)?,
    };
    args.finish()?;
    if config.epochs == 0 || config.batch == 0 {
        return Err("--epochs and --batch must be at least 1".into());
    }
    let rhythms = load_dataset(&data)?;
    let mut trainer = Trainer::new(&rhythms, &config)?;
    let started = std::time::Instant::now();
    let tty = std::io::stderr().is_terminal();
    let mut err = std::io::stderr().lock();
    for e in 1..=config.epochs {
        let loss = trainer.epoch();
        if !loss.is_finite() {
            return Err(format!("the loss became {loss} at epoch {e}"));
        }
        // On a terminal a bar redrawn in place; in a log, one line per epoch.
        if tty {
            let done = e * 30 / config.epochs;
            let _ = write!(
                err,
                "\r[{}{}] epoch {e}/{} loss {loss:.5}",
                "#".repeat(done),
                ".".repeat(30 - done),
                config.epochs
            );
        } else {
            let _ = writeln!(err, "epoch {e}/{} loss {loss:.6}", config.epochs);
        }
    }
    if tty {
        let _ = writeln!(err);
    }
    drop(err);
    let model = trainer.model();
    let bytes = model_file::write(&model);
    std::fs::write(&out, &bytes).map_err(|e| format!("cannot write {out}: {e}"))?;
    // How well the model gives its training rhythms back, thresholded at 0.5 as the page does.
    let (mut exact, mut steps_right) = (0usize, 0usize);
    for r in &rhythms {
        let d = model.reconstruct(r);
        let right = (0..STEPS)
            .filter(|&s| (d.prob[s] >= 0.5) == r.hits[s])
            .count();
        steps_right += right;
        exact += usize::from(right == STEPS);
    }
    let n = rhythms.len() as f64;
    eprintln!(
        "{} on {} rhythms, {} epochs in {:.2} s, final loss {:.5}; reconstructed at threshold 0.5: {exact} exactly ({:.1} %), {:.1} % of steps -> {out}",
        config.arch.name(),
        rhythms.len(),
        config.epochs,
        started.elapsed().as_secs_f64(),
        trainer.last_loss(),
        100.0 * exact as f64 / n,
        100.0 * steps_right as f64 / (n * STEPS as f64)
    );
    Ok(())
}

fn load_model(path: &str) -> Result<Autoencoder, String> {
    let bytes = read_file(path)?;
    model_file::read(&bytes).map_err(|e| format!("{path}: {e}"))
}

/// The decoder of a model file, or of a compact decoder file (`.tprd`, the page's built-ins).
fn load_decoder(path: &str) -> Result<Decoder, String> {
    let bytes = read_file(path)?;
    match model_file::read(&bytes) {
        Ok(model) => Ok(model.decoder()),
        Err(e) => Decoder::from_compact(&bytes).map_err(|_| format!("{path}: {e}")),
    }
}

/// `compact --model FILE -o OUT.tprd`: the model's decoder in the compact quantised form a link
/// embeds (`rhN.model=~<text>`) and the page's built-ins are shipped in; prints its sizes, how
/// far the quantised decoder's probabilities are from the model's over the pad (±10 on a 0.5
/// grid), and the share of steps whose hit at threshold 0.5 changes.
fn compact(mut args: Args) -> Result<(), String> {
    let path = args
        .value(&["--model"])?
        .ok_or("compact needs --model FILE")?;
    let out = args
        .value(&["-o", "--out"])?
        .ok_or("compact needs -o FILE")?;
    args.finish()?;
    let decoder = load_decoder(&path)?;
    let bytes = decoder.to_compact();
    let quantised = Decoder::from_compact(&bytes)?;
    // The largest probability difference on a grid over -10..10 (the pad's range).
    let (mut a, mut b) = (Decoded::default(), Decoded::default());
    let (mut worst, mut flipped, mut steps) = (0.0f32, 0u32, 0u32);
    for i in 0..=40 {
        for j in 0..=40 {
            let xy = [i as f32 / 2.0 - 10.0, j as f32 / 2.0 - 10.0];
            decoder.decode(xy, &mut a);
            quantised.decode(xy, &mut b);
            for (p, q) in a.prob.iter().zip(&b.prob) {
                worst = worst.max((p - q).abs());
                flipped += u32::from((*p >= 0.5) != (*q >= 0.5));
                steps += 1;
            }
        }
    }
    std::fs::write(&out, &bytes).map_err(|e| format!("cannot write {out}: {e}"))?;
    let report = json!({
        "bytes": bytes.len(),
        "link_chars": decoder.to_text().len(),
        "max_probability_change": worst,
        "hits_changed": f64::from(flipped) / f64::from(steps),
    });
    println!("{report}");
    Ok(())
}

/// `decode --model FILE --xy X,Y [--threshold 0.5]`: probabilities, hits, velocities.
fn decode(mut args: Args) -> Result<(), String> {
    let path = args
        .value(&["--model"])?
        .ok_or("decode needs --model FILE")?;
    let xy = args.value(&["--xy"])?.ok_or("decode needs --xy X,Y")?;
    let threshold: f32 = args.parsed(&["--threshold"], 0.5)?;
    args.finish()?;
    let point = xy
        .split_once(',')
        .and_then(|(x, y)| Some([x.trim().parse::<f32>().ok()?, y.trim().parse::<f32>().ok()?]))
        .filter(|p| p.iter().all(|v| v.is_finite()))
        .ok_or_else(|| format!("--xy takes two numbers X,Y, not `{xy}`"))?;
    if !(0.0..=1.0).contains(&threshold) {
        return Err(format!("--threshold takes 0..1, not {threshold}"));
    }
    let decoder = load_decoder(&path)?;
    let mut d = Decoded::default();
    decoder.decode(point, &mut d);
    // As the engine plays them: a hit where the probability reaches the threshold, its
    // velocity the model's output scaled to 1..127.
    let hits: Vec<u8> = d.prob.iter().map(|&p| u8::from(p >= threshold)).collect();
    let velocity: Vec<u8> = (0..STEPS)
        .map(|s| {
            if hits[s] == 1 {
                1 + (d.velocity[s].clamp(0.0, 1.0) * 126.0).round() as u8
            } else {
                0
            }
        })
        .collect();
    let out = json!({
        "xy": [num(point[0]), num(point[1])],
        "threshold": num(threshold),
        "probabilities": d.prob.iter().map(|&p| num(p)).collect::<Vec<_>>(),
        "hits": hits,
        "velocity": velocity,
    });
    println!("{out}");
    Ok(())
}

/// `encode --model FILE --pattern "1000…"`: the rhythm's point in the latent plane.
fn encode(mut args: Args) -> Result<(), String> {
    let path = args
        .value(&["--model"])?
        .ok_or("encode needs --model FILE")?;
    let pattern = args
        .value(&["--pattern"])?
        .ok_or("encode needs --pattern \"1000…\" (32 steps of 0/1)")?;
    args.finish()?;
    let rhythm = Rhythm::parse_pattern(&pattern)?;
    let model = load_model(&path)?;
    let xy = model.encode(&rhythm);
    println!(
        "{}",
        json!({"pattern": rhythm.pattern_string(), "xy": [num(xy[0]), num(xy[1])]})
    );
    Ok(())
}
