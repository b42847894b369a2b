//! Offline rendering: a patch and timed events to samples and note events, in blocks of any size,
//! with network rebuilds placed on the exact frame of the change (so the block size never shows).

use crate::engine::Engine;
use crate::events::{Input, InputEvent, NoteEvent};
use crate::patch::Patch;

/// What a render produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rendered {
    pub left: Vec<f32>,
    pub right: Vec<f32>,
    pub notes: Vec<NoteEvent>,
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
    let mut events = events.to_vec();
    events.sort_by_key(|e| e.frame);
    let structural: Vec<u64> = events
        .iter()
        .filter(|e| matches!(e.input, Input::SetParam { id, .. } if id.spec().structural))
        .map(|e| e.frame)
        .collect();
    let mut out = Rendered {
        left: vec![0.0; frames],
        right: vec![0.0; frames],
        notes: Vec::new(),
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
    out
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
