//! The engine's promises: block-size invariance, determinism, no allocation and no panic in
//! `process`, bounded output, recovery from NaN.

use tidepool_alloc_count::{allocations_during, CountingAlloc};
use tidepool_engine::render::{held_notes, render, Rendered};
use tidepool_engine::{
    Brain, ClockIn, Engine, Input, InputEvent, ParamId, Patch, Source, CEILING, PARAMS,
};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const SR: f64 = 44100.0;

/// A busy score: a chord, a melody over it, knob moves, tempo and division changes, the pedal.
fn score() -> Vec<InputEvent> {
    let mut ev = held_notes(&[48, 55, 60, 63], 3 * 44100);
    let at = |frame, input| InputEvent { frame, input };
    ev.extend([
        at(
            5000,
            Input::SetParam {
                id: ParamId::SynthCutoff,
                value: 600.0,
            },
        ),
        at(
            20000,
            Input::SetParam {
                id: ParamId::Tempo,
                value: 150.0,
            },
        ),
        at(
            30001,
            Input::SetParam {
                id: ParamId::ArpDivision,
                value: 9.0,
            },
        ),
        at(40000, Input::Sustain(true)),
        at(
            40000,
            Input::NoteOn {
                pitch: 67,
                velocity: 90,
            },
        ),
        at(41000, Input::NoteOff { pitch: 67 }),
        at(
            60000,
            Input::SetParam {
                id: ParamId::LfoSpectralRadius,
                value: 1.6,
            },
        ),
        at(70000, Input::Sustain(false)),
        at(
            80000,
            Input::SetParam {
                id: ParamId::ArpMode,
                value: 4.0,
            },
        ),
        at(
            90000,
            Input::SetParam {
                id: ParamId::LfoPulse,
                value: 2.0,
            },
        ),
        at(
            100_000,
            Input::SetParam {
                id: ParamId::ArpSwing,
                value: 62.0,
            },
        ),
    ]);
    ev
}

#[test]
fn block_sizes_1_64_128_1000_give_identical_output() {
    let patch = Patch::default();
    let frames = 3 * 44100 + 5000;
    let reference = render(&patch, SR, &score(), frames, 128);
    assert!(
        reference.notes.len() > 20,
        "the arpeggiator should be playing: {}",
        reference.notes.len()
    );
    for block in [1, 64, 1000] {
        let other = render(&patch, SR, &score(), frames, block);
        assert!(other == reference, "block size {block} differs from 128");
    }
}

#[test]
fn structural_changes_land_on_the_same_frame_whatever_the_block_size() {
    let mut ev = held_notes(&[60, 64, 67], 44100);
    ev.push(InputEvent {
        frame: 12345,
        input: Input::SetParam {
            id: ParamId::ArpNeurons,
            value: 50.0,
        },
    });
    ev.push(InputEvent {
        frame: 23456,
        input: Input::SetParam {
            id: ParamId::LfoSeed,
            value: 77.0,
        },
    });
    let a = render(&Patch::default(), SR, &ev, 44100, 128);
    let b = render(&Patch::default(), SR, &ev, 44100, 1000);
    assert!(a == b);
    let unchanged = render(
        &Patch::default(),
        SR,
        &held_notes(&[60, 64, 67], 44100),
        44100,
        128,
    );
    assert_ne!(
        a.notes, unchanged.notes,
        "a new arp network should change the arpeggio"
    );
}

#[test]
fn same_patch_and_events_give_identical_samples_and_notes() {
    let a = render(&Patch::default(), SR, &score(), 44100, 256);
    let b = render(&Patch::default(), SR, &score(), 44100, 256);
    assert!(a == b);
    let mut other = Patch::default();
    other.values.set(ParamId::ArpSeed, 2.0);
    let c = render(&other, SR, &score(), 44100, 256);
    assert_ne!(a.notes, c.notes, "another seed, another arpeggio");
}

#[test]
fn process_does_not_allocate() {
    let mut engine = Engine::new(SR, &Patch::default());
    let (mut l, mut r) = (vec![0.0f32; 128], vec![0.0f32; 128]);
    for e in score() {
        engine.push_event(e);
    }
    let count = allocations_during(|| {
        for _ in 0..(3 * 44100 / 128 + 40) {
            engine.process(&mut l, &mut r);
            engine.clear_notes();
        }
    });
    assert_eq!(count, 0, "process allocated {count} times");
    // The counter is live: the same closure shape does see an allocation.
    assert!(allocations_during(|| drop(vec![0u8; 16])) > 0);
}

#[test]
fn midi_clock_in_and_out_and_lfo_ccs_do_not_allocate() {
    // Following a clock (Start, ticks, a song position, Stop, Continue) while sending clock and
    // two LFO outputs as CCs, with the arpeggio playing.
    let text = "tp1&clock.follow=1&clock.out=1&lfo.cc1=74&lfo.cc2=1&lfo.hz=200&lfo.sync=free";
    let mut engine = Engine::new(SR, &Patch::parse(text).patch);
    let (mut l, mut r) = (vec![0.0f32; 128], vec![0.0f32; 128]);
    let mut events = held_notes(&[60, 64, 67], 3 * 44100);
    let at = |frame, input| InputEvent { frame, input };
    events.push(at(100, Input::Clock(ClockIn::Start)));
    for k in 0..120u64 {
        events.push(at(1000 + k * 919, Input::Clock(ClockIn::Tick)));
    }
    events.push(at(120_000, Input::Clock(ClockIn::Stop)));
    events.push(at(121_000, Input::Clock(ClockIn::SongPosition(8))));
    events.push(at(122_000, Input::Clock(ClockIn::Continue)));
    for k in 0..20u64 {
        events.push(at(123_000 + k * 919, Input::Clock(ClockIn::Tick)));
    }
    let mut sent = 0;
    let mut notes = 0;
    let count = allocations_during(|| {
        for e in &events {
            engine.push_event(*e);
        }
        for _ in 0..(3 * 44100 / 128) {
            engine.process(&mut l, &mut r);
            sent += engine.midi().len();
            notes += engine.notes().len();
            engine.clear_notes();
            engine.clear_midi();
        }
    });
    assert_eq!(count, 0, "allocated {count} times");
    assert!(
        sent > 200 && notes > 20,
        "{sent} MIDI messages, {notes} notes"
    );
    assert_eq!(engine.status().dropped_midi, 0);
}

/// tests/fixtures/melody-user-1x64.safetensors, loaded and quantized as the page's worker does.
fn musicians_file(root: &std::path::Path) -> Brain {
    let bytes = std::fs::read(root.join("tests/fixtures/melody-user-1x64.safetensors")).unwrap();
    let (model, _) = tidepool_melody::model_file::load(&bytes).unwrap();
    Brain::lstm_from_tpq(&tidepool_melody::quant_file::write(&model).unwrap()).unwrap()
}

#[test]
fn the_melody_generator_does_not_allocate_either() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model = std::fs::read(root.join("web/models/melody-lstm.tpq")).unwrap();
    let corpus = std::fs::read_to_string(root.join("data/chorales/train.tokens")).unwrap();
    for (fields, brain) in [
        ("mel.mode=free", Brain::lstm_from_tpq(&model).unwrap()),
        (
            "mel.mode=answer&mel.bars=1",
            Brain::lstm_from_tpq(&model).unwrap(),
        ),
        (
            "mel.mode=free&mel.model=ngram4",
            Brain::ngram_from_corpus(&corpus, 4).unwrap(),
        ),
        (
            "mel.mode=answer&mel.model=ngram3",
            Brain::ngram_from_corpus(&corpus, 3).unwrap(),
        ),
        // The musician's own model file (a 1 × 64 LSTM trained in PyTorch), as the page's
        // worker converts it.
        ("mel.mode=free&mel.model=file", musicians_file(&root)),
        (
            "mel.mode=answer&mel.bars=1&mel.model=file",
            musicians_file(&root),
        ),
    ] {
        let mut engine = Engine::new(SR, &Patch::parse(&format!("tp1&{fields}")).patch);
        if fields.contains("model=file") {
            engine.install_melody_file(brain);
        } else {
            engine.install_melody(brain);
        }
        assert_eq!(engine.missing_melody_model(), None, "{fields}");
        for e in score() {
            engine.push_event(e);
        }
        let (mut l, mut r) = (vec![0.0f32; 128], vec![0.0f32; 128]);
        let mut melody_notes = 0;
        let count = allocations_during(|| {
            for _ in 0..(6 * 44100 / 128) {
                engine.process(&mut l, &mut r);
                melody_notes += engine
                    .notes()
                    .iter()
                    .filter(|n| n.source == Source::Melody)
                    .count();
                engine.clear_notes();
            }
        });
        assert_eq!(count, 0, "{fields}: process allocated {count} times");
        assert!(
            melody_notes > 0,
            "{fields}: the melody played ({melody_notes} events)"
        );
    }
}

#[test]
fn the_markov_chain_learns_plays_forgets_and_clears_without_allocating() {
    // 16ths at 120 BPM: 300 notes of 1–3 16ths, some with a rest after, in two phrases (a
    // silence of 2 bars between), at 50 % forgetting: the tables are renormalised about every
    // 60 notes, inside the counted block.
    let step = 44100 / 8;
    let mut teaching = Vec::new();
    let mut at = 1000u64;
    for i in 0..300u64 {
        let pitch = 50 + (i * 7 % 30) as u8;
        let len = 1 + i % 3;
        let rest = if i == 150 { 32 } else { i % 2 };
        let key = |frame, input| InputEvent { frame, input };
        teaching.push(key(
            at,
            Input::NoteOn {
                pitch,
                velocity: 80,
            },
        ));
        teaching.push(key(at + len * step, Input::NoteOff { pitch }));
        at += (len + rest) * step;
    }
    // Then 3 bars of silence: an answer's time.
    let blocks = (at as usize + 6 * 44100) / 128;
    for fields in [
        "mel.mode=free&mel.model=markov2&mk.forget=50",
        "mel.mode=answer&mel.model=markov1&mel.bars=1&mk.forget=3",
    ] {
        let patch = Patch::parse(&format!("tp1&arp.mode=off&{fields}")).patch;
        let mut engine = Engine::new(SR, &patch);
        let (mut l, mut r) = (vec![0.0f32; 128], vec![0.0f32; 128]);
        let mut melody_notes = 0;
        let count = allocations_during(|| {
            for e in &teaching {
                engine.push_event(*e);
            }
            for block in 0..blocks {
                if block == blocks / 4 {
                    engine.clear_markov();
                }
                engine.process(&mut l, &mut r);
                melody_notes += engine
                    .notes()
                    .iter()
                    .filter(|n| n.source == Source::Melody)
                    .count();
                engine.clear_notes();
            }
        });
        assert_eq!(count, 0, "{fields}: allocated {count} times");
        assert!(melody_notes >= 10, "{fields}: {melody_notes} melody events");
        assert!(engine.melody().markov().learned() > 50, "{fields}");
    }
}

#[test]
fn pushing_events_does_not_allocate_either() {
    let mut engine = Engine::new(SR, &Patch::default());
    let count = allocations_during(|| {
        for i in 0..2000u64 {
            engine.push_event(InputEvent {
                frame: i,
                input: Input::NoteOn {
                    pitch: (i % 128) as u8,
                    velocity: 64,
                },
            });
        }
    });
    assert_eq!(count, 0);
    assert_eq!(
        engine.status().dropped_inputs,
        2000 - tidepool_engine::INPUT_CAPACITY as u64
    );
}

fn loud(out: &Rendered) -> f32 {
    out.left
        .iter()
        .chain(&out.right)
        .fold(0.0f32, |m, v| m.max(v.abs()))
}

#[test]
fn any_parameter_value_in_or_out_of_range_never_panics_and_output_stays_bounded() {
    let nasty = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -1e300,
        1e300,
        -1.0,
        0.0,
        0.5,
        1.0,
        3.0,
        1e9,
    ];
    let mut engine = Engine::new(SR, &Patch::default());
    let (mut l, mut r) = (vec![0.0f32; 64], vec![0.0f32; 64]);
    for e in held_notes(&[40, 52, 59, 64, 71, 76, 83, 88, 95], 1 << 40) {
        engine.push_event(e);
    }
    let mut peak = 0.0f32;
    for (i, spec) in PARAMS.iter().enumerate() {
        let id = ParamId::from_index(i).unwrap();
        for &value in nasty.iter().chain(&[spec.min(), spec.max(), spec.default]) {
            if spec.structural {
                continue; // covered below, off the audio path
            }
            let frame = engine.frame();
            engine.push_event(InputEvent {
                frame,
                input: Input::SetParam { id, value },
            });
            engine.process(&mut l, &mut r);
            engine.clear_notes();
            peak = l.iter().chain(&r).fold(peak, |m, v| m.max(v.abs()));
            assert!(
                l.iter().chain(&r).all(|v| v.is_finite()),
                "{} = {value}",
                spec.key
            );
        }
        let frame = engine.frame();
        engine.push_event(InputEvent {
            frame,
            input: Input::SetParam {
                id,
                value: spec.default,
            },
        });
    }
    assert!(peak <= CEILING, "peak {peak}");
    // Structural extremes build real networks (N = 1 and N = 1000, connectivity at both ends).
    for (n, c) in [(1.0, 0.01), (1000.0, 0.01), (2.0, 1.0)] {
        let mut p = Patch::default();
        p.values.set(ParamId::LfoNeurons, n);
        p.values.set(ParamId::LfoConnectivity, c);
        p.values.set(ParamId::LfoSeed, 4_294_967_295.0);
        let out = render(&p, SR, &held_notes(&[60, 67], 8000), 8000, 128);
        assert!(loud(&out) > 0.0 && loud(&out) <= CEILING);
    }
}

#[test]
fn a_nan_in_the_lfo_is_reset_reported_and_the_music_goes_on() {
    let mut engine = Engine::new(SR, &Patch::default());
    for e in held_notes(&[60, 64, 67], 1 << 40) {
        engine.push_event(e);
    }
    let (mut l, mut r) = (vec![0.0f32; 4410], vec![0.0f32; 4410]);
    engine.process(&mut l, &mut r);
    engine.inject_lfo_state(5, f32::NAN);
    engine.clear_notes();
    for _ in 0..10 {
        engine.process(&mut l, &mut r);
        assert!(l.iter().chain(&r).all(|v| v.is_finite()));
    }
    assert_eq!(engine.status().lfo_nan_resets, 1);
    assert!(
        engine.notes().iter().any(|n| n.velocity > 0),
        "still playing"
    );
    assert!(engine.lfo_values().iter().all(|v| v.is_finite()));
}

#[test]
fn arpeggio_steps_on_exact_sixteenths_and_gates_end_notes() {
    // 120 BPM at 48 kHz: a 16th is 6000 frames; gate 0.5 ends each note 3000 frames later.
    let out = render(
        &Patch::default(),
        48000.0,
        &held_notes(&[60, 64, 67], 48000),
        48000,
        333,
    );
    let ons: Vec<u64> = out
        .notes
        .iter()
        .filter(|n| n.velocity > 0)
        .map(|n| n.frame)
        .collect();
    assert_eq!(ons, (0..8).map(|k| k * 6000).collect::<Vec<_>>());
    let offs: Vec<u64> = out
        .notes
        .iter()
        .filter(|n| n.velocity == 0)
        .map(|n| n.frame)
        .take(7)
        .collect();
    assert_eq!(offs, (0..7).map(|k| k * 6000 + 3000).collect::<Vec<_>>());
    assert!(out
        .notes
        .iter()
        .all(|n| [60, 64, 67].contains(&n.pitch) && n.source == Source::Arp));
}

#[test]
fn tempo_and_pitch_do_not_depend_on_the_sample_rate() {
    for sr in [44100.0, 48000.0, 96000.0] {
        let out = render(
            &Patch::default(),
            sr,
            &held_notes(&[60, 64, 67], sr as u64),
            sr as usize,
            128,
        );
        let ons: Vec<f64> = out
            .notes
            .iter()
            .filter(|n| n.velocity > 0)
            .map(|n| n.frame as f64 / sr)
            .collect();
        let want: Vec<f64> = (0..8).map(|k| k as f64 * 0.125).collect();
        for (a, b) in ons.iter().zip(&want) {
            assert!((a - b).abs() <= 1.0 / sr, "{sr}: {ons:?}");
        }
        assert_eq!(ons.len(), 8);
    }
}

#[test]
fn arp_off_plays_keys_directly_and_panic_stops_everything() {
    let mut p = Patch::default();
    p.values.set(ParamId::ArpMode, 0.0);
    let mut ev = vec![
        InputEvent {
            frame: 100,
            input: Input::NoteOn {
                pitch: 60,
                velocity: 90,
            },
        },
        InputEvent {
            frame: 200,
            input: Input::NoteOn {
                pitch: 64,
                velocity: 90,
            },
        },
        InputEvent {
            frame: 4000,
            input: Input::AllNotesOff,
        },
    ];
    ev.push(InputEvent {
        frame: 30000,
        input: Input::NoteOff { pitch: 60 },
    });
    let out = render(&p, SR, &ev, 44100, 128);
    let got: Vec<(u64, u8, u8)> = out
        .notes
        .iter()
        .map(|n| (n.frame, n.pitch, n.velocity))
        .collect();
    assert_eq!(
        got,
        [(100, 60, 90), (200, 64, 90), (4000, 60, 0), (4000, 64, 0)]
    );
    let tail = out.left[30000..].iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(tail < 1e-3, "released voices fade out: {tail}");
}

#[test]
fn sustain_pedal_holds_notes_for_the_arpeggiator() {
    let at = |frame, input| InputEvent { frame, input };
    let ev = vec![
        at(0, Input::Sustain(true)),
        at(
            0,
            Input::NoteOn {
                pitch: 60,
                velocity: 90,
            },
        ),
        at(
            0,
            Input::NoteOn {
                pitch: 72,
                velocity: 90,
            },
        ),
        at(10, Input::NoteOff { pitch: 60 }),
        at(10, Input::NoteOff { pitch: 72 }),
        at(44100, Input::Sustain(false)),
    ];
    let out = render(&Patch::default(), SR, &ev, 2 * 44100, 128);
    let ons: Vec<u64> = out
        .notes
        .iter()
        .filter(|n| n.velocity > 0)
        .map(|n| n.frame)
        .collect();
    assert_eq!(
        ons.len(),
        8,
        "notes sound while the pedal is down, then stop: {ons:?}"
    );
}

/// ReMi's LFO must keep moving: with the default patch (no input, sigmoid feedback) the reservoir
/// neither dies out nor locks onto a fixed point (a bias or a strong feedback can saturate it).
#[test]
fn the_default_lfo_keeps_moving() {
    let mut engine = Engine::new(SR, &Patch::default());
    let (mut l, mut r) = (vec![0.0f32; 4410], vec![0.0f32; 4410]);
    let mut seen = Vec::new();
    for _ in 0..600 {
        engine.process(&mut l, &mut r);
        seen.push(engine.lfo_values()[0]);
    }
    let tail = &seen[300..];
    let (lo, hi) = tail
        .iter()
        .fold((1.0f32, 0.0f32), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(
        hi - lo > 0.2,
        "LFO output 1 only spans {lo}..{hi} between 30 s and 60 s"
    );
}

#[test]
fn a_stale_network_is_refused_and_the_right_one_installed() {
    use tidepool_engine::network_radius;
    let mut engine = Engine::new(SR, &Patch::default());
    let (mut l, mut r) = (vec![0.0f32; 64], vec![0.0f32; 64]);
    engine.set_param(0, ParamId::LfoNeurons, 50.0);
    let stale = engine.pending_rebuild().expect("a rebuild is pending");
    let built = stale.build();
    engine.set_param(0, ParamId::LfoNeurons, 60.0);
    let refused = engine.install(built);
    assert!(
        refused.lfo.is_some(),
        "built for N = 50, the patch now wants 60"
    );
    assert!(engine.status().rebuild_pending);
    let fresh = engine.pending_rebuild().unwrap();
    let (n, c, s) = fresh.lfo.unwrap();
    let old = engine.install(fresh.build_with_radii(network_radius(n, c, s), f64::NAN));
    assert_eq!(
        old.lfo.map(|(shape, _)| shape.0),
        Some(300),
        "the old network comes back to be dropped"
    );
    assert!(!engine.status().rebuild_pending);
    assert_eq!(engine.lfo_state().len(), 60);
    engine.process(&mut l, &mut r);
}
