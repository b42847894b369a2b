//! `tidepool`: render patches to WAV and MIDI, trace reservoirs for conformance, benchmark.

mod args;
mod bench_esn;
mod esn_trace;
mod melody_cmd;
mod midi_file;
mod notes;
mod wav;

use args::Args;
use std::io::BufWriter;
use std::path::Path;
use std::time::Instant;
use tidepool_engine::{format_value, render::render_with, Brain, Engine, ParamId, Patch, PARAMS};
use tidepool_reservoir::Layout;

const HELP: &str = "tidepool — reservoir LFO and arpeggiator instrument

USAGE
  tidepool render [--patch TEXT|URL|FILE] [--notes \"C4 E4 G4\" | --score \"C4/90@0-2 E4@0.5-2\"]
                  [--seconds 10] [--sample-rate 48000] [--block 128] [-o out.wav] [--midi out.mid]
                  [--notes-json notes.json] [--models web/models]
      Renders the patch (default patch when --patch is omitted) with the notes held from the
      start to the end, or with timed notes (NOTE[/VELOCITY]@START-END in seconds), to a 32-bit
      float WAV and a standard MIDI file (and the notes as JSON [[frame, pitch, velocity], …]).
      Prints level, notes and anything the engine recovered from. A patch with the melody on
      plays it with the model files the page uses (mel.model: melody-lstm.safetensors or
      melody-ngram-N.tpng in --models).
  tidepool patch [TEXT|URL|FILE] [--reseed lfo|arp|all]
      Prints the patch in canonical form and what was wrong with it; --reseed picks new network
      seeds (a new random reservoir) and writes them into the patch.
  tidepool params                  Lists every parameter: key, range, default, unit.
  tidepool esn-trace CASE.json     Runs explicit ESN matrices; prints {\"states\", \"outputs\"} as JSON.
  tidepool melody eval [--split test] [--data data/chorales]
      Negative log-likelihood per token of the melody models on a chorale split.
  tidepool melody export-ngrams [--data data/chorales] [--out web/models]
      Counts the n-gram melody models (orders 1–4) and writes the files the page loads.
  tidepool train melody [--out web/models/melody-lstm.safetensors] [--epochs 40] [--patience 3] [--seed 1]
      Trains the melody LSTM on data/chorales (needs a build with --features train).
  tidepool bench-esn [--n 300] [--connectivity 0.1] [--steps 10000] [--layout auto|dense|sparse]
      Reservoir steps per second (1-D input, no feedback), as JSON.
";

fn main() {
    let mut args = Args::new(std::env::args().skip(1));
    let result = match args.positional().as_deref() {
        Some("render") => cmd_render(args),
        Some("patch") => cmd_patch(args),
        Some("params") => args.finish().map(|_| print_params()),
        Some("esn-trace") => cmd_esn_trace(args),
        Some("bench-esn") => cmd_bench_esn(args),
        Some("melody") => melody_cmd::run(args),
        Some("train") => melody_cmd::train(args),
        None | Some("help") => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{HELP}")),
    };
    if let Err(e) = result {
        eprintln!("tidepool: {e}");
        std::process::exit(2);
    }
}

/// Patch text from an argument: a file's contents when it names a file, else the text itself.
/// Installs the melody model the patch asks for, if it asks for one, from the files in `dir` the
/// page loads too (the LSTM model file, or the n-gram file of the order asked for).
fn install_melody(engine: &mut Engine, dir: &str) -> Result<(), String> {
    let Some(which) = engine.missing_melody_model() else {
        return Ok(());
    };
    type Loader = fn(&[u8]) -> Result<Brain, String>;
    let (path, load): (String, Loader) = if which == 0 {
        (
            format!("{dir}/melody-lstm.safetensors"),
            Brain::lstm_from_file,
        )
    } else {
        (melody_cmd::ngram_file(dir, which), Brain::ngram_from_bytes)
    };
    let bytes =
        std::fs::read(&path).map_err(|e| format!("cannot read the melody model {path}: {e}"))?;
    let brain = load(&bytes).map_err(|e| format!("{path}: {e}"))?;
    drop(engine.install_melody(brain));
    Ok(())
}

fn load_patch(arg: Option<String>) -> Result<Patch, String> {
    load_parsed(arg).map(|parsed| parsed.patch)
}

/// The patch (and MIDI learn bindings) of `arg`: patch text, a URL or a file; its problems are
/// reported on stderr.
fn load_parsed(arg: Option<String>) -> Result<tidepool_engine::Parsed, String> {
    let Some(arg) = arg else {
        return Ok(Patch::parse(""));
    };
    let text = if Path::new(&arg).is_file() {
        std::fs::read_to_string(&arg).map_err(|e| format!("cannot read patch file {arg}: {e}"))?
    } else {
        arg
    };
    let parsed = Patch::parse(&text);
    for e in &parsed.errors {
        eprintln!("patch: {e}");
    }
    if !parsed.errors.is_empty() {
        eprintln!("patch: the other fields were applied");
    }
    Ok(parsed)
}

fn cmd_render(mut args: Args) -> Result<(), String> {
    let patch = load_patch(args.value(&["--patch", "-p"])?)?;
    let seconds: f64 = args.parsed(&["--seconds", "-s"], 10.0)?;
    let sample_rate: f64 = args.parsed(&["--sample-rate"], 48000.0)?;
    let block: usize = args.parsed(&["--block"], 128)?;
    let wav = args.value(&["-o", "--out"])?;
    let midi = args.value(&["--midi"])?;
    let notes_json = args.value(&["--notes-json"])?;
    let held = args.value(&["--notes", "-n"])?;
    let timed = args.value(&["--score"])?;
    let models = args
        .value(&["--models"])?
        .unwrap_or_else(|| "web/models".into());
    args.finish()?;
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 3600.0) {
        return Err("--seconds must be between 0 and 3600".into());
    }
    if !(8000.0..=384_000.0).contains(&sample_rate) {
        return Err("--sample-rate must be between 8000 and 384000".into());
    }
    let frames = (seconds * sample_rate).round() as usize;
    let events = match (held, timed) {
        (Some(_), Some(_)) => return Err("give --notes or --score, not both".into()),
        (Some(spec), None) => notes::held(&spec, frames as u64)?,
        (None, Some(spec)) => notes::score(&spec, sample_rate)?,
        (None, None) => notes::held("C4 E4 G4", frames as u64)?,
    };
    let start = Instant::now();
    let mut engine = Engine::new(sample_rate, &patch);
    install_melody(&mut engine, &models)?;
    let out = render_with(&mut engine, &events, frames, block);
    let elapsed = start.elapsed().as_secs_f64();
    let peak = out
        .left
        .iter()
        .chain(&out.right)
        .fold(0.0f32, |m, v| m.max(v.abs()));
    let rms = (out
        .left
        .iter()
        .chain(&out.right)
        .map(|v| (*v as f64).powi(2))
        .sum::<f64>()
        / (2 * frames) as f64)
        .sqrt();
    let db = |v: f64| {
        if v > 0.0 {
            20.0 * v.log10()
        } else {
            f64::NEG_INFINITY
        }
    };
    let ons: Vec<_> = out.notes.iter().filter(|n| n.velocity > 0).collect();
    println!(
        "rendered {seconds} s at {sample_rate} Hz in {elapsed:.3} s ({:.0}x real time)",
        seconds / elapsed
    );
    println!("peak {:.2} dBFS, rms {:.2} dBFS", db(peak as f64), db(rms));
    let first: Vec<String> = ons.iter().take(16).map(|n| n.pitch.to_string()).collect();
    println!("{} notes played; first: {}", ons.len(), first.join(" "));
    let st = out.status;
    let recovered = [
        (
            st.lfo_nan_resets,
            "LFO reservoir went non-finite and was reset",
        ),
        (
            st.arp_nan_resets,
            "arpeggiator reservoir went non-finite and was reset",
        ),
        (st.synth_non_finite, "non-finite synth frames were silenced"),
        (st.dropped_inputs, "input events were dropped (queue full)"),
        (st.dropped_notes, "note events were dropped (queue full)"),
    ];
    for (count, what) in recovered.iter().filter(|(c, _)| *c > 0) {
        println!("warning: {count} times: {what}; playing went on");
    }
    if st.voices_stolen > 0 {
        println!(
            "{} voices stolen (more notes than voices)",
            st.voices_stolen
        );
    }
    if let Some(path) = wav {
        let file = std::fs::File::create(&path).map_err(|e| format!("cannot write {path}: {e}"))?;
        wav::write_wav(
            BufWriter::new(file),
            sample_rate as u32,
            &out.left,
            &out.right,
        )
        .map_err(|e| e.to_string())?;
        println!("wrote {path}");
    }
    if let Some(path) = midi {
        let file = std::fs::File::create(&path).map_err(|e| format!("cannot write {path}: {e}"))?;
        let bpm = patch.values.get(ParamId::Tempo);
        midi_file::write_midi(BufWriter::new(file), &out.notes, sample_rate, bpm)
            .map_err(|e| e.to_string())?;
        println!("wrote {path}");
    }
    if let Some(path) = notes_json {
        let rows: Vec<String> = out
            .notes
            .iter()
            .map(|n| format!("[{},{},{}]", n.frame, n.pitch, n.velocity))
            .collect();
        std::fs::write(&path, format!("[{}]\n", rows.join(",")))
            .map_err(|e| format!("cannot write {path}: {e}"))?;
        println!("wrote {path}");
    }
    Ok(())
}

fn cmd_patch(mut args: Args) -> Result<(), String> {
    let reseed = args.value(&["--reseed"])?;
    let mut parsed = load_parsed(args.positional())?;
    args.finish()?;
    let targets: &[ParamId] = match reseed.as_deref() {
        None => &[],
        Some("lfo") => &[ParamId::LfoSeed],
        Some("arp") => &[ParamId::ArpSeed],
        Some("all") => &[ParamId::LfoSeed, ParamId::ArpSeed],
        Some(other) => return Err(format!("--reseed takes lfo, arp or all, not `{other}`")),
    };
    for &id in targets {
        parsed.patch.values.set(id, fresh_seed() as f64);
    }
    // The bindings are canonicalised with the parameters: a link's text, whole.
    println!("{}", parsed.text());
    Ok(())
}

/// A new seed from the OS's randomness (std's hasher keys are seeded from it): "reseed" asks
/// for a network nobody has heard yet, and the patch then records it, so the sound is shareable.
fn fresh_seed() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish() as u32
}

fn print_params() {
    println!("| key | name | range | default | unit |");
    println!("|---|---|---|---|---|");
    for (i, p) in PARAMS.iter().enumerate() {
        let id = ParamId::from_index(i).expect("table index");
        let range = match p.kind {
            tidepool_engine::params::Kind::Choice(names) => names.join(" / "),
            _ => format!("{} – {}", p.min(), p.max()),
        };
        println!(
            "| `{}` | {} | {} | {} | {} |",
            p.key,
            p.name,
            range,
            format_value(id, p.default),
            p.unit
        );
    }
}

fn cmd_esn_trace(mut args: Args) -> Result<(), String> {
    let path = args.positional().ok_or("esn-trace needs a case file")?;
    args.finish()?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let case: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{path} is not JSON: {e}"))?;
    let out = esn_trace::trace(&case).map_err(|e| format!("{path}: {e}"))?;
    println!("{out}");
    Ok(())
}

fn cmd_bench_esn(mut args: Args) -> Result<(), String> {
    let n: usize = args.parsed(&["--n"], 300)?;
    let connectivity: f32 = args.parsed(&["--connectivity"], 0.1)?;
    let steps: usize = args.parsed(&["--steps"], 10_000)?;
    let layout = match args.value(&["--layout"])?.as_deref() {
        None | Some("auto") => None,
        Some("dense") => Some(Layout::Dense),
        Some("sparse") => Some(Layout::Sparse),
        Some(other) => {
            return Err(format!(
                "--layout must be auto, dense or sparse, not `{other}`"
            ))
        }
    };
    args.finish()?;
    let rate = bench_esn::steps_per_second(n, connectivity, steps, layout, 3);
    println!(
        "{{\"impl\":\"tidepool-native\",\"n\":{n},\"connectivity\":{connectivity},\"steps\":{steps},\"layout\":\"{}\",\"steps_per_sec\":{rate:.0}}}",
        match layout {
            None => "auto",
            Some(Layout::Dense) => "dense",
            Some(Layout::Sparse) => "sparse",
        }
    );
    Ok(())
}
