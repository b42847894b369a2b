//! Random automation: thousands of parameter changes at random frames over every parameter of
//! the table (structural ones included, and values out of range, infinite or NaN) while notes are
//! held and released, the pedal goes up and down and panic comes now and then. Afterwards
//! everything a musician can hold is let go and a tail is rendered: no sample may be non-finite
//! or above the limiter's ceiling, every note-on of the note stream must have its note-off, the
//! synth must fall silent, `process` must not allocate, and no block may take more than 5× the
//! median of the blocks that did the same work (the same networks, reservoir and model steps and
//! voices): a denormal, or a network built on the audio path, would show. The median of all
//! blocks is reported beside it: blocks that do more work (a 1000-neuron dense step is ~130 µs
//! against a ~10 µs median block) exceed 5× of it by design of the work, not by a fault.

use crate::host::{self, play, release_everything, Blocks, Host, Ledger, Watch};
use crate::{Check, Size};
use tidepool_engine::params::Kind;
use tidepool_engine::{Input, InputEvent, ParamId, ParamValues, Patch, CEILING, PARAMS};
use tidepool_reservoir::SeededRng;

/// Block time allowed, as a multiple of the median block.
pub const SLOW_BLOCK: f64 = 5.0;
/// The page's render quantum.
pub const QUANTUM: usize = 128;

/// Network shapes a structural change jumps to as a whole (neurons, connectivity, seed): the
/// smallest, the default, and the largest at full connectivity among them. Arbitrary shapes
/// come from single-parameter changes while the network is small (their O(N³) radius is cheap);
/// at 1000 neurons each new shape costs the host about a second, so the pool keeps them few.
pub const SHAPES: &[(f64, f64, f64)] = &[
    (1.0, 0.01, 0.0),
    (2.0, 1.0, 7.0),
    (100.0, 0.1, 1.0),
    (300.0, 0.1, 1.0),
    (517.0, 0.37, 4_294_967_295.0),
    (1000.0, 1.0, 1.0),
];

/// The largest network a single random structural change may create.
pub const SMALL_NETWORK: f64 = 120.0;

/// A random value for `id`: anywhere in its range (log-uniform where the knob is logarithmic),
/// its ends, its default, or now and then something no knob sends (NaN, ±∞, ±1e300, far out of
/// range), which the engine must sanitise.
pub fn random_value(id: ParamId, rng: &mut SeededRng) -> f64 {
    let spec = id.spec();
    let (min, max) = (spec.min(), spec.max());
    match rng.below(100) {
        0 => f64::NAN,
        1 => f64::INFINITY,
        2 => f64::NEG_INFINITY,
        3 => 1e300,
        4 => -1e300,
        5 => max + (max - min + 1.0) * rng.unit_f64() * 10.0,
        6..=15 => min,
        16..=25 => max,
        26..=30 => spec.default,
        _ => match spec.kind {
            Kind::Real { log: true, .. } if min > 0.0 => {
                (min.ln() + (max.ln() - min.ln()) * rng.unit_f64()).exp()
            }
            Kind::Real { .. } => min + (max - min) * rng.unit_f64(),
            _ => (min as i64 + rng.below((max - min) as usize + 1) as i64) as f64,
        },
    }
}

/// The structural parameters of one network.
#[derive(Clone, Copy)]
struct Net {
    ids: [ParamId; 3],
    /// The values the score has set so far (to know when a single change is cheap).
    neurons: f64,
}

/// A random score: `changes` parameter changes and about eight note inputs a second over
/// `seconds` at `rate`, from `seed`.
pub fn score(seed: u64, rate: f64, seconds: f64, changes: usize) -> Vec<InputEvent> {
    let mut rng = SeededRng::new(seed, 8);
    let frames = host::frames(seconds, rate);
    let mut events = Vec::new();
    let mut at = |frame: u64, input| events.push(InputEvent { frame, input });
    let mut frame_list: Vec<u64> = (0..changes)
        .map(|_| (rng.unit_f64() * frames as f64) as u64)
        .collect();
    frame_list.sort_unstable();
    let mut nets = [
        Net {
            ids: [
                ParamId::LfoNeurons,
                ParamId::LfoConnectivity,
                ParamId::LfoSeed,
            ],
            neurons: 300.0,
        },
        Net {
            ids: [
                ParamId::ArpNeurons,
                ParamId::ArpConnectivity,
                ParamId::ArpSeed,
            ],
            neurons: 100.0,
        },
    ];
    for frame in frame_list {
        let id = ParamId::from_index(rng.below(PARAMS.len())).expect("in the table");
        let Some(net) = nets.iter_mut().find(|n| n.ids.contains(&id)) else {
            at(
                frame,
                Input::SetParam {
                    id,
                    value: random_value(id, &mut rng),
                },
            );
            continue;
        };
        if net.neurons <= SMALL_NETWORK && rng.below(2) == 0 {
            let mut value = random_value(id, &mut rng);
            if id == net.ids[0] {
                value = 1.0 + (rng.unit_f64() * SMALL_NETWORK).floor();
                net.neurons = value;
            }
            at(frame, Input::SetParam { id, value });
        } else {
            let shape = SHAPES[rng.below(SHAPES.len())];
            net.neurons = shape.0;
            for (id, value) in net.ids.iter().zip([shape.0, shape.1, shape.2]) {
                at(frame, Input::SetParam { id: *id, value });
            }
        }
    }
    // Notes: presses, releases (mostly of held keys), the pedal, and a rare panic.
    let mut held: Vec<u8> = Vec::new();
    let note_inputs = (seconds * 8.0) as usize;
    for i in 0..note_inputs {
        let frame = (i as f64 / note_inputs as f64 * frames as f64) as u64 + rng.below(64) as u64;
        let input = match rng.below(100) {
            0..=44 => {
                let pitch = 36 + rng.below(61) as u8;
                held.push(pitch);
                Input::NoteOn {
                    pitch,
                    velocity: 1 + rng.below(127) as u8,
                }
            }
            45..=84 if !held.is_empty() => Input::NoteOff {
                pitch: held.swap_remove(rng.below(held.len())),
            },
            45..=89 => Input::NoteOff {
                pitch: rng.below(128) as u8,
            },
            90..=98 => Input::Sustain(rng.below(2) == 0),
            _ => {
                held.clear();
                Input::AllNotesOff
            }
        };
        at(frame.min(frames - 1), input);
    }
    events.sort_by_key(|e| e.frame);
    events
}

/// Keeps the networks of a patch cheap to build: a network over [`SMALL_NETWORK`] neurons gets a
/// shape from [`SHAPES`] (each new large shape costs the host about a second).
pub fn tame(values: &mut ParamValues, rng: &mut SeededRng) {
    for ids in [
        [
            ParamId::LfoNeurons,
            ParamId::LfoConnectivity,
            ParamId::LfoSeed,
        ],
        [
            ParamId::ArpNeurons,
            ParamId::ArpConnectivity,
            ParamId::ArpSeed,
        ],
    ] {
        if values.get(ids[0]) > SMALL_NETWORK {
            let shape = SHAPES[rng.below(SHAPES.len())];
            for (id, v) in ids.iter().zip([shape.0, shape.1, shape.2]) {
                values.set(*id, v);
            }
        }
    }
}

/// One seed's run: what the checks look at.
pub struct Run {
    pub played: host::Played,
    pub ledger: Ledger,
    pub tail_seconds: u32,
    pub sounding_after: usize,
    pub frames: u64,
}

/// Plays `events` from the default patch in 128-frame quanta (the worklet's), then releases
/// everything and renders the tail.
pub fn run(host: &Host, events: &[InputEvent], seconds: f64, timed: bool) -> Run {
    let rate = 48000.0;
    let frames = host::frames(seconds, rate);
    let mut engine = host.engine(rate, &Patch::default());
    let watch = Watch {
        audio: false,
        time: timed,
        allocs: true,
    };
    let played = play(
        host,
        &mut engine,
        events,
        frames,
        Blocks::Fixed(QUANTUM),
        watch,
        &[],
    );
    let mut ledger = Ledger::default();
    ledger.feed(&played.notes);
    let end = engine.frame();
    let release = play(
        host,
        &mut engine,
        &release_everything(end),
        QUANTUM as u64,
        Blocks::Fixed(QUANTUM),
        Watch::default(),
        &[],
    );
    ledger.feed(&release.notes);
    let (tail_seconds, _) = host::tail(host, &mut engine, &mut ledger, 60);
    Run {
        played,
        ledger,
        tail_seconds,
        sounding_after: engine.status().sounding,
        frames,
    }
}

/// The fewest blocks of one kind (see [`host::BlockTime::kind`]) whose median judges them.
pub const MIN_KIND: usize = 5;

/// Each block's allowance: [`SLOW_BLOCK`]× the median time of the blocks that did the same
/// work (its kind), or None when its kind is too rare to have a meaningful median.
pub fn allowances(blocks: &[host::BlockTime], times: &[f64]) -> Vec<Option<f64>> {
    let mut kinds: std::collections::HashMap<_, Vec<f64>> = std::collections::HashMap::new();
    for (b, &t) in blocks.iter().zip(times) {
        kinds.entry(b.kind()).or_default().push(t);
    }
    let medians: std::collections::HashMap<_, Option<f64>> = kinds
        .into_iter()
        .map(|(k, ts)| (k, (ts.len() >= MIN_KIND).then(|| host::median(&ts))))
        .collect();
    blocks
        .iter()
        .map(|b| medians[&b.kind()].map(|m| SLOW_BLOCK * m))
        .collect()
}

/// Block times confirmed: where a block is over its allowance ([`allowances`]), the same
/// deterministic render is run again (twice at most) and each block keeps its best time, so a
/// preemption by the other processes of a loaded machine does not count. Returns the best
/// times and each block's allowance.
pub fn confirmed(
    first: &[host::BlockTime],
    mut again: impl FnMut() -> Vec<host::BlockTime>,
) -> (Vec<f64>, Vec<Option<f64>>) {
    let mut best: Vec<f64> = first.iter().map(|b| b.seconds).collect();
    let over = |best: &[f64], allow: &[Option<f64>]| {
        best.iter()
            .zip(allow)
            .any(|(&t, a)| a.is_some_and(|a| t > a))
    };
    let mut allow = allowances(first, &best);
    for _ in 0..2 {
        if !over(&best, &allow) {
            break;
        }
        let rerun = again();
        for (b, r) in best.iter_mut().zip(&rerun) {
            *b = b.min(r.seconds);
        }
        allow = allowances(first, &best);
    }
    (best, allow)
}

/// The slow blocks' story: how many were over their kind's allowance (the check), how many
/// were over 5× the median of all blocks (the wording, which blocks that legitimately
/// do more work, such as a 1000-neuron dense reservoir step, exceed: reported, with the
/// slowest), and how many were in kinds too rare to judge.
fn slow_report(
    blocks: &[host::BlockTime],
    best: &[f64],
    allow: &[Option<f64>],
    events: &[InputEvent],
) -> (usize, String) {
    let med = host::median(best);
    let slow: Vec<usize> = (0..best.len())
        .filter(|&i| allow[i].is_some_and(|a| best[i] > a))
        .collect();
    let globally = (0..best.len())
        .filter(|&i| best[i] > SLOW_BLOCK * med)
        .count();
    let unjudged = allow.iter().filter(|a| a.is_none()).count();
    let Some(worst) = (0..best.len()).max_by(|&a, &b| best[a].total_cmp(&best[b])) else {
        return (0, "no blocks".into());
    };
    let b = &blocks[worst];
    let mut text = format!(
        "{} of {} blocks over {SLOW_BLOCK}× the median of blocks doing the same work ({unjudged} \
         in kinds of < {MIN_KIND} blocks, not judged); over {SLOW_BLOCK}× the median of all \
         blocks ({:.2} µs): {globally}, slowest {:.1} µs = {:.1}× at frame {} (networks {:?}, \
         work {:?})",
        slow.len(),
        best.len(),
        med * 1e6,
        best[worst] * 1e6,
        best[worst] / med,
        b.start,
        b.shapes,
        b.work,
    );
    if let Some(&i) = slow.iter().max_by(|&&a, &&b| {
        (best[a] / allow[a].unwrap_or(1.0)).total_cmp(&(best[b] / allow[b].unwrap_or(1.0)))
    }) {
        text += &format!(
            "; worst against its kind: {:.1} µs = {:.1}× its kind's median at frame {} \
             (networks {:?}, work {:?}, {:?}; score near it: {})",
            best[i] * 1e6,
            SLOW_BLOCK * best[i] / allow[i].unwrap_or(f64::NAN),
            blocks[i].start,
            blocks[i].shapes,
            blocks[i].work,
            blocks[i].context,
            around(events, blocks[i].start, 3000)
        );
    }
    (slow.len(), text)
}

/// What happened in the score around a frame (for naming a slow block's cause).
pub fn around(events: &[InputEvent], frame: u64, window: u64) -> String {
    let near: Vec<String> = events
        .iter()
        .filter(|e| e.frame + window >= frame && e.frame <= frame + window)
        .map(|e| match e.input {
            Input::SetParam { id, value } if value.abs() >= 1e6 => {
                format!("{}={value:e}@{}", id.spec().key, e.frame)
            }
            Input::SetParam { id, value } => format!("{}={value:.4}@{}", id.spec().key, e.frame),
            other => format!("{other:?}@{}", e.frame),
        })
        .collect();
    near.join(", ")
}

pub fn check(host: &Host, size: Size) -> Vec<Check> {
    let (seeds, changes, seconds): (&[u64], usize, f64) = match size {
        Size::Ci => (&[1], 2000, 20.0),
        Size::Long => (&[1, 2, 3], 10_000, 100.0),
    };
    let mut rows = Vec::new();
    for &seed in seeds {
        let events = score(seed, 48000.0, seconds, changes);
        let r = run(host, &events, seconds, true);
        let p = &r.played;
        let size = format!("seed {seed}: {changes} changes + notes, {seconds} s at 48 kHz");
        let open = r.ledger.open_notes();
        let stuck_ok = open.is_empty() && r.sounding_after == 0;
        rows.push(Check::new(
            "automation: finite, under the ceiling",
            size.clone(),
            p.non_finite == 0 && p.peak <= CEILING,
            format!(
                "{} non-finite samples, peak {:.4} (ceiling {CEILING}), {} installs, {} inputs dropped",
                p.non_finite, p.peak, p.installs, p.dropped_inputs
            ),
        ));
        rows.push(Check::new(
            "automation: no stuck note (note stream and synth)",
            size.clone(),
            stuck_ok,
            format!(
                "{} ons / {} offs, {} left open{}, {} voices sounding after a {} s tail",
                r.ledger.ons,
                r.ledger.offs,
                open.len(),
                open.iter()
                    .take(6)
                    .map(|(s, p, f)| format!(
                        " {s:?} {p} from frame {f} ({})",
                        around(&events, *f, 256)
                    ))
                    .collect::<String>(),
                r.sounding_after,
                r.tail_seconds
            ),
        ));
        rows.push(Check::new(
            "automation: no allocation in process",
            size.clone(),
            p.allocations == 0,
            format!("{} allocations in {} blocks", p.allocations, p.blocks.len()),
        ));
        let (best, allow) = confirmed(&p.blocks, || {
            run(host, &events, seconds, true).played.blocks
        });
        let (slow, text) = slow_report(&p.blocks, &best, &allow, &events);
        rows.push(Check::new(
            "automation: no block over 5× the median of its kind",
            size,
            slow == 0,
            text,
        ));
    }
    rows
}
