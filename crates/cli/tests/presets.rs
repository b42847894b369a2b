//! The factory preset bank (web/presets/factory.json, the file the page fetches): every preset
//! parses cleanly and survives the text round trip, plays audibly with a chord held, differs from
//! every other one, the bank covers what it promises (the four LFO shapes, β from
//! near-deterministic to free, the classic modes, the melody set-ups), and each LFO-shape preset's
//! stated shape error is what the engine measures now, by the same scoring `tidepool lfo-shapes`
//! uses (its source is compiled into this test), so the number cannot go stale.

#[allow(dead_code)]
#[path = "../src/lfo_shapes.rs"]
mod lfo_shapes;

use lfo_shapes::{measure, Shape};
use tidepool_engine::render::{held_notes, render_with};
use tidepool_engine::{Brain, Engine, NoteEvent, ParamId, Patch, Source};

const BANK: &str = include_str!("../../../web/presets/factory.json");
const MODELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/models");
const SR: f64 = 48000.0;

struct Preset {
    name: String,
    description: String,
    text: String,
    shape: Option<String>,
}

fn bank() -> Vec<Preset> {
    let json: serde_json::Value = serde_json::from_str(BANK).expect("factory.json is JSON");
    let list = json["presets"].as_array().expect("a \"presets\" list");
    list.iter()
        .map(|p| Preset {
            name: p["name"].as_str().expect("a name").to_string(),
            description: p["description"]
                .as_str()
                .expect("a description")
                .to_string(),
            text: p["patch"].as_str().expect("patch text").to_string(),
            shape: p["shape"].as_str().map(str::to_string),
        })
        .collect()
}

fn patch_of(p: &Preset) -> Patch {
    let parsed = Patch::parse(&p.text);
    assert_eq!(parsed.errors, [], "{}: the patch text has errors", p.name);
    parsed.patch
}

#[test]
fn the_bank_is_named_described_and_parses_cleanly() {
    let bank = bank();
    assert!(
        bank.len() >= 16,
        "at least 16 presets, found {}",
        bank.len()
    );
    let mut names: Vec<&str> = bank.iter().map(|p| p.name.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), bank.len(), "preset names are unique");
    for p in &bank {
        assert!(
            !p.name.trim().is_empty() && p.name.len() <= 40,
            "{:?}",
            p.name
        );
        assert!(
            p.description.len() >= 20 && !p.description.contains('\n'),
            "{}: a one-line description",
            p.name
        );
        // Exported as text and imported again: the same patch.
        let patch = patch_of(p);
        let again = Patch::parse(&patch.to_text());
        assert_eq!(again.errors, [], "{}", p.name);
        assert_eq!(again.patch, patch, "{}: text round trip", p.name);
    }
}

#[test]
fn the_bank_covers_shapes_confidence_classic_modes_and_melody() {
    let patches: Vec<(Preset, Patch)> = bank()
        .into_iter()
        .map(|p| {
            let patch = patch_of(&p);
            (p, patch)
        })
        .collect();
    let v = |p: &Patch, id| p.values.get(id);
    for shape in Shape::ALL {
        assert!(
            patches
                .iter()
                .any(|(p, _)| p.shape.as_deref() == Some(shape.label())),
            "a {} preset",
            shape.label()
        );
    }
    let reservoir_betas: Vec<f64> = patches
        .iter()
        .filter(|(_, p)| v(p, ParamId::ArpMode) == 1.0)
        .map(|(_, p)| v(p, ParamId::ArpConfidence))
        .collect();
    assert!(
        reservoir_betas.iter().any(|&b| b >= 100.0),
        "a near-deterministic reservoir arpeggio: {reservoir_betas:?}"
    );
    assert!(
        reservoir_betas.iter().any(|&b| b <= 0.01),
        "a free reservoir arpeggio: {reservoir_betas:?}"
    );
    for mode in 2..=6 {
        assert!(
            patches
                .iter()
                .any(|(_, p)| v(p, ParamId::ArpMode) == mode as f64),
            "classic arpeggiator mode {mode}"
        );
    }
    for mode in [1.0, 2.0] {
        assert!(
            patches
                .iter()
                .any(|(_, p)| v(p, ParamId::MelodyMode) == mode),
            "melody mode {mode}"
        );
    }
    // The rhythm sequencer: a preset with all three tracks on.
    assert!(
        patches.iter().any(|(_, p)| {
            [ParamId::Rh1On, ParamId::Rh2On, ParamId::Rh3On]
                .iter()
                .all(|&id| v(p, id) == 1.0)
        }),
        "a preset playing the three rhythm tracks"
    );
}

/// Installs the melody model a patch asks for from the files the page loads.
fn install_melody(engine: &mut Engine) {
    let Some(which) = engine.missing_melody_model() else {
        return;
    };
    let brain = if which == 0 {
        let bytes = std::fs::read(format!("{MODELS}/melody-lstm.tpq")).expect("LSTM file");
        Brain::lstm_from_tpq(&bytes)
    } else {
        let bytes =
            std::fs::read(format!("{MODELS}/melody-ngram-{which}.tpng")).expect("n-gram file");
        Brain::ngram_from_bytes(&bytes)
    };
    drop(engine.install_melody(brain.expect("the model loads")));
}

/// Installs the built-in rhythm models the preset's tracks play, from the files the page loads.
fn install_rhythm(engine: &mut Engine) {
    let missing: Vec<&str> = engine.missing_rhythm_models().collect();
    for name in missing {
        let bytes = std::fs::read(format!("{MODELS}/rhythm-{name}.tprd")).expect("rhythm model");
        let decoder = tidepool_rhythm::decoder::Decoder::from_compact(&bytes).expect("it loads");
        drop(
            engine
                .install_rhythm_builtin(name, decoder)
                .expect("a built-in"),
        );
    }
}

/// Two seconds of the preset with a C minor seventh chord held for the first one and a half
/// (so an answering melody has a phrase to answer).
fn play(patch: &Patch) -> (Vec<f32>, Vec<NoteEvent>) {
    let mut engine = Engine::new(SR, patch);
    install_melody(&mut engine);
    install_rhythm(&mut engine);
    let events = held_notes(&[48, 60, 63, 67, 70], (1.5 * SR) as u64);
    let out = render_with(&mut engine, &events, 2 * SR as usize, 128);
    (out.left, out.notes)
}

#[test]
fn every_preset_is_audible_and_differs_from_every_other() {
    let bank = bank();
    let renders: Vec<(Vec<f32>, Vec<NoteEvent>)> =
        bank.iter().map(|p| play(&patch_of(p))).collect();
    for (p, (samples, notes)) in bank.iter().zip(&renders) {
        let rms =
            (samples.iter().map(|s| (s * s) as f64).sum::<f64>() / samples.len() as f64).sqrt();
        assert!(rms > 0.01, "{}: RMS {rms:.4} is too quiet", p.name);
        assert!(notes.iter().any(|n| n.velocity > 0), "{}: no note", p.name);
        // Every rhythm track a preset switches on plays (its built-in model loaded).
        let patch = patch_of(p);
        for (track, on) in [ParamId::Rh1On, ParamId::Rh2On, ParamId::Rh3On]
            .iter()
            .enumerate()
        {
            let played = notes.iter().any(|n| {
                n.velocity > 0
                    && matches!(n.source, Source::Rhythm { track: t, .. } if t as usize == track)
            });
            assert_eq!(
                patch.values.get(*on) == 1.0,
                played,
                "{}: rhythm track {}",
                p.name,
                track + 1
            );
        }
    }
    for i in 0..bank.len() {
        for j in i + 1..bank.len() {
            assert!(
                renders[i].1 != renders[j].1 || renders[i].0 != renders[j].0,
                "{} and {} render the same notes and samples",
                bank[i].name,
                bank[j].name
            );
        }
    }
}

/// The number after "Shape error " in a description.
fn stated_error(description: &str) -> Option<f64> {
    let rest = description.split("Shape error ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

#[test]
fn each_lfo_shape_preset_states_its_measured_error() {
    let mut checked = 0;
    for p in bank() {
        let Some(label) = p.shape.as_deref() else {
            continue;
        };
        let shape = Shape::from_label(label).expect("a known shape");
        let stated = stated_error(&p.description)
            .unwrap_or_else(|| panic!("{}: the description states no shape error", p.name));
        assert!(
            p.description.contains(&format!("ideal {label}")),
            "{}: names its shape",
            p.name
        );
        let fit = measure(&patch_of(&p), shape);
        assert!(
            (fit.error - stated).abs() <= 0.0005,
            "{}: measured {:.4}, the description says {stated}",
            p.name,
            fit.error
        );
        assert!(
            fit.swing() >= lfo_shapes::MIN_SWING,
            "{}: swings {:.3}",
            p.name,
            fit.swing()
        );
        checked += 1;
    }
    assert!(checked >= 4, "four shape presets, found {checked}");
}

#[test]
fn the_scoring_knows_each_ideal_wave_and_tells_them_apart() {
    // A trace that is the ideal wave scores 0 against it and much worse against the others, at
    // a period and phase that fall between the fit's grid points.
    let per_step = lfo_shapes::SAMPLES_PER_STEP as f64;
    let n = lfo_shapes::WINDOW_STEPS * lfo_shapes::SAMPLES_PER_STEP;
    for shape in Shape::ALL {
        let period = 11.3 * per_step;
        let trace: Vec<f64> = (0..n)
            .map(|i| 0.5 + 0.3 * shape.at((i as f64 / period + 0.37).rem_euclid(1.0)))
            .collect();
        let own = lfo_shapes::fit(&trace, shape);
        assert!(own.error < 0.02, "{}: {own:?}", shape.label());
        assert!((own.period_steps - 11.3).abs() < 0.01, "{own:?}");
        assert!((own.swing() - 0.6).abs() < 0.02, "{own:?}");
        for other in Shape::ALL.into_iter().filter(|&o| o != shape) {
            let f = lfo_shapes::fit(&trace, other);
            assert!(
                f.error > 0.08,
                "{} scored as {}: {f:?}",
                shape.label(),
                other.label()
            );
        }
    }
    let flat = vec![0.5; n];
    assert!(lfo_shapes::fit(&flat, Shape::Sine).error.is_infinite());
}
