//! The musician's own melody model file in the engine (`mel.model=file`): the committed fixture
//! (tests/fixtures/melody-user-1x64.safetensors, a 1 × 64 LSTM trained in PyTorch by
//! tools/melody/train_torch.py) converted as the page's worker converts it, installed in its own
//! slot, played on the 16th grid and deterministically; installing it never disturbs another
//! model that is playing, and no note is left on when it is swapped or switched away from.

use std::path::PathBuf;
use tidepool_engine::render::render_with;
use tidepool_engine::{
    Brain, Engine, Input, InputEvent, NoteEvent, ParamId, Patch, Source, MELODY_FILE_MODEL,
};
use tidepool_melody::{model_file, quant_file};

const SR: f64 = 48000.0;
/// A 16th at 120 BPM and 48 kHz.
const STEP: u64 = 6000;
const BAR: u64 = 16 * STEP;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fixture as the page's worker hands it to the engine: loaded, checked, quantized.
fn fixture_tpq() -> Vec<u8> {
    let bytes = std::fs::read(root().join("tests/fixtures/melody-user-1x64.safetensors")).unwrap();
    let (model, info) = model_file::load(&bytes).expect("the fixture loads");
    assert_eq!((info.layers, info.hidden, info.position_width), (1, 64, 0));
    quant_file::write(&model).unwrap()
}

fn shipped_tpq() -> Vec<u8> {
    std::fs::read(root().join("web/models/melody-lstm.tpq")).unwrap()
}

fn engine(fields: &str) -> Engine {
    let parsed = Patch::parse(&format!("tp1&arp.mode=off&{fields}"));
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    Engine::new(SR, &parsed.patch)
}

fn melody(notes: Vec<NoteEvent>) -> Vec<NoteEvent> {
    notes
        .into_iter()
        .filter(|n| n.source == Source::Melody)
        .collect()
}

/// Every onset has its off later, and nothing sounds at the end.
fn assert_no_stuck_notes(what: &str, notes: &[NoteEvent]) {
    let mut on: Option<u8> = None;
    for n in notes {
        if n.velocity > 0 {
            assert_eq!(on, None, "{what}: a note starts over a sounding one");
            on = Some(n.pitch);
        } else if on == Some(n.pitch) {
            on = None;
        }
    }
    assert_eq!(on, None, "{what}: a melody note is left sounding");
}

#[test]
fn the_file_choice_is_the_last_and_waits_for_its_model() {
    let spec = tidepool_engine::PARAMS
        .iter()
        .find(|p| p.key == "mel.model")
        .unwrap();
    let tidepool_engine::params::Kind::Choice(names) = spec.kind else {
        panic!("mel.model is a choice")
    };
    assert_eq!(names[MELODY_FILE_MODEL], "file");
    let mut e = engine("mel.mode=free&mel.model=file");
    assert_eq!(e.missing_melody_model(), Some(MELODY_FILE_MODEL));
    // Without its model the file choice is silent (and says it is missing), never another model.
    e.install_melody(Brain::lstm_from_tpq(&shipped_tpq()).unwrap());
    assert_eq!(e.missing_melody_model(), Some(MELODY_FILE_MODEL));
    let silent = melody(render_with(&mut e, &[], (2 * BAR) as usize, 128).notes);
    assert!(silent.is_empty(), "{} notes without the file", silent.len());
    e.install_melody_file(Brain::lstm_from_tpq(&fixture_tpq()).unwrap());
    assert_eq!(e.missing_melody_model(), None);
}

#[test]
fn the_musicians_model_plays_on_the_grid_deterministically() {
    let run = || {
        let mut e = engine("mel.mode=free&mel.model=file&mel.seed=7");
        e.install_melody_file(Brain::lstm_from_tpq(&fixture_tpq()).unwrap());
        melody(render_with(&mut e, &[], (8 * BAR) as usize, 128).notes)
    };
    let notes = run();
    let onsets: Vec<&NoteEvent> = notes.iter().filter(|n| n.velocity > 0).collect();
    assert!(onsets.len() >= 8, "{} onsets in 8 bars", onsets.len());
    assert!(
        notes.iter().all(|n| n.frame % STEP == 0),
        "off the 16th grid"
    );
    let pitches: std::collections::BTreeSet<u8> = onsets.iter().map(|n| n.pitch).collect();
    assert!(pitches.len() >= 3, "a melody, not one note: {pitches:?}");
    assert_eq!(notes, run(), "same patch, same notes");
    // Another model plays other notes: the file's model is what played.
    let mut shipped = engine("mel.mode=free&mel.model=lstm&mel.seed=7");
    shipped.install_melody(Brain::lstm_from_tpq(&shipped_tpq()).unwrap());
    let other = melody(render_with(&mut shipped, &[], (8 * BAR) as usize, 128).notes);
    assert_ne!(notes, other);
}

#[test]
fn installing_a_file_leaves_another_playing_model_untouched() {
    let run = |install_at: Option<u64>| {
        let mut e = engine("mel.mode=free&mel.model=lstm&mel.seed=3");
        e.install_melody(Brain::lstm_from_tpq(&shipped_tpq()).unwrap());
        let mut notes = Vec::new();
        if let Some(frame) = install_at {
            notes = render_with(&mut e, &[], frame as usize, 128).notes;
            e.install_melody_file(Brain::lstm_from_tpq(&fixture_tpq()).unwrap());
        }
        let left = 6 * BAR - install_at.unwrap_or(0);
        notes.extend(render_with(&mut e, &[], left as usize, 128).notes);
        melody(notes)
    };
    assert_eq!(run(Some(2 * BAR + 5 * STEP + 64)), run(None));
}

#[test]
fn swapping_the_file_or_switching_away_leaves_no_note_on() {
    let fixture = fixture_tpq();
    // A new file while the file's model plays a note, then a switch to the LSTM, then off.
    let mut e = engine("mel.mode=free&mel.model=file&mel.seed=11&mel.r=20");
    e.install_melody(Brain::lstm_from_tpq(&shipped_tpq()).unwrap());
    e.install_melody_file(Brain::lstm_from_tpq(&fixture).unwrap());
    let mut notes = Vec::new();
    let mut swapped = false;
    for _ in 0..(4 * BAR / 128) {
        notes.extend(render_with(&mut e, &[], 128, 128).notes);
        if !swapped && e.melody().sounding().is_some() && e.frame() > BAR {
            e.install_melody_file(Brain::lstm_from_tpq(&fixture).unwrap());
            assert_eq!(e.melody().sounding(), None, "the swap ends the note");
            swapped = true;
        }
    }
    assert!(swapped, "a note sounded to swap under");
    let at = e.frame();
    let switch = InputEvent {
        frame: at + 3 * STEP + 17,
        input: Input::SetParam {
            id: ParamId::MelodyModel,
            value: 0.0,
        },
    };
    let off = InputEvent {
        frame: at + 2 * BAR + 5 * STEP + 17,
        input: Input::SetParam {
            id: ParamId::MelodyMode,
            value: 0.0,
        },
    };
    notes.extend(render_with(&mut e, &[switch, off], (4 * BAR) as usize, 128).notes);
    let notes = melody(notes);
    assert!(notes.iter().filter(|n| n.velocity > 0).count() > 10);
    assert_no_stuck_notes("swap, switch, off", &notes);
    assert_eq!(e.melody().sounding(), None);
}
