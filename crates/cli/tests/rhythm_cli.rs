//! `tidepool rhythm …` end to end: onsets of a WAV loop, a data set from MIDI (written here by
//! midly, and by `tidepool render`) and audio with refused files, training, decode, encode.

use midly::num::{u15, u28, u4, u7};
use midly::{Format, Header, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tidepool(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tidepool"))
        .args(args)
        .output()
        .expect("binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tidepool-rhythm-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A 16-bit mono WAV of a 2-bar loop at `bpm` with 40 ms blips at `steps` (sixteenths).
fn blip_loop(path: &Path, bpm: f64, steps: &[usize]) {
    let rate = 22050usize;
    let sixteenth = 60.0 / bpm / 4.0;
    let mut x = vec![0.0f32; (32.0 * sixteenth * rate as f64).round() as usize];
    for &st in steps {
        let start = (st as f64 * sixteenth * rate as f64).round() as usize;
        for i in 0..rate / 25 {
            let t = i as f32 / rate as f32;
            x[start + i] += 0.6 * (-t * 70.0).exp() * (t * 660.0 * std::f32::consts::TAU).sin();
        }
    }
    let data: Vec<u8> = x
        .iter()
        .flat_map(|&v| ((v * 32767.0).round() as i16).to_le_bytes())
        .collect();
    let mut w = b"RIFF".to_vec();
    w.extend((36 + data.len() as u32).to_le_bytes());
    w.extend(b"WAVEfmt ");
    for v in [
        16u32,
        1 | 1 << 16,
        rate as u32,
        rate as u32 * 2,
        2 | 16 << 16,
    ] {
        w.extend(v.to_le_bytes());
    }
    w.extend(b"data");
    w.extend((data.len() as u32).to_le_bytes());
    w.extend(data);
    std::fs::write(path, w).unwrap();
}

/// A type 0 MIDI file (written by midly) with notes of `velocity` at `sixteenths`.
fn midi(path: &Path, ppq: u16, notes: &[(u32, u8)]) {
    let mut events: Vec<(u32, MidiMessage)> = Vec::new();
    for &(st, vel) in notes {
        let t = st * ppq as u32 / 4;
        let key = u7::new(60);
        events.push((
            t,
            MidiMessage::NoteOn {
                key,
                vel: u7::new(vel),
            },
        ));
        events.push((
            t + ppq as u32 / 8,
            MidiMessage::NoteOff {
                key,
                vel: u7::new(0),
            },
        ));
    }
    events.sort_by_key(|e| e.0);
    let mut last = 0;
    let mut track: Vec<TrackEvent> = events
        .into_iter()
        .map(|(t, message)| {
            let delta = u28::new(t - last);
            last = t;
            TrackEvent {
                delta,
                kind: TrackEventKind::Midi {
                    channel: u4::new(0),
                    message,
                },
            }
        })
        .collect();
    track.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(midly::MetaMessage::EndOfTrack),
    });
    let smf = Smf {
        header: Header::new(Format::SingleTrack, Timing::Metrical(u15::new(ppq))),
        tracks: vec![track],
    };
    smf.save(path).unwrap();
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

#[test]
fn onsets_prints_the_onsets_and_the_first_windows_pattern() {
    let dir = scratch("onsets");
    let wav = dir.join("loop.wav");
    let steps = [0, 3, 6, 8, 12, 14, 16, 20, 22, 26, 28];
    blip_loop(&wav, 100.0, &steps);
    let (ok, out, err) = tidepool(&["rhythm", "onsets", s(&wav)]);
    assert!(ok, "{err}");
    let v = json(&out);
    let pattern = ints(&v["pattern"]);
    let hits: Vec<usize> = (0..32).filter(|&i| pattern[i] == 1).collect();
    assert_eq!(hits, steps);
    let times: Vec<f64> = v["onsets_s"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .collect();
    assert_eq!(times.len(), steps.len());
    for (t, st) in times.iter().zip(steps) {
        // Within mir_eval's onset window, 50 ms (librosa's frames are 23 ms at 22.05 kHz).
        assert!((t - st as f64 * 0.15).abs() < 0.05, "{t} vs step {st}");
    }
    assert_eq!(v["strength"].as_array().unwrap().len(), steps.len());
    let vel = ints(&v["velocity"]);
    assert!(
        (0..32).all(|i| (vel[i] > 0) == (pattern[i] == 1)),
        "{vel:?}"
    );
    // The same file said to be 4 bars long: the first window is its first half at half the
    // grid spacing, so step 0 and the blip at the old step 8 (now step 16) are hits.
    let (ok, out, err) = tidepool(&["rhythm", "onsets", s(&wav), "--bars", "4"]);
    assert!(ok, "{err}");
    let p4 = ints(&json(&out)["pattern"]);
    assert_eq!((p4[0], p4[6], p4[12], p4[16]), (1, 1, 1, 1));
    // Not audio: the message names the file and the reason.
    let txt = dir.join("notes.txt");
    std::fs::write(&txt, "C D E").unwrap();
    let (ok, _, err) = tidepool(&["rhythm", "onsets", s(&txt)]);
    assert!(
        !ok && err.contains("notes.txt") && err.contains("not a WAV file"),
        "{err}"
    );
    let flac = dir.join("loop.flac");
    std::fs::write(&flac, b"fLaC\0\0\0\x22").unwrap();
    let (ok, _, err) = tidepool(&["rhythm", "onsets", s(&flac)]);
    assert!(!ok && err.contains("FLAC"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn dataset_train_decode_encode_round_trip() {
    let dir = scratch("train");
    let (a, b, wav, bad, out) = (
        dir.join("a.mid"),
        dir.join("b.mid"),
        dir.join("c.wav"),
        dir.join("d.mid"),
        dir.join("rhythms.json"),
    );
    // a: four bars (two windows); b: the same first window at another division (a duplicate).
    midi(
        &a,
        480,
        &[
            (0, 100),
            (4, 70),
            (8, 90),
            (14, 50),
            (40, 100),
            (44, 100),
            (58, 30),
        ],
    );
    midi(&b, 96, &[(0, 100), (4, 70), (8, 90), (14, 50)]);
    blip_loop(&wav, 120.0, &[0, 4, 8, 12, 16, 20, 24, 28]);
    std::fs::write(&bad, b"MThd\0\0\0\x06\0\0\0\x01\x01\xe0MTrk\0\0\x10\0").unwrap();
    let (ok, _, err) = tidepool(&[
        "rhythm",
        "dataset",
        s(&a),
        s(&b),
        s(&wav),
        s(&bad),
        "-o",
        s(&out),
        "--dedup",
        "on",
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains("refused") && err.contains("d.mid") && err.contains("claims"),
        "{err}"
    );
    assert!(
        err.contains("3 rhythms from 3 of 4 files, 1 duplicates removed"),
        "{err}"
    );
    let set = json(&std::fs::read_to_string(&out).unwrap());
    let rhythms = set["rhythms"].as_array().unwrap();
    let patterns: Vec<&str> = rhythms.iter().map(|r| r["p"].as_str().unwrap()).collect();
    assert_eq!(
        patterns,
        vec![
            "10001000100000100000000000000000",
            "00000000100010000000000000100000",
            "10001000100010001000100010001000",
        ]
    );
    assert_eq!(ints(&rhythms[0]["v"]), vec![100, 70, 90, 50]);
    assert_eq!(set["refused"][0]["file"].as_str(), Some(s(&bad)));

    let model = dir.join("m.safetensors");
    let (ok, _, err) = tidepool(&[
        "rhythm",
        "train",
        "--data",
        s(&out),
        "--arch",
        "prototype",
        "--epochs",
        "400",
        "--seed",
        "7",
        "-o",
        s(&model),
    ]);
    assert!(ok, "{err}");
    // One loss line per epoch when stderr is not a terminal, and the loss fell.
    let losses: Vec<f64> = err
        .lines()
        .filter_map(|l| {
            l.strip_prefix("epoch ")?
                .split(" loss ")
                .nth(1)?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(losses.len(), 400, "{err}");
    assert!(
        losses[399] < losses[0] * 0.5,
        "{} -> {}",
        losses[0],
        losses[399]
    );
    assert!(err.contains("prototype on 3 rhythms"), "{err}");

    // Encode a training rhythm, decode its point: the rhythm comes back.
    let (ok, enc, err) = tidepool(&[
        "rhythm",
        "encode",
        "--model",
        s(&model),
        "--pattern",
        patterns[2],
    ]);
    assert!(ok, "{err}");
    let xy: Vec<f64> = json(&enc)["xy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(xy.len(), 2);
    let point = format!("{},{}", xy[0], xy[1]);
    let (ok, dec, err) = tidepool(&["rhythm", "decode", "--model", s(&model), "--xy", &point]);
    assert!(ok, "{err}");
    let d = json(&dec);
    let hits: String = ints(&d["hits"]).iter().map(|h| h.to_string()).collect();
    assert_eq!(hits, patterns[2]);
    let probs: Vec<f64> = d["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap())
        .collect();
    assert!(probs.iter().all(|p| (0.0..=1.0).contains(p)) && probs.len() == 32);
    let vel = ints(&d["velocity"]);
    assert!((0..32).all(|i| (vel[i] > 0) == (patterns[2].as_bytes()[i] == b'1')));
    // Threshold 0 makes every step a hit.
    let (_, dec0, _) = tidepool(&[
        "rhythm",
        "decode",
        "--model",
        s(&model),
        "--xy",
        &point,
        "--threshold",
        "0",
    ]);
    assert!(ints(&json(&dec0)["hits"]).iter().all(|&h| h == 1));

    // Same seed, same data: the same model file, byte for byte.
    let again = dir.join("m2.safetensors");
    let (ok, _, err) = tidepool(&[
        "rhythm",
        "train",
        "--data",
        s(&out),
        "--arch",
        "prototype",
        "--epochs",
        "400",
        "--seed",
        "7",
        "-o",
        s(&again),
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        std::fs::read(&model).unwrap(),
        std::fs::read(&again).unwrap()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_rendered_arpeggio_becomes_the_rhythm_of_its_midi_file() {
    // `tidepool render` writes the MIDI a DAW would get; its note-ons read by midly, rounded to
    // sixteenths, must be the data set's hits.
    let dir = scratch("render");
    let (wav, mid, out) = (dir.join("a.wav"), dir.join("a.mid"), dir.join("r.json"));
    let (ok, _, err) = tidepool(&[
        "render",
        "--notes",
        "C4 E4 G4",
        "--seconds",
        "4",
        "--sample-rate",
        "22050",
        "-o",
        s(&wav),
        "--midi",
        s(&mid),
    ]);
    assert!(ok, "{err}");
    let bytes = std::fs::read(&mid).unwrap();
    let smf = Smf::parse(&bytes).unwrap();
    let Timing::Metrical(ppq) = smf.header.timing else {
        panic!("metrical timing")
    };
    let mut onsets16 = std::collections::BTreeSet::new();
    for track in &smf.tracks {
        let mut tick = 0u64;
        for e in track {
            tick += e.delta.as_int() as u64;
            if let TrackEventKind::Midi {
                message: MidiMessage::NoteOn { vel, .. },
                ..
            } = e.kind
            {
                if vel.as_int() > 0 {
                    onsets16.insert((tick as f64 * 4.0 / ppq.as_int() as f64 + 0.5).floor() as i64);
                }
            }
        }
    }
    assert!(!onsets16.is_empty());
    let (ok, _, err) = tidepool(&["rhythm", "dataset", s(&mid), "-o", s(&out)]);
    assert!(ok, "{err}");
    let set = json(&std::fs::read_to_string(&out).unwrap());
    let mut got = std::collections::BTreeSet::new();
    for r in set["rhythms"].as_array().unwrap() {
        let src = r["src"].as_str().unwrap();
        let bar: i64 = src.rsplit("#bar ").next().unwrap().parse().unwrap();
        for (i, c) in r["p"].as_str().unwrap().chars().enumerate() {
            if c == '1' {
                got.insert((bar - 1) * 16 + i as i64);
            }
        }
    }
    assert_eq!(got, onsets16);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn train_reads_the_builtin_corpus_and_bad_arguments_are_named() {
    let dir = scratch("builtin");
    let model = dir.join("b.safetensors");
    let (ok, _, err) = tidepool(&[
        "rhythm",
        "train",
        "--data",
        "builtin",
        "--arch",
        "model3",
        "--epochs",
        "1",
        "-o",
        s(&model),
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains("model3 on ") && err.contains("epoch 1/1 loss"),
        "{err}"
    );
    assert!(model.exists());
    let cases: [(&[&str], &str); 8] = [
        (
            &[
                "rhythm", "train", "--data", "builtin", "--arch", "model9", "-o", "x",
            ],
            "model9",
        ),
        (
            &["rhythm", "train", "--arch", "model1", "-o", "x"],
            "--data",
        ),
        (
            &["rhythm", "train", "--data", "nowhere.json", "-o", "x"],
            "nowhere.json",
        ),
        (
            &["rhythm", "decode", "--model", s(&model), "--xy", "1;2"],
            "X,Y",
        ),
        (
            &[
                "rhythm",
                "decode",
                "--model",
                s(&model),
                "--xy",
                "1,2",
                "--threshold",
                "2",
            ],
            "0..1",
        ),
        (
            &[
                "rhythm",
                "encode",
                "--model",
                s(&model),
                "--pattern",
                "1010",
            ],
            "32 steps",
        ),
        (
            &["rhythm", "decode", "--model", "Cargo.toml", "--xy", "0,0"],
            "Cargo.toml",
        ),
        (&["rhythm", "dance"], "subcommand"),
    ];
    for (args, needle) in cases {
        let (ok, _, err) = tidepool(args);
        assert!(
            !ok && err.contains(needle),
            "{args:?}: `{err}` lacks `{needle}`"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
