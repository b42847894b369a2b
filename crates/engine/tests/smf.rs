//! The standard MIDI file writer read back with `midly`: every note closed (a repeated note-on
//! ends the earlier note, a stray note-off is left out, notes still on end at the last frame),
//! one named track per source on its channel, and note ticks through the tempo map.

use midly::{MetaMessage, MidiMessage, Smf, TrackEventKind};
use tidepool_engine::smf::{self, TempoMap, PPQ};
use tidepool_engine::{Input, InputEvent, NoteEvent, ParamId, ParamValues, Source};

fn note(frame: u64, pitch: u8, velocity: u8, source: Source) -> NoteEvent {
    NoteEvent {
        frame,
        pitch,
        velocity,
        source,
    }
}

/// Per track: its name, tempo events (tick, µs), and (tick, channel, pitch, on) note messages.
type Track = (String, Vec<(u64, u32)>, Vec<(u64, u8, u8, bool)>);

fn read(bytes: &[u8]) -> Vec<Track> {
    let smf = Smf::parse(bytes).expect("midly reads it");
    assert_eq!(smf.header.format, midly::Format::Parallel);
    assert_eq!(smf.header.timing, midly::Timing::Metrical(PPQ.into()));
    smf.tracks
        .iter()
        .map(|events| {
            let (mut tick, mut name, mut tempi, mut notes) = (0, String::new(), vec![], vec![]);
            for e in events {
                tick += e.delta.as_int() as u64;
                match e.kind {
                    TrackEventKind::Meta(MetaMessage::TrackName(n)) => {
                        name = String::from_utf8_lossy(n).into_owned()
                    }
                    TrackEventKind::Meta(MetaMessage::Tempo(t)) => tempi.push((tick, t.as_int())),
                    TrackEventKind::Midi { channel, message } => {
                        let (key, on) = match message {
                            MidiMessage::NoteOn { key, vel } => (key, vel.as_int() > 0),
                            MidiMessage::NoteOff { key, .. } => (key, false),
                            other => panic!("unexpected {other:?}"),
                        };
                        notes.push((tick, channel.as_int(), key.as_int(), on));
                    }
                    _ => {}
                }
            }
            (name, tempi, notes)
        })
        .collect()
}

#[test]
fn every_note_is_closed_and_each_source_has_its_track() {
    // 120 BPM at 48 kHz: 24 000 frames a quarter, 25 frames a tick.
    let notes = [
        note(0, 60, 100, Source::Keys),
        note(2400, 64, 90, Source::Arp),
        note(4800, 60, 80, Source::Keys), // 60 again while on: the first one ends here
        note(7200, 61, 0, Source::Keys),  // never on: left out
        note(9600, 64, 0, Source::Arp),
        note(12000, 72, 70, Source::Melody), // still on at the end
    ];
    let tempo = TempoMap::of_render(48000.0, &ParamValues::default(), &[]);
    let tracks = read(&smf::write(&notes, &tempo, 24000));
    let names: Vec<&str> = tracks.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(names, ["tidepool", "keys + arpeggio", "melody"]);
    assert_eq!(tracks[0].1, [(0, 500_000)]);
    assert_eq!(
        tracks[1].2,
        [
            (0, 0, 60, true),
            (96, 0, 64, true),
            (192, 0, 60, false),
            (192, 0, 60, true),
            (384, 0, 64, false),
            (960, 0, 60, false),
        ]
    );
    assert_eq!(tracks[2].2, [(480, 1, 72, true), (960, 1, 72, false)]);
}

#[test]
fn without_melody_notes_there_is_no_melody_track() {
    let notes = [note(0, 60, 100, Source::Arp)];
    let tempo = TempoMap::of_render(44100.0, &ParamValues::default(), &[]);
    let tracks = read(&smf::write(&notes, &tempo, 44100));
    assert_eq!(tracks.len(), 2);
    // One second at 120 BPM: two quarters.
    assert_eq!(tracks[1].2.last(), Some(&(2 * PPQ as u64, 0, 60, false)));
}

#[test]
fn note_ticks_follow_the_tempo_changes() {
    let mut values = ParamValues::default();
    values.set(ParamId::Tempo, 90.0);
    let at = |frame, bpm| InputEvent {
        frame,
        input: Input::SetParam {
            id: ParamId::Tempo,
            value: bpm,
        },
    };
    // 90 BPM for 2 s (3 quarters), then 180 BPM: a quarter is 16 000 frames at 48 kHz.
    let events = [at(96_000, 180.0)];
    let notes = [
        note(48_000, 60, 100, Source::Keys),        // 1.5 quarters
        note(96_000 + 16_000, 60, 0, Source::Keys), // 3 + 1 quarters
    ];
    let tempo = TempoMap::of_render(48000.0, &values, &events);
    let tracks = read(&smf::write(&notes, &tempo, 200_000));
    let q = PPQ as u64;
    assert_eq!(tracks[0].1, [(0, 666_667), (3 * q, 333_333)]);
    assert_eq!(
        tracks[1].2,
        [(3 * q / 2, 0, 60, true), (4 * q, 0, 60, false)]
    );
}
