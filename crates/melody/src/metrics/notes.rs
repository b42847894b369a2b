//! A token line as notes (onset and duration in 16ths from the line's start, pitch) with its
//! meter (16ths per bar, and where in the bar the line starts), so metrics can find bars and
//! beats.

use crate::tokens::{Token, HOLD, NOTE_OFF};

/// Where the bar lines fall for a line: `bar` 16ths per bar (16 in 4/4, 12 in 3/4), and `phase`,
/// the 16th within its bar of the line's first token (0 = the line starts on a bar line; the
/// chorale lines start wherever their first note is, often a quarter before the bar line: 12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meter {
    pub bar: u32,
    pub phase: u32,
}

impl Meter {
    /// 4/4 from a downbeat: how the instrument plays a free line from the transport's start.
    pub const FOUR_FOUR: Meter = Meter { bar: 16, phase: 0 };

    /// A meter of `bar` 16ths per bar (1–64) starting `phase` 16ths into a bar (< `bar`).
    pub fn new(bar: u32, phase: u32) -> Result<Meter, String> {
        if !(1..=64).contains(&bar) {
            return Err(format!("a bar of {bar} 16ths is not 1 to 64"));
        }
        if phase >= bar {
            return Err(format!("phase {phase} is not inside a bar of {bar} 16ths"));
        }
        Ok(Meter { bar, phase })
    }

    /// The 16th within its bar (0 = on the bar line) of time `t` (16ths from the line's start).
    pub fn position(self, t: u32) -> u32 {
        (self.phase + t) % self.bar
    }

    /// The bar that time `t` falls in; bar 0 is the (possibly partial) bar the line starts in.
    pub fn bar_of(self, t: u32) -> u32 {
        (self.phase + t) / self.bar
    }

    /// Time `t` is on a quarter-note position of its bar (0, 4, 8, … 16ths after the bar line).
    pub fn on_beat(self, t: u32) -> bool {
        self.position(t).is_multiple_of(4)
    }
}

/// One note of a monophonic line, times in 16ths from the line's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Note {
    pub onset: u32,
    /// Until the next onset or note-off (a rest after the note is not part of it); ≥ 1.
    pub duration: u32,
    pub pitch: u8,
}

/// A monophonic line: its notes in time order (never overlapping), its length in 16ths (rests
/// included) and its meter.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub notes: Vec<Note>,
    pub length: u32,
    pub meter: Meter,
}

impl Line {
    /// The notes of a token line (one token per 16th: 0–127 an onset, 128 note-off, 129 hold).
    /// A note lasts until the next onset or note-off, or to the end of the line. The line's
    /// length is its number of tokens (drop a chorale line's closing note-off first: it marks the end
    /// of the last note, not a 16th of rest).
    pub fn from_tokens(tokens: &[Token], meter: Meter) -> Line {
        let mut notes: Vec<Note> = Vec::new();
        let mut sounding = false;
        for (t, &token) in tokens.iter().enumerate() {
            let t = t as u32;
            match token {
                HOLD => {
                    if sounding {
                        if let Some(n) = notes.last_mut() {
                            n.duration += 1;
                        }
                    }
                }
                NOTE_OFF => sounding = false,
                pitch if pitch < NOTE_OFF => {
                    notes.push(Note {
                        onset: t,
                        duration: 1,
                        pitch,
                    });
                    sounding = true;
                }
                // Not a token of the vocabulary (`tokens::parse` refuses these): silence.
                _ => sounding = false,
            }
        }
        Line {
            notes,
            length: tokens.len() as u32,
            meter,
        }
    }

    /// A line from notes as they were played (the page's last bars): sorted by onset, a note cut
    /// short where the next one starts, dropped if it starts before 0 or at/after `length`, and
    /// cut at `length`. Never fails: played notes overlap and spill over the window's edges.
    pub fn from_notes(mut notes: Vec<Note>, length: u32, meter: Meter) -> Line {
        notes.retain(|n| n.onset < length && n.pitch < 128);
        notes.sort_by_key(|n| n.onset);
        // Two onsets at the same 16th: the later-listed note wins (legato playing, quantised).
        notes.dedup_by(|later, earlier| {
            if later.onset == earlier.onset {
                *earlier = *later;
                true
            } else {
                false
            }
        });
        for i in 0..notes.len() {
            let end = notes.get(i + 1).map_or(length, |next| next.onset);
            let n = &mut notes[i];
            n.duration = n.duration.clamp(1, end - n.onset);
        }
        Line {
            notes,
            length,
            meter,
        }
    }

    /// Length in bars (fractional when the line does not end on a bar line).
    pub fn bars(&self) -> f64 {
        self.length as f64 / self.meter.bar as f64
    }

    /// The notes of each whole span of `bars` bars from the line's start (0 to `bars` bars, then
    /// the next `bars` bars …); a shorter tail is left out, so every span is equally long.
    pub fn windows(&self, bars: u32) -> impl Iterator<Item = &[Note]> {
        let span = (bars.max(1) * self.meter.bar).max(1);
        let count = self.length / span;
        (0..count).map(move |w| {
            let (start, end) = (w * span, (w + 1) * span);
            let from = self.notes.partition_point(|n| n.onset < start);
            let to = self.notes.partition_point(|n| n.onset < end);
            &self.notes[from..to]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(onset: u32, duration: u32, pitch: u8) -> Note {
        Note {
            onset,
            duration,
            pitch,
        }
    }

    #[test]
    fn tokens_become_notes_with_rests_between() {
        // t: 0  1   2   3   4  5   6   7   8
        //    60 hold off hold 62 64 hold hold off
        let line = Line::from_tokens(
            &[60, HOLD, NOTE_OFF, HOLD, 62, 64, HOLD, HOLD, NOTE_OFF],
            Meter::FOUR_FOUR,
        );
        assert_eq!(line.notes, vec![n(0, 2, 60), n(4, 1, 62), n(5, 3, 64)]);
        assert_eq!(line.length, 9);
        // Leading holds are silence; a line without a note-off ends its last note at its end.
        let line = Line::from_tokens(&[HOLD, HOLD, 67, HOLD], Meter::FOUR_FOUR);
        assert_eq!(line.notes, vec![n(2, 2, 67)]);
        assert!(Line::from_tokens(&[], Meter::FOUR_FOUR).notes.is_empty());
        assert!(Line::from_tokens(&[NOTE_OFF, HOLD, HOLD], Meter::FOUR_FOUR)
            .notes
            .is_empty());
    }

    #[test]
    fn meter_positions_and_beats() {
        // A line starting a quarter before the bar line (phase 12 of 16).
        let m = Meter::new(16, 12).unwrap();
        assert_eq!((m.position(0), m.bar_of(0)), (12, 0));
        assert_eq!((m.position(4), m.bar_of(4)), (0, 1));
        assert!(m.on_beat(0) && m.on_beat(8) && !m.on_beat(2));
        let three = Meter::new(12, 0).unwrap();
        assert_eq!((three.position(13), three.bar_of(13)), (1, 1));
        assert!(Meter::new(16, 16).is_err());
        assert!(Meter::new(0, 0).is_err());
    }

    #[test]
    fn played_notes_are_sorted_cut_and_clipped() {
        let line = Line::from_notes(
            vec![
                n(8, 10, 64),
                n(0, 6, 60),
                n(4, 2, 62),
                n(20, 3, 70),
                n(8, 2, 65),
            ],
            16,
            Meter::FOUR_FOUR,
        );
        // 60 is cut where 62 starts; of the two onsets at 8 the later-listed (65) wins and is
        // kept at its own 2; 70 starts after the window and is dropped.
        assert_eq!(line.notes, vec![n(0, 4, 60), n(4, 2, 62), n(8, 2, 65)]);
        let line = Line::from_notes(vec![n(12, 9, 60)], 16, Meter::FOUR_FOUR);
        assert_eq!(line.notes, vec![n(12, 4, 60)]);
    }

    #[test]
    fn windows_are_whole_spans_from_the_start() {
        // 40 16ths of 4/4 = 2.5 bars: one whole 2-bar window (t 0..32), the tail left out.
        let notes = vec![n(0, 4, 60), n(16, 4, 62), n(31, 1, 64), n(32, 8, 65)];
        let line = Line::from_notes(notes, 40, Meter::FOUR_FOUR);
        let windows: Vec<&[Note]> = line.windows(2).collect();
        assert_eq!(windows.len(), 1);
        assert_eq!(windows[0].len(), 3);
        assert_eq!(
            line.windows(1).map(<[Note]>::len).collect::<Vec<_>>(),
            [1, 2]
        );
        assert_eq!(line.bars(), 2.5);
    }
}
