//! A standard MIDI file reader: the notes (start and end in seconds and in quarter-note beats,
//! channel, pitch, velocity), the tempo map and the time signatures of a type 0 or type 1 file.
//!
//! Hand-written rather than a crate so the page's tools module stays small and every way a
//! dropped file can be wrong becomes a message that names the track and the byte, never a panic.
//! What it accepts:
//! - format 0 and 1 (format 2, independent patterns with no shared time line, is refused);
//! - any pulses-per-quarter division; SMPTE (frames per second) division is refused, because a
//!   rhythm is placed on the bar grid in beats and such a file has no beats;
//! - running status, also after meta and sysex events (the standard says they cancel it, but
//!   writers in the wild rely on it, and no valid file is read differently for it);
//! - note-on with velocity 0 as note-off; overlapping notes of one pitch and channel close
//!   first-in first-out; notes still sounding at the end of their track end there;
//! - unknown chunk types are skipped (the standard asks readers to), extra header bytes too.

use std::fmt;

/// One note of the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    /// Onset in seconds from the file's start (through the tempo map).
    pub start_s: f64,
    /// Onset in quarter-note beats from the file's start (ticks / pulses per quarter).
    pub start_beats: f64,
    pub end_s: f64,
    pub end_beats: f64,
    /// Channel 0..=15 (channel 10 of the MIDI spec, drums by General MIDI, is 9 here).
    pub channel: u8,
    pub pitch: u8,
    /// Note-on velocity, 1..=127.
    pub velocity: u8,
    /// Index of the track chunk (0-based) the note is in.
    pub track: usize,
}

/// A time signature from the file's meta events.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeSignature {
    /// Where it takes effect, in quarter-note beats.
    pub beat: f64,
    pub numerator: u8,
    /// The note value of a beat: 4 for x/4, 8 for x/8.
    pub denominator: u32,
}

impl TimeSignature {
    /// Length of one bar in quarter-note beats (4/4: 4, 3/4: 3, 6/8: 3, 2/2: 4).
    pub fn bar_beats(&self) -> f64 {
        self.numerator as f64 * 4.0 / self.denominator as f64
    }
}

/// A tempo change.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tempo {
    pub beat: f64,
    pub seconds: f64,
    pub us_per_quarter: u32,
}

impl Tempo {
    pub fn bpm(&self) -> f64 {
        60_000_000.0 / self.us_per_quarter as f64
    }
}

/// Everything read from one file. `notes` are sorted by onset (then channel, then pitch);
/// `tempos` and `time_signatures` are sorted by beat and never empty (the standard's defaults,
/// 120 BPM and 4/4 at beat 0, when the file has none at its start).
#[derive(Clone, Debug, PartialEq)]
pub struct MidiFile {
    pub format: u16,
    pub tracks: usize,
    pub ticks_per_quarter: u16,
    pub notes: Vec<Note>,
    pub tempos: Vec<Tempo>,
    pub time_signatures: Vec<TimeSignature>,
}

/// Why a file could not be read: what was wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MidiError {
    /// Byte offset in the file where the problem was found.
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for MidiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

impl std::error::Error for MidiError {}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, MidiError> {
    Err(MidiError {
        offset,
        message: message.into(),
    })
}

/// A cursor over the file's bytes whose every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Exclusive end of the region being read (a track chunk's end).
    end: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self, what: &str) -> Result<u8, MidiError> {
        if self.pos >= self.end {
            return err(self.pos, format!("the data ends inside {what}"));
        }
        let b = self.bytes[self.pos];
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], MidiError> {
        if n > self.end - self.pos {
            return err(
                self.pos,
                format!(
                    "the data ends inside {what} (it needs {n} bytes, {} remain)",
                    self.end - self.pos
                ),
            );
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u16(&mut self, what: &str) -> Result<u16, MidiError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, MidiError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A variable-length quantity: at most 4 bytes (28 bits), as the standard limits it.
    fn varlen(&mut self, what: &str) -> Result<u32, MidiError> {
        let start = self.pos;
        let mut v = 0u32;
        for _ in 0..4 {
            let b = self.byte(what)?;
            v = (v << 7) | (b & 0x7f) as u32;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        err(start, format!("{what} is longer than 4 bytes"))
    }

    fn data(&mut self, what: &str) -> Result<u8, MidiError> {
        let at = self.pos;
        let b = self.byte(what)?;
        if b >= 0x80 {
            return err(
                at,
                format!("{what} is 0x{b:02X}, but a data byte must be below 0x80"),
            );
        }
        Ok(b)
    }
}

/// What a track contributes before the tracks are merged on one time line (all in ticks).
#[derive(Default)]
struct TrackEvents {
    notes: Vec<(u64, u64, u8, u8, u8)>, // start, end, channel, pitch, velocity
    tempos: Vec<(u64, u32)>,            // tick, microseconds per quarter
    signatures: Vec<(u64, u8, u32, usize)>, // tick, numerator, denominator, byte offset
}

/// Reads a standard MIDI file. Errors name what was wrong and the byte where it was found.
pub fn read_midi(bytes: &[u8]) -> Result<MidiFile, MidiError> {
    let mut r = Reader {
        bytes,
        pos: 0,
        end: bytes.len(),
    };
    if bytes.len() < 4 || &bytes[..4] != b"MThd" {
        return err(0, "not a standard MIDI file (it does not start with MThd)");
    }
    r.pos = 4;
    let header_len = r.u32("the header length")? as usize;
    if header_len < 6 {
        return err(
            4,
            format!("the header is {header_len} bytes, at least 6 are needed"),
        );
    }
    let header_end = r.pos.saturating_add(header_len);
    let format = r.u16("the header")?;
    let ntracks = r.u16("the header")? as usize;
    let division_at = r.pos;
    let division = r.u16("the header")?;
    if header_end > bytes.len() {
        return err(4, "the header is longer than the file");
    }
    r.pos = header_end;
    match format {
        0 | 1 => {}
        2 => {
            return err(
                8,
                "format 2 (independent patterns without a shared time line) is not supported",
            )
        }
        f => return err(8, format!("unknown MIDI file format {f}")),
    }
    if division & 0x8000 != 0 {
        return err(
            division_at,
            "SMPTE time division (frames per second) is not supported: the file has no beats to put on a bar grid",
        );
    }
    if division == 0 {
        return err(
            division_at,
            "the time division is 0 pulses per quarter note",
        );
    }
    let ppq = division;

    let mut tracks = Vec::new();
    while r.pos < bytes.len() && tracks.len() < ntracks {
        let chunk_at = r.pos;
        let kind = r.take(4, "a chunk type")?;
        let len = r.u32("a chunk length")? as usize;
        if len > bytes.len() - r.pos {
            return err(
                chunk_at,
                format!(
                    "chunk {} claims {len} bytes but only {} remain",
                    tracks.len(),
                    bytes.len() - r.pos
                ),
            );
        }
        let body = r.pos;
        r.pos += len;
        if kind == b"MTrk" {
            let track = read_track(bytes, body, body + len, tracks.len())?;
            tracks.push(track);
        }
    }
    if tracks.len() < ntracks {
        return err(
            bytes.len(),
            format!(
                "the header announces {ntracks} tracks but the file holds {}",
                tracks.len()
            ),
        );
    }
    if format == 0 && tracks.len() != 1 {
        return err(
            10,
            format!("a format 0 file has {} tracks, not 1", tracks.len()),
        );
    }
    Ok(assemble(format, ppq, tracks))
}

fn read_track(
    bytes: &[u8],
    start: usize,
    end: usize,
    index: usize,
) -> Result<TrackEvents, MidiError> {
    let mut r = Reader {
        bytes,
        pos: start,
        end,
    };
    let mut out = TrackEvents::default();
    // Sounding notes per channel and pitch: their (start tick, velocity), oldest first.
    let mut sounding: Vec<Vec<(u64, u8)>> = vec![Vec::new(); 16 * 128];
    let mut tick = 0u64;
    let mut running: Option<u8> = None;
    let here = |what: &str| format!("track {index}: {what}");
    while r.pos < end {
        tick += r.varlen(&here("a delta time"))? as u64;
        let status_at = r.pos;
        let first = r.byte(&here("an event"))?;
        let (status, first_data) = if first >= 0x80 {
            (first, None)
        } else {
            match running {
                Some(s) => (s, Some(first)),
                None => {
                    return err(
                        status_at,
                        here(&format!(
                            "data byte 0x{first:02X} with no status before it (running status with nothing running)"
                        )),
                    )
                }
            }
        };
        match status {
            0xFF => {
                let kind = r.byte(&here("a meta event"))?;
                let len = r.varlen(&here("a meta event length"))? as usize;
                let data = r.take(len, &here("a meta event"))?;
                match kind {
                    0x2F => break,
                    0x51 => {
                        if len != 3 {
                            return err(
                                status_at,
                                here(&format!("a tempo event has {len} bytes, not 3")),
                            );
                        }
                        let us = u32::from_be_bytes([0, data[0], data[1], data[2]]);
                        if us == 0 {
                            return err(
                                status_at,
                                here("a tempo of 0 microseconds per quarter note"),
                            );
                        }
                        out.tempos.push((tick, us));
                    }
                    0x58 => {
                        if len < 2 {
                            return err(
                                status_at,
                                here(&format!("a time signature event has {len} bytes, not 4")),
                            );
                        }
                        if data[0] == 0 || data[1] > 7 {
                            return err(
                                status_at,
                                here(&format!(
                                    "time signature {}/2^{} is not a usable meter",
                                    data[0], data[1]
                                )),
                            );
                        }
                        out.signatures
                            .push((tick, data[0], 1u32 << data[1], status_at));
                    }
                    _ => {}
                }
            }
            0xF0 | 0xF7 => {
                let len = r.varlen(&here("a sysex length"))? as usize;
                r.take(len, &here("a sysex event"))?;
            }
            0xF1..=0xFE => {
                return err(
                    status_at,
                    here(&format!(
                        "status 0x{status:02X} (a system message) cannot appear in a file"
                    )),
                )
            }
            _ => {
                running = Some(status);
                let kind = status & 0xF0;
                let channel = status & 0x0F;
                let a = match first_data {
                    Some(d) => d,
                    None => r.data(&here("a channel message's first data byte"))?,
                };
                // Program change and channel pressure have one data byte, the others two.
                if kind == 0xC0 || kind == 0xD0 {
                    continue;
                }
                let b = r.data(&here("a channel message's second data byte"))?;
                let slot = channel as usize * 128 + a as usize;
                if kind == 0x90 && b > 0 {
                    sounding[slot].push((tick, b));
                } else if (kind == 0x80 || kind == 0x90) && !sounding[slot].is_empty() {
                    // (A note-off with no note sounding is harmless: ignored.)
                    let (on, vel) = sounding[slot].remove(0);
                    out.notes.push((on, tick, channel, a, vel));
                }
            }
        }
    }
    for (slot, held) in sounding.into_iter().enumerate() {
        for (on, vel) in held {
            out.notes
                .push((on, tick, (slot / 128) as u8, (slot % 128) as u8, vel));
        }
    }
    Ok(out)
}

/// Merges the tracks on one time line: the tempo map from every track's tempo events (type 1
/// files keep them in the first track, but nothing forbids others), ticks to beats and seconds.
fn assemble(format: u16, ppq: u16, tracks: Vec<TrackEvents>) -> MidiFile {
    let ppq_f = ppq as f64;
    let mut tempo_ticks: Vec<(u64, u32)> = tracks
        .iter()
        .flat_map(|t| t.tempos.iter().copied())
        .collect();
    tempo_ticks.sort_by_key(|&(tick, _)| tick); // stable: same tick, later track wins below
    let mut tempos: Vec<(u64, Tempo)> = Vec::new();
    let push_tempo = |tick: u64, us: u32, tempos: &mut Vec<(u64, Tempo)>| {
        let seconds = match tempos.last() {
            Some((t0, last)) => {
                last.seconds + (tick - t0) as f64 / ppq_f * last.us_per_quarter as f64 * 1e-6
            }
            None => 0.0,
        };
        if let Some((t0, last)) = tempos.last_mut() {
            if *t0 == tick {
                last.us_per_quarter = us;
                return;
            }
        }
        tempos.push((
            tick,
            Tempo {
                beat: tick as f64 / ppq_f,
                seconds,
                us_per_quarter: us,
            },
        ));
    };
    if tempo_ticks.first().is_none_or(|&(t, _)| t > 0) {
        push_tempo(0, 500_000, &mut tempos);
    }
    for &(tick, us) in &tempo_ticks {
        push_tempo(tick, us, &mut tempos);
    }
    let seconds_at = |tick: u64| -> f64 {
        let i = tempos.partition_point(|(t, _)| *t <= tick) - 1; // tempos[0] is at tick 0
        let (t0, tempo) = &tempos[i];
        tempo.seconds + (tick - t0) as f64 / ppq_f * tempo.us_per_quarter as f64 * 1e-6
    };

    let mut notes: Vec<Note> = Vec::new();
    for (track, t) in tracks.iter().enumerate() {
        for &(on, off, channel, pitch, velocity) in &t.notes {
            notes.push(Note {
                start_s: seconds_at(on),
                start_beats: on as f64 / ppq_f,
                end_s: seconds_at(off),
                end_beats: off as f64 / ppq_f,
                channel,
                pitch,
                velocity,
                track,
            });
        }
    }
    notes.sort_by(|a, b| {
        a.start_beats
            .total_cmp(&b.start_beats)
            .then(a.channel.cmp(&b.channel))
            .then(a.pitch.cmp(&b.pitch))
            .then(a.track.cmp(&b.track))
    });

    let mut sig_ticks: Vec<(u64, u8, u32, usize)> = tracks
        .iter()
        .flat_map(|t| t.signatures.iter().copied())
        .collect();
    sig_ticks.sort_by_key(|&(tick, ..)| tick);
    let mut time_signatures: Vec<TimeSignature> = Vec::new();
    for (tick, numerator, denominator, _) in sig_ticks {
        let sig = TimeSignature {
            beat: tick as f64 / ppq_f,
            numerator,
            denominator,
        };
        match time_signatures.last_mut() {
            Some(last) if last.beat == sig.beat => *last = sig,
            _ => time_signatures.push(sig),
        }
    }
    if time_signatures.first().is_none_or(|s| s.beat > 0.0) {
        time_signatures.insert(
            0,
            TimeSignature {
                beat: 0.0,
                numerator: 4,
                denominator: 4,
            },
        );
    }
    MidiFile {
        format,
        tracks: tracks.len(),
        ticks_per_quarter: ppq,
        notes,
        tempos: tempos.into_iter().map(|(_, t)| t).collect(),
        time_signatures,
    }
}
