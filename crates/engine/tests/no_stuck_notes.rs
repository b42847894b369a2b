//! No note is left on by a change: a structural change (a new network swapped in while arpeggio
//! notes sound), any other parameter change, a whole patch loaded over the playing one, or a
//! reseed. Checked in the engine's note stream (what goes out over MIDI) and in the synth.

use tidepool_engine::render::{held_notes, render_with, Rendered};
use tidepool_engine::{Engine, Input, InputEvent, NoteEvent, ParamId, Patch, Source, PARAMS};

const SR: f64 = 48000.0;

/// Note-ons minus note-offs per (source, pitch), the ones that are not zero.
fn unbalanced(notes: &[NoteEvent]) -> Vec<(Source, u8, i32)> {
    let mut count = std::collections::BTreeMap::new();
    for n in notes {
        *count.entry((n.source.code(), n.pitch)).or_insert(0) +=
            if n.velocity > 0 { 1 } else { -1 };
    }
    let source = |code| match code {
        0 => Source::Keys,
        1 => Source::Arp,
        _ => Source::Melody,
    };
    count
        .into_iter()
        .filter(|(_, c)| *c != 0)
        .map(|((s, p), c)| (source(s), p, c))
        .collect()
}

/// A patch whose arpeggio notes are long (gate 1.0 of an 1/8 step), so a change almost always
/// lands while one sounds.
fn long_gates() -> Patch {
    let mut patch = Patch::default();
    patch.values.set(ParamId::ArpGate, 1.0);
    patch.values.set(ParamId::ArpDivision, 5.0);
    patch
}

/// Holds a chord for half a second with `changes` during it, releases it, and renders a tail long
/// enough for the release in force at the end to fade out.
fn play(patch: &Patch, changes: &[InputEvent]) -> (Rendered, Engine) {
    let mut engine = Engine::new(SR, patch);
    let mut events = held_notes(&[60, 64, 67, 71], SR as u64 / 2);
    events.extend_from_slice(changes);
    let mut out = render_with(&mut engine, &events, SR as usize, 128);
    // -60 dB at the release time, silence (-80 dB) a third later: 1.5 of it is enough.
    let release_ms = engine
        .param(ParamId::SynthRelease)
        .max(engine.param(ParamId::MelodyRelease));
    let tail = SR * (1.0 + 1.5 * release_ms / 1000.0);
    out.notes
        .extend(render_with(&mut engine, &[], tail as usize, 128).notes);
    (out, engine)
}

fn set(frame: u64, id: ParamId, value: f64) -> InputEvent {
    InputEvent {
        frame,
        input: Input::SetParam { id, value },
    }
}

fn assert_nothing_left(what: &str, out: &Rendered, engine: &Engine) {
    assert!(
        out.notes.iter().any(|n| n.velocity > 0),
        "{what}: nothing played, the test proves nothing"
    );
    assert_eq!(
        unbalanced(&out.notes),
        [],
        "{what}: notes left on (MIDI out)"
    );
    assert_eq!(engine.status().sounding, 0, "{what}: synth voices left on");
}

/// The frame of an arpeggio note-on, and a frame while it still sounds.
fn while_a_note_sounds(patch: &Patch) -> u64 {
    let (out, _) = play(patch, &[]);
    let on = out
        .notes
        .iter()
        .find(|n| n.source == Source::Arp && n.velocity > 0 && n.frame > 2000)
        .expect("the arpeggio plays");
    on.frame + 100
}

#[test]
fn a_new_arp_network_while_its_notes_sound_leaves_none_on() {
    let patch = long_gates();
    let at = while_a_note_sounds(&patch);
    for (id, value) in [
        (ParamId::ArpNeurons, 37.0),
        (ParamId::ArpConnectivity, 0.5),
        (ParamId::ArpSeed, 99.0),
    ] {
        let (out, engine) = play(&patch, &[set(at, id, value)]);
        assert_nothing_left(&format!("{} at frame {at}", id.spec().key), &out, &engine);
        assert_eq!(engine.installed_shapes().1, {
            let v = engine.patch().values;
            (
                v.index(ParamId::ArpNeurons),
                v.get(ParamId::ArpConnectivity) as f32,
                v.get(ParamId::ArpSeed) as u64,
            )
        });
    }
}

#[test]
fn the_arpeggio_goes_on_through_a_network_swap() {
    // The held notes and the step grid survive the swap: the arpeggio does not stop or restart.
    let patch = long_gates();
    let at = while_a_note_sounds(&patch);
    let (out, _) = play(&patch, &[set(at, ParamId::ArpSeed, 5.0)]);
    let onsets: Vec<u64> = out
        .notes
        .iter()
        .filter(|n| n.source == Source::Arp && n.velocity > 0)
        .map(|n| n.frame)
        .collect();
    let step = onsets[1] - onsets[0];
    assert!(
        onsets.iter().filter(|&&f| f > at).count() >= 4,
        "{onsets:?}"
    );
    assert!(
        onsets.windows(2).all(|w| w[1] - w[0] == step),
        "one unbroken grid through the swap at {at}: {onsets:?}"
    );
}

#[test]
fn every_parameter_change_while_notes_sound_leaves_none_on() {
    let patch = long_gates();
    let at = while_a_note_sounds(&patch);
    for spec in PARAMS.iter() {
        let id = ParamId::from_key(spec.key).expect("table key");
        for value in [spec.min(), spec.max()] {
            let (out, engine) = play(&patch, &[set(at, id, value)]);
            let what = format!("{} = {value}", spec.key);
            assert_nothing_left(&what, &out, &engine);
        }
    }
}

/// The patch texts of the factory presets the page offers (web/presets/factory.json): every
/// JSON string that is patch text (they hold no quote or escape, so a scan finds them whole).
fn factory_presets() -> Vec<&'static str> {
    const BANK: &str = include_str!("../../../web/presets/factory.json");
    let texts: Vec<&str> = BANK.split('"').filter(|s| s.starts_with("tp1&")).collect();
    assert!(
        texts.len() >= 16,
        "the factory bank: {} presets",
        texts.len()
    );
    texts
}

#[test]
fn loading_another_patch_while_notes_sound_leaves_none_on() {
    let patch = long_gates();
    let at = while_a_note_sounds(&patch);
    let others = [
        "tp1&arp.n=500&arp.conn=1&arp.seed=3&lfo.n=20&arp.mode=up&syn.voices=2",
        "tp1&arp.mode=off&mel.mode=free&mel.model=4",
        "tp1&bpm=61&arp.div=1/32&arp.gate=0.05&arp.hold=1&syn.rel=5000",
        "tp1&play=0&arp.seed=12",
    ];
    for text in others.into_iter().chain(factory_presets()) {
        let other = Patch::parse(text).patch;
        // The page loads a patch as one change per differing field, all at one frame.
        let changes: Vec<InputEvent> = PARAMS
            .iter()
            .map(|spec| ParamId::from_key(spec.key).expect("table key"))
            .filter(|&id| other.values.get(id) != patch.values.get(id))
            .map(|id| set(at, id, other.values.get(id)))
            .collect();
        let (mut out, mut engine) = play(&patch, &changes);
        // Hold and a long release outlast the chord: let go of the latch and let it ring out
        // (12 s for the hand-written patches; a factory preset's own releases bound its tail,
        // which keeps the nineteen of them to a few seconds each).
        let unlatch = set(engine.frame(), ParamId::ArpHold, 0.0);
        let release_s = engine
            .param(ParamId::SynthRelease)
            .max(engine.param(ParamId::MelodyRelease))
            / 1000.0;
        let tail_s = if others.contains(&text) {
            12.0
        } else {
            1.0 + 1.5 * release_s
        };
        let tail = render_with(&mut engine, &[unlatch], (tail_s * SR) as usize, 128);
        out.notes.extend(tail.notes);
        assert_nothing_left(text, &out, &engine);
    }
}

/// The Markov chain playing freely what four notes taught it, and a frame while one of its
/// notes sounds.
fn markov_playing() -> (Patch, Vec<InputEvent>, u64) {
    let patch = Patch::parse("tp1&arp.mode=off&mel.mode=free&mel.model=markov2&mel.temp=1").patch;
    let tenth = SR as u64 / 10;
    let taught: Vec<InputEvent> = [60u8, 62, 64, 67]
        .iter()
        .enumerate()
        .flat_map(|(i, &pitch)| {
            let start = i as u64 * tenth;
            [
                InputEvent {
                    frame: start,
                    input: Input::NoteOn {
                        pitch,
                        velocity: 90,
                    },
                },
                InputEvent {
                    frame: start + tenth / 2,
                    input: Input::NoteOff { pitch },
                },
            ]
        })
        .collect();
    let (out, _) = play(&patch, &taught);
    let on = out
        .notes
        .iter()
        .find(|n| n.source == Source::Melody && n.velocity > 0 && n.frame > SR as u64 / 2)
        .expect("the chain plays what it was taught");
    (patch, taught, on.frame + 100)
}

#[test]
fn clearing_the_markov_chain_while_it_plays_leaves_none_on() {
    let (patch, taught, at) = markov_playing();
    let mut engine = Engine::new(SR, &patch);
    let mut out = render_with(&mut engine, &taught, at as usize, 128);
    assert!(
        out.notes
            .iter()
            .any(|n| n.source == Source::Melody && n.velocity > 0),
        "the chain played before the clear"
    );
    engine.clear_markov();
    assert!(engine.melody().markov().is_empty());
    assert_eq!(engine.melody().sounding(), None, "its note ended at once");
    out.notes
        .extend(render_with(&mut engine, &[], SR as usize * 2, 128).notes);
    assert_nothing_left("clear", &out, &engine);
    let last_on = out
        .notes
        .iter()
        .filter(|n| n.source == Source::Melody && n.velocity > 0)
        .map(|n| n.frame)
        .max();
    assert!(
        last_on < Some(at),
        "nothing learned, nothing played after the clear"
    );
}

#[test]
fn switching_away_from_the_markov_chain_while_it_plays_leaves_none_on() {
    let (patch, taught, at) = markov_playing();
    for (id, value) in [
        (ParamId::MelodyModel, 5.0),
        (ParamId::MelodyModel, 0.0),
        (ParamId::MelodyModel, 4.0),
        (ParamId::MelodyMode, 0.0),
        (ParamId::MelodyMode, 2.0),
        (ParamId::MelodyKey, 8.0),
        (ParamId::MarkovForget, 50.0),
        (ParamId::MelodyLow, 90.0),
    ] {
        // A free line plays on, so it is switched off a little later: a note the change itself
        // lost track of would still be left on after that.
        let mut changes = taught.clone();
        changes.push(set(at, id, value));
        // (Before the end of `play`'s first second, where its events stop.)
        let later = (at + SR as u64 / 8).min(SR as u64 - 1);
        assert!(later > at);
        changes.push(set(later, ParamId::MelodyMode, 0.0));
        let (out, engine) = play(&patch, &changes);
        assert_nothing_left(&format!("{} = {value}", id.spec().key), &out, &engine);
    }
}
