//! A MIDI 1.0 byte-stream reader with the rules of the page's `web/midi-parse.js` (running
//! status, real-time bytes anywhere, SysEx and system common skipped and cancelling running
//! status, stray data bytes dropped), reduced to what the engine takes: note on/off, the sustain
//! pedal (CC64), all-notes-off (CC123) and all-sound-off (CC120), which the page maps to panic.
//! It lets the harness turn garbage MIDI into engine inputs natively.

use tidepool_engine::Input;

/// Data bytes after a channel status (by its high nibble 0x8–0xE).
fn data_length(status: u8) -> usize {
    match status >> 4 {
        0xc | 0xd => 1,
        _ => 2,
    }
}

/// The engine inputs in `bytes`; never panics.
pub fn inputs(bytes: &[u8]) -> Vec<Input> {
    let mut out = Vec::new();
    let mut status = 0u8;
    let mut in_sysex = false;
    let mut data = [0u8; 2];
    let mut len = 0;
    for &byte in bytes {
        if byte >= 0xf8 {
            continue;
        }
        if byte & 0x80 != 0 {
            len = 0;
            in_sysex = byte == 0xf0;
            status = if byte < 0xf0 { byte } else { 0 };
            continue;
        }
        if in_sysex || status == 0 {
            continue;
        }
        data[len] = byte;
        len += 1;
        if len == data_length(status) {
            len = 0;
            let (a, b) = (data[0], data[1]);
            match status >> 4 {
                0x8 => out.push(Input::NoteOff { pitch: a }),
                0x9 if b == 0 => out.push(Input::NoteOff { pitch: a }),
                0x9 => out.push(Input::NoteOn {
                    pitch: a,
                    velocity: b,
                }),
                0xb if a == 64 => out.push(Input::Sustain(b >= 64)),
                0xb if a == 120 || a == 123 => out.push(Input::AllNotesOff),
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_status_realtime_sysex_and_strays() {
        let bytes = [
            0x45, // stray data byte: dropped
            0x90, 60, 100, 64, 0,    // note on, then running status: note 64 velocity 0 = off
            0xf8, // clock inside nothing
            0x90, 62, 0xfe, 90, // active sensing inside a message
            0xf0, 1, 2, 3, 0xf7, 65, 1, // SysEx, then data without a status: dropped
            0xb3, 64, 127, 123, 0, // pedal down, then all notes off by running status
            0x80, 60, // truncated
        ];
        assert_eq!(
            inputs(&bytes),
            [
                Input::NoteOn {
                    pitch: 60,
                    velocity: 100
                },
                Input::NoteOff { pitch: 64 },
                Input::NoteOn {
                    pitch: 62,
                    velocity: 90
                },
                Input::Sustain(true),
                Input::AllNotesOff,
            ]
        );
    }
}
