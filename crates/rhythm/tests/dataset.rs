//! The data set: files in, rhythms and refusals out, and its JSON file both ways.

mod support;

use support::{at_ticks, note16};
use tidepool_rhythm::dataset::{Dataset, Entry, SourceOptions, MAX_FILE_BYTES};
use tidepool_rhythm::midi_windows::NoteFilter;
use tidepool_rhythm::Rhythm;

/// A MIDI file with notes at (sixteenth, velocity), one window per 32 sixteenths.
fn midi(notes: &[(u32, u8)]) -> Vec<u8> {
    let ev: Vec<(u32, Vec<u8>)> = notes
        .iter()
        .flat_map(|&(s, v)| note16(96, s, 60, v, 0))
        .collect();
    at_ticks(96, &ev)
}

#[test]
fn files_become_rhythms_and_bad_files_are_refused_by_name() {
    let opts = SourceOptions::default();
    let mut set = Dataset::new();
    let good = midi(&[(0, 100), (4, 60), (40, 90)]);
    assert_eq!(set.add_file("two.mid", &good, &opts), 2);
    // Named .mid but is text; named .wav but is MIDI without notes; FLAC; empty; cut MIDI.
    assert_eq!(set.add_file("notes.mid", b"C D E F G", &opts), 0);
    assert_eq!(set.add_file("empty-song.wav", &at_ticks(96, &[]), &opts), 0);
    assert_eq!(set.add_file("loop.flac", b"fLaC\0\0\0\x22rest", &opts), 0);
    assert_eq!(set.add_file("nothing.mid", b"", &opts), 0);
    assert_eq!(set.add_file("cut.mid", &good[..good.len() - 9], &opts), 0);
    let drums_only = SourceOptions {
        notes: NoteFilter {
            channel: Some(9),
            ..NoteFilter::default()
        },
        ..SourceOptions::default()
    };
    assert_eq!(set.add_file("melody.mid", &good, &drums_only), 0);
    // The good file still counts once, after all that.
    assert_eq!(set.entries.len(), 2);
    assert_eq!(set.entries[0].src, "two.mid#bar 1");
    assert_eq!(set.entries[1].src, "two.mid#bar 3");
    assert_eq!(set.entries[0].rhythm.velocity[4], 60);
    assert!(set.entries.iter().all(|e| e.has_velocity));
    let reasons: Vec<(&str, &str)> = set
        .refused
        .iter()
        .map(|r| (r.file.as_str(), r.reason.as_str()))
        .collect();
    let expect = [
        ("notes.mid", "not a MIDI or WAV file"),
        ("empty-song.wav", "no notes"),
        ("loop.flac", "FLAC"),
        ("nothing.mid", "empty"),
        ("cut.mid", "not a readable MIDI file"),
        ("melody.mid", "no notes on channel 10"),
    ];
    assert_eq!(reasons.len(), expect.len(), "{reasons:?}");
    for ((file, reason), (want_file, want)) in reasons.iter().zip(expect) {
        assert_eq!(*file, want_file);
        assert!(reason.contains(want), "{file}: `{reason}` lacks `{want}`");
    }
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
    let mut big = midi(&[(0, 100)]);
    big.resize(MAX_FILE_BYTES + 1, 0);
    let mut set = Dataset::new();
    assert_eq!(set.add_file("huge.mid", &big, &SourceOptions::default()), 0);
    assert!(
        set.refused[0].reason.contains("over the limit of 64 MiB"),
        "{:?}",
        set.refused
    );
}

fn entry(p: &str, velocity: Option<&[u8]>, src: &str) -> Entry {
    let mut rhythm = Rhythm::parse_pattern(p).unwrap();
    if let Some(v) = velocity {
        let steps: Vec<usize> = (0..32).filter(|&s| rhythm.hits[s]).collect();
        for (s, &v) in steps.iter().zip(v) {
            rhythm.velocity[*s] = v;
        }
    }
    Entry {
        rhythm,
        has_velocity: velocity.is_some(),
        src: src.into(),
    }
}

#[test]
fn the_json_file_round_trips_and_stores_velocities_of_hits_only() {
    let mut set = Dataset::new();
    set.entries.push(entry(
        "1000100010001000 1000100010101010",
        Some(&[127, 1, 64, 90, 100, 80, 70, 60, 50, 40]),
        "a \"quoted\" name.mid#bar 1",
    ));
    set.entries
        .push(entry("0000000000000000 0000000000000001", None, "b.wav#1"));
    set.refused.push(tidepool_rhythm::dataset::Refused {
        file: "c\\d.txt".into(),
        reason: "not a MIDI or WAV file\nat all".into(),
    });
    let text = set.to_json();
    assert_eq!(Dataset::from_json(&text).unwrap(), set);
    // The velocity list has one value per hit, and null when there is none to keep.
    assert!(
        text.contains("\"v\":[127,1,64,90,100,80,70,60,50,40]"),
        "{text}"
    );
    assert!(text.contains("\"v\":null"), "{text}");
    // One rhythm per line.
    assert_eq!(text.lines().filter(|l| l.starts_with("{\"p\":")).count(), 2);
    let read = Dataset::from_json(&text).unwrap();
    assert_eq!(
        read.entries[1].rhythm.velocity[31],
        tidepool_rhythm::pattern::DEFAULT_VELOCITY
    );
}

#[test]
fn a_reader_accepts_all_32_velocities_and_names_what_is_wrong() {
    let p = "10000000000000001000000000000000";
    let mut v32 = vec![0; 32];
    v32[0] = 90;
    v32[16] = 45;
    let doc = |rhythm: &str| format!("{{\"version\":1,\"rhythms\":[{rhythm}]}}");
    let ok = Dataset::from_json(&doc(&format!("{{\"p\":\"{p}\",\"v\":{v32:?}}}"))).unwrap();
    assert_eq!(
        (
            ok.entries[0].rhythm.velocity[0],
            ok.entries[0].rhythm.velocity[16]
        ),
        (90, 45)
    );
    assert_eq!(ok.entries[0].src, "");
    let bad = |text: String, needle: &str| {
        let e = Dataset::from_json(&text).unwrap_err();
        assert!(e.contains(needle), "`{e}` lacks `{needle}`");
    };
    bad("{\"version\":2,\"rhythms\":[]}".into(), "version 2");
    bad("{\"rhythms\":[]}".into(), "no \"version\"");
    bad("{\"version\":1}".into(), "no \"rhythms\"");
    bad("[1,2".into(), "JSON");
    bad(doc("{\"v\":null}"), "rhythm 0: no \"p\"");
    bad(
        doc(&format!("{{\"p\":\"{p}\"}},{{\"p\":\"10\"}}")),
        "rhythm 1: a rhythm pattern has 32 steps",
    );
    bad(
        doc(&format!("{{\"p\":\"{p}\",\"v\":[1,2,3]}}")),
        "3 velocities; the pattern has 2 hits",
    );
    bad(
        doc(&format!("{{\"p\":\"{p}\",\"v\":[1,200]}}")),
        "not a whole number 0..127",
    );
    bad(
        doc(&format!("{{\"p\":\"{p}\",\"v\":[1,2.5]}}")),
        "not a whole number",
    );
    bad(
        doc(&format!("{{\"p\":\"{p}\",\"v\":[0,5]}}")),
        "step 0 is a hit with velocity 0",
    );
    bad(
        doc(&format!("{{\"p\":\"{p}\",\"v\":\"loud\"}}")),
        "neither a list nor null",
    );
}

#[test]
fn dedup_keeps_the_first_of_equal_rhythms() {
    let mut set = Dataset::new();
    let a = "1000100010001000 1000100010001000";
    let b = "1010101010101010 1010101010101010";
    set.entries.push(entry(a, Some(&[100; 8]), "1"));
    set.entries.push(entry(b, None, "2"));
    set.entries.push(entry(a, Some(&[100; 8]), "3"));
    set.entries.push(entry(a, Some(&[90; 8]), "4")); // other velocities: kept
    assert_eq!(set.dedup(), 1);
    let srcs: Vec<&str> = set.entries.iter().map(|e| e.src.as_str()).collect();
    assert_eq!(srcs, vec!["1", "2", "4"]);
    assert_eq!(set.rhythms().len(), 3);
}

/// A 16-bit mono WAV file of `samples`.
fn wav16(rate: u32, samples: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = samples
        .iter()
        .flat_map(|&x| ((x.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes())
        .collect();
    let mut out = b"RIFF".to_vec();
    out.extend((36 + data.len() as u32).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(rate.to_le_bytes());
    out.extend((rate * 2).to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(16u16.to_le_bytes());
    out.extend(b"data");
    out.extend((data.len() as u32).to_le_bytes());
    out.extend(data);
    out
}

#[test]
fn a_wav_loop_becomes_its_rhythm_and_a_silent_one_is_refused() {
    // Two bars at 120 BPM (4 s), 50 ms decaying 880 Hz blips on known sixteenths, louder ones
    // on the beats.
    let rate = 22050;
    let steps = [0usize, 4, 6, 8, 12, 16, 19, 22, 24, 28];
    let mut samples = vec![0.0f32; rate as usize * 4];
    for &s in &steps {
        let start = s * rate as usize / 8;
        let level = if s % 4 == 0 { 0.8 } else { 0.3 };
        for i in 0..rate as usize / 20 {
            let t = i as f32 / rate as f32;
            samples[start + i] +=
                level * (-t * 60.0).exp() * (t * 880.0 * std::f32::consts::TAU).sin();
        }
    }
    let mut set = Dataset::new();
    let opts = SourceOptions::default();
    assert_eq!(
        set.add_file("blips.wav", &wav16(rate, &samples), &opts),
        1,
        "{:?}",
        set.refused
    );
    let r = &set.entries[0].rhythm;
    let hits: Vec<usize> = (0..32).filter(|&s| r.hits[s]).collect();
    assert_eq!(hits, steps);
    assert_eq!(set.entries[0].src, "blips.wav#1");
    // The beats were louder, so their velocities are higher.
    assert!(
        r.velocity[4] > r.velocity[6] && r.velocity[16] > r.velocity[19],
        "{:?}",
        r.velocity
    );
    assert_eq!(
        set.add_file("quiet.wav", &wav16(rate, &vec![0.0; rate as usize]), &opts),
        0
    );
    assert!(
        set.refused[0].reason.contains("silent"),
        "{:?}",
        set.refused
    );
}

#[test]
fn the_builtin_corpus_reads_and_matches_its_manifest() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/rhythm/");
    let text = std::fs::read_to_string(format!("{root}builtin.json")).unwrap();
    let set = Dataset::from_json(&text).unwrap();
    let manifest = std::fs::read_to_string(format!("{root}MANIFEST.md")).unwrap();
    let stated = format!("**{}** distinct", set.entries.len());
    assert!(
        manifest.contains(&stated),
        "MANIFEST.md does not say {stated}"
    );
    assert!(set.entries.len() >= 3000, "several thousand windows");
    // Deduplicated by hits, never empty, and the velocities are the stated metrical accents: the bar
    // start 112, sixteenth off-beats 60, everything from the table.
    let mut seen = std::collections::BTreeSet::new();
    for e in &set.entries {
        assert!(seen.insert(e.rhythm.hits), "duplicate {}", e.src);
        assert!(e.has_velocity && e.rhythm.hit_count() > 0, "{}", e.src);
        for s in (0..32).filter(|&s| e.rhythm.hits[s]) {
            let v = e.rhythm.velocity[s];
            assert!(
                [112, 96, 84, 72, 60].contains(&v),
                "{} step {s}: {v}",
                e.src
            );
            assert_eq!(s % 2 == 1, v == 60, "{} step {s}: {v}", e.src);
        }
        if e.rhythm.hits[0] {
            assert_eq!(e.rhythm.velocity[0], 112, "{}", e.src);
        }
    }
    // Both public-domain collections are in it, and nothing else.
    assert!(set
        .entries
        .iter()
        .any(|e| e.src.starts_with("ryansMammoth/")));
    assert!(set
        .entries
        .iter()
        .any(|e| e.src.starts_with("oneills1850/")));
    assert!(set
        .entries
        .iter()
        .all(|e| e.src.starts_with("ryansMammoth/") || e.src.starts_with("oneills1850/")));
}

#[test]
fn corrupted_data_set_text_is_refused_without_a_panic() {
    let mut set = Dataset::new();
    set.entries.push(entry(
        "1000100010001000 1000100010101010",
        Some(&[9; 10]),
        "é.mid#bar 1",
    ));
    set.entries
        .push(entry("0000000000000000 0000000000000001", None, "b"));
    let good = set.to_json().into_bytes();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let (mut read, mut refused) = (0, 0);
    for round in 0..20_000 {
        let mut bytes = good.clone();
        if round % 3 == 0 {
            bytes.truncate((next() % bytes.len() as u64) as usize);
        } else {
            for _ in 0..1 + next() % 3 {
                let i = (next() % bytes.len() as u64) as usize;
                bytes[i] = b"{}[],:\"\\01 -.eanul9x"[(next() % 20) as usize];
            }
        }
        // Only valid UTF-8 reaches the reader (it takes &str), as from a file read as text.
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        match Dataset::from_json(text) {
            Ok(s) => {
                read += 1;
                assert!(s
                    .entries
                    .iter()
                    .all(|e| (0..32).all(|i| (e.rhythm.velocity[i] > 0) == e.rhythm.hits[i])));
            }
            Err(e) => {
                refused += 1;
                assert!(!e.is_empty());
            }
        }
    }
    assert!(
        read > 100 && refused > 1000,
        "read {read}, refused {refused}"
    );
}
