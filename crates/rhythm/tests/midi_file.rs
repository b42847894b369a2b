//! The MIDI file reader on files written byte by byte in the test: running status, tempo
//! changes, format 0 and 1, several divisions, and corrupted bytes (clear error, no panic).

mod support;

use support::{chunk, file, meter, tempo, track};
use tidepool_rhythm::midi_file::{read_midi, MidiFile};

fn starts(f: &MidiFile) -> Vec<(f64, u8, u8, u8)> {
    f.notes
        .iter()
        .map(|n| (n.start_beats, n.channel, n.pitch, n.velocity))
        .collect()
}

#[test]
fn running_status_and_velocity_zero_note_offs() {
    // Four quarter notes on channel 2: one note-on status, then data bytes only (running
    // status), note-offs written as note-on with velocity 0.
    let ppq = 96;
    let t = track(&[
        (0, vec![0x91, 60, 100]),
        (96, vec![60, 0]),
        (0, vec![62, 90]),
        (96, vec![62, 0]),
        (0, vec![64, 80]),
        (48, vec![64, 0]),
        (48, vec![65, 70]),
        (96, vec![0x81, 65, 0]), // a real note-off, then running status on it
        (0, vec![66, 0]),        // a note-off for a note that is not sounding: ignored
    ]);
    let f = read_midi(&file(0, ppq, &[t])).unwrap();
    assert_eq!(f.format, 0);
    assert_eq!(f.ticks_per_quarter, ppq);
    assert_eq!(
        starts(&f),
        vec![
            (0.0, 1, 60, 100),
            (1.0, 1, 62, 90),
            (2.0, 1, 64, 80),
            (3.0, 1, 65, 70)
        ]
    );
    let ends: Vec<f64> = f.notes.iter().map(|n| n.end_beats).collect();
    assert_eq!(ends, vec![1.0, 2.0, 2.5, 4.0]);
    // No tempo event: 120 BPM, half a second per beat.
    assert_eq!(f.notes[3].start_s, 1.5);
    assert_eq!(f.time_signatures.len(), 1);
    assert_eq!(f.time_signatures[0].bar_beats(), 4.0);
}

#[test]
fn tempo_changes_in_a_type_1_file_place_every_track_in_seconds() {
    // Track 0: tempo map 120 BPM, then 60 BPM at beat 2, then 240 BPM at beat 3; 3/4 from the
    // start. Track 1 and 2: notes on beats 0..=5, with different divisions' worth of ticks.
    let ppq = 480;
    let conductor = track(&[
        (0, meter(3, 2)),
        (0, tempo(120.0)),
        (2 * 480, tempo(60.0)),
        (480, tempo(240.0)),
    ]);
    let mut ev = Vec::new();
    for beat in 0..6 {
        ev.push((if beat == 0 { 0 } else { 240 }, vec![0x90, 60 + beat, 100]));
        ev.push((240, vec![0x80, 60 + beat, 64]));
    }
    let melody = track(&ev);
    let drums = track(&[(480 * 4, vec![0x99, 36, 127]), (10, vec![0x89, 36, 0])]);
    let f = read_midi(&file(1, ppq, &[conductor, melody, drums])).unwrap();
    assert_eq!((f.format, f.tracks), (1, 3));
    // Seconds by hand: beats 0,1 at 0.5 s each; beat 2 -> 1 s long; beat 3 on at 0.25 s each.
    let expect_s = [0.0, 0.5, 1.0, 2.0, 2.25, 2.5];
    let melody_notes: Vec<_> = f.notes.iter().filter(|n| n.track == 1).collect();
    assert_eq!(melody_notes.len(), 6);
    for (n, want) in melody_notes.iter().zip(expect_s) {
        assert!((n.start_s - want).abs() < 1e-9, "{n:?} want {want}");
    }
    // The half-beat note from beat 2 lasts 0.5 s at 60 BPM.
    assert!((melody_notes[2].end_s - 1.5).abs() < 1e-9);
    let drum = f.notes.iter().find(|n| n.track == 2).unwrap();
    assert_eq!((drum.channel, drum.pitch, drum.start_beats), (9, 36, 4.0));
    assert!((drum.start_s - 2.25).abs() < 1e-9);
    assert_eq!(f.tempos.len(), 3);
    assert_eq!(f.tempos[1].bpm(), 60.0);
    assert_eq!(f.time_signatures[0].numerator, 3);
    assert_eq!(f.time_signatures[0].bar_beats(), 3.0);
}

#[test]
fn the_same_music_at_any_division_reads_the_same() {
    let music = |ppq: u32| {
        // A dotted rhythm with a sysex and a program change (one data byte) in the way.
        let t = track(&[
            (0, vec![0xF0, 0x03, 0x7E, 0x7F, 0xF7]),
            (0, vec![0xC0, 5]),
            (0, vec![0x90, 60, 100]),
            (ppq * 3 / 4, vec![0x80, 60, 0]),
            (0, vec![0x90, 62, 100]),
            (ppq / 4, vec![0x80, 62, 0]),
            (0, vec![0xB0, 64, 127]),
            (0, vec![0x90, 64, 100]),
            (ppq, vec![0x80, 64, 0]),
        ]);
        read_midi(&file(0, ppq as u16, &[t])).unwrap()
    };
    let base = starts(&music(96));
    assert_eq!(base.len(), 3);
    assert_eq!(base[1].0, 0.75);
    for ppq in [24, 120, 384, 480, 960, 15360] {
        assert_eq!(starts(&music(ppq)), base, "ppq {ppq}");
    }
}

#[test]
fn overlapping_notes_of_one_pitch_close_first_in_first_out() {
    let t = track(&[
        (0, vec![0x90, 60, 50]),
        (10, vec![0x90, 60, 60]),
        (10, vec![0x80, 60, 0]),
        (10, vec![0x80, 60, 0]),
        (0, vec![0x90, 61, 70]), // never closed: ends at the end of the track
        (50, vec![0xFF, 0x01, 0x02, b'h', b'i']),
    ]);
    let f = read_midi(&file(0, 10, &[t])).unwrap();
    let spans: Vec<(f64, f64, u8)> = f
        .notes
        .iter()
        .map(|n| (n.start_beats, n.end_beats, n.velocity))
        .collect();
    assert_eq!(spans, vec![(0.0, 2.0, 50), (1.0, 3.0, 60), (3.0, 8.0, 70)]);
}

#[test]
fn unsupported_and_broken_files_are_refused_with_a_reason() {
    let good = file(
        0,
        96,
        &[track(&[(0, vec![0x90, 60, 100]), (96, vec![0x80, 60, 0])])],
    );
    let check = |bytes: &[u8], needle: &str| {
        let e = read_midi(bytes).unwrap_err();
        assert!(e.to_string().contains(needle), "`{e}` lacks `{needle}`");
    };
    check(b"RIFF....WAVE", "does not start with MThd");
    check(&good[..10], "ends");
    let mut smpte = good.clone();
    smpte[12] = 0xE7; // -25 fps
    check(&smpte, "SMPTE");
    let mut format2 = good.clone();
    format2[9] = 2;
    check(&format2, "format 2");
    let mut zero = good.clone();
    zero[12] = 0;
    zero[13] = 0;
    check(&zero, "0 pulses");
    // Track claims more bytes than there are.
    let mut long = good.clone();
    long[21] = 0xF0;
    check(&long, "claims");
    // A data byte where an event should start, with nothing running.
    let t = vec![0x00, 0x3C, 0x40, 0x00, 0xFF, 0x2F, 0x00];
    check(&file(0, 96, &[t]), "running status with nothing running");
    // A status byte where a data byte is due.
    let t = vec![0x00, 0x90, 0x3C, 0x90, 0x00, 0xFF, 0x2F, 0x00];
    check(&file(0, 96, &[t]), "data byte must be below 0x80");
    // A delta time longer than 4 bytes.
    let t = vec![0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x90, 0x3C, 0x40];
    check(&file(0, 96, &[t]), "longer than 4 bytes");
    // A track cut inside a note-on.
    let t = vec![0x00, 0x90, 0x3C];
    check(&file(0, 96, &[t]), "track 0");
    // Header announces two tracks, file holds one.
    let mut missing = good.clone();
    missing[11] = 2;
    check(&missing, "announces 2 tracks");
    // A bad meter.
    let t = track(&[(0, vec![0xFF, 0x58, 0x04, 0, 2, 24, 8])]);
    check(&file(1, 96, &[t]), "not a usable meter");
}

#[test]
fn unknown_chunks_are_skipped_and_a_missing_end_of_track_is_tolerated() {
    let mut bytes = file(1, 96, &[]);
    bytes[11] = 1; // one track
    bytes.extend(chunk(b"XFIH", &[1, 2, 3]));
    bytes.extend(chunk(b"MTrk", &[0x00, 0x90, 60, 100, 0x60, 0x80, 60, 0]));
    let f = read_midi(&bytes).unwrap();
    assert_eq!(starts(&f), vec![(0.0, 0, 60, 100)]);
    assert_eq!(f.notes[0].end_beats, 1.0);
}

/// A tiny xorshift so the corruption is the same every run.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    let mut ev = vec![(0, tempo(100.0)), (0, meter(6, 3))];
    for i in 0..40u32 {
        ev.push((
            30,
            vec![0x90 | (i % 3) as u8, 40 + (i % 50) as u8, 1 + i as u8],
        ));
        ev.push((10, vec![0x80 | (i % 3) as u8, 40 + (i % 50) as u8, 0]));
    }
    let good = file(1, 120, &[track(&ev), track(&ev[2..])]);
    assert!(read_midi(&good).is_ok());
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (mut refused, mut read) = (0, 0);
    for round in 0..20_000 {
        let mut bytes = good.clone();
        match round % 4 {
            // Flip a few bytes anywhere.
            0 | 1 => {
                for _ in 0..1 + rng.next() % 4 {
                    let i = (rng.next() % bytes.len() as u64) as usize;
                    bytes[i] = rng.next() as u8;
                }
            }
            // Cut the file short.
            2 => bytes.truncate((rng.next() % bytes.len() as u64) as usize),
            // Random bytes behind a valid header.
            _ => {
                bytes.truncate(14);
                bytes.extend((0..rng.next() % 300).map(|_| rng.next() as u8));
            }
        }
        match read_midi(&bytes) {
            Ok(f) => {
                read += 1;
                for n in &f.notes {
                    assert!(n.end_beats >= n.start_beats && n.start_s.is_finite());
                    assert!(n.channel < 16 && n.pitch < 128 && (1..128).contains(&n.velocity));
                }
            }
            Err(e) => {
                refused += 1;
                assert!(!e.message.is_empty() && e.offset <= bytes.len(), "{e}");
            }
        }
    }
    // Both outcomes happen: the fuzzing reaches the parser's insides, not only the header.
    assert!(
        refused > 1000 && read > 1000,
        "refused {refused}, read {read}"
    );
}
