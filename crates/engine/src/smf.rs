//! Standard MIDI files (format 1) of the notes a render or a recording played: a tempo track with
//! the tempo map, one named track per source, and every note closed, so a DAW or pretty_midi reads
//! exactly what sounded. One writer for the CLI and the page's wasm.

use crate::events::{Input, InputEvent, NoteEvent, Source};
use crate::params::{ParamId, ParamValues};
use crate::render::schedule;

/// Ticks per quarter note: about half a millisecond at 120 BPM.
pub const PPQ: u16 = 960;

/// The tempo over a render: the patch's tempo from frame 0, then each change at its frame.
#[derive(Clone, Debug, PartialEq)]
pub struct TempoMap {
    sample_rate: f64,
    /// (frame, bpm), frames increasing, the first at 0.
    changes: Vec<(u64, f64)>,
}

impl TempoMap {
    /// The map of a render of `values` (the patch at the start) with `events`: every `bpm` change,
    /// clamped as the engine clamps it, at its frame (changes to the same tempo are left out).
    pub fn of_render(sample_rate: f64, values: &ParamValues, events: &[InputEvent]) -> Self {
        let mut values = values.clone();
        // In the order the engine applies them (the renderer's own sort, so the wasm carries one).
        let tempo = schedule(events)
            .0
            .into_iter()
            .filter_map(|e| match e.input {
                Input::SetParam {
                    id: ParamId::Tempo,
                    value,
                } => Some((e.frame, value)),
                _ => None,
            });
        let mut changes = vec![(0, values.get(ParamId::Tempo))];
        for (frame, value) in tempo {
            let before = values.get(ParamId::Tempo);
            let bpm = values.set(ParamId::Tempo, value);
            if bpm == before {
                continue;
            }
            match changes.last_mut() {
                Some(last) if last.0 == frame => last.1 = bpm,
                _ => changes.push((frame, bpm)),
            }
        }
        Self {
            sample_rate,
            changes,
        }
    }

    /// (frame, bpm) of every tempo in force, the first at frame 0.
    pub fn changes(&self) -> &[(u64, f64)] {
        &self.changes
    }

    /// Microseconds per quarter note as the file writes it (a whole number).
    fn micros(bpm: f64) -> u32 {
        (60_000_000.0 / bpm).round() as u32
    }

    /// The tick of every change and of `frames`, computed with the tempo the file states (whole
    /// microseconds per quarter), so a reader that converts ticks to seconds through the file's
    /// own tempo events lands on the frame to within half a tick per tempo change.
    fn ticks(&self) -> Ticks<'_> {
        let mut starts = Vec::with_capacity(self.changes.len());
        let mut tick = 0u64;
        for (i, &(frame, _)) in self.changes.iter().enumerate() {
            if i > 0 {
                tick = self.tick_in(i - 1, tick, frame);
            }
            starts.push(tick);
        }
        Ticks { map: self, starts }
    }

    /// The tick of `frame` in segment `i`, which starts at tick `start`.
    fn tick_in(&self, i: usize, start: u64, frame: u64) -> u64 {
        let (from, bpm) = self.changes[i];
        let seconds = frame.saturating_sub(from) as f64 / self.sample_rate;
        let quarters = seconds * 1e6 / Self::micros(bpm) as f64;
        start + (quarters * PPQ as f64).round() as u64
    }
}

struct Ticks<'a> {
    map: &'a TempoMap,
    starts: Vec<u64>,
}

impl Ticks<'_> {
    fn at(&self, frame: u64) -> u64 {
        let i = self.map.changes.partition_point(|&(f, _)| f <= frame) - 1;
        self.map.tick_in(i, self.starts[i], frame)
    }
}

/// Whether a note's source goes into a track of the MIDI file.
type Belongs = fn(Source) -> bool;

/// The standard MIDI file of `notes` (in frame order, as a render gives them) over a render of
/// `end_frame` frames with `tempo`: format 1, track 0 the tempo map, track 1 "keys + arpeggio" on
/// channel 1, then "melody" on channel 2 and "rhythm 1"–"rhythm 3" on their tracks' channels,
/// each when it played. A note-on of a pitch
/// already on closes the earlier note first, a note-off of a pitch that is not on is left out, and
/// every note still on at `end_frame` is closed there.
pub fn write(notes: &[NoteEvent], tempo: &TempoMap, end_frame: u64) -> Vec<u8> {
    let ticks = tempo.ticks();
    let mut tempo_track = Track::default();
    tempo_track.name(0, "tidepool");
    for (i, &(_, bpm)) in tempo.changes.iter().enumerate() {
        let micros = TempoMap::micros(bpm).to_be_bytes();
        tempo_track.event(
            ticks.starts[i],
            &[0xff, 0x51, 0x03, micros[1], micros[2], micros[3]],
        );
    }
    // One track per generator: keys + arpeggio always, the melody and each rhythm track when
    // they played. Each note goes out on its source's channel (keys and arpeggio 1, melody 2, a
    // rhythm track its own).
    let groups: [(&str, Belongs); 5] = [
        ("keys + arpeggio", |s| {
            matches!(s, Source::Keys | Source::Arp)
        }),
        ("melody", |s| s == Source::Melody),
        ("rhythm 1", |s| matches!(s, Source::Rhythm { track: 0, .. })),
        ("rhythm 2", |s| matches!(s, Source::Rhythm { track: 1, .. })),
        ("rhythm 3", |s| matches!(s, Source::Rhythm { track: 2, .. })),
    ];
    let mut tracks = vec![tempo_track];
    for (i, &(name, belongs)) in groups.iter().enumerate() {
        if i > 0 && !notes.iter().any(|n| belongs(n.source)) {
            continue;
        }
        let mut track = Track::default();
        track.name(0, name);
        let mut on = [[false; 128]; 16];
        for n in notes.iter().filter(|n| belongs(n.source)) {
            let (tick, pitch) = (ticks.at(n.frame.min(end_frame)), n.pitch & 0x7f);
            let channel = n.source.channel() & 0x0f;
            let on = &mut on[channel as usize];
            if on[pitch as usize] {
                track.event(tick, &[0x80 | channel, pitch, 0]);
                on[pitch as usize] = false;
            }
            if n.velocity > 0 {
                track.event(tick, &[0x90 | channel, pitch, n.velocity.min(127)]);
                on[pitch as usize] = true;
            }
        }
        let end = ticks.at(end_frame);
        for (channel, on) in on.iter().enumerate() {
            for pitch in (0..128u8).filter(|&p| on[p as usize]) {
                track.event(end, &[0x80 | channel as u8, pitch, 0]);
            }
        }
        tracks.push(track);
    }
    let end = ticks.at(end_frame);
    let mut out = Vec::new();
    out.extend_from_slice(b"MThd");
    out.extend_from_slice(&6u32.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(tracks.len() as u16).to_be_bytes());
    out.extend_from_slice(&PPQ.to_be_bytes());
    for mut track in tracks {
        track.event(end.max(track.tick), &[0xff, 0x2f, 0x00]);
        out.extend_from_slice(b"MTrk");
        out.extend_from_slice(&(track.bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&track.bytes);
    }
    out
}

/// A track's bytes, written as delta times from absolute ticks.
#[derive(Default)]
struct Track {
    bytes: Vec<u8>,
    tick: u64,
}

impl Track {
    fn event(&mut self, tick: u64, message: &[u8]) {
        let delta = tick.saturating_sub(self.tick).min(0x0fff_ffff) as u32;
        self.tick = self.tick.max(tick);
        vlq(delta, &mut self.bytes);
        self.bytes.extend_from_slice(message);
    }

    fn name(&mut self, tick: u64, name: &str) {
        let mut m = vec![0xff, 0x03];
        vlq(name.len() as u32, &mut m);
        m.extend_from_slice(name.as_bytes());
        self.event(tick, &m);
    }
}

/// A MIDI variable-length quantity (7 bits a byte, high bit set on all but the last).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_length_quantities() {
        for (v, want) in [
            (0u32, vec![0u8]),
            (0x7f, vec![0x7f]),
            (0x80, vec![0x81, 0x00]),
            (0x3fff, vec![0xff, 0x7f]),
            (0x0fff_ffff, vec![0xff, 0xff, 0xff, 0x7f]),
        ] {
            let mut out = vec![];
            vlq(v, &mut out);
            assert_eq!(out, want);
        }
    }

    #[test]
    fn tempo_changes_are_clamped_merged_and_ordered() {
        let mut values = ParamValues::default();
        values.set(ParamId::Tempo, 100.0);
        let set = |frame, value| InputEvent {
            frame,
            input: Input::SetParam {
                id: ParamId::Tempo,
                value,
            },
        };
        let events = [
            set(900, 1e9),
            set(500, 100.0),
            set(300, 140.0),
            set(300, 150.0),
        ];
        let map = TempoMap::of_render(48000.0, &values, &events);
        assert_eq!(
            map.changes(),
            [(0, 100.0), (300, 150.0), (500, 100.0), (900, 300.0)]
        );
    }

    #[test]
    fn ticks_follow_the_tempo_map() {
        let mut values = ParamValues::default();
        values.set(ParamId::Tempo, 120.0);
        let events = [InputEvent {
            frame: 48000,
            input: Input::SetParam {
                id: ParamId::Tempo,
                value: 60.0,
            },
        }];
        let map = TempoMap::of_render(48000.0, &values, &events);
        let ticks = map.ticks();
        // One second at 120 BPM is two quarters; the next second at 60 BPM is one.
        assert_eq!(ticks.at(24000), PPQ as u64);
        assert_eq!(ticks.at(48000), 2 * PPQ as u64);
        assert_eq!(ticks.at(96000), 3 * PPQ as u64);
    }
}
