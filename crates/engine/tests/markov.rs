//! The Markov chain in the engine: it counts exactly the notes played through the engine's note
//! input (compared with counts made by hand here), forgets as specified, travels in patch text
//! (and a bad table in a link is refused by name, the rest kept), answers a phrase with the
//! phrase's intervals, and is deterministic.

use std::collections::HashMap;
use tidepool_engine::render::render_with;
use tidepool_engine::{
    Engine, Input, InputEvent, NoteEvent, ParamId, Patch, Source, MAX_PATCH_BYTES,
};
use tidepool_melody::markov::{PITCH_STATES, REST};

const SR: f64 = 48000.0;
/// A 16th at 120 BPM and 48 kHz.
const STEP: u64 = 6000;
const BAR: u64 = 16 * STEP;
/// "No context" in the chain's count lookups (any state number past the tables).
const NONE: u8 = u8::MAX;

fn engine(fields: &str) -> Engine {
    let parsed = Patch::parse(&format!("tp1&arp.mode=off&{fields}"));
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    Engine::new(SR, &parsed.patch)
}

fn on(step: u64, pitch: u8) -> InputEvent {
    // Just after the step's frame, as a player's key lands between two 16ths.
    InputEvent {
        frame: step * STEP + 100,
        input: Input::NoteOn {
            pitch,
            velocity: 100,
        },
    }
}

fn off(step: u64, pitch: u8) -> InputEvent {
    InputEvent {
        frame: step * STEP + 100,
        input: Input::NoteOff { pitch },
    }
}

/// Plays `notes` as (pitch, length in 16ths, 16ths of silence after it), one after the other
/// from step 1; returns the events and the step after the last note.
fn phrase(notes: &[(u8, u64, u64)], from: u64) -> (Vec<InputEvent>, u64) {
    let mut events = Vec::new();
    let mut step = from;
    for &(pitch, len, rest) in notes {
        events.push(on(step, pitch));
        events.push(off(step + len, pitch));
        step += len + rest;
    }
    (events, step)
}

/// Counts of (older, latest, next) in `lines` (each a phrase, no context across), at order
/// 0 (older and latest NONE), 1 (older NONE) and 2.
fn hand_counts(lines: &[Vec<u8>]) -> HashMap<(usize, u8, u8, u8), f32> {
    let mut counts = HashMap::new();
    for line in lines {
        for (i, &next) in line.iter().enumerate() {
            *counts.entry((0, NONE, NONE, next)).or_insert(0.0) += 1.0;
            if i >= 1 {
                *counts.entry((1, NONE, line[i - 1], next)).or_insert(0.0) += 1.0;
            }
            if i >= 2 {
                *counts
                    .entry((2, line[i - 2], line[i - 1], next))
                    .or_insert(0.0) += 1.0;
            }
        }
    }
    counts
}

/// Every cell of the chain's tables of `states` states against `expected`.
fn assert_table(
    what: &str,
    states: u8,
    count: impl Fn(usize, [u8; 2], u8) -> f32,
    expected: &HashMap<(usize, u8, u8, u8), f32>,
) {
    for order in 0..=2 {
        for a in 0..states {
            for b in 0..states {
                for next in 0..states {
                    let (ka, kb) = match order {
                        0 => (NONE, NONE),
                        1 => (NONE, b),
                        _ => (a, b),
                    };
                    if (order == 0 && (a, b) != (0, 0)) || (order == 1 && a != 0) {
                        continue;
                    }
                    let want = expected.get(&(order, ka, kb, next)).copied().unwrap_or(0.0);
                    let got = count(order, [ka, kb], next);
                    assert_eq!(got, want, "{what} order {order}, after {ka},{kb} → {next}");
                }
            }
        }
    }
}

#[test]
fn the_chain_counts_exactly_the_notes_played() {
    // In C major (fixed), no forgetting, the melody off: learning is always on.
    let mut e = engine("mel.key=C&mk.forget=0");
    // Phrase 1: C4 2, D4 2, E4 4, a rest of 2, C4 2, D4 2, G4 8; then two bars of silence (a
    // phrase break); phrase 2: F#4 for 1 with E4 pressed over it (legato: F#4 ends when E4
    // starts), E4 for 3.
    let (mut events, end) = phrase(
        &[
            (60, 2, 0),
            (62, 2, 0),
            (64, 4, 2),
            (60, 2, 0),
            (62, 2, 0),
            (67, 8, 0),
        ],
        1,
    );
    let start = end + 32;
    events.extend([
        on(start, 66),
        on(start + 1, 64),
        off(start + 2, 66),
        off(start + 4, 64),
    ]);
    render_with(&mut e, &events, ((start + 8) * STEP) as usize, 128);

    // By hand: C major from the tonic at MIDI 36, two states per degree (plain, raised):
    // C4 = octave 2, degree 0 → 28; D4 30; E4 32; F#4 = F raised 35; G4 36; rest 70.
    let (c, d, e4, fs, g) = (28, 30, 32, 35, 36);
    assert_eq!(REST, 70);
    let pitches = [vec![c, d, e4, REST, c, d, g], vec![fs, e4]];
    // Duration classes of 1, 2, 3, 4, 6, 8, 12, 16 sixteenths: 2 → 1, 4 → 3, 8 → 5, 1 → 0, 3 → 2.
    let durations = [vec![1, 1, 3, 1, 1, 1, 5], vec![0, 2]];
    let markov = e.melody().markov();
    assert_eq!(markov.learned(), 9);
    assert_table(
        "pitch",
        PITCH_STATES as u8,
        |o, ctx, n| markov.pitch_count(o, ctx, n),
        &hand_counts(&pitches),
    );
    assert_table(
        "duration",
        8,
        |o, ctx, n| markov.duration_count(o, ctx, n),
        &hand_counts(&durations),
    );
}

#[test]
fn forgetting_takes_the_rate_off_every_older_note() {
    // 10 % per note: C, D, E legato (no rests), then C again: C = 0.9³ + 1 … as notes go.
    let mut e = engine("mel.key=C&mk.forget=10");
    let events = [
        on(1, 60),
        on(2, 62),
        on(3, 64),
        off(4, 64),
        on(5, 60),
        off(6, 60),
    ];
    render_with(&mut e, &events, (8 * STEP) as usize, 128);
    let m = e.melody().markov();
    let zero = |s| m.pitch_count(0, [NONE, NONE], s);
    // Learned in order C, D, E, (rest of 1), C: weights 0.9⁴, 0.9³, 0.9², 0.9, 1.
    let close = |got: f32, want: f32| (got - want).abs() < 1e-6;
    assert!(close(zero(28), 0.9f32.powi(4) + 1.0), "{}", zero(28));
    assert!(close(zero(30), 0.9f32.powi(3)), "{}", zero(30));
    assert!(close(zero(32), 0.81), "{}", zero(32));
    assert!(close(zero(REST), 0.9), "{}", zero(REST));
    // At 0 % nothing fades.
    let mut e = engine("mel.key=C&mk.forget=0");
    render_with(&mut e, &events, (8 * STEP) as usize, 128);
    let m = e.melody().markov();
    assert_eq!(m.pitch_count(0, [NONE, NONE], 28), 2.0);
    assert_eq!(m.pitch_count(0, [NONE, NONE], 30), 1.0);
}

/// 200 notes of a wandering line with rests now and then (deterministic).
fn long_teaching() -> Vec<InputEvent> {
    let mut events = Vec::new();
    let mut step = 1;
    let mut pitch = 60i32;
    for i in 0..200u64 {
        let moves = [2, -1, 3, -2, -4, 1, 5, -3, 0, 2, -5, 4];
        pitch = (pitch + moves[(i * 7 % 12) as usize]).clamp(48, 84);
        let len = [1, 2, 2, 4, 1, 3, 6, 2][(i % 8) as usize];
        let rest = [0, 0, 1, 0, 2, 0, 0, 4][(i * 3 % 8) as usize];
        events.push(on(step, pitch as u8));
        events.push(off(step + len, pitch as u8));
        step += len + rest;
    }
    events
}

#[test]
fn what_it_learned_travels_in_the_patch_text_and_plays_the_same() {
    let mut e = engine("mel.key=C&mk.forget=0");
    assert!(!e.patch().to_text().contains("mk.table"), "nothing learned");
    assert!(
        !Patch::default().to_text().contains("mk."),
        "the default patch's text is as before the chain"
    );
    let events = long_teaching();
    let frames = events.last().unwrap().frame + STEP;
    render_with(&mut e, &events, frames as usize, 128);
    let text = e.patch().to_text();
    let table = text
        .split("&mk.table=")
        .nth(1)
        .expect("the table is written");
    println!(
        "after 200 notes: table {} bytes, patch text {} of {MAX_PATCH_BYTES} bytes",
        table.len(),
        text.len()
    );
    assert!(text.len() < MAX_PATCH_BYTES / 2, "{} bytes", text.len());
    let parsed = Patch::parse(&text);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(parsed.text(), text);
    let mut copy = Engine::new(SR, &parsed.patch);
    assert_eq!(copy.melody().markov(), e.melody().markov());

    // Both play the same line from it.
    let free = |e: &mut Engine| -> Vec<NoteEvent> {
        let at = e.frame();
        let set = |id, value| InputEvent {
            frame: at,
            input: Input::SetParam { id, value },
        };
        let changes = [
            set(ParamId::MelodyModel, 6.0),
            set(ParamId::MelodyMode, 1.0),
        ];
        melody(render_with(e, &changes, (4 * BAR) as usize, 128).notes)
    };
    let line = free(&mut e);
    assert!(line.len() > 10, "{} melody notes", line.len());
    let relative = |notes: &[NoteEvent]| -> Vec<(u64, u8, u8)> {
        let start = notes[0].frame;
        notes
            .iter()
            .map(|n| (n.frame - start, n.pitch, n.velocity))
            .collect()
    };
    // The copy renders from frame 0; the teacher from where teaching ended: compare the lines
    // from their first note on a 16th, in 16ths.
    let teacher = relative(&line);
    let copied = relative(&free(&mut copy));
    let steps = |v: &[(u64, u8, u8)]| -> Vec<(u64, u8, u8)> {
        v.iter().map(|&(f, p, vel)| (f / STEP, p, vel)).collect()
    };
    assert_eq!(steps(&copied)[..10], steps(&teacher)[..10]);
}

fn melody(notes: Vec<NoteEvent>) -> Vec<NoteEvent> {
    notes
        .into_iter()
        .filter(|n| n.source == Source::Melody)
        .collect()
}

#[test]
fn a_bad_table_in_a_link_is_named_and_the_rest_is_kept() {
    let mut e = engine("mel.key=C&mk.forget=0");
    let (events, end) = phrase(&[(60, 2, 0), (62, 2, 0), (64, 2, 0)], 1);
    render_with(&mut e, &events, (end * STEP) as usize, 128);
    let good = e.patch().to_text();
    let table = good.split("&mk.table=").nth(1).unwrap().to_string();
    for (bad, why) in [
        ("!!!!", "not base64url"),
        ("AQ", "shorter than its 7-byte header"),
        (&table[..table.len() - 2], "truncated"),
    ] {
        let text = format!("tp1&bpm=90&mk.table={bad}&mk.forget=5");
        let parsed = Patch::parse(&text);
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
        let error = parsed.errors[0].to_string();
        assert!(
            error.starts_with("mk.table: ") && error.contains(why),
            "{error}"
        );
        assert!(error.contains("kept an empty chain"), "{error}");
        assert_eq!(parsed.patch.values.get(ParamId::Tempo), 90.0);
        assert_eq!(parsed.patch.values.get(ParamId::MarkovForget), 5.0);
        assert_eq!(parsed.patch.markov, None);
        // Over a good one: the good one stays.
        let parsed = Patch::parse(&format!("{good}&mk.table={bad}"));
        assert_eq!(parsed.patch.markov.as_deref(), Some(table.as_str()));
        assert!(parsed.errors[0]
            .message
            .contains("kept the table before it"));
        // And the engine's own loader refuses it, keeping what it learned.
        let before = e.melody().markov().clone();
        assert!(e.set_markov_table(bad).is_err());
        assert_eq!(e.melody().markov(), &before);
    }
}

/// Teaches `notes` (pitch, length, rest) from step 1 in answer mode with `fields`, and returns
/// the melody notes of the answer.
fn answer(fields: &str, notes: &[(u8, u64, u64)]) -> Vec<NoteEvent> {
    let mut e = engine(&format!("mel.mode=answer&mel.key=C&{fields}"));
    let (events, _) = phrase(notes, 1);
    let out = render_with(&mut e, &events, (8 * BAR) as usize, 128);
    melody(out.notes)
}

fn onsets(notes: &[NoteEvent]) -> Vec<u8> {
    notes
        .iter()
        .filter(|n| n.velocity > 0)
        .map(|n| n.pitch)
        .collect()
}

fn intervals(pitches: &[u8]) -> Vec<i32> {
    pitches
        .windows(2)
        .map(|w| i32::from(w[1]) - i32::from(w[0]))
        .collect()
}

#[test]
fn an_answer_continues_the_phrase_with_its_intervals() {
    // C E D F E G F A, twice: a third up, a step down; answered at temperature 0 by the
    // second-order chain, which from the phrase's last two notes can only walk its transitions.
    let taught = [
        60, 64, 62, 65, 64, 67, 65, 69, 60, 64, 62, 65, 64, 67, 65, 69,
    ];
    let notes: Vec<(u8, u64, u64)> = taught.iter().map(|&p| (p, 2, 0)).collect();
    let played = onsets(&answer("mel.model=markov2&mel.temp=0&mel.bars=2", &notes));
    assert!(played.len() >= 8, "answered {played:?}");
    let allowed = intervals(&taught);
    for step in intervals(&played) {
        assert!(
            allowed.contains(&step),
            "{step} in {played:?} (taught {taught:?})"
        );
    }
    // Its durations are the phrase's: every note starts two 16ths after the one before.
    let answer = answer("mel.model=markov2&mel.temp=0&mel.bars=2", &notes);
    let starts: Vec<u64> = answer
        .iter()
        .filter(|n| n.velocity > 0)
        .map(|n| n.frame)
        .collect();
    assert!(
        starts.windows(2).all(|w| w[1] - w[0] == 2 * STEP),
        "{starts:?}"
    );
    // The answer starts after the phrase, on a bar line, and every note it starts it ends.
    assert_eq!(starts[0] % BAR, 0);
    assert!(starts[0] > 17 * STEP);
    let ons = answer.iter().filter(|n| n.velocity > 0).count();
    assert_eq!(ons, answer.len() - ons, "notes left on: {answer:?}");
}

#[test]
fn the_same_teaching_and_seed_play_the_same_answer() {
    let notes = [(60, 1, 0), (62, 3, 1), (67, 2, 0), (64, 1, 2), (65, 4, 0)];
    for model in ["markov1", "markov2"] {
        let fields = |seed| format!("mel.model={model}&mel.temp=1.2&mel.seed={seed}&mel.bars=4");
        let a = answer(&fields(7), &notes);
        assert!(a.len() > 8, "{model}: {} events", a.len());
        assert_eq!(a, answer(&fields(7), &notes), "{model}");
        assert_ne!(
            a,
            answer(&fields(8), &notes),
            "{model}: another seed, another answer"
        );
    }
}
