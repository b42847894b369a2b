//! The golden render: [`golden_scenario`] rendered natively in 128-frame blocks must equal the
//! committed files under `tests/golden/` bit for bit. The wasm crate's browser test compares its
//! own render with the same files, so together they prove native and wasm agree exactly.
//!
//! `TIDEPOOL_BLESS=1 cargo test -p tidepool-engine --test golden` rewrites the files instead
//! (after a deliberate change of the engine's sound).

use std::path::PathBuf;
use tidepool_engine::render::{golden_scenario, parse_notes_file, render, Rendered};

const BLOCK: usize = 128;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden")
}

/// Interleaved stereo, little-endian f32.
fn interleaved_le(r: &Rendered) -> Vec<u8> {
    r.left
        .iter()
        .zip(&r.right)
        .flat_map(|(l, r)| [l.to_le_bytes(), r.to_le_bytes()])
        .flatten()
        .collect()
}

/// `[[frame, pitch, velocity], …]`, one note per line.
fn notes_json(r: &Rendered) -> String {
    let rows: Vec<String> = r
        .notes
        .iter()
        .map(|n| format!("  [{}, {}, {}]", n.frame, n.pitch, n.velocity))
        .collect();
    format!("[\n{}\n]\n", rows.join(",\n"))
}

#[test]
fn golden_scenario_matches_the_committed_render_bit_for_bit() {
    let (patch, events, sample_rate, frames) = golden_scenario();
    let rendered = render(&patch, sample_rate, &events, frames, BLOCK);
    let audio = interleaved_le(&rendered);
    let notes = notes_json(&rendered);
    let dir = golden_dir();
    let audio_path = dir.join("scenario_48k.f32");
    let notes_path = dir.join("scenario_48k.notes.json");

    if std::env::var("TIDEPOOL_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(&dir).expect("create tests/golden");
        std::fs::write(&audio_path, &audio).expect("write golden audio");
        std::fs::write(&notes_path, &notes).expect("write golden notes");
        eprintln!(
            "TIDEPOOL_BLESS=1: rewrote {} ({} bytes) and {} ({} notes)",
            audio_path.display(),
            audio.len(),
            notes_path.display(),
            rendered.notes.len()
        );
        return;
    }

    let missing = |p: &PathBuf| {
        format!(
            "cannot read {}: run `TIDEPOOL_BLESS=1 cargo test -p tidepool-engine --test golden` \
             to create it",
            p.display()
        )
    };
    let want_audio =
        std::fs::read(&audio_path).unwrap_or_else(|_| panic!("{}", missing(&audio_path)));
    let want_notes =
        std::fs::read_to_string(&notes_path).unwrap_or_else(|_| panic!("{}", missing(&notes_path)));

    assert_eq!(
        want_audio.len(),
        audio.len(),
        "golden audio has {} bytes, the render {}",
        want_audio.len(),
        audio.len()
    );
    let (mut differ, mut max_delta, mut first) = (0usize, 0.0f64, None);
    for (i, (a, b)) in audio
        .chunks_exact(4)
        .zip(want_audio.chunks_exact(4))
        .enumerate()
    {
        let got = f32::from_le_bytes(a.try_into().unwrap());
        let want = f32::from_le_bytes(b.try_into().unwrap());
        if got.to_bits() != want.to_bits() {
            differ += 1;
            max_delta = max_delta.max((got as f64 - want as f64).abs());
            first.get_or_insert((i, got, want));
        }
    }
    assert!(
        differ == 0,
        "{differ} of {} samples differ from the golden render (max |Δ| = {max_delta:e}; first at \
         interleaved sample {:?} (index, got, want))",
        audio.len() / 4,
        first
    );
    let got_notes: Vec<[u64; 3]> = rendered
        .notes
        .iter()
        .map(|n| [n.frame, n.pitch as u64, n.velocity as u64])
        .collect();
    assert_eq!(
        got_notes,
        parse_notes_file(&want_notes),
        "note events differ"
    );
}

#[test]
fn golden_scenario_exercises_lfo_arpeggiator_and_synth() {
    let (patch, events, sample_rate, frames) = golden_scenario();
    let r = render(&patch, sample_rate, &events, frames, BLOCK);
    let ons = r.notes.iter().filter(|n| n.velocity > 0).count();
    assert!(ons >= 6, "the arpeggiator should play: {ons} note-ons");
    let pitches: std::collections::BTreeSet<u8> = r.notes.iter().map(|n| n.pitch).collect();
    assert!(
        pitches.iter().any(|&p| p > 63),
        "arp.oct=2 should reach the upper octave: {pitches:?}"
    );
    let peak = r
        .left
        .iter()
        .chain(&r.right)
        .fold(0.0f32, |m, s| m.max(s.abs()));
    assert!(peak > 0.01, "the synth should sound: peak {peak}");
    // The LFO routes to pan: the channels differ.
    assert!(r.left.iter().zip(&r.right).any(|(l, r)| l != r));
}
