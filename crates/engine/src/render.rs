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

/// As [`render`], continuing an existing engine: a [`Renderer`] run to the end in one call.
pub fn render_with(
    engine: &mut Engine,
    events: &[InputEvent],
    frames: usize,
    block: usize,
) -> Rendered {
    let mut renderer = Renderer::new(engine, events, frames, block);
    renderer.run(engine, frames);
    renderer.finish(engine)
}

/// An offline render that can be run a piece at a time (so a worker can report progress between
/// pieces) and gives the same samples however it is cut: pieces end on the block grid a one-call
/// render uses, so every block, event and network install lands exactly where it would.
#[derive(Clone, Debug)]
pub struct Renderer {
    events: Vec<InputEvent>,
    structural: Vec<u64>,
    next_event: usize,
    /// The engine's frame when the render began.
    start: u64,
    frames: usize,
    block: usize,
    done: usize,
    out: Rendered,
}

impl Renderer {
    /// A render of `frames` frames of `engine` (from its current frame) with `events` (any order,
    /// absolute frames) in blocks of `block` frames. Allocates the output.
    pub fn new(engine: &Engine, events: &[InputEvent], frames: usize, block: usize) -> Self {
        let (events, structural) = schedule(events);
        Self {
            events,
            structural,
            next_event: 0,
            start: engine.frame(),
            frames,
            block: block.max(1),
            done: 0,
            out: Rendered {
                left: vec![0.0; frames],
                right: vec![0.0; frames],
                notes: Vec::new(),
                status: Status::default(),
            },
        }
    }

    /// Renders on until at least `max_frames` more frames are done (the last block may go a little
    /// past it) or the render is complete; returns the frames done so far. `engine` must be the
    /// one the renderer was made for, untouched in between.
    pub fn run(&mut self, engine: &mut Engine, max_frames: usize) -> usize {
        let target = self.done.saturating_add(max_frames.max(1)).min(self.frames);
        let start = self.start;
        while self.done < target {
            let done = self.done;
            let now = start + done as u64;
            let mut end = (done + self.block).min(self.frames);
            // Stop right after a structural change so the new network starts on the next frame.
            if let Some(&f) = self
                .structural
                .iter()
                .find(|&&f| f >= now && f < start + end as u64)
            {
                end = (f - start) as usize + 1;
            }
            let events = &self.events;
            while self.next_event < events.len()
                && events[self.next_event].frame < start + end as u64
            {
                if !engine.push_event(events[self.next_event]) {
                    break;
                }
                self.next_event += 1;
            }
            engine.process(
                &mut self.out.left[done..end],
                &mut self.out.right[done..end],
            );
            self.out.notes.extend_from_slice(engine.notes());
            engine.clear_notes();
            // Nobody sends an offline render's clock and CC messages: dropped so the queue never
            // fills up.
            engine.clear_midi();
            if let Some(rebuild) = engine.pending_rebuild() {
                drop(engine.install(rebuild.build()));
            }
            self.done = end;
        }
        self.done
    }

    /// Frames rendered so far.
    pub fn done(&self) -> usize {
        self.done
    }

    /// Frames the whole render has.
    pub fn frames(&self) -> usize {
        self.frames
    }

    pub fn is_finished(&self) -> bool {
        self.done >= self.frames
    }

    /// The output so far (samples past [`Renderer::done`] are still zero).
    pub fn output(&self) -> &Rendered {
        &self.out
    }

    /// The output, with the engine's counters as they stand now.
    pub fn finish(mut self, engine: &Engine) -> Rendered {
        self.out.status = engine.status();
        self.out
    }
}

/// `events` in frame order, and the frames of the structural changes among them: where a host
/// that builds networks on the spot ends a block, so the new network plays from the next frame.
pub fn schedule(events: &[InputEvent]) -> (Vec<InputEvent>, Vec<u64>) {
    let events = sorted_by_frame(events);
    let structural = events
        .iter()
        .filter(|e| matches!(e.input, Input::SetParam { id, .. } if id.spec().structural))
        .map(|e| e.frame)
        .collect();
    (events, structural)
}

/// `events` ordered by frame, equal frames in the order given (a stable sort). A bottom-up merge
/// sort written out: std's stable sort, instantiated for `InputEvent`, cost the wasm module (whose
/// offline render schedules with this) about 5 KB; this costs a few hundred bytes.
fn sorted_by_frame(events: &[InputEvent]) -> Vec<InputEvent> {
    let mut from = events.to_vec();
    if events.windows(2).all(|w| w[0].frame <= w[1].frame) {
        return from;
    }
    let n = from.len();
    let mut to = Vec::with_capacity(n);
    let mut width = 1;
    while width < n {
        to.clear();
        for start in (0..n).step_by(2 * width) {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j) = (start, mid);
            while i < mid && j < end {
                // Only a strictly earlier frame from the right run goes first: equal frames keep
                // their order.
                if from[j].frame < from[i].frame {
                    to.push(from[j]);
                    j += 1;
                } else {
                    to.push(from[i]);
                    i += 1;
                }
            }
            to.extend_from_slice(&from[i..mid]);
            to.extend_from_slice(&from[j..end]);
        }
        std::mem::swap(&mut from, &mut to);
        width *= 2;
    }
    from
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_sort_by_frame_stably_as_std_does() {
        // A reproducible jumble: frames from a small range so that many are equal, each event
        // told apart by its value (its place in the input).
        let mut x = 12345u64;
        for n in [0usize, 1, 2, 3, 7, 64, 1000, 4097] {
            let events: Vec<InputEvent> = (0..n)
                .map(|i| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    InputEvent {
                        frame: (x >> 33) % 50,
                        input: Input::SetParam {
                            id: ParamId::SynthCutoff,
                            value: i as f64,
                        },
                    }
                })
                .collect();
            let mut want = events.clone();
            want.sort_by_key(|e| e.frame);
            assert_eq!(sorted_by_frame(&events), want, "{n} events");
        }
    }

    #[test]
    fn a_render_in_uneven_pieces_is_the_one_call_render_bit_for_bit() {
        let (patch, mut events, sample_rate, frames) = golden_scenario();
        // A network rebuild mid-render: its install frame must not move with the pieces.
        events.push(InputEvent {
            frame: 20_003,
            input: Input::SetParam {
                id: ParamId::ArpNeurons,
                value: 40.0,
            },
        });
        let whole = render(&patch, sample_rate, &events, frames, 128);
        let mut engine = Engine::new(sample_rate, &patch);
        let mut renderer = Renderer::new(&engine, &events, frames, 128);
        let mut progress = Vec::new();
        for piece in [1, 1000, 7, 4096, 333].iter().cycle() {
            if renderer.is_finished() {
                break;
            }
            progress.push(renderer.run(&mut engine, *piece));
        }
        assert!(progress.windows(2).all(|w| w[0] < w[1]), "{progress:?}");
        assert_eq!(renderer.done(), frames);
        let pieces = renderer.finish(&engine);
        let bits = |v: &[f32]| v.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&pieces.left), bits(&whole.left));
        assert_eq!(bits(&pieces.right), bits(&whole.right));
        assert_eq!(pieces.notes, whole.notes);
        assert!(whole.notes.len() > 10 && whole.left.iter().any(|s| s.abs() > 0.01));
    }
}
