//! Timed input and output events and the fixed-capacity queues that carry them without allocating.

use crate::params::ParamId;

/// What a musician (or a host) does, at a sample frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Input {
    NoteOn {
        pitch: u8,
        velocity: u8,
    },
    NoteOff {
        pitch: u8,
    },
    /// The sustain pedal (MIDI CC64 ≥ 64 is down).
    Sustain(bool),
    /// Panic: every held, sustained, latched and sounding note stops.
    AllNotesOff,
    SetParam {
        id: ParamId,
        value: f64,
    },
    /// A MIDI clock message from outside, followed when `clock.follow` is on.
    Clock(ClockIn),
}

/// The MIDI system real-time and common messages a clock follower reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockIn {
    /// Timing Clock (0xF8): 24 per quarter note.
    Tick,
    /// Start (0xFA): play from the top at the next tick.
    Start,
    /// Continue (0xFB): play on from the song position at the next tick.
    Continue,
    /// Stop (0xFC).
    Stop,
    /// Song Position Pointer (0xF2), in sixteenths (MIDI beats) from the top.
    SongPosition(u16),
}

/// An input at an absolute sample frame (frames count from the engine's start).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputEvent {
    pub frame: u64,
    pub input: Input,
}

/// Which generator played a note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Played directly (arpeggiator off).
    Keys,
    Arp,
    Melody,
    /// A rhythm sequencer track (0–2), on the MIDI channel (0-based) the track had when the note
    /// started, so its note-off goes where its note-on went.
    Rhythm {
        track: u8,
        channel: u8,
    },
}

impl Source {
    /// The number the wasm interface and the page use: 0 keys, 1 arpeggiator, 2 melody, 4–6 the
    /// rhythm tracks (3 marks a MIDI clock or CC message in the same stream).
    pub fn code(self) -> u32 {
        match self {
            Source::Keys => 0,
            Source::Arp => 1,
            Source::Melody => 2,
            Source::Rhythm { track, .. } => 4 + track as u32,
        }
    }

    /// The MIDI channel (0-based) the note goes out on: keys and arpeggio 1, melody 2, a rhythm
    /// track its own.
    pub fn channel(self) -> u8 {
        match self {
            Source::Keys | Source::Arp => 0,
            Source::Melody => 1,
            Source::Rhythm { channel, .. } => channel,
        }
    }
}

/// A note the engine played, at the exact frame it sounds: the MIDI-out and display stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoteEvent {
    pub frame: u64,
    pub pitch: u8,
    /// 0 is a note-off.
    pub velocity: u8,
    pub source: Source,
}

/// A raw MIDI message the engine sends at an exact frame besides its notes: clock (0xF8, 0xFA,
/// 0xFB, 0xFC, 0xF2 with its two data bytes) and control changes (the LFO's CC outputs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MidiEvent {
    pub frame: u64,
    /// The message's bytes; only the first `len` count.
    pub bytes: [u8; 3],
    pub len: u8,
}

impl MidiEvent {
    pub fn new(frame: u64, bytes: &[u8]) -> Self {
        let mut b = [0; 3];
        let len = bytes.len().min(3);
        b[..len].copy_from_slice(&bytes[..len]);
        Self {
            frame,
            bytes: b,
            len: len as u8,
        }
    }

    /// The message as sent on the wire.
    pub fn message(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// A queue with a capacity fixed at construction: pushing never allocates, a full queue refuses.
#[derive(Clone, Debug)]
pub struct FixedQueue<T> {
    items: Vec<T>,
    capacity: usize,
    head: usize,
}

impl<T: Copy> FixedQueue<T> {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            items: Vec::with_capacity(capacity),
            capacity,
            head: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len() - self.head
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `item`; false (and nothing stored) when full.
    pub fn push(&mut self, item: T) -> bool {
        if self.items.len() == self.capacity {
            self.compact();
            if self.items.len() == self.capacity {
                return false;
            }
        }
        self.items.push(item);
        true
    }

    pub fn peek(&self) -> Option<&T> {
        self.items.get(self.head)
    }

    pub fn pop(&mut self) -> Option<T> {
        let item = self.items.get(self.head).copied();
        if item.is_some() {
            self.head += 1;
            if self.head == self.items.len() {
                self.clear();
            }
        }
        item
    }

    pub fn clear(&mut self) {
        self.items.clear();
        self.head = 0;
    }

    /// The queued items, oldest first.
    pub fn as_slice(&self) -> &[T] {
        &self.items[self.head..]
    }

    fn compact(&mut self) {
        if self.head > 0 {
            self.items.drain(..self.head);
            self.head = 0;
        }
    }
}

impl FixedQueue<InputEvent> {
    /// Inserts keeping frames in order (stable for equal frames), so events may arrive out of order.
    pub fn insert_by_frame(&mut self, event: InputEvent) -> bool {
        if !self.push(event) {
            return false;
        }
        let slice = &mut self.items[self.head..];
        let mut i = slice.len() - 1;
        while i > 0 && slice[i - 1].frame > slice[i].frame {
            slice.swap(i - 1, i);
            i -= 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(frame: u64) -> InputEvent {
        InputEvent {
            frame,
            input: Input::AllNotesOff,
        }
    }

    #[test]
    fn queue_refuses_when_full_and_orders_by_frame() {
        let mut q = FixedQueue::with_capacity(3);
        assert!(q.insert_by_frame(ev(5)));
        assert!(q.insert_by_frame(ev(1)));
        assert!(q.insert_by_frame(ev(3)));
        assert!(!q.insert_by_frame(ev(0)));
        let frames: Vec<u64> = q.as_slice().iter().map(|e| e.frame).collect();
        assert_eq!(frames, [1, 3, 5]);
        assert_eq!(q.pop().unwrap().frame, 1);
        assert!(q.insert_by_frame(ev(4)), "space freed by pop is reused");
        let frames: Vec<u64> = std::iter::from_fn(|| q.pop()).map(|e| e.frame).collect();
        assert_eq!(frames, [3, 4, 5]);
        assert!(q.is_empty());
    }
}
