//! State: at a random moment the patch is saved (`engine.patch().to_text()`) and restored into a
//! fresh engine (`Patch::parse`), as a shared link or a preset would be.
//!
//! What can be asserted, and is:
//! - always: the saved text parses without an error back to exactly the patch the engine plays,
//!   and prints back to the same text;
//! - with a classic arpeggiator mode (up, down, up-down, as played), the LFO routed nowhere and the
//!   melody off: from the original's next bar line, the restored engine holding the same keys
//!   plays the same rhythm (onsets within one frame of the bar line's distance), the same
//!   velocities and gate lengths, and the same pitch cycle, started at the entry the original had
//!   reached (the step counter is not in the patch, so only the cycle's phase may differ).
//!
//! With the reservoir modes, the LFO or the melody, the restored engine starts its networks and
//! its models from rest: the notes from the next bar line are compared and the share that
//! matches is reported, not asserted. [`NOT_IN_A_PATCH`] lists those states and why.

use crate::host::{play, Blocks, Host, Watch};
use crate::{Check, Size};
use tidepool_engine::{Input, InputEvent, NoteEvent, ParamId, Patch};
use tidepool_reservoir::SeededRng;

/// What a patch does not hold, and why: printed with the report.
pub const NOT_IN_A_PATCH: &[&str] = &[
    "reservoir states (LFO and arpeggiator neurons, the fed-back output y'): up to 2 × 1000 floats \
     that evolve every step; a link carries the knobs that shape them, not the moment",
    "the LFO's current step value, glide, step count and pulse counter, and the free LFO's phase",
    "the arpeggiator sampler's generator position (the draws of θ ~ Cat(p)) and the classic random \
     mode's: a seed is in the patch, how far it has been drawn is not",
    "the arpeggiator's step counter (where in its cycle up/down/up-down is) and its pending \
     note-offs",
    "held keys, the sustain pedal and latched notes: the musician's hands, not the instrument",
    "melody history: the LSTM's hidden and cell states or the n-gram context, the sampler's \
     position, the played phrase, the key estimate, and the answer phase",
    "the transport position (bar, beat) and tempo history: a restored engine starts at bar 1",
    "synth voices (envelopes, oscillator phases, filter states), parameter smoothing and the \
     limiter's envelope: the sound ringing at the moment of saving",
    "the melody model files themselves: the patch names the model, the host supplies the file",
];

const RATE: f64 = 48000.0;

/// A note-on with its length: (frames after the bar line, pitch, velocity, gate frames).
type Onset = (u64, u8, u8, Option<u64>);

/// Note-ons of the arpeggiator from `from` for `len` frames, relative to `from`, with gates.
fn onsets(notes: &[NoteEvent], from: u64, len: u64) -> Vec<Onset> {
    notes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.velocity > 0 && n.frame >= from && n.frame < from + len)
        .map(|(i, n)| {
            let off = notes[i + 1..]
                .iter()
                .find(|m| m.pitch == n.pitch && m.source == n.source && m.velocity == 0);
            (
                n.frame - from,
                n.pitch,
                n.velocity,
                off.map(|m| m.frame - n.frame),
            )
        })
        .collect()
}

/// A random patch for the restore test: `classic` picks a classic arp mode with the LFO routed
/// nowhere and the melody off; otherwise anything (reservoir arp, LFO routed, melody playing).
fn random_patch(rng: &mut SeededRng, classic: bool) -> Patch {
    let mut p = Patch::default();
    let v = &mut p.values;
    v.set(ParamId::Tempo, 40.0 + rng.unit_f64() * 200.0);
    v.set(ParamId::BeatsPerBar, (1 + rng.below(8)) as f64);
    v.set(ParamId::ArpGate, 0.05 + rng.unit_f64() * 0.9);
    v.set(ParamId::ArpOctaves, (1 + rng.below(4)) as f64);
    // Straight divisions, 1/4 to 1/32: a whole number of steps per bar, so the bar line is a
    // step in both engines.
    v.set(ParamId::ArpDivision, (2 + rng.below(4)) as f64);
    v.set(ParamId::ArpVelocityMode, rng.below(2) as f64);
    if classic {
        // up, down, updown, played
        v.set(ParamId::ArpMode, [2.0, 3.0, 4.0, 6.0][rng.below(4)]);
        for id in [
            ParamId::LfoDest1,
            ParamId::LfoDest2,
            ParamId::LfoDest3,
            ParamId::LfoDest4,
        ] {
            v.set(id, 0.0);
        }
    } else {
        v.set(ParamId::ArpSeed, rng.below(1000) as f64);
        v.set(ParamId::ArpConfidence, 0.5 + rng.unit_f64() * 10.0);
        v.set(ParamId::LfoDest1, rng.below(5) as f64);
        v.set(ParamId::MelodyMode, 1.0);
        v.set(ParamId::MelodyModel, rng.below(5) as f64);
        v.set(ParamId::MelodySeed, rng.below(1000) as f64);
    }
    p
}

/// Does `a` equal `b`'s (pitch, velocity) read from some starting entry of its cycle?
fn same_cycle(a: &[(u8, u8)], b: &[(u8, u8)]) -> Option<usize> {
    (0..b.len().max(1)).find(|&r| {
        a.iter()
            .enumerate()
            .all(|(i, p)| b.get(i + r).is_some_and(|q| q == p))
    })
}

struct Trial {
    text_ok: bool,
    /// Onsets compared, and whether rhythm/velocity/gate and the cycle matched.
    compared: usize,
    rhythm_ok: bool,
    cycle_shift: Option<usize>,
    matching_share: f64,
    /// The first onset that differs (original, restored) and the patch, when the rhythm did.
    detail: Option<String>,
}

fn trial(host: &Host, rng: &mut SeededRng, classic: bool) -> Trial {
    let patch = random_patch(rng, classic);
    let keys: Vec<u8> = (0..2 + rng.below(4))
        .map(|_| 48 + rng.below(25) as u8)
        .collect();
    let press: Vec<InputEvent> = keys
        .iter()
        .enumerate()
        // All at frame 0, in order: the engines see the same entries from the first step.
        .map(|(i, &pitch)| InputEvent {
            frame: 0,
            input: Input::NoteOn {
                pitch,
                velocity: 60 + 10 * i as u8,
            },
        })
        .collect();
    // The original: a knob or two turned before the save, the save at a random moment.
    let mut original = host.engine(RATE, &patch);
    host.preload(&mut original);
    let save = crate::host::frames(1.0 + rng.unit_f64() * 4.0, RATE);
    let mut events = press.clone();
    events.push(InputEvent {
        frame: save / 2,
        input: Input::SetParam {
            id: ParamId::ArpGate,
            value: 0.05 + rng.unit_f64() * 0.9,
        },
    });
    let before = play(
        host,
        &mut original,
        &events,
        save,
        Blocks::Fixed(128),
        Watch::default(),
        &[],
    );
    let saved = original.patch();
    let text = saved.to_text();
    let parsed = Patch::parse(&text);
    let text_ok =
        parsed.errors.is_empty() && parsed.patch == saved && parsed.patch.to_text() == text;

    // The next bar line of the original (tempo constant: frames per bar is exact).
    let v = &saved.values;
    let fpb = RATE * 60.0 / v.get(ParamId::Tempo);
    let bar = fpb * v.get(ParamId::BeatsPerBar);
    let next_bar = ((save as f64 / bar).ceil() * bar).ceil() as u64;
    let window = (2.0 * bar) as u64;
    let after = play(
        host,
        &mut original,
        &[],
        next_bar + window + bar as u64 - save,
        Blocks::Fixed(128),
        Watch::default(),
        &[],
    );
    let mut all = before.notes;
    all.extend(after.notes);
    let a = onsets(&all, next_bar, window);

    let mut restored = host.engine(RATE, &parsed.patch);
    host.preload(&mut restored);
    let r_notes = play(
        host,
        &mut restored,
        &press,
        window + 2 * bar as u64,
        Blocks::Fixed(128),
        Watch::default(),
        &[],
    )
    .notes;
    // The restored engine's first bar line is frame 0; its cycle is read a little longer so
    // every starting entry can be tried.
    let b = onsets(&r_notes, 0, window);
    let b_long: Vec<(u8, u8)> = onsets(&r_notes, 0, window + bar as u64)
        .iter()
        .map(|o| (o.1, o.2))
        .collect();
    // Velocities belong to the entries (as played), so they are compared with the pitch cycle.
    let rhythm_ok = a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| {
            x.0.abs_diff(y.0) <= 1
                && match (x.3, y.3) {
                    (Some(g), Some(h)) => g.abs_diff(h) <= 1,
                    _ => false,
                }
        });
    let detail = (!rhythm_ok).then(|| {
        let i = a.iter().zip(&b).position(|(x, y)| {
            x.0.abs_diff(y.0) > 1 || x.3.zip(y.3).is_none_or(|(g, h)| g.abs_diff(h) > 1)
        });
        format!(
            "{} vs {} onsets, first difference {:?} vs {:?} in `{}`",
            a.len(),
            b.len(),
            i.map(|i| a[i]),
            i.map(|i| b[i]),
            text
        )
    });
    let pitches: Vec<(u8, u8)> = a.iter().map(|o| (o.1, o.2)).collect();
    let matching = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x.0.abs_diff(y.0) <= 1 && x.1 == y.1)
        .count();
    Trial {
        text_ok,
        compared: a.len(),
        rhythm_ok,
        cycle_shift: same_cycle(&pitches, &b_long),
        matching_share: matching as f64 / a.len().max(1) as f64,
        detail,
    }
}

pub fn check(host: &Host, size: Size, notes: &mut Vec<String>) -> Vec<Check> {
    let trials = match size {
        Size::Ci => 12,
        Size::Long => 100,
    };
    let mut rng = SeededRng::new(31, 0);
    let (mut text_fail, mut compared, mut rhythm_fail, mut cycle_fail, mut shifted) =
        (0, 0, 0, 0, 0);
    let mut empty = 0;
    let mut details = Vec::new();
    for _ in 0..trials {
        let t = trial(host, &mut rng, true);
        details.extend(t.detail.clone());
        text_fail += usize::from(!t.text_ok);
        compared += t.compared;
        empty += usize::from(t.compared == 0);
        rhythm_fail += usize::from(!t.rhythm_ok);
        match t.cycle_shift {
            None => cycle_fail += 1,
            Some(0) => {}
            Some(_) => shifted += 1,
        }
    }
    let classic_ok = text_fail == 0 && rhythm_fail == 0 && cycle_fail == 0 && empty == 0;
    let (mut text_fail_r, mut share, mut compared_r) = (0, 0.0, 0);
    for _ in 0..trials {
        let t = trial(host, &mut rng, false);
        text_fail_r += usize::from(!t.text_ok);
        share += t.matching_share;
        compared_r += t.compared;
    }
    notes.push("States not part of a patch (a restored link starts them from rest):".into());
    notes.extend(NOT_IN_A_PATCH.iter().map(|s| format!("  - {s}")));
    vec![
        Check::new(
            "state: saved text round-trips exactly",
            format!("{} saves at random moments", 2 * trials),
            text_fail + text_fail_r == 0,
            format!(
                "{} texts that did not parse back to the same patch",
                text_fail + text_fail_r
            ),
        ),
        Check::new(
            "state: classic arp plays the same from the next bar line",
            format!("{trials} restores, 2 bars each"),
            classic_ok,
            format!(
                "{compared} onsets; {rhythm_fail} restores off in rhythm or gate, \
                 {cycle_fail} off the (pitch, velocity) cycle, {empty} without notes; {shifted} started \
                 elsewhere in the cycle (step counter not in the patch){}",
                details.first().map(|d| format!("; {d}")).unwrap_or_default()
            ),
        ),
        Check::new(
            "state: reservoir arp / LFO / melody (reported)",
            format!("{trials} restores, 2 bars each"),
            text_fail_r == 0,
            format!(
                "{:.0}% of {compared_r} onsets match from the next bar line (network, sampler \
                 and melody states start from rest)",
                100.0 * share / trials as f64
            ),
        ),
    ]
}
