//! The rhythm sequencer in the engine: hits on the exact frames of the decoder's thresholded
//! pattern, the X/Y point, threshold, length, pitch steps, velocity and channel doing what the
//! panel says, models in the patch text, no allocation, no note left on.

use tidepool_alloc_count::{allocations_during, CountingAlloc};
use tidepool_engine::render::{render, render_with};
use tidepool_engine::{Engine, Input, InputEvent, NoteEvent, ParamId, Patch, Source};
use tidepool_rhythm::arch::Arch;
use tidepool_rhythm::decoder::Decoder;
use tidepool_rhythm::dense::Dense;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const SR: f64 = 48000.0;
/// A sixteenth at the default 120 BPM.
const SIXTEENTH: u64 = 6000;
/// The pattern the test decoder plays at X ≤ 0: a hit on every beat.
const BEATS: &str = "10001000100010001000100010001000";

/// A prototype-shaped decoder (2 → 16 → 32) whose output is `pattern` with probability 0.99
/// (0.01 off it), plus step 2 (the "e" of each bar's first beat) rising with X: hidden unit 0
/// is ReLU(X), feeding step 2 with weight 10 on top of a −4.6 bias, so step 2 is a hit above
/// X ≈ 0.46 at threshold 0.5. The velocity head gives 0.25 everywhere.
fn test_decoder(pattern: &str) -> Decoder {
    let mut first = Dense::zeros(2, 16);
    first.weight[0] = 1.0; // unit 0 = x
    let mut out = Dense::zeros(16, 32);
    for (step, c) in pattern.chars().enumerate() {
        out.bias[step] = if c == '1' { 4.6 } else { -4.6 };
    }
    out.weight[2 * 16] = 10.0;
    let mut head = Dense::zeros(16, 32);
    head.bias.fill(-1.0986123); // sigmoid = 0.25
    Decoder::new(Arch::Prototype, vec![first, out], Some(head)).expect("a valid decoder")
}

fn patch(fields: &str) -> Patch {
    let parsed = Patch::parse(&format!("tp1&arp.mode=off&{fields}"));
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    parsed.patch
}

/// An engine playing `fields` with the test decoder installed as every built-in model.
fn engine(fields: &str) -> Engine {
    let mut engine = Engine::new(SR, &patch(fields));
    for name in ["prototype", "model1", "model2", "model3"] {
        engine
            .install_rhythm_builtin(name, test_decoder(BEATS))
            .expect("a built-in name");
    }
    engine
}

fn run(engine: &mut Engine, events: &[InputEvent], seconds: f64) -> Vec<NoteEvent> {
    render_with(engine, events, (seconds * SR) as usize, 128).notes
}

fn ons(notes: &[NoteEvent], track: u8) -> Vec<&NoteEvent> {
    notes
        .iter()
        .filter(|n| {
            n.velocity > 0 && matches!(n.source, Source::Rhythm { track: t, .. } if t == track)
        })
        .collect()
}

/// Every note-on has its note-off (same pitch and channel) later, and nothing is on at the end.
fn assert_all_closed(notes: &[NoteEvent]) {
    let mut on = std::collections::HashMap::new();
    for n in notes {
        let key = (n.source.code(), n.source.channel(), n.pitch);
        let count = on.entry(key).or_insert(0i32);
        if n.velocity > 0 {
            assert_eq!(*count, 0, "{n:?}: a second note-on before the off");
            *count += 1;
        } else if *count > 0 {
            *count -= 1;
        }
    }
    let left: Vec<_> = on.iter().filter(|(_, c)| **c != 0).collect();
    assert!(left.is_empty(), "notes left on: {left:?}");
}

#[test]
fn hits_fall_on_the_exact_sixteenths_of_the_thresholded_pattern() {
    let mut e = engine("rh1.on=1&rh1.x=0&rh1.y=0");
    let notes = run(&mut e, &[], 4.0);
    let frames: Vec<u64> = ons(&notes, 0).iter().map(|n| n.frame).collect();
    let expected: Vec<u64> = (0..32)
        .filter(|k| k % 4 == 0)
        .map(|k| k * SIXTEENTH)
        .collect();
    assert_eq!(frames, expected, "two bars of beats at 120 BPM");
    // Pitches cycle through the eight pitch steps, one per hit.
    let pitches: Vec<u8> = ons(&notes, 0).iter().map(|n| n.pitch).collect();
    assert_eq!(pitches, [36, 36, 43, 46, 36, 39, 41, 43]);
    // Track 1's default channel is 3 (2 on the wire); velocity from the model output (0.99).
    assert!(ons(&notes, 0).iter().all(|n| n.source.channel() == 2));
    assert!(ons(&notes, 0).iter().all(|n| n.velocity == 126));
    // The gate: half a sixteenth.
    let off = notes
        .iter()
        .find(|n| n.velocity == 0 && n.pitch == 36)
        .expect("an off");
    assert_eq!(off.frame, SIXTEENTH / 2);
    assert!(
        ons(&notes, 1).is_empty() && ons(&notes, 2).is_empty(),
        "tracks 2 and 3 are off"
    );
}

#[test]
fn x_threshold_length_and_pitch_controls_change_the_pattern() {
    // X = 1 adds step 2 of the pattern (once per 2 bars).
    let mut e = engine("rh1.on=1&rh1.x=1");
    let steps: Vec<u64> = ons(&run(&mut e, &[], 4.0), 0)
        .iter()
        .map(|n| n.frame / SIXTEENTH)
        .collect();
    assert_eq!(steps, [0, 2, 4, 8, 12, 16, 20, 24, 28]);
    // Threshold 0.995 is above every output: silence; 0.005 below every one: all 32 steps.
    let mut e = engine("rh1.on=1&rh1.x=0&rh1.thr=0.995");
    assert!(ons(&run(&mut e, &[], 4.0), 0).is_empty());
    let mut e = engine("rh1.on=1&rh1.x=0&rh1.thr=0.005");
    assert_eq!(ons(&run(&mut e, &[], 4.0), 0).len(), 32);
    // Length 6 loops the first six steps: hits at 0 and 4, then 6 and 10, 12 and 16 …
    let mut e = engine("rh1.on=1&rh1.x=0&rh1.len=6");
    let steps: Vec<u64> = ons(&run(&mut e, &[], 2.0), 0)
        .iter()
        .map(|n| n.frame / SIXTEENTH)
        .collect();
    assert_eq!(steps, [0, 4, 6, 10, 12]);
    // Two pitch steps, transposed by 12, fixed velocity, channel 9.
    let mut e = engine(
        "rh1.on=1&rh1.x=0&rh1.np=2&rh1.p1=60&rh1.p2=62&rh1.tr=12&rh1.vel=fixed&rh1.vfix=77&rh1.ch=9",
    );
    let notes = run(&mut e, &[], 2.0);
    let played: Vec<(u8, u8, u8)> = ons(&notes, 0)
        .iter()
        .map(|n| (n.pitch, n.velocity, n.source.channel()))
        .collect();
    assert_eq!(played, [(72, 77, 8), (74, 77, 8), (72, 77, 8), (74, 77, 8)]);
    // Velocity from the trained head: 0.25 → 1 + round(0.25 · 126) = 33.
    let mut e = engine("rh1.on=1&rh1.x=0&rh1.vel=head");
    assert!(ons(&run(&mut e, &[], 1.0), 0)
        .iter()
        .all(|n| n.velocity == 33));
}

#[test]
fn pitches_from_the_held_keys_and_mute_solo() {
    let mut e = engine("rh1.on=1&rh1.x=0&rh1.pitch=keys&rh2.on=1&rh2.x=0");
    let held = [64u8, 60, 67].map(|pitch| InputEvent {
        frame: 0,
        input: Input::NoteOn {
            pitch,
            velocity: 100,
        },
    });
    let notes = run(&mut e, &held, 2.0);
    let pitches: Vec<u8> = ons(&notes, 0).iter().map(|n| n.pitch).collect();
    assert_eq!(
        pitches,
        [60, 64, 67, 60],
        "the held keys, low to high, cycled"
    );
    assert_eq!(ons(&notes, 1).len(), 4, "track 2 plays its own pitch steps");
    // Solo on track 2 silences track 1; mute on track 2 then silences both.
    let mut e = engine("rh1.on=1&rh1.x=0&rh2.on=1&rh2.x=0&rh2.solo=1");
    let notes = run(&mut e, &[], 2.0);
    assert!(ons(&notes, 0).is_empty());
    assert_eq!(ons(&notes, 1).len(), 4);
    let mut e = engine("rh1.on=1&rh1.x=0&rh2.on=1&rh2.x=0&rh2.solo=1&rh2.mute=1");
    assert!(run(&mut e, &[], 2.0).iter().all(|n| n.velocity == 0));
}

#[test]
fn the_three_tracks_play_their_own_models_on_their_own_channels() {
    let mut e = Engine::new(
        SR,
        &patch("rh1.on=1&rh2.on=1&rh3.on=1&rh1.x=0&rh2.x=0&rh3.x=0"),
    );
    // Built-ins missing: named so a host can fetch them, and silence until they come.
    let missing: Vec<&str> = e.missing_rhythm_models().collect();
    assert_eq!(missing, ["prototype", "model1", "model3"]);
    assert!(run(&mut e, &[], 1.0).is_empty());
    let offbeats = "00100010001000100010001000100010";
    e.install_rhythm_builtin("model1", test_decoder(BEATS))
        .unwrap();
    e.install_rhythm_builtin("model3", test_decoder(offbeats))
        .unwrap();
    e.install_rhythm_builtin("prototype", test_decoder(BEATS))
        .unwrap();
    assert_eq!(e.missing_rhythm_models().count(), 0);
    assert!(e
        .install_rhythm_builtin("model9", test_decoder(BEATS))
        .is_err());
    let notes = run(&mut e, &[], 2.0);
    let first = ons(&notes, 0)[0].frame;
    assert!(ons(&notes, 1)
        .iter()
        .all(|n| (n.frame - first) % (4 * SIXTEENTH) == 2 * SIXTEENTH));
    let channels: Vec<u8> = (0..3).map(|t| ons(&notes, t)[0].source.channel()).collect();
    assert_eq!(channels, [2, 3, 4], "channels 3, 4, 5");
}

#[test]
fn an_embedded_model_travels_in_the_patch_text() {
    let text = test_decoder(BEATS).to_text();
    let fields = format!("rh1.on=1&rh1.x=0&rh1.model=~{text}");
    let parsed = Patch::parse(&format!("tp1&arp.mode=off&{fields}"));
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    // Canonical text carries it back out, and it plays without any model installed.
    let again = Patch::parse(&parsed.patch.to_text());
    assert_eq!(again.patch, parsed.patch);
    let mut e = Engine::new(SR, &parsed.patch);
    assert_eq!(
        e.missing_rhythm_models().count(),
        0,
        "track 1 needs no built-in"
    );
    let steps: Vec<u64> = ons(&run(&mut e, &[], 2.0), 0)
        .iter()
        .map(|n| n.frame / SIXTEENTH)
        .collect();
    assert_eq!(steps, [0, 4, 8, 12]);
    assert_eq!(
        e.patch(),
        parsed.patch,
        "the engine reports the model it plays"
    );
    // A corrupt embedded model is refused by name and the track keeps its model.
    let bad = Patch::parse("tp1&rh1.on=1&rh1.model=~AAAA");
    assert_eq!(bad.errors.len(), 1, "{:?}", bad.errors);
    assert!(
        bad.errors[0].to_string().starts_with("rh1.model:"),
        "{}",
        bad.errors[0]
    );
    assert!(
        bad.errors[0].message.contains("kept model1"),
        "{}",
        bad.errors[0]
    );
    // Switching the model live: a bad one is refused and the track plays on.
    assert!(e.set_rhythm_model(0, "~not-a-model").is_err());
    assert!(e.set_rhythm_model(3, "model1").is_err());
    e.set_rhythm_model(0, "model2").unwrap();
    assert_eq!(e.missing_rhythm_models().collect::<Vec<_>>(), ["model2"]);
    // Only tracks that are on need their model.
    e.set_param(e.frame(), ParamId::Rh1On, 0.0);
    assert_eq!(e.missing_rhythm_models().count(), 0);
}

#[test]
fn the_default_patch_text_has_no_rhythm_fields_and_a_set_one_has_them_all() {
    let default = Patch::default().to_text();
    assert!(
        !default.contains("rh1.") && !default.contains("rhy."),
        "{default}"
    );
    let p = patch("rh2.thr=0.3");
    let text = p.to_text();
    for key in [
        "rh1.on=0",
        "rh2.thr=0.3",
        "rh3.ch=5",
        "rhy.gain=-6",
        "rh1.model=model1",
        "rh2.model=model3",
        "rh3.model=prototype",
    ] {
        assert!(text.contains(key), "{key} in {text}");
    }
    assert_eq!(Patch::parse(&text).patch, p);
}

#[test]
fn no_note_is_left_on_by_any_change_and_stop_ends_everything() {
    let fields = "rh1.on=1&rh1.x=0&rh1.gate=1&rh2.on=1&rh2.x=0&rh2.gate=1&rh3.on=1&rh3.x=0";
    let at = |frame: u64, id: ParamId, value: f64| InputEvent {
        frame,
        input: Input::SetParam { id, value },
    };
    // Each change lands in the middle of a sounding note (gate 1: notes last a whole step).
    let mid = |k: u64| k * 4 * SIXTEENTH + SIXTEENTH / 2;
    let events = [
        at(mid(1), ParamId::Rh1Channel, 10.0),
        at(mid(2), ParamId::Rh2Mute, 1.0),
        at(mid(3), ParamId::Rh3On, 0.0),
        at(mid(4), ParamId::Rh1Synth, 0.0),
        at(mid(5), ParamId::Rh1Solo, 1.0),
        at(mid(6), ParamId::Rh1Transpose, 5.0),
        at(mid(7), ParamId::Rh1Length, 3.0),
        at(mid(8), ParamId::Playing, 0.0),
    ];
    let mut e = engine(fields);
    let notes = run(&mut e, &events, 6.0);
    assert_all_closed(&notes);
    // The channel change ended track 1's note on channel 3 at the change, not on channel 11.
    let ended = notes
        .iter()
        .find(|n| n.velocity == 0 && n.frame == mid(1))
        .expect("an off at the channel change");
    assert_eq!(ended.source.channel(), 2);
    assert_eq!(
        e.status().sounding,
        0,
        "every voice released after stop (and its tail)"
    );
}

#[test]
fn block_size_does_not_change_a_note_or_a_sample() {
    let fields = "rh1.on=1&rh1.x=0.7&rh2.on=1&rh2.x=0&rh2.len=5&rh3.on=1&rh3.x=2&swing=62";
    let mut outputs = Vec::new();
    for block in [1, 64, 128, 1000] {
        let mut e = engine(fields);
        outputs.push(render_with(&mut e, &[], 48000 * 3, block));
    }
    assert!(outputs.iter().all(|o| *o == outputs[0]));
    assert!(ons(&outputs[0].notes, 2).len() >= 7, "the tracks played");
    // And the render of a plain patch (no rhythm) is the same as before the tracks existed:
    // silent tracks add nothing to the mix.
    let plain = render(&Patch::default(), SR, &[], 4800, 128);
    assert!(plain
        .notes
        .iter()
        .all(|n| !matches!(n.source, Source::Rhythm { .. })));
}

#[test]
fn playing_three_tracks_and_moving_their_points_does_not_allocate() {
    let mut e = engine("rh1.on=1&rh2.on=1&rh3.on=1&rh2.pitch=keys&swing=60");
    let (mut l, mut r) = (vec![0.0f32; 128], vec![0.0f32; 128]);
    for k in 0..200u64 {
        e.push_event(InputEvent {
            frame: k * 700,
            input: Input::SetParam {
                id: [ParamId::Rh1X, ParamId::Rh2Y, ParamId::Rh3Threshold][k as usize % 3],
                value: (k % 17) as f64 / 8.0 - 1.0,
            },
        });
    }
    e.push_event(InputEvent {
        frame: 100,
        input: Input::NoteOn {
            pitch: 62,
            velocity: 90,
        },
    });
    let mut played = 0;
    let count = allocations_during(|| {
        for _ in 0..(3 * 48000 / 128) {
            e.process(&mut l, &mut r);
            played += e.notes().iter().filter(|n| n.velocity > 0).count();
            e.clear_notes();
        }
    });
    assert_eq!(count, 0, "process allocated {count} times");
    assert!(played > 20, "{played} notes");
}

#[test]
fn played_keys_are_kept_as_two_bar_rhythms_on_the_sixteenth_grid() {
    let mut e = engine("");
    // Keys a little early or late around sixteenths 0, 3, 8 and, in the next window, 33.
    let key = |frame: u64, velocity: u8| InputEvent {
        frame,
        input: Input::NoteOn {
            pitch: 60,
            velocity,
        },
    };
    let up = |frame: u64| InputEvent {
        frame,
        input: Input::NoteOff { pitch: 60 },
    };
    let events = [
        key(10, 90),
        up(1000),
        key(3 * SIXTEENTH - 900, 70),
        up(3 * SIXTEENTH),
        key(8 * SIXTEENTH + 1500, 100),
        up(8 * SIXTEENTH + 2000),
        key(33 * SIXTEENTH, 50),
        up(33 * SIXTEENTH + 100),
    ];
    run(&mut e, &events, 5.0);
    let windows = e.played_rhythms().windows();
    assert_eq!(windows.len(), 2);
    let mut first = [0u8; 32];
    (first[0], first[3], first[8]) = (90, 70, 100);
    assert_eq!(windows[0], (0, first));
    let mut second = [0u8; 32];
    second[1] = 50;
    assert_eq!(windows[1], (1, second));
}

#[test]
fn random_abuse_of_every_rhythm_control_leaves_no_note_on() {
    // 16 seeds × 6 s of random changes every ~40 ms to every rhythm parameter, the tempo, swing,
    // play, keys and models (switched live), then everything let go and stopped.
    let rhythm_ids: Vec<ParamId> = ParamId::all()
        .iter()
        .copied()
        .filter(|id| id.spec().key.starts_with("rh"))
        .chain([ParamId::Tempo, ParamId::Swing, ParamId::Playing])
        .collect();
    for seed in 1..=16u64 {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut e = engine("rh1.on=1&rh2.on=1&rh3.on=1&rh1.gate=1&rh2.gate=1&rh2.np=1");
        // Track 2's default model hits every step: consecutive notes of one pitch.
        e.install_rhythm_builtin("model3", test_decoder(&"1".repeat(32)))
            .unwrap();
        let (mut l, mut r) = (vec![0.0f32; 128], vec![0.0f32; 128]);
        let mut notes = Vec::new();
        let mut frame = 0u64;
        while frame < 6 * SR as u64 {
            frame += 500 + next() % 3000;
            // A quarter of the changes are tempo changes: a faster tempo brings the next step
            // before a whole-step gate ends, so same-pitch retriggers happen.
            let id = match next() % 4 {
                0 => ParamId::Tempo,
                _ => rhythm_ids[(next() % rhythm_ids.len() as u64) as usize],
            };
            let spec = id.spec();
            let value = spec.min() + (next() % 1001) as f64 / 1000.0 * (spec.max() - spec.min());
            let input = match next() % 8 {
                0 => Input::NoteOn {
                    pitch: 40 + (next() % 40) as u8,
                    velocity: 1 + (next() % 127) as u8,
                },
                1 => Input::NoteOff {
                    pitch: 40 + (next() % 40) as u8,
                },
                _ => Input::SetParam { id, value },
            };
            e.push_event(InputEvent { frame, input });
            if next() % 10 == 0 {
                // A model switched live (between blocks, as the worklet's handler does).
                while e.frame() < frame {
                    e.process(&mut l, &mut r);
                    notes.extend_from_slice(e.notes());
                    e.clear_notes();
                }
                let model = ["model1", "model2", "prototype"][(next() % 3) as usize];
                e.set_rhythm_model((next() % 3) as usize, model).unwrap();
            }
        }
        for input in [
            Input::AllNotesOff,
            Input::SetParam {
                id: ParamId::Playing,
                value: 0.0,
            },
        ] {
            e.push_event(InputEvent { frame, input });
        }
        let rest = (7 * SR as u64 - e.frame()) as usize;
        notes.extend(render_with(&mut e, &[], rest, 128).notes);
        assert!(
            notes.iter().filter(|n| n.velocity > 0).count() > 20,
            "seed {seed}: the tracks played"
        );
        assert_all_closed(&notes);
        assert_eq!(e.status().sounding, 0, "seed {seed}: a voice still sounds");
    }
}
