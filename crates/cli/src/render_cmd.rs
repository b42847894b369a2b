//! `tidepool render`: a patch with held or timed notes, or a recorded performance, to a WAV file,
//! a standard MIDI file and the notes as JSON, optionally re-timed by a tempo map.

use crate::args::Args;
use crate::{install_melody, install_rhythm, load_patch, notes};
use std::time::Instant;
use tidepool_engine::performance::Performance;
use tidepool_engine::render::Renderer;
use tidepool_engine::smf::{self, TempoMap};
use tidepool_engine::{wav, Engine, Input, InputEvent, ParamId, Patch};

/// What to render: the engine's start and its inputs.
struct Job {
    patch: Patch,
    sample_rate: f64,
    frames: usize,
    events: Vec<InputEvent>,
}

pub fn run(mut args: Args) -> Result<(), String> {
    let performance = args.value(&["--performance"])?;
    let patch = args.value(&["--patch", "-p"])?;
    let seconds = args.value(&["--seconds", "-s"])?;
    let sample_rate = args.value(&["--sample-rate"])?;
    let block: usize = args.parsed(&["--block"], 128)?;
    let wav_path = args.value(&["-o", "--out"])?;
    let midi_path = args.value(&["--midi"])?;
    let notes_json = args.value(&["--notes-json"])?;
    let held = args.value(&["--notes", "-n"])?;
    let timed = args.value(&["--score"])?;
    let tempo_map = args.value(&["--tempo-map"])?;
    let models = args
        .value(&["--models"])?
        .unwrap_or_else(|| "web/models".into());
    let melody_file = args.value(&["--melody-file"])?;
    args.finish()?;
    let mut job = match performance {
        Some(path) => {
            let given = [
                ("--patch", patch.is_some()),
                ("--seconds", seconds.is_some()),
                ("--sample-rate", sample_rate.is_some()),
                ("--notes", held.is_some()),
                ("--score", timed.is_some()),
            ];
            if let Some((flag, _)) = given.iter().find(|(_, g)| *g) {
                return Err(format!(
                    "{flag} cannot be given with --performance: the performance file holds the \
                     patch, the sample rate, the length and everything played"
                ));
            }
            read_performance(&path)?
        }
        None => {
            let number = |v: Option<String>, flag: &str, default: f64| {
                v.map_or(Ok(default), |v| {
                    v.parse::<f64>()
                        .map_err(|_| format!("{flag}: `{v}` is not a valid value"))
                })
            };
            let seconds = number(seconds, "--seconds", 10.0)?;
            let sample_rate = number(sample_rate, "--sample-rate", 48000.0)?;
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
            Job {
                patch: load_patch(patch)?,
                sample_rate,
                frames,
                events,
            }
        }
    };
    if let Some(map) = tempo_map {
        println!("{}", retime(&mut job, &map)?);
    }
    let Job {
        patch,
        sample_rate,
        frames,
        events,
    } = job;
    let seconds = frames as f64 / sample_rate;
    let start = Instant::now();
    let mut engine = Engine::new(sample_rate, &patch);
    install_melody(&mut engine, &models, melody_file.as_deref())?;
    install_rhythm(&mut engine, &models)?;
    let mut renderer = Renderer::new(&engine, &events, frames, block);
    renderer.run(&mut engine, frames);
    let out = renderer.finish(&engine);
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
        / (2 * frames.max(1)) as f64)
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
    let write = |path: &str, bytes: &[u8]| {
        std::fs::write(path, bytes).map_err(|e| format!("cannot write {path}: {e}"))?;
        println!("wrote {path}");
        Ok::<(), String>(())
    };
    if let Some(path) = wav_path {
        write(
            &path,
            &wav::wav_bytes(sample_rate as u32, &out.left, &out.right),
        )?;
    }
    if let Some(path) = midi_path {
        let tempo = TempoMap::of_render(sample_rate, &patch.values, &events);
        write(&path, &smf::write(&out.notes, &tempo, frames as u64))?;
    }
    if let Some(path) = notes_json {
        let rows: Vec<String> = out
            .notes
            .iter()
            .map(|n| format!("[{},{},{}]", n.frame, n.pitch, n.velocity))
            .collect();
        write(&path, format!("[{}]\n", rows.join(",")).as_bytes())?;
    }
    Ok(())
}

/// A performance file as a job; its skipped events and patch errors are reported on stderr.
fn read_performance(path: &str) -> Result<Job, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read performance {path}: {e}"))?;
    let read = Performance::parse(&text).map_err(|e| format!("{path}: {e}"))?;
    for e in &read.errors {
        eprintln!("performance: {e}");
    }
    let p = read.performance;
    let parsed = Patch::parse(&p.patch);
    for e in &parsed.errors {
        eprintln!("performance patch: {e}");
    }
    Ok(Job {
        patch: parsed.patch,
        sample_rate: p.sample_rate,
        frames: usize::try_from(p.frames).map_err(|_| format!("{path}: too long"))?,
        events: p.events,
    })
}

/// Plays `job` on the tempo map `spec` ("SECONDS:BPM …"): a tempo change at each time, in place
/// of the tempo changes it had. An external clock would override the map, so clock following is
/// turned off and the recorded clock messages are left out. Says what it left out.
fn retime(job: &mut Job, spec: &str) -> Result<String, String> {
    let changes = tempo_map(spec, job.sample_rate, job.frames as u64)?;
    let before = job.events.len();
    let clocks = job
        .events
        .iter()
        .filter(|e| matches!(e.input, Input::Clock(_)))
        .count();
    job.events.retain(|e| {
        !matches!(
            e.input,
            Input::Clock(_)
                | Input::SetParam {
                    id: ParamId::ClockFollow | ParamId::Tempo,
                    ..
                }
        )
    });
    job.patch.values.set(ParamId::ClockFollow, 0.0);
    let tempi = before - clocks - job.events.len();
    job.events.extend(changes);
    Ok(format!(
        "--tempo-map: clock following off; {clocks} clock messages and {tempi} tempo or \
         clock-following changes left out"
    ))
}

/// "0:120 8.5:140" → tempo changes at those seconds, checked against the render's length.
fn tempo_map(spec: &str, sample_rate: f64, frames: u64) -> Result<Vec<InputEvent>, String> {
    let mut out = Vec::new();
    for item in spec.split_whitespace() {
        let bad = |why: &str| format!("--tempo-map: `{item}` {why} (SECONDS:BPM, like 8.5:140)");
        let (at, bpm) = item.split_once(':').ok_or_else(|| bad("is not a pair"))?;
        let at: f64 = at.parse().map_err(|_| bad("has no time in seconds"))?;
        let bpm: f64 = bpm.parse().map_err(|_| bad("has no tempo"))?;
        let spec = ParamId::Tempo.spec();
        if !(spec.min()..=spec.max()).contains(&bpm) {
            return Err(bad(&format!(
                "has a tempo outside {}–{} BPM",
                spec.min(),
                spec.max()
            )));
        }
        let frame = (at * sample_rate).round();
        if !(at.is_finite() && at >= 0.0 && frame < frames as f64) {
            return Err(bad("is not within the render"));
        }
        out.push(InputEvent {
            frame: frame as u64,
            input: Input::SetParam {
                id: ParamId::Tempo,
                value: bpm,
            },
        });
    }
    if out.is_empty() {
        return Err("--tempo-map is empty (SECONDS:BPM pairs, like \"0:120 8.5:140\")".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tempo_map_replaces_the_tempo_changes_and_the_clock() {
        let at = |frame, input| InputEvent { frame, input };
        let set = |id, value| Input::SetParam { id, value };
        let mut patch = Patch::default();
        patch.values.set(ParamId::ClockFollow, 1.0);
        let mut job = Job {
            patch,
            sample_rate: 1000.0,
            frames: 2000,
            events: vec![
                at(
                    0,
                    Input::NoteOn {
                        pitch: 60,
                        velocity: 9,
                    },
                ),
                at(10, Input::Clock(tidepool_engine::ClockIn::Tick)),
                at(20, set(ParamId::Tempo, 90.0)),
                at(30, set(ParamId::SynthCutoff, 900.0)),
                at(40, set(ParamId::ClockFollow, 1.0)),
            ],
        };
        let said = retime(&mut job, "0:100 1:150").unwrap();
        assert!(said.contains("1 clock messages and 2 tempo"), "{said}");
        assert!(!job.patch.values.on(ParamId::ClockFollow));
        let kept: Vec<(u64, Input)> = job.events.iter().map(|e| (e.frame, e.input)).collect();
        assert_eq!(
            kept,
            [
                (
                    0,
                    Input::NoteOn {
                        pitch: 60,
                        velocity: 9
                    }
                ),
                (30, set(ParamId::SynthCutoff, 900.0)),
                (0, set(ParamId::Tempo, 100.0)),
                (1000, set(ParamId::Tempo, 150.0)),
            ]
        );
    }

    #[test]
    fn tempo_map_pairs_and_their_errors() {
        let map = tempo_map("0:120 0.5:140", 1000.0, 2000).unwrap();
        assert_eq!(map.len(), 2);
        assert_eq!(map[1].frame, 500);
        assert_eq!(
            map[1].input,
            Input::SetParam {
                id: ParamId::Tempo,
                value: 140.0
            }
        );
        for (bad, why) in [
            ("0:120 3:100", "within the render"),
            ("1:999", "outside"),
            ("x:120", "no time"),
            ("120", "not a pair"),
            ("", "empty"),
        ] {
            let err = tempo_map(bad, 1000.0, 2000).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
