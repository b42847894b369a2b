//! Every note starts on its event's frame, whatever its offset from the synth's 16-frame control
//! tick and whatever the block size, and a retriggered voice never drops out.

use tidepool_engine::render::{render, Rendered};
use tidepool_engine::{Input, InputEvent, ParamId, Patch, CONTROL_FRAMES};

const SR: f64 = 48000.0;

/// Keys straight to the synth (arpeggiator off), LFO depth 0, so only the note shapes the sound.
fn keys_patch() -> Patch {
    let mut patch = Patch::default();
    patch.values.set(ParamId::ArpMode, 0.0);
    patch.values.set(ParamId::LfoDepth1, 0.0);
    patch
}

fn on(frame: u64, pitch: u8) -> InputEvent {
    InputEvent {
        frame,
        input: Input::NoteOn {
            pitch,
            velocity: 100,
        },
    }
}

fn first_sound(out: &Rendered) -> usize {
    out.left
        .iter()
        .zip(&out.right)
        .position(|(l, r)| *l != 0.0 || *r != 0.0)
        .expect("the note sounds")
}

#[test]
fn a_note_starts_on_its_exact_frame_at_every_offset_from_the_control_tick() {
    let base = 100 * CONTROL_FRAMES as u64;
    for block in [1, 128] {
        for offset in 0..CONTROL_FRAMES as u64 {
            let frame = base + offset;
            let out = render(
                &keys_patch(),
                SR,
                &[on(frame, 57)],
                frame as usize + 64,
                block,
            );
            // A saw starts at phase 0, whose band-limited value is exactly 0: the first audible
            // sample is the note's second. Either way it is the same distance from the event.
            assert_eq!(
                first_sound(&out),
                frame as usize + 1,
                "note-on at frame {frame} (offset {offset}), block {block}"
            );
            assert_eq!(out.notes[0].frame, frame);
        }
    }
}

#[test]
fn a_retriggered_voice_never_drops_out() {
    for offset in 0..CONTROL_FRAMES as u64 {
        let again = 4800 + offset;
        // The same pitch struck again without a release reuses its voice.
        let out = render(
            &keys_patch(),
            SR,
            &[on(160, 57), on(again, 57)],
            again as usize + 64,
            128,
        );
        let silent = (again as usize..again as usize + 2 * CONTROL_FRAMES as usize)
            .filter(|&i| out.left[i] == 0.0 && out.right[i] == 0.0)
            .count();
        assert_eq!(
            silent, 0,
            "retrigger at offset {offset}: {silent} silent frames"
        );
    }
}
