//! Sample rates 22 050 to 192 000 Hz: the same patch and score give the same notes at the same
//! musical times (within one frame of the rate tested), the same LFO step values, and the synth's
//! pitch and envelope times right, measured from the rendered audio. And onsets: a note starts
//! sounding on its event's exact frame, at block size 1 and 128, whatever the frame's offset in
//! the 16-frame control period, and a retriggered voice never falls silent.
//!
//! Every score time is a multiple of 1/150 s, a whole number of frames at all seven rates, so
//! the rates differ only in what the engine does with them.

use crate::host::{play, Blocks, Host, Watch};
use crate::measure;
use crate::{Check, Size};
use tidepool_engine::{Input, InputEvent, NoteEvent, ParamId, Patch};

pub const RATES: [f64; 7] = [
    22050.0, 44100.0, 48000.0, 88200.0, 96000.0, 176400.0, 192000.0,
];
/// The rate the others are compared with (the finest).
const REFERENCE: f64 = 192000.0;

/// Reservoir arpeggiator over two octaves, the LFO synced with beat pulses (smoothing off, so a
/// step's value holds until the next), the melody free on the 4-gram: everything that keeps
/// time, at a tempo that is not a round number of frames.
const TIMING_PATCH: &str = "tp1&bpm=100&lfo.smooth=off&lfo.pulse=beat&lfo.div=1/16\
    &arp.mode=reservoir&arp.div=1/16&arp.oct=2&arp.beta=3&mel.mode=free&mel.model=ngram4";
const TEMPO_CHANGE_AT: f64 = 4.0;
const NEW_TEMPO: f64 = 137.0;
const TIMING_SECONDS: f64 = 6.0;
/// The free-running LFO (steps per second, not synced to the transport).
const FREE_LFO_PATCH: &str = "tp1&lfo.sync=free&lfo.hz=37&lfo.smooth=off&arp.mode=off";
const FREE_LFO_STEPS: usize = 150;

fn patch(text: &str) -> Patch {
    let parsed = Patch::parse(text);
    assert!(parsed.errors.is_empty(), "{text}: {:?}", parsed.errors);
    parsed.patch
}

fn at(seconds: f64, rate: f64, input: Input) -> InputEvent {
    InputEvent {
        frame: crate::host::frames(seconds, rate),
        input,
    }
}

fn on(pitch: u8) -> Input {
    Input::NoteOn {
        pitch,
        velocity: 100,
    }
}

fn timing_score(rate: f64) -> Vec<InputEvent> {
    let mut e: Vec<InputEvent> = [48, 55, 58, 63].map(|p| at(0.1, rate, on(p))).to_vec();
    e.extend([
        at(1.5, rate, Input::NoteOff { pitch: 58 }),
        at(2.0, rate, on(65)),
        at(
            TEMPO_CHANGE_AT,
            rate,
            Input::SetParam {
                id: ParamId::Tempo,
                value: NEW_TEMPO,
            },
        ),
        at(5.0, rate, Input::AllNotesOff),
    ]);
    e
}

/// Frames at `rate` of the middles of the synced LFO's 1/16 steps (where the held value is read).
fn sync_probes(rate: f64) -> Vec<u64> {
    let fpb1 = rate * 60.0 / 100.0;
    let change = TEMPO_CHANGE_AT * rate;
    let pos_change = change / fpb1;
    let fpb2 = rate * 60.0 / NEW_TEMPO;
    (0..)
        .map(|k| (k as f64 + 0.5) * 0.25)
        .map(|pos| {
            if pos < pos_change {
                pos * fpb1
            } else {
                change + (pos - pos_change) * fpb2
            }
        })
        .take_while(|&f| f < (TIMING_SECONDS - 0.01) * rate)
        // Keep away from the tempo change, where a step straddles it.
        .filter(|&f| (f - change).abs() > 0.02 * rate)
        .map(|f| f.round() as u64)
        .collect()
}

fn free_probes(rate: f64) -> Vec<u64> {
    (0..FREE_LFO_STEPS)
        .map(|k| ((k as f64 + 0.5) * rate / 37.0).round() as u64)
        .collect()
}

struct Timing {
    notes: Vec<NoteEvent>,
    sync: Vec<[f32; 4]>,
    free: Vec<[f32; 4]>,
}

fn timing(host: &Host, rate: f64) -> Timing {
    let mut e = host.engine(rate, &patch(TIMING_PATCH));
    let frames = crate::host::frames(TIMING_SECONDS, rate);
    let probes = sync_probes(rate);
    let synced = play(
        host,
        &mut e,
        &timing_score(rate),
        frames,
        Blocks::Fixed(128),
        Watch::default(),
        &probes,
    );
    let mut e = host.engine(rate, &patch(FREE_LFO_PATCH));
    let probes = free_probes(rate);
    let last = probes.last().copied().unwrap_or(0) + 1;
    let free = play(
        host,
        &mut e,
        &[],
        last,
        Blocks::Fixed(128),
        Watch::default(),
        &probes,
    );
    Timing {
        notes: synced.notes,
        sync: synced.probes,
        free: free.probes,
    }
}

/// Compares a rate's notes with the reference's: same sequence, times within one frame of the
/// rate tested. Returns the worst difference in frames of `rate`, or what differs.
fn compare_notes(a: &[NoteEvent], rate: f64, r: &[NoteEvent]) -> Result<f64, String> {
    if a.len() != r.len() {
        return Err(format!("{} notes, reference {}", a.len(), r.len()));
    }
    let mut worst: f64 = 0.0;
    for (i, (x, y)) in a.iter().zip(r).enumerate() {
        if (x.pitch, x.velocity, x.source) != (y.pitch, y.velocity, y.source) {
            return Err(format!("note {i}: {x:?} vs reference {y:?}"));
        }
        let dt = (x.frame as f64 / rate - y.frame as f64 / REFERENCE).abs();
        worst = worst.max(dt * rate);
    }
    Ok(worst)
}

fn max_diff(a: &[[f32; 4]], b: &[[f32; 4]]) -> Result<f32, String> {
    if a.len() != b.len() || a.is_empty() {
        return Err(format!("{} LFO probes vs reference {}", a.len(), b.len()));
    }
    let d = a
        .iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    Ok(d)
}

/// A single held note through the plain voice: arp off, LFO routed nowhere, one oscillator, no
/// detune, no resonance, no filter envelope, sustain 1, cutoff `cutoff_hz` (a little above the
/// note, so the output is close to a sine).
fn voice_patch(cutoff_hz: f64) -> Patch {
    patch(&format!(
        "tp1&arp.mode=off&lfo.dest1=none&lfo.dest2=none&syn.detune=0&syn.osc2=0&syn.res=0\
         &syn.fenv=0&syn.s=1&syn.a={ATTACK_MS}&syn.r={RELEASE_MS}&syn.cut={cutoff_hz}"
    ))
}

const ATTACK_MS: f64 = 50.0;
const RELEASE_MS: f64 = 200.0;
const NOTE_ON: f64 = 0.1;
const NOTE_OFF: f64 = 1.0;
/// Pitch error allowed; measured errors are hundredths of a cent, a wrong rate is semitones.
const MAX_CENTS: f64 = 0.5;
/// Envelope time error allowed.
const MAX_ENV_MS: f64 = 1.5;

struct Voice {
    cents: f64,
    /// Measured on the high note only: the low one has too few cycles in its attack.
    envelope: Option<(f64, f64)>,
}

fn voice(host: &Host, rate: f64, pitch: u8, envelope: bool) -> Result<Voice, String> {
    let hz = 440.0 * 2f64.powf((pitch as f64 - 69.0) / 12.0);
    let mut e = host.engine(rate, &voice_patch(hz * 1.4));
    let events = [
        at(NOTE_ON, rate, on(pitch)),
        at(NOTE_OFF, rate, Input::NoteOff { pitch }),
    ];
    let frames = crate::host::frames(1.6, rate);
    let out = play(
        host,
        &mut e,
        &events,
        frames,
        Blocks::Fixed(128),
        Watch {
            audio: true,
            ..Watch::default()
        },
        &[],
    );
    let x = &out.left;
    let f = |s: f64| crate::host::frames(s, rate) as usize;
    let measured = measure::frequency(x, f(0.3)..f(0.95), rate).ok_or("no pitch")?;
    let cents = measure::cents(measured, hz);
    if !envelope {
        return Ok(Voice {
            cents,
            envelope: None,
        });
    }
    let peaks = measure::cycle_peaks(x);
    let steady: Vec<f64> = peaks
        .iter()
        .filter(|(t, _)| *t > f(0.5) as f64 && *t < f(0.95) as f64)
        .map(|p| p.1)
        .collect();
    let level = crate::host::median(&steady);
    let time = |fraction: f64, rising: bool, after: f64| {
        measure::crossing(&peaks, fraction * level, rising, after)
            .ok_or(format!("the envelope never crosses {fraction} of {level}"))
    };
    let on_frame = f(NOTE_ON) as f64;
    let off_frame = f(NOTE_OFF) as f64;
    let attack = (time(0.9, true, on_frame)? - time(0.1, true, on_frame)?) / 0.8;
    // Exponential release reaching -60 dB in its time: -6 dB to -36 dB takes half of it.
    let db = |d: f64| 10f64.powf(-d / 20.0);
    let release = (time(db(36.0), false, off_frame)? - time(db(6.0), false, off_frame)?) * 2.0;
    Ok(Voice {
        cents,
        envelope: Some((attack / rate * 1000.0, release / rate * 1000.0)),
    })
}

pub fn check(host: &Host, _size: Size) -> Vec<Check> {
    let reference = timing(host, REFERENCE);
    let (mut notes_ok, mut lfo_ok) = (true, true);
    let (mut worst_frames, mut worst_lfo) = (0.0f64, 0.0f32);
    let mut notes_fail = Vec::new();
    let mut lfo_fail = Vec::new();
    let (mut pitch_ok, mut env_ok) = (true, true);
    let (mut worst_cents, mut worst_attack, mut worst_release) = (0.0f64, 0.0f64, 0.0f64);
    let mut voice_fail = Vec::new();
    for rate in RATES {
        let t = if rate == REFERENCE {
            None
        } else {
            Some(timing(host, rate))
        };
        let t = t.as_ref().unwrap_or(&reference);
        match compare_notes(&t.notes, rate, &reference.notes) {
            Ok(w) if w <= 1.0 => worst_frames = worst_frames.max(w),
            Ok(w) => {
                notes_ok = false;
                worst_frames = worst_frames.max(w);
                notes_fail.push(format!("{rate} Hz: a note {w:.2} frames off"));
            }
            Err(e) => {
                notes_ok = false;
                notes_fail.push(format!("{rate} Hz: {e}"));
            }
        }
        for (what, a, b) in [
            ("synced", &t.sync, &reference.sync),
            ("free", &t.free, &reference.free),
        ] {
            match max_diff(a, b) {
                Ok(d) => {
                    worst_lfo = worst_lfo.max(d);
                    if d != 0.0 {
                        lfo_ok = false;
                        lfo_fail.push(format!("{rate} Hz {what}: max |Δ| {d:e}"));
                    }
                }
                Err(e) => {
                    lfo_ok = false;
                    lfo_fail.push(format!("{rate} Hz {what}: {e}"));
                }
            }
        }
        for (pitch, envelope) in [(45u8, false), (81, true)] {
            match voice(host, rate, pitch, envelope) {
                Ok(v) => {
                    worst_cents = worst_cents.max(v.cents.abs());
                    if v.cents.abs() > MAX_CENTS {
                        pitch_ok = false;
                        voice_fail.push(format!("{rate} Hz note {pitch}: {:+.3} cents", v.cents));
                    }
                    if let Some((attack, release)) = v.envelope {
                        let (da, dr) = ((attack - ATTACK_MS).abs(), (release - RELEASE_MS).abs());
                        worst_attack = worst_attack.max(da);
                        worst_release = worst_release.max(dr);
                        if da > MAX_ENV_MS || dr > MAX_ENV_MS {
                            env_ok = false;
                            voice_fail.push(format!(
                                "{rate} Hz note {pitch}: attack {attack:.2} ms, release {release:.2} ms"
                            ));
                        }
                    }
                }
                Err(e) => {
                    pitch_ok = false;
                    env_ok &= !envelope;
                    voice_fail.push(format!("{rate} Hz note {pitch}: {e}"));
                }
            }
        }
    }
    let rates = "7 rates, 22.05–192 kHz";
    let fails = |v: &[String]| {
        if v.is_empty() {
            String::new()
        } else {
            format!("; FAILED: {}", v.join("; "))
        }
    };
    vec![
        Check::new(
            "rates: same notes at the same musical times",
            format!(
                "{rates}, {} notes in {TIMING_SECONDS} s",
                reference.notes.len()
            ),
            notes_ok,
            format!(
                "worst offset {worst_frames:.3} frames of the rate tested (limit 1){}",
                fails(&notes_fail)
            ),
        ),
        Check::new(
            "rates: same LFO step values (synced and free)",
            format!(
                "{rates}, {} + {} steps",
                reference.sync.len(),
                reference.free.len()
            ),
            lfo_ok,
            format!("max |Δ| {worst_lfo:e} (limit 0){}", fails(&lfo_fail)),
        ),
        Check::new(
            "rates: synth pitch from the audio",
            format!("{rates}, notes 45 and 81"),
            pitch_ok,
            format!(
                "worst {worst_cents:.4} cents (limit {MAX_CENTS}){}",
                fails(&voice_fail)
            ),
        ),
        Check::new(
            "rates: envelope times from the audio",
            format!("{rates}, note 81, attack {ATTACK_MS} ms, release {RELEASE_MS} ms"),
            env_ok,
            format!(
                "worst error attack {worst_attack:.3} ms, release {worst_release:.3} ms \
                 (limit {MAX_ENV_MS} ms){}",
                fails(&voice_fail)
            ),
        ),
    ]
}

/// First sound of each note after its event frame, and silence inside a retriggered voice.
pub fn onsets(host: &Host) -> Vec<Check> {
    let rate = 48000.0;
    // Short release so each note is silent before the next; arp off: keys play directly.
    let p = patch("tp1&arp.mode=off&lfo.dest1=none&lfo.dest2=none&syn.a=0.5&syn.r=1");
    let spacing = 4096u64;
    let mut events = Vec::new();
    let mut starts = Vec::new();
    let mut retriggers = Vec::new();
    for k in 0..16u64 {
        // A new note at control-period offset k …
        let f = spacing * (2 * k + 1) + k;
        starts.push(f);
        events.push(InputEvent {
            frame: f,
            input: on(60 + k as u8),
        });
        // … then the same pitch retriggered while it sounds, at offset (k + 7) mod 16.
        let g = f + 1024 + 7;
        retriggers.push(g);
        events.push(InputEvent {
            frame: g,
            input: on(60 + k as u8),
        });
        events.push(InputEvent {
            frame: f + 2000,
            input: Input::NoteOff {
                pitch: 60 + k as u8,
            },
        });
    }
    let frames = spacing * 34;
    let mut rows = Vec::new();
    for block in [1usize, 128] {
        let mut e = host.engine(rate, &p);
        let out = play(
            host,
            &mut e,
            &events,
            frames,
            Blocks::Fixed(block),
            Watch {
                audio: true,
                ..Watch::default()
            },
            &[],
        );
        let x = &out.left;
        // A fresh voice's oscillator starts at its wrap point, where a PolyBLEP saw is 0, so the
        // first non-zero sample may be one frame after the event. The note at offset 0 (where a
        // control tick falls on the event's frame, so nothing can delay it) gives that lag; every
        // other offset must show the same.
        let lag = |f: u64| {
            let f = f as usize;
            let silent_before = x[f - 512..f].iter().all(|&v| v == 0.0);
            measure::onset(x, f)
                .filter(|_| silent_before)
                .map(|o| o - f)
        };
        let reference = lag(starts[0]);
        let mut late = Vec::new();
        for &f in &starts {
            let l = lag(f);
            if l != reference || reference.is_none_or(|r| r > 1) {
                late.push(format!(
                    "offset {}: first sound {l:?} frames after the event (offset 0: {reference:?})",
                    f % 16
                ));
            }
        }
        let mut gaps = Vec::new();
        for &g in &retriggers {
            let g = g as usize;
            let run = measure::longest_silence(x, g - 16..g + 32);
            if run > 0 {
                gaps.push(format!("offset {}: {run} silent frames", g % 16));
            }
        }
        let notes_on_frame = out
            .notes
            .iter()
            .filter(|n| n.velocity > 0)
            .zip(
                events
                    .iter()
                    .filter(|e| matches!(e.input, Input::NoteOn { .. })),
            )
            .all(|(n, e)| n.frame == e.frame);
        let ok = late.is_empty() && gaps.is_empty() && notes_on_frame;
        rows.push(Check::new(
            "onsets: sound starts on the event's frame",
            format!("block {block}, 16 offsets + 16 retriggers"),
            ok,
            format!(
                "{} late, {} retriggers with a gap{}{}{}",
                late.len(),
                gaps.len(),
                if notes_on_frame {
                    ""
                } else {
                    ", note stream off its frames"
                },
                if late.is_empty() {
                    String::new()
                } else {
                    format!("; {}", late.join("; "))
                },
                if gaps.is_empty() {
                    String::new()
                } else {
                    format!("; {}", gaps.join("; "))
                },
            ),
        ));
    }
    rows
}
