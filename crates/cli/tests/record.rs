//! `tidepool render --performance`, `--tempo-map` and complete MIDI files, end to end through the
//! binary; the MIDI files are read back with `midly`, as a DAW would read them.

use midly::{MetaMessage, MidiMessage, Smf, Timing, TrackEventKind};
use std::path::PathBuf;
use std::process::Command;

const MODELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/models");

/// Runs the binary; (success, stdout, stderr).
fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tidepool"))
        .args(args)
        .output()
        .expect("binary runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tidepool-record-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(dir: &std::path::Path, file: &str) -> String {
    dir.join(file).to_str().unwrap().to_owned()
}

/// A note as read back: channel, pitch, start and end in seconds (through the file's tempo map).
#[derive(Debug)]
struct Note {
    channel: u8,
    pitch: u8,
    start: f64,
    end: f64,
}

/// What a MIDI file holds: track names, tempo events (tick, µs per quarter), notes per track.
struct ReadBack {
    names: Vec<String>,
    tempi: Vec<(u64, u32)>,
    tracks: Vec<Vec<Note>>,
    /// Note-ons without a note-off, and note-offs without a note-on.
    unclosed: usize,
    stray_offs: usize,
}

fn read_midi(bytes: &[u8]) -> ReadBack {
    let smf = Smf::parse(bytes).expect("a standard MIDI file midly reads");
    assert_eq!(smf.header.format, midly::Format::Parallel, "format 1");
    let Timing::Metrical(ppq) = smf.header.timing else {
        panic!("metrical timing")
    };
    let ppq = ppq.as_int() as f64;
    let mut names = Vec::new();
    let mut tempi = Vec::new();
    let mut raw = Vec::new();
    for track in &smf.tracks {
        let mut tick = 0u64;
        let mut events = Vec::new();
        for e in track {
            tick += e.delta.as_int() as u64;
            match e.kind {
                TrackEventKind::Meta(MetaMessage::TrackName(n)) => {
                    names.push(String::from_utf8_lossy(n).into_owned())
                }
                TrackEventKind::Meta(MetaMessage::Tempo(t)) => tempi.push((tick, t.as_int())),
                TrackEventKind::Midi { channel, message } => {
                    let (key, on) = match message {
                        MidiMessage::NoteOn { key, vel } => (key, vel.as_int() > 0),
                        MidiMessage::NoteOff { key, .. } => (key, false),
                        _ => continue,
                    };
                    events.push((tick, channel.as_int(), key.as_int(), on));
                }
                _ => {}
            }
        }
        raw.push(events);
    }
    assert!(!tempi.is_empty(), "a tempo event");
    // Seconds of a tick through the tempo events (which all sit in the first track).
    let seconds = |tick: u64| {
        let mut s = 0.0;
        let (mut at, mut micros) = (0u64, 500_000u32);
        for &(t, m) in tempi.iter().filter(|(t, _)| *t <= tick) {
            s += (t - at) as f64 * micros as f64 / ppq / 1e6;
            (at, micros) = (t, m);
        }
        s + (tick - at) as f64 * micros as f64 / ppq / 1e6
    };
    let (mut unclosed, mut stray_offs) = (0, 0);
    let tracks = raw
        .iter()
        .map(|events| {
            let mut open: Vec<(u8, u8, u64)> = Vec::new();
            let mut notes = Vec::new();
            for &(tick, channel, pitch, on) in events {
                let found = open
                    .iter()
                    .position(|&(c, p, _)| c == channel && p == pitch);
                match (on, found) {
                    (true, Some(_)) => unclosed += 1,
                    (true, None) => open.push((channel, pitch, tick)),
                    (false, Some(i)) => {
                        let (_, _, start) = open.remove(i);
                        notes.push(Note {
                            channel,
                            pitch,
                            start: seconds(start),
                            end: seconds(tick),
                        });
                    }
                    (false, None) => stray_offs += 1,
                }
            }
            unclosed += open.len();
            notes
        })
        .collect();
    ReadBack {
        names,
        tempi,
        tracks,
        unclosed,
        stray_offs,
    }
}

/// Note-ons of a `--notes-json` file: (frame, pitch).
fn note_ons(json: &str) -> Vec<(u64, u8)> {
    let rows: Vec<Vec<u64>> = serde_json::from_str(json).unwrap();
    rows.iter()
        .filter(|r| r[2] > 0)
        .map(|r| (r[0], r[1] as u8))
        .collect()
}

/// Every note of the file starts where the render played it (to within `tolerance` seconds: a
/// tick, plus what rounding the tempo to whole microseconds moves), and each note-on of the
/// render is in the file.
fn assert_times_match(back: &ReadBack, ons: &[(u64, u8)], sample_rate: f64, tolerance: f64) {
    let notes: Vec<&Note> = back.tracks.iter().flatten().collect();
    assert_eq!(notes.len(), ons.len(), "one note per note-on of the render");
    for n in &notes {
        assert!(
            ons.iter().any(
                |&(f, p)| p == n.pitch && (f as f64 / sample_rate - n.start).abs() <= tolerance
            ),
            "{n:?} is not at a frame the render played it"
        );
        assert!(n.end >= n.start, "{n:?} ends before it starts");
    }
}

#[test]
fn the_issues_render_closes_every_note_in_tracks_per_source() {
    let dir = scratch("issue");
    let (mid, json) = (path(&dir, "x.mid"), path(&dir, "x.json"));
    let (ok, _, stderr) = run(&[
        "render",
        "--patch",
        "tp1&arp.mode=off&mel.mode=free",
        "--seconds",
        "60",
        "--midi",
        &mid,
        "--notes-json",
        &json,
        "--models",
        MODELS,
    ]);
    assert!(ok, "{stderr}");
    let back = read_midi(&std::fs::read(&mid).unwrap());
    assert_eq!(back.names, ["tidepool", "keys + arpeggio", "melody"]);
    assert_eq!(back.tempi, [(0, 500_000)], "120 BPM from the patch");
    assert_eq!((back.unclosed, back.stray_offs), (0, 0));
    // The three held keys, on channel 1, from the start to the end of the render.
    let keys = &back.tracks[1];
    let held: Vec<u8> = keys.iter().map(|n| n.pitch).collect();
    assert_eq!(held, [60, 64, 67], "{keys:?}");
    assert!(keys
        .iter()
        .all(|n| n.channel == 0 && n.start == 0.0 && (n.end - 60.0).abs() < 1e-3));
    let melody = &back.tracks[2];
    assert!(melody.len() > 5, "the melody played: {}", melody.len());
    assert!(melody.iter().all(|n| n.channel == 1));
    let last = melody.iter().map(|n| n.end).fold(0.0, f64::max);
    assert!(last <= 60.0 + 1e-3, "closed by the end: {last}");
    let ons = note_ons(&std::fs::read_to_string(&json).unwrap());
    assert_times_match(&back, &ons, 48000.0, 1.0 / 960.0 / 2.0 + 1e-6);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_tempo_map_changes_the_tempo_at_its_times_and_is_in_the_midi_file() {
    let dir = scratch("tempo");
    let (mid, json) = (path(&dir, "t.mid"), path(&dir, "t.json"));
    let (ok, _, stderr) = run(&[
        "render",
        "--patch",
        "tp1&arp.mode=up&arp.div=1/16",
        "--seconds",
        "3",
        "--tempo-map",
        "0:100 1.5:150.5",
        "--midi",
        &mid,
        "--notes-json",
        &json,
    ]);
    assert!(ok, "{stderr}");
    let back = read_midi(&std::fs::read(&mid).unwrap());
    // 1.5 s at 100 BPM is 2.5 quarters: tick 2400 at 960 per quarter.
    assert_eq!(back.tempi, [(0, 600_000), (2400, 398_671)]);
    assert_eq!((back.unclosed, back.stray_offs), (0, 0));
    let ons = note_ons(&std::fs::read_to_string(&json).unwrap());
    let rate = |from: f64, to: f64| {
        let n = ons
            .iter()
            .filter(|&&(f, _)| (from..to).contains(&(f as f64 / 48000.0)))
            .count();
        n as f64 / (to - from)
    };
    // Sixteenths: 6.67 a second at 100 BPM, 10 at 150.5.
    assert!((rate(0.0, 1.5) - 6.67).abs() < 0.7, "{}", rate(0.0, 1.5));
    assert!((rate(1.5, 3.0) - 10.03).abs() < 0.7, "{}", rate(1.5, 3.0));
    assert_times_match(&back, &ons, 48000.0, 2.0 / 960.0 * 0.6);
    let (ok, _, stderr) = run(&["render", "--tempo-map", "0:120 11:90", "--seconds", "10"]);
    assert!(!ok && stderr.contains("11:90"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_performance_file_renders_like_the_same_score_and_refuses_conflicting_flags() {
    let dir = scratch("perf");
    let perf = path(&dir, "p.json");
    std::fs::write(
        &perf,
        r#"{"format":"tidepool-performance","version":1,"sample_rate":48000,"frames":48000,
        "patch":"tp1&arp.mode=off","events":[[12000,"on",60,100],[36000,"off",60],
        [20000,"on",200,1]]}"#,
    )
    .unwrap();
    let (a, b) = (path(&dir, "a.wav"), path(&dir, "b.wav"));
    let (ok, _, stderr) = run(&["render", "--performance", &perf, "-o", &a]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("event 2:") && stderr.contains("pitch"),
        "{stderr}"
    );
    let (ok, _, stderr) = run(&[
        "render",
        "--patch",
        "tp1&arp.mode=off",
        "--score",
        "C4/100@0.25-0.75",
        "--seconds",
        "1",
        "-o",
        &b,
    ]);
    assert!(ok, "{stderr}");
    let (a, b) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(a.len(), 44 + 48000 * 8);
    assert!(
        a == b,
        "the performance and the score render the same bytes"
    );
    assert!(a[44..].chunks_exact(4).any(|s| s != [0; 4]), "not silent");
    let (ok, _, stderr) = run(&["render", "--performance", &perf, "--seconds", "3"]);
    assert!(
        !ok && stderr.contains("--seconds cannot be given"),
        "{stderr}"
    );
    std::fs::write(&perf, "{\"format\":\"x\"}").unwrap();
    let (ok, _, stderr) = run(&["render", "--performance", &perf]);
    assert!(!ok && stderr.contains("not a performance file"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
