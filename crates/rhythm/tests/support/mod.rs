//! A tiny standard MIDI file writer for the tests: files are built byte by byte, so a test can
//! write running status, odd divisions and broken bytes on purpose.
#![allow(dead_code)] // each test file uses a different part

/// A variable-length quantity as the standard writes it.
pub fn varlen(mut v: u32) -> Vec<u8> {
    let mut out = vec![(v & 0x7f) as u8];
    v >>= 7;
    while v > 0 {
        out.insert(0, (v & 0x7f) as u8 | 0x80);
        v >>= 7;
    }
    out
}

pub fn chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = kind.to_vec();
    out.extend((body.len() as u32).to_be_bytes());
    out.extend(body);
    out
}

pub fn file(format: u16, ppq: u16, tracks: &[Vec<u8>]) -> Vec<u8> {
    let mut head = format.to_be_bytes().to_vec();
    head.extend((tracks.len() as u16).to_be_bytes());
    head.extend(ppq.to_be_bytes());
    let mut out = chunk(b"MThd", &head);
    for t in tracks {
        out.extend(chunk(b"MTrk", t));
    }
    out
}

/// Track bytes from (delta ticks, event bytes) pairs, closed by an end-of-track event.
pub fn track(events: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (delta, bytes) in events {
        out.extend(varlen(*delta));
        out.extend(bytes);
    }
    out.extend([0x00, 0xFF, 0x2F, 0x00]);
    out
}

pub fn tempo(bpm: f64) -> Vec<u8> {
    let us = (60_000_000.0 / bpm).round() as u32;
    let b = us.to_be_bytes();
    vec![0xFF, 0x51, 0x03, b[1], b[2], b[3]]
}

pub fn meter(num: u8, den_pow: u8) -> Vec<u8> {
    vec![0xFF, 0x58, 0x04, num, den_pow, 24, 8]
}

/// A format 0 file from events at absolute ticks (sorted here, stable, so a note-off given
/// before a note-on at the same tick stays before it).
pub fn at_ticks(ppq: u16, events: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut sorted = events.to_vec();
    sorted.sort_by_key(|(t, _)| *t);
    let mut last = 0;
    let deltas: Vec<(u32, Vec<u8>)> = sorted
        .into_iter()
        .map(|(t, e)| {
            let d = t - last;
            last = t;
            (d, e)
        })
        .collect();
    file(0, ppq, &[track(&deltas)])
}

/// Note-on and note-off (a sixteenth long) of `pitch` at `sixteenth`, channel `ch` (0-based).
pub fn note16(ppq: u16, sixteenth: u32, pitch: u8, velocity: u8, ch: u8) -> [(u32, Vec<u8>); 2] {
    let t = sixteenth * ppq as u32 / 4;
    [
        (t, vec![0x90 | ch, pitch, velocity]),
        (t + ppq as u32 / 4, vec![0x80 | ch, pitch, 0]),
    ]
}
