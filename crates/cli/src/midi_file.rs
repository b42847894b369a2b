//! Standard MIDI File output (format 0) for the notes a render produced.

use std::io::{self, Write};
use tidepool_engine::{NoteEvent, Source};

/// Ticks per quarter note.
const PPQ: u16 = 480;

fn vlq(mut v: u32, out: &mut Vec<u8>) {
    let mut bytes = [0u8; 5];
    let mut i = 4;
    bytes[i] = (v & 0x7f) as u8;
    v >>= 7;
    while v > 0 {
        i -= 1;
        bytes[i] = 0x80 | (v & 0x7f) as u8;
        v >>= 7;
    }
    out.extend_from_slice(&bytes[i..]);
}

/// Writes `notes` (frames at `sample_rate`) as a one-track SMF at `bpm`: keys and arpeggio on
/// MIDI channel 1, the melody on channel 2 (as the page sends them).
pub fn write_midi(
    mut w: impl Write,
    notes: &[NoteEvent],
    sample_rate: f64,
    bpm: f64,
) -> io::Result<()> {
    let mut track = Vec::new();
    let micros_per_quarter = (60_000_000.0 / bpm).round() as u32;
    track.extend_from_slice(&[0x00, 0xff, 0x51, 0x03]);
    track.extend_from_slice(&micros_per_quarter.to_be_bytes()[1..]);
    let ticks_per_frame = bpm / 60.0 * PPQ as f64 / sample_rate;
    let mut last_tick = 0u32;
    for n in notes {
        let tick = (n.frame as f64 * ticks_per_frame).round() as u32;
        vlq(tick.saturating_sub(last_tick), &mut track);
        last_tick = tick.max(last_tick);
        let channel = u8::from(n.source == Source::Melody);
        let status = if n.velocity > 0 { 0x90 } else { 0x80 } | channel;
        track.extend_from_slice(&[status, n.pitch & 0x7f, n.velocity & 0x7f]);
    }
    track.extend_from_slice(&[0x00, 0xff, 0x2f, 0x00]);
    w.write_all(b"MThd")?;
    w.write_all(&6u32.to_be_bytes())?;
    w.write_all(&0u16.to_be_bytes())?;
    w.write_all(&1u16.to_be_bytes())?;
    w.write_all(&PPQ.to_be_bytes())?;
    w.write_all(b"MTrk")?;
    w.write_all(&(track.len() as u32).to_be_bytes())?;
    w.write_all(&track)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidepool_engine::Source;

    #[test]
    fn variable_length_quantities() {
        for (v, want) in [
            (0u32, vec![0u8]),
            (0x7f, vec![0x7f]),
            (0x80, vec![0x81, 0x00]),
            (0x3fff, vec![0xff, 0x7f]),
        ] {
            let mut out = vec![];
            vlq(v, &mut out);
            assert_eq!(out, want);
        }
    }

    #[test]
    fn a_quarter_note_at_120_bpm() {
        let notes = [
            NoteEvent {
                frame: 0,
                pitch: 60,
                velocity: 100,
                source: Source::Arp,
            },
            NoteEvent {
                frame: 24000,
                pitch: 60,
                velocity: 0,
                source: Source::Arp,
            },
        ];
        let mut out = vec![];
        write_midi(&mut out, &notes, 48000.0, 120.0).unwrap();
        assert_eq!(&out[..4], b"MThd");
        let track = &out[22..];
        // tempo 500000 µs, then note-on at delta 0, note-off at delta 480 (0x83 0x60).
        assert_eq!(&track[..7], &[0x00, 0xff, 0x51, 0x03, 0x07, 0xa1, 0x20]);
        assert_eq!(&track[7..11], &[0x00, 0x90, 60, 100]);
        assert_eq!(&track[11..16], &[0x83, 0x60, 0x80, 60, 0]);
    }
}
