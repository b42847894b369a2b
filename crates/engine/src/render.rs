//! Offline rendering: a patch and timed events to samples and note events, in blocks of any size,
//! with network rebuilds placed on the exact frame of the change (so the block size never shows).

use crate::engine::{Engine, Status};
use crate::events::{Input, InputEvent, NoteEvent};
use crate::params::ParamId;
use crate::patch::Patch;

/// What a render produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rendered {
    pub left: Vec<f32>,
    pub right: Vec<f32>,
    pub notes: Vec<NoteEvent>,
    /// The engine's counters at the end (NaN resets, stolen voices, dropped events…).
    pub status: Status,
}

/// Renders `frames` frames of `patch` with `events` (any order) in blocks of `block` frames.
pub fn render(
    patch: &Patch,
    sample_rate: f64,
    events: &[InputEvent],
    frames: usize,
    block: usize,
) -> Rendered {
    let mut engine = Engine::new(sample_rate, patch);
    render_with(&mut engine, events, frames, block)
}

/// As [`render`], continuing an existing engine.
pub fn render_with(
    engine: &mut Engine,
    events: &[InputEvent],
    frames: usize,
    block: usize,
) -> Rendered {
    let block = block.max(1);
    let (events, structural) = schedule(events);
    let mut out = Rendered {
        left: vec![0.0; frames],
        right: vec![0.0; frames],
        notes: Vec::new(),
        status: Status::default(),
    };
    let start = engine.frame();
    let mut next_event = 0;
    let mut done = 0;
    while done < frames {
        let now = start + done as u64;
        let mut end = (done + block).min(frames);
        // Stop right after a structural change so the new network starts on the next frame.
        if let Some(&f) = structural
            .iter()
            .find(|&&f| f >= now && f < start + end as u64)
        {
            end = (f - start) as usize + 1;
        }
        while next_event < events.len() && events[next_event].frame < start + end as u64 {
            if !engine.push_event(events[next_event]) {
                break;
            }
            next_event += 1;
        }
        engine.process(&mut out.left[done..end], &mut out.right[done..end]);
        out.notes.extend_from_slice(engine.notes());
        engine.clear_notes();
        if let Some(rebuild) = engine.pending_rebuild() {
            drop(engine.install(rebuild.build()));
        }
        done = end;
    }
    out.status = engine.status();
    out
}

/// `events` in frame order, and the frames of the structural changes among them: where a host
/// that builds networks on the spot ends a block, so the new network plays from the next frame.
pub fn schedule(events: &[InputEvent]) -> (Vec<InputEvent>, Vec<u64>) {
    let mut events = events.to_vec();
    events.sort_by_key(|e| e.frame);
    let structural = events
        .iter()
        .filter(|e| matches!(e.input, Input::SetParam { id, .. } if id.spec().structural))
        .map(|e| e.frame)
        .collect();
    (events, structural)
}

/// Events that hold `pitches` from frame 0 to `frames` with velocity 100.
pub fn held_notes(pitches: &[u8], frames: u64) -> Vec<InputEvent> {
    let on = pitches.iter().map(|&pitch| InputEvent {
        frame: 0,
        input: Input::NoteOn {
            pitch,
            velocity: 100,
        },
    });
    let off = pitches.iter().map(|&pitch| InputEvent {
        frame: frames,
        input: Input::NoteOff { pitch },
    });
    on.chain(off).collect()
}

/// The patch text of [`golden_scenario`]: the reservoir LFO with non-default settings (spectral
/// radius, beat pulses, linear smoothing, routed to cutoff and pan) and the reservoir arpeggiator
/// in 1/32 steps over two octaves with a low confidence β, so both networks and the synth all
/// shape the output.
pub const GOLDEN_PATCH: &str = "tp1&bpm=120&lfo.sr=1.3&lfo.pulse=beat&lfo.smooth=linear\
    &lfo.dest1=cutoff&lfo.depth1=0.8&lfo.dest2=pan\
    &arp.mode=reservoir&arp.div=1/32&arp.beta=3&arp.oct=2";

/// The reference scenario whose render is committed under `tests/golden/` (`scenario_48k.f32`,
/// `scenario_48k.notes.json`).
///
/// It exists so that the native build and the wasm build (the AudioWorklet's) can be checked to
/// agree bit for bit: the engine keeps every reservoir, RNG and synth computation on `libm` and
/// fixed-order sums, and this scenario is the one both sides render and compare against the same
/// files. It runs 1.0 s at 48 kHz of [`GOLDEN_PATCH`] with a C minor seventh chord held, a cutoff
/// change at 0.25 s, a tempo change at 0.5 s and one chord note released at 0.625 s.
///
/// Returns the patch, the events, the sample rate and the number of frames.
pub fn golden_scenario() -> (Patch, Vec<InputEvent>, f64, usize) {
    let parsed = Patch::parse(GOLDEN_PATCH);
    assert!(
        parsed.errors.is_empty(),
        "golden patch text has errors: {:?}",
        parsed.errors
    );
    let at = |frame, input| InputEvent { frame, input };
    let mut events: Vec<InputEvent> = [48u8, 55, 58, 63]
        .iter()
        .map(|&pitch| {
            at(
                0,
                Input::NoteOn {
                    pitch,
                    velocity: 100,
                },
            )
        })
        .collect();
    events.extend([
        at(
            12_000,
            Input::SetParam {
                id: ParamId::SynthCutoff,
                value: 900.0,
            },
        ),
        at(
            24_000,
            Input::SetParam {
                id: ParamId::Tempo,
                value: 150.0,
            },
        ),
        at(30_000, Input::NoteOff { pitch: 58 }),
    ]);
    (parsed.patch, events, 48_000.0, 48_000)
}

/// The notes of a golden notes file (`[[frame, pitch, velocity], …]`), three numbers per note;
/// the format is too simple to need a JSON parser. Shared by the native and the wasm golden tests.
pub fn parse_notes_file(text: &str) -> Vec<[u64; 3]> {
    let numbers: Vec<u64> = text
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().expect("a whole number"))
        .collect();
    assert_eq!(numbers.len() % 3, 0, "notes file is not a list of triples");
    numbers
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect()
}
