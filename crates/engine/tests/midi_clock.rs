//! MIDI clock out and in, through the whole engine: ticks sent on exact frames with Start and
//! Stop, and an external clock with jitter and a tempo change followed closely enough that the
//! arpeggio lands on the sender's grid; a clock that stops leaves no note on.

use tidepool_engine::{ClockIn, Engine, Input, InputEvent, MidiEvent, NoteEvent, ParamId, Patch};

const SR: f64 = 48_000.0;
const BLOCK: usize = 128;

fn engine(text: &str) -> Engine {
    let parsed = Patch::parse(text);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    Engine::new(SR, &parsed.patch)
}

/// Runs `frames` in blocks, pushing each `(arrival, event)` before the block its arrival falls
/// in (an event may carry an earlier frame: it arrived late). Returns notes and MIDI messages.
fn run(
    e: &mut Engine,
    events: Vec<(u64, InputEvent)>,
    frames: u64,
) -> (Vec<NoteEvent>, Vec<MidiEvent>) {
    run_in(e, events, frames, BLOCK)
}

/// As [`run`], in blocks of `block` frames.
fn run_in(
    e: &mut Engine,
    mut events: Vec<(u64, InputEvent)>,
    frames: u64,
    block: usize,
) -> (Vec<NoteEvent>, Vec<MidiEvent>) {
    events.sort_by_key(|(arrival, _)| *arrival);
    let (mut notes, mut midi) = (Vec::new(), Vec::new());
    let (mut l, mut r) = (vec![0.0; block], vec![0.0; block]);
    let mut next = 0;
    while e.frame() < frames {
        let end = e.frame() + block as u64;
        while next < events.len() && events[next].0 < end {
            assert!(e.push_event(events[next].1));
            next += 1;
        }
        e.process(&mut l, &mut r);
        notes.extend_from_slice(e.notes());
        e.clear_notes();
        midi.extend_from_slice(e.midi());
        e.clear_midi();
    }
    (notes, midi)
}

/// Every note-on in `notes` has its note-off.
fn assert_no_note_left_on(notes: &[NoteEvent]) {
    let mut on = [0i32; 128];
    for n in notes {
        on[n.pitch as usize] += if n.velocity > 0 { 1 } else { -1 };
    }
    assert!(on.iter().all(|&c| c == 0), "notes left on: {on:?}");
}

fn at(frame: u64, input: Input) -> (u64, InputEvent) {
    (frame, InputEvent { frame, input })
}

#[test]
fn clock_out_ticks_on_exact_frames_with_start_and_stop() {
    let mut e = engine("tp1&bpm=120&clock.out=1&arp.mode=off");
    let stop = 30 * 48_000 + 500;
    let events = vec![at(
        stop,
        Input::SetParam {
            id: ParamId::Playing,
            value: 0.0,
        },
    )];
    let (_, midi) = run(&mut e, events, stop + 48_000);
    // The patch plays from frame 0: Start, then the first tick, on frame 0.
    assert_eq!(midi[0].message(), [0xFA]);
    assert_eq!((midi[1].frame, midi[1].message()), (0, &[0xF8][..]));
    // Ticks are announced 0.1 s ahead, each with its own frame: up to the stop.
    let ticks: Vec<u64> = midi
        .iter()
        .filter(|m| m.message() == [0xF8] && m.frame <= stop)
        .map(|m| m.frame)
        .collect();
    // 120 BPM at 48 kHz: 24 000 frames a beat, 1000 a tick; 30 s hold 1440 ticks and one more.
    assert_eq!(ticks.len(), 30 * 48 + 1);
    for (k, f) in ticks.iter().enumerate() {
        assert_eq!(*f, k as u64 * 1000, "tick {k}");
    }
    let stops: Vec<u64> = midi
        .iter()
        .filter(|m| m.message() == [0xFC])
        .map(|m| m.frame)
        .collect();
    assert_eq!(stops, [stop]);
    assert!(
        midi.iter().all(|m| m.frame <= stop + 4800),
        "nothing announced beyond the lookahead"
    );

    // Play on again: Start, then the first tick on the same frame, after it.
    let restart = e.frame();
    let events = vec![at(
        restart + 10,
        Input::SetParam {
            id: ParamId::Playing,
            value: 1.0,
        },
    )];
    let (_, midi) = run(&mut e, events, restart + 3000);
    let got: Vec<(u64, Vec<u8>)> = midi
        .iter()
        .map(|m| (m.frame - restart, m.message().to_vec()))
        .collect();
    assert_eq!(
        &got[..3],
        &[(10, vec![0xFA]), (10, vec![0xF8]), (1010, vec![0xF8])]
    );
}

/// A seeded xorshift for the tests' jitter and random choices (no dependency needed for test
/// signals).
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in ±`max`.
    fn jitter(&mut self, max: f64) -> f64 {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * max
    }

    /// Uniform in 0..n.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn follows_a_jittery_clock_and_its_tempo_change_onto_the_grid() {
    let mut e = engine("tp1&bpm=120&clock.follow=1&arp.mode=up&arp.div=1/16&arp.gate=0.5");
    let ms = SR / 1000.0;
    // 100 BPM for 16 beats, then 140 BPM for 16 beats; ±2 ms uniform jitter; every tick
    // arrives 10 ms after it was sent (an output latency's worth).
    let (t100, t140) = (SR * 60.0 / 100.0 / 24.0, SR * 60.0 / 140.0 / 24.0);
    let start = 20_000.0;
    let change_tick = 16 * 24;
    let ideal = |k: usize| {
        if k <= change_tick {
            start + k as f64 * t100
        } else {
            start + change_tick as f64 * t100 + (k - change_tick) as f64 * t140
        }
    };
    let mut jitter = Xorshift(0x5eed);
    let mut events = vec![];
    for pitch in [60, 64, 67] {
        events.push(at(
            0,
            Input::NoteOn {
                pitch,
                velocity: 100,
            },
        ));
    }
    let late = (10.0 * ms) as u64;
    let start_sent = (start - 100.0) as u64;
    events.push((
        start_sent + late,
        InputEvent {
            frame: start_sent,
            input: Input::Clock(ClockIn::Start),
        },
    ));
    let ticks = 32 * 24;
    for k in 0..ticks {
        let sent = (ideal(k) + jitter.jitter(2.0 * ms)).round() as u64;
        events.push((
            sent + late,
            InputEvent {
                frame: sent,
                input: Input::Clock(ClockIn::Tick),
            },
        ));
    }
    let end = ideal(ticks) as u64;
    let (notes, _) = run(&mut e, events, end + 3 * SR as u64);

    let ons: Vec<u64> = notes
        .iter()
        .filter(|n| n.velocity > 0)
        .map(|n| n.frame)
        .collect();
    // Each note-on is the 16th step whose ideal tick (6 per 16th) is nearest.
    let mut worst_settled: f64 = 0.0;
    let mut checked = 0;
    // Up to the last tick sent: beyond it the position runs on at most half a beat (the
    // run-ahead that absorbs late ticks) before it stops, which is not the sender's grid.
    for &f in ons
        .iter()
        .filter(|&&f| (f as f64) < ideal(ticks - 1) + 10.0 * ms)
    {
        let f = f as f64;
        let Some(k) = (0..=ticks).step_by(6).min_by(|&a, &b| {
            (ideal(a) - f)
                .abs()
                .partial_cmp(&(ideal(b) - f).abs())
                .expect("finite")
        }) else {
            continue;
        };
        let error_ms = (f - ideal(k)) / ms;
        // Settled: two beats (48 ticks) after the start and after the change.
        let settled = (48..change_tick).contains(&k) || k >= change_tick + 48;
        if settled {
            worst_settled = worst_settled.max(error_ms.abs());
            checked += 1;
        }
    }
    eprintln!(
        "followed clock: {checked} settled arp notes, worst {worst_settled:.3} ms off the grid"
    );
    assert!(checked > 90, "{checked} settled notes");
    assert!(worst_settled < 2.0, "worst {worst_settled:.3} ms");
    assert!(
        (e.tempo() - 140.0).abs() < 0.5,
        "followed tempo {}",
        e.tempo()
    );

    // The sender fell silent at the end: the transport stopped within about a beat and no note
    // was left on.
    assert!(!e.playing(), "stopped after a silent beat");
    assert_no_note_left_on(&notes);
}

#[test]
fn clock_switched_on_while_playing_starts_the_receiver_on_the_next_bar() {
    let mut e = engine("tp1&bpm=120&arp.mode=off");
    let on_at = 30_000; // beat 1.25: the next bar line is beat 4, frame 96 000
    let events = vec![at(
        on_at,
        Input::SetParam {
            id: ParamId::ClockOut,
            value: 1.0,
        },
    )];
    let (_, midi) = run(&mut e, events, 100_000);
    let start = midi
        .iter()
        .position(|m| m.message() == [0xFA])
        .expect("Start");
    assert_eq!(midi[start].frame, 96_000);
    assert_eq!(
        (midi[start + 1].frame, midi[start + 1].message()),
        (96_000, &[0xF8][..])
    );
    // Ticks already inside the 0.1 s lookahead when it was switched on went unannounced.
    assert_eq!(
        midi[0].frame, 35_000,
        "ticks from the first one beyond the lookahead"
    );
}

#[test]
fn stop_and_continue_from_a_song_position() {
    let mut e = engine("tp1&clock.follow=1&clock.out=1&arp.mode=up");
    let mut events = vec![at(
        0,
        Input::NoteOn {
            pitch: 60,
            velocity: 90,
        },
    )];
    let tick = 1000u64;
    events.push(at(100, Input::Clock(ClockIn::Start)));
    for k in 0..96u64 {
        events.push(at(1000 + k * tick, Input::Clock(ClockIn::Tick)));
    }
    let stop_at = 1000 + 96 * tick;
    events.push(at(stop_at, Input::Clock(ClockIn::Stop)));
    events.push(at(stop_at + 5000, Input::Clock(ClockIn::SongPosition(32))));
    events.push(at(stop_at + 6000, Input::Clock(ClockIn::Continue)));
    for k in 0..48u64 {
        events.push(at(stop_at + 7000 + k * tick, Input::Clock(ClockIn::Tick)));
    }
    let (notes, midi) = run(&mut e, events, stop_at + 7000 + 80 * tick);
    let sent: Vec<Vec<u8>> = midi
        .iter()
        .filter(|m| m.message() != [0xF8])
        .map(|m| m.message().to_vec())
        .collect();
    // Start and Stop forwarded, the pointer (32 sixteenths) and Continue, and a Stop when the
    // sender fell silent for a beat.
    assert_eq!(
        sent,
        [
            vec![0xFA],
            vec![0xFC],
            vec![0xF2, 32, 0],
            vec![0xFB],
            vec![0xFC]
        ]
    );
    // Nothing sounds between Stop and Continue, and no note is left on at the end.
    assert!(!notes
        .iter()
        .any(|n| n.velocity > 0 && n.frame > stop_at && n.frame < stop_at + 7000));
    assert_no_note_left_on(&notes);
}

#[test]
fn clock_out_follow_and_ccs_do_not_depend_on_the_block_size() {
    // Events all on time (arrival = frame), so every block size applies them on their frame.
    let mut events = vec![
        at(
            0,
            Input::NoteOn {
                pitch: 62,
                velocity: 100,
            },
        ),
        at(500, Input::Clock(ClockIn::Start)),
    ];
    for k in 0..150u64 {
        events.push(at(1000 + k * 1003, Input::Clock(ClockIn::Tick)));
    }
    let text = "tp1&clock.follow=1&clock.out=1&lfo.cc1=74&lfo.cc3=10&lfo.outs=3&arp.mode=up";
    // What happened before frame 200 000 (block sizes overshoot the end differently).
    let render = |block| {
        let mut e = engine(text);
        let (mut notes, mut midi) = run_in(&mut e, events.clone(), 200_000, block);
        notes.retain(|n| n.frame < 200_000);
        midi.retain(|m| m.frame < 200_000);
        (notes, midi)
    };
    let reference = render(128);
    assert!(reference.0.len() > 20 && reference.1.len() > 150);
    for block in [1, 64, 1000] {
        assert!(render(block) == reference, "block size {block} differs");
    }
}

#[test]
fn random_clock_transport_and_key_abuse_leaves_no_note_on() {
    // Every 0–60 ms for 20 s: ticks, Start/Stop/Continue/SPP at random, following switched on
    // and off, play on and off, arpeggiator modes, tempo, keys (the same pitch pressed twice
    // too) and the pedal. Then everything is let go and stopped: nothing may still sound.
    for seed in 1..25u64 {
        let mut dice = Xorshift(seed * 7919 + 1);
        let mut e = engine("tp1&clock.follow=1&clock.out=1&lfo.cc1=5");
        let (mut frame, mut events, mut held) = (0u64, vec![], vec![]);
        while frame < 20 * 48_000 {
            frame += dice.below(3000);
            let set = |id, value| Input::SetParam { id, value };
            let input = match dice.below(20) {
                0..=7 => Input::Clock(ClockIn::Tick),
                8 => Input::Clock(ClockIn::Start),
                9 => Input::Clock(ClockIn::Stop),
                10 => Input::Clock(ClockIn::Continue),
                11 => Input::Clock(ClockIn::SongPosition(dice.below(200) as u16)),
                12 => set(ParamId::ClockFollow, dice.below(2) as f64),
                13 => set(ParamId::Playing, dice.below(2) as f64),
                14 => set(ParamId::ArpMode, dice.below(7) as f64),
                15 | 16 => {
                    let pitch = 48 + dice.below(24) as u8;
                    held.push(pitch);
                    Input::NoteOn {
                        pitch,
                        velocity: 100,
                    }
                }
                17 => match held.pop() {
                    Some(pitch) => Input::NoteOff { pitch },
                    None => Input::Sustain(true),
                },
                18 => Input::Sustain(dice.below(2) == 0),
                _ => set(ParamId::Tempo, 40.0 + dice.below(200) as f64),
            };
            events.push(at(frame, input));
        }
        for pitch in held {
            events.push(at(frame + 1, Input::NoteOff { pitch }));
        }
        events.push(at(frame + 2, Input::Sustain(false)));
        events.push(at(
            frame + 3,
            Input::SetParam {
                id: ParamId::Playing,
                value: 0.0,
            },
        ));
        let (notes, _) = run(&mut e, events, frame + 3 * 48_000);
        assert_no_note_left_on(&notes);
        assert_eq!(e.status().sounding, 0, "seed {seed}: a voice still sounds");
    }
}

#[test]
fn following_switched_off_again_plays_on_at_the_patch_tempo() {
    // Follow on stops the transport to wait for a sender; none comes; follow off: the patch's
    // play switch is on, so the arpeggio plays again (Continue from where it stood).
    let mut e = engine("tp1&bpm=120&clock.out=1&arp.mode=up");
    let set = |frame, id, value| at(frame, Input::SetParam { id, value });
    let events = vec![
        at(
            0,
            Input::NoteOn {
                pitch: 60,
                velocity: 90,
            },
        ),
        set(30_000, ParamId::ClockFollow, 1.0),
        set(60_000, ParamId::ClockFollow, 0.0),
        set(110_000, ParamId::Playing, 0.0),
    ];
    let (notes, midi) = run(&mut e, events, 120_000);
    let ons = |from: u64, to: u64| {
        notes
            .iter()
            .filter(|n| n.velocity > 0 && n.frame >= from && n.frame < to)
            .count()
    };
    assert_eq!(ons(30_001, 60_000), 0, "nothing while waiting for a sender");
    assert!(ons(60_000, 110_000) >= 8, "the arpeggio plays again");
    let sent: Vec<&[u8]> = midi
        .iter()
        .map(|m| m.message())
        .filter(|m| m != &[0xF8])
        .collect();
    assert_eq!(sent, [&[0xFA][..], &[0xFC], &[0xFB], &[0xFC]]);
    assert_no_note_left_on(&notes);
}
