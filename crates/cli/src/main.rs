//! `tidepool`: render patches to WAV and MIDI, trace reservoirs for conformance, benchmark.

mod args;
mod bench_esn;
mod esn_trace;
mod lfo_shapes;
mod melody_cmd;
mod melody_metrics;
mod notes;
mod render_cmd;
mod rhythm_cmd;

use args::Args;
use std::path::Path;
use tidepool_engine::{format_value, Engine, ParamId, Patch, PARAMS};
use tidepool_reservoir::Layout;

const HELP: &str = "tidepool — reservoir LFO and arpeggiator instrument

USAGE
  tidepool render [--patch TEXT|URL|FILE] [--notes \"C4 E4 G4\" | --score \"C4/90@0-2 E4@0.5-2\"]
                  [--seconds 10] [--sample-rate 48000] [--block 128] [-o out.wav] [--midi out.mid]
                  [--notes-json notes.json] [--models web/models] [--tempo-map \"0:120 8.5:140\"]
                  [--melody-file my.safetensors]
  tidepool render --performance perf.json [-o out.wav] [--midi out.mid] [--tempo-map …]
      Renders the patch (default patch when --patch is omitted) with the notes held from the
      start to the end, or with timed notes (NOTE[/VELOCITY]@START-END in seconds), to a 32-bit
      float WAV and a standard MIDI file (and the notes as JSON [[frame, pitch, velocity], …]).
      Prints level, notes and anything the engine recovered from. A patch with the melody on
      plays it with the model files the page uses (mel.model: melody-lstm.tpq or
      melody-ngram-N.tpng in --models; mel.model=file: the musician's model, --melody-file).
      --performance renders a recording from the page (its patch, sample rate, length and
      inputs; the page's own render is bit-identical). The MIDI
      file has a tempo track and one track per source, every note closed. --tempo-map puts a
      tempo change at each SECONDS:BPM in place of the other tempo changes (clock following
      off: a clock-followed recording is re-rendered at the tempi given).
  tidepool patch [TEXT|URL|FILE] [--reseed lfo|arp|all]
      Prints the patch in canonical form and what was wrong with it; --reseed picks new network
      seeds (a new random reservoir) and writes them into the patch.
  tidepool params                  Lists every parameter: key, range, default, unit.
  tidepool esn-trace CASE.json     Runs explicit ESN matrices; prints {\"states\", \"outputs\"} as JSON.
  tidepool melody eval [--split test] [--data data/chorales]
      Negative log-likelihood per token of the melody models on a chorale split.
  tidepool melody export-ngrams [--data data/chorales] [--out web/models]
      Counts the n-gram melody models (orders 1–4) and writes the files the page loads.
  tidepool melody export-quantized [--model web/models/melody-lstm.safetensors] [-o web/models/melody-lstm.tpq]
      Quantizes the melody LSTM and writes the file the page and render load (i8 weights, .tpq).
  tidepool melody metrics [--models lstm,ngram1,…] [--temperatures 0.5,1,1.5] [--seeds 32] [--bars 32]
                         [--data data/chorales] [--split test] [--model-dir web/models]
  tidepool melody metrics --tokens FILE [--bar 16] [--phase 0]
      Melody metrics (pitch-class entropy, steps, range, density, onsets on the beat, onset
      variance, share in key, longest repeated figure, spiral-array tension) of the corpus split
      and of free lines each model plays per temperature, as markdown tables with each model's
      gap to the corpus; or of a token file (chorale lines or bare token lines, in 4/4 unless
      --bar/--phase say otherwise).
  tidepool train melody [--out web/models/melody-lstm.safetensors] [--epochs 40] [--patience 3] [--seed 1]
      Trains the melody LSTM on data/chorales (needs a build with --features train).
  tidepool rhythm onsets FILE.wav [--bars 2] [--bpm B]
      Onsets of an audio loop (librosa's onset_detect, reimplemented) as JSON: {\"onsets_s\", \"strength\",
      \"pattern\", \"velocity\"}; pattern and velocity are the first 2-bar window's 32 sixteenths. A
      file is one 2-bar loop unless --bars (bars in the file) or --bpm says otherwise.
  tidepool rhythm dataset FILES… -o rhythms.json [--bars N] [--bpm B] [--channel 1-16]
                          [--pitches LOW-HIGH] [--dedup on]
      Turns WAV loops and MIDI files (type 0/1; every 2-bar window on the bar lines) into training
      rhythms; names each refused file and why (not WAV/MIDI, silent, shorter than a bar, no notes,
      over 64 MiB).
  tidepool rhythm train --data rhythms.json|builtin [--arch prototype|model1|model2|model3]
                        [--epochs 500] [--seed 1] [--batch 32] [--learning-rate 0.001]
                        [--velocity-head on|off] -o model.safetensors
      Trains a stacked autoencoder (loss per epoch on stderr) and writes its model file; builtin is
      the corpus in data/rhythm/builtin.json.
  tidepool rhythm decode --model FILE --xy X,Y [--threshold 0.5]
      The decoder at a latent point as JSON: 32 probabilities, hits and velocities (1–127 at hits).
  tidepool rhythm encode --model FILE --pattern \"1000100010001000…\"
      The latent point (X, Y) of a 32-step pattern, as JSON.
  tidepool lfo-shapes [--candidates 3000] [--refine 400] [--seed 1]
                      [--presets web/presets/factory.json | --patch TEXT|URL|FILE]
      Searches LFO settings whose output matches a sine, triangle, saw and square (ReMi Fig. 1)
      and prints each shape's error; --presets measures the presets that name a shape instead,
      --patch one patch against all four shapes.
  tidepool bench-esn [--n 300] [--connectivity 0.1] [--steps 10000] [--layout auto|dense|sparse]
      Reservoir steps per second (1-D input, no feedback), as JSON.
";

fn main() {
    let mut args = Args::new(std::env::args().skip(1));
    let result = match args.positional().as_deref() {
        Some("render") => render_cmd::run(args),
        Some("patch") => cmd_patch(args),
        Some("params") => args.finish().map(|_| print_params()),
        Some("esn-trace") => cmd_esn_trace(args),
        Some("bench-esn") => cmd_bench_esn(args),
        Some("lfo-shapes") => cmd_lfo_shapes(args),
        Some("melody") => melody_cmd::run(args),
        Some("train") => melody_cmd::train(args),
        Some("rhythm") => rhythm_cmd::run(args),
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
/// page loads too (the LSTM model file, or the n-gram file of the order asked for), or, for
/// `mel.model=file`, the musician's model file `melody_file` (a .safetensors, required then).
fn install_melody(engine: &mut Engine, dir: &str, melody_file: Option<&str>) -> Result<(), String> {
    let Some(which) = engine.missing_melody_model() else {
        return Ok(());
    };
    if which == tidepool_engine::MELODY_FILE_MODEL {
        let path = melody_file.ok_or(
            "the patch plays the musician's own model (mel.model=file): give its .safetensors with \
             --melody-file",
        )?;
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        let (model, _) =
            tidepool_melody::model_file::load(&bytes).map_err(|e| format!("{path}: {e}"))?;
        let tpq = tidepool_melody::quant_file::write(&model).map_err(|e| format!("{path}: {e}"))?;
        drop(engine.install_melody_file(tidepool_engine::Brain::lstm_from_tpq(&tpq)?));
        return Ok(());
    }
    drop(engine.install_melody(melody_cmd::load_brain(dir, which)?));
    Ok(())
}

/// Installs the built-in rhythm models the patch's tracks refer to from the files in `dir` the
/// page loads too (`rhythm-<name>.tprd`, compact decoders).
fn install_rhythm(engine: &mut Engine, dir: &str) -> Result<(), String> {
    let missing: Vec<&str> = engine.missing_rhythm_models().collect();
    for name in missing {
        let path = format!("{dir}/rhythm-{name}.tprd");
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("cannot read the rhythm model {path}: {e}"))?;
        let decoder = tidepool_rhythm::decoder::Decoder::from_compact(&bytes)
            .map_err(|e| format!("{path}: {e}"))?;
        drop(engine.install_rhythm_builtin(name, decoder)?);
    }
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

fn cmd_lfo_shapes(mut args: Args) -> Result<(), String> {
    use lfo_shapes::{measure, row, search, Shape, TABLE_HEAD};
    let presets = args.value(&["--presets"])?;
    let one = args.value(&["--patch"])?;
    let candidates: usize = args.parsed(&["--candidates"], 3000)?;
    let refine: usize = args.parsed(&["--refine"], 400)?;
    let seed: u64 = args.parsed(&["--seed"], 1)?;
    args.finish()?;
    println!("{TABLE_HEAD}");
    if let Some(text) = one {
        let patch = load_patch(Some(text))?;
        for shape in Shape::ALL {
            println!("{}", row(shape, &measure(&patch, shape), "--patch"));
        }
        return Ok(());
    }
    if let Some(path) = presets {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let bank: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
        for p in bank["presets"].as_array().ok_or("no \"presets\" list")? {
            let Some(shape) = p["shape"].as_str() else {
                continue;
            };
            let shape = Shape::from_label(shape).ok_or(format!("unknown shape `{shape}`"))?;
            let patch = Patch::parse(p["patch"].as_str().unwrap_or_default()).patch;
            let name = p["name"].as_str().unwrap_or_default();
            println!("{}", row(shape, &measure(&patch, shape), name));
        }
        return Ok(());
    }
    for found in search(candidates, refine, seed, |line| eprintln!("{line}")) {
        println!(
            "{}",
            row(found.shape, &found.fit, &found.candidate.fields())
        );
    }
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
