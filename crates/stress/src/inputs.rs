//! Untrusted inputs fed to a PLAYING engine: patch strings (random and mutated, as a shared link
//! may be) parsed and every field applied as a parameter change at a random frame; corrupt model
//! files (n-gram and LSTM: flipped bits, truncations, edited header numbers) through the loaders
//! and installed when accepted; garbage MIDI byte streams decoded into notes, pedal and panic.
//! The engine must keep playing with finite output under the ceiling, never allocate in
//! `process`, and leave no note on after everything is released.

use crate::host::{self, play, release_everything, Blocks, Host, Ledger, Watch};
use crate::{midi, Check, Size};
use tidepool_engine::{Brain, Engine, Input, InputEvent, ParamId, Patch, CEILING, PARAMS};
use tidepool_reservoir::SeededRng;

const RATE: f64 = 48000.0;

/// Bytes a patch string is spliced from: separators, escapes, signs, exponents, junk.
const JUNK: &[&str] = &[
    "&", ";", "\n", "=", "==", "%", "%2", "%26", "%3D", "%zz", "#", "?", "tp1", "tp9", "-", "+",
    "e", "E", "e999", "1e-400", "NaN", "inf", "-inf", "0x10", " ", "\u{0}", "ß", "🎛", ".",
];

/// A random patch string: valid keys with good, bad and borderline values, unknown keys, and
/// junk between them.
pub fn random_patch_text(rng: &mut SeededRng) -> String {
    let mut s = String::from(if rng.below(4) == 0 { "" } else { "tp1" });
    for _ in 0..rng.below(60) {
        s.push_str(JUNK[rng.below(3)]);
        match rng.below(10) {
            0 => s.push_str(JUNK[rng.below(JUNK.len())]),
            1 => s.push_str("no.such.key=1"),
            _ => {
                let id = ParamId::from_index(rng.below(PARAMS.len())).expect("in the table");
                let value = crate::automation::random_value(id, rng);
                let text = match rng.below(4) {
                    0 => tidepool_engine::format_value(id, value),
                    1 => JUNK[rng.below(JUNK.len())].to_string(),
                    _ => format!("{value}"),
                };
                s.push_str(&format!("{}={text}", id.spec().key));
            }
        }
    }
    s
}

/// `text` with a few characters deleted, inserted or replaced.
pub fn mutate_text(text: &str, rng: &mut SeededRng) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(chars.len() + 1);
        let junk: Vec<char> = JUNK[rng.below(JUNK.len())].chars().collect();
        match rng.below(3) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 if at < chars.len() => chars[at] = junk[0],
            _ => drop(chars.splice(at..at, junk)),
        }
    }
    chars.into_iter().collect()
}

/// `bytes` damaged one way: bits flipped (near the start, where headers are, or anywhere),
/// truncated, or a run overwritten with random bytes.
pub fn corrupt(bytes: &[u8], rng: &mut SeededRng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match rng.below(4) {
        0 => {
            for _ in 0..1 + rng.below(3) {
                let i = rng.below(b.len().min(512));
                b[i] ^= 1 << rng.below(8);
            }
        }
        1 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
        }
        2 => b.truncate(rng.below(b.len())),
        _ => {
            let at = rng.below(b.len());
            for x in b.iter_mut().skip(at).take(1 + rng.below(16)) {
                *x = rng.below(256) as u8;
            }
        }
    }
    b
}

/// A quantized LSTM file (`.tpq`) with a number of its 24-byte header edited (magic, version,
/// vocabulary, layers, hidden units, position inputs): one more or less, zero, all ones, or a
/// random byte.
pub fn corrupt_header(bytes: &[u8], rng: &mut SeededRng) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for _ in 0..1 + rng.below(2) {
        let at = 4 * rng.below(6);
        let word = u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"));
        let edited = match rng.below(5) {
            0 => word.wrapping_add(1),
            1 => word.wrapping_sub(1),
            2 => 0,
            3 => u32::MAX,
            _ => word ^ ((rng.below(256) as u32) << (8 * rng.below(4))),
        };
        b[at..at + 4].copy_from_slice(&edited.to_le_bytes());
    }
    b
}

/// Random MIDI-ish bytes: status bytes of every kind, data bytes, SysEx and real-time bytes.
pub fn random_midi(rng: &mut SeededRng, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| match rng.below(10) {
            0..=2 => {
                [
                    0x80, 0x90, 0x90, 0xb0, 0xc0, 0xe0, 0xf0, 0xf7, 0xf8, 0xfe, 0xff,
                ][rng.below(11)]
                    | if rng.below(2) == 0 {
                        rng.below(16) as u8
                    } else {
                        0
                    }
            }
            3 => [64, 120, 123, 0, 127][rng.below(5)],
            _ => rng.below(128) as u8,
        })
        .collect()
}

/// The state of the playing engine and what has been seen.
struct Session {
    engine: Engine,
    ledger: Ledger,
    peak: f32,
    non_finite: u64,
    allocations: u64,
}

impl Session {
    fn new(host: &Host) -> Self {
        let mut engine = host.engine(RATE, &Patch::default());
        let chord = [48u8, 55, 60, 63, 67].map(|pitch| InputEvent {
            frame: 0,
            input: Input::NoteOn {
                pitch,
                velocity: 100,
            },
        });
        for e in chord {
            engine.push_event(e);
        }
        Self {
            engine,
            ledger: Ledger::default(),
            peak: 0.0,
            non_finite: 0,
            allocations: 0,
        }
    }

    /// Plays `seconds` with `events` (frames relative to now).
    fn play(&mut self, host: &Host, events: &[InputEvent], seconds: f64) -> host::Played {
        let now = self.engine.frame();
        let events: Vec<InputEvent> = events
            .iter()
            .map(|e| InputEvent {
                frame: now + e.frame,
                ..*e
            })
            .collect();
        let watch = Watch {
            allocs: true,
            ..Watch::default()
        };
        let frames = host::frames(seconds, RATE);
        let p = play(
            host,
            &mut self.engine,
            &events,
            frames,
            Blocks::Fixed(128),
            watch,
            &[],
        );
        self.ledger.feed(&p.notes);
        self.peak = self.peak.max(p.peak);
        self.non_finite += p.non_finite;
        self.allocations += p.allocations;
        p
    }

    /// Back to the default patch with a chord held: notes must come again. Returns how many.
    fn still_plays(&mut self, host: &Host) -> usize {
        let mut events: Vec<InputEvent> = ParamId::all()
            .iter()
            .map(|&id| InputEvent {
                frame: 0,
                input: Input::SetParam {
                    id,
                    value: id.spec().default,
                },
            })
            .collect();
        events.extend([48u8, 60, 67].map(|pitch| InputEvent {
            frame: 1,
            input: Input::NoteOn {
                pitch,
                velocity: 90,
            },
        }));
        let p = self.play(host, &events, 1.0);
        p.notes.iter().filter(|n| n.velocity > 0).count()
    }

    /// Lets everything go and renders the tail: (notes left open, voices still sounding).
    fn finish(&mut self, host: &Host) -> (usize, usize) {
        self.play(host, &release_everything(0), 0.01);
        host::tail(host, &mut self.engine, &mut self.ledger, 60);
        (
            self.ledger.open_notes().len(),
            self.engine.status().sounding,
        )
    }

    fn row(&mut self, host: &Host, what: &str, size: String, extra: String) -> Check {
        let notes_after = self.still_plays(host);
        let (open, sounding) = self.finish(host);
        let ok = self.non_finite == 0
            && self.peak <= CEILING
            && self.allocations == 0
            && notes_after > 0
            && open == 0
            && sounding == 0;
        Check::new(
            what,
            size,
            ok,
            format!(
                "{extra}; peak {:.4}, {} non-finite, {} allocations, {notes_after} notes in the \
                 next second, {open} notes open and {sounding} voices after release",
                self.peak, self.non_finite, self.allocations
            ),
        )
    }
}

/// Every field of a parsed patch as parameter changes at random frames within `frames`. A
/// network's three structural fields land on one frame, as a patch load does: one at a time,
/// they would pass through shapes the patch never asked for, each a radius for the host.
fn patch_events(patch: &Patch, rng: &mut SeededRng, frames: u64) -> Vec<InputEvent> {
    let lfo_frame = rng.below(frames as usize) as u64;
    let arp_frame = rng.below(frames as usize) as u64;
    ParamId::all()
        .iter()
        .map(|&id| InputEvent {
            frame: match id {
                ParamId::LfoNeurons | ParamId::LfoConnectivity | ParamId::LfoSeed => lfo_frame,
                ParamId::ArpNeurons | ParamId::ArpConnectivity | ParamId::ArpSeed => arp_frame,
                _ => rng.below(frames as usize) as u64,
            },
            input: Input::SetParam {
                id,
                value: patch.values.get(id),
            },
        })
        .collect()
}

fn patches(host: &Host, count: usize) -> Check {
    let mut rng = SeededRng::new(21, 0);
    let mut s = Session::new(host);
    let mut errors = 0;
    let segment = 0.05;
    for i in 0..count {
        let text = if i % 2 == 0 {
            random_patch_text(&mut rng)
        } else {
            let mut p = Patch::default();
            for &id in ParamId::all() {
                if rng.below(3) == 0 {
                    p.values
                        .set(id, crate::automation::random_value(id, &mut rng));
                }
            }
            mutate_text(&p.to_text(), &mut rng)
        };
        let mut parsed = Patch::parse(&text);
        errors += parsed.errors.len();
        crate::automation::tame(&mut parsed.patch.values, &mut rng);
        let events = patch_events(&parsed.patch, &mut rng, host::frames(segment, RATE));
        s.play(host, &events, segment);
    }
    s.row(
        host,
        "inputs: fuzzed patch strings applied while playing",
        format!("{count} strings, each field at a random frame"),
        format!("{errors} field errors reported by the parser"),
    )
}

fn models(host: &Host, ngram_count: usize, lstm_count: usize) -> Check {
    let mut rng = SeededRng::new(22, 0);
    let mut s = Session::new(host);
    let (mut accepted, mut refused, mut panicked) = (0, 0, Vec::new());
    let mut cases: Vec<(usize, Vec<u8>)> = Vec::new();
    for i in 0..ngram_count {
        let order = 1 + i % 4;
        cases.push((order, corrupt(&host.models.ngram[order - 1], &mut rng)));
    }
    for i in 0..lstm_count {
        let bytes = if i % 2 == 0 {
            corrupt_header(&host.models.lstm, &mut rng)
        } else {
            corrupt(&host.models.lstm, &mut rng)
        };
        cases.push((0, bytes));
    }
    for (i, (model, bytes)) in cases.iter().enumerate() {
        let load = std::panic::catch_unwind(|| match model {
            0 => Brain::lstm_from_tpq(bytes),
            _ => Brain::ngram_from_bytes(bytes),
        });
        let brain = match load {
            Err(_) => {
                panicked.push(format!("case {i} (model {model}) panicked in the loader"));
                continue;
            }
            Ok(Err(_)) => {
                refused += 1;
                continue;
            }
            Ok(Ok(brain)) => brain,
        };
        accepted += 1;
        let mode = [
            (ParamId::MelodyMode, 1.0 + (i % 2) as f64),
            (ParamId::MelodyModel, *model as f64),
        ];
        for (id, value) in mode {
            s.engine.push_event(InputEvent {
                frame: s.engine.frame(),
                input: Input::SetParam { id, value },
            });
        }
        s.play(host, &[], 0.001);
        drop(s.engine.install_melody(brain));
        s.play(host, &[], 0.5);
    }
    let mut row = s.row(
        host,
        "inputs: corrupt model files loaded while playing",
        format!("{ngram_count} n-gram + {lstm_count} LSTM files"),
        format!("{accepted} accepted and played, {refused} refused"),
    );
    if !panicked.is_empty() {
        row.ok = false;
        row.numbers = format!("{}; {}", panicked.join("; "), row.numbers);
    }
    row
}

fn midi_bytes(host: &Host, streams: usize) -> Check {
    let mut rng = SeededRng::new(23, 0);
    let mut s = Session::new(host);
    let mut decoded = 0;
    let segment = host::frames(0.1, RATE);
    for _ in 0..streams {
        let len = rng.below(200);
        let inputs = midi::inputs(&random_midi(&mut rng, len));
        decoded += inputs.len();
        let events: Vec<InputEvent> = inputs
            .into_iter()
            .map(|input| InputEvent {
                frame: rng.below(segment as usize) as u64,
                input,
            })
            .collect();
        s.play(host, &events, 0.1);
    }
    s.row(
        host,
        "inputs: garbage MIDI bytes while playing",
        format!("{streams} streams of 0–200 bytes"),
        format!("{decoded} inputs decoded"),
    )
}

pub fn check(host: &Host, size: Size) -> Vec<Check> {
    match size {
        Size::Ci => vec![
            patches(host, 300),
            models(host, 40, 8),
            midi_bytes(host, 200),
        ],
        Size::Long => vec![
            patches(host, 3000),
            models(host, 400, 60),
            midi_bytes(host, 3000),
        ],
    }
}
