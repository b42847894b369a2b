//! MIDI clock (24 pulses per quarter note) both ways: the ticks the engine sends, on the exact
//! frames where its transport crosses them, and a follower that turns incoming ticks into a
//! transport position that never drifts from the sender's.
//!
//! The follower fits a straight line (least squares) through the frames of the last
//! [`FIT_TICKS`] ticks: its slope is the tick period (the tempo), its end the smoothed frame of the
//! latest tick. Position between ticks is extrapolated along the line, so the engine's steps fall
//! on the sender's grid, not on each tick's jittered arrival. Why a window fit and not a DLL: its
//! settling time is exactly the window (a tempo change is fully followed after [`FIT_TICKS`]
//! ticks, 1.5 beats), with no loop gain to tune against overshoot, and its jitter rejection is
//! known in closed form: the fitted line's error one tick ahead is about σ·√(4/W) for arrival
//! jitter σ (0.38 ms for ±2 ms uniform jitter, W = 36). Phase is the tick count itself, so
//! however the fit moves, the position stays locked to the sender's pulses.

use crate::events::{ClockIn, MidiEvent};

/// Pulses per quarter note.
pub const PPQ: f64 = 24.0;
/// Ticks the follower's line is fitted through: 1.5 beats.
pub const FIT_TICKS: usize = 36;
/// How far (in ticks) the position may run ahead of the last tick received: ticks arrive up to
/// an output latency after their frame, so the position must not wait for each one; half a beat
/// bounds how far the music runs on when the sender falls silent.
const RUN_AHEAD_TICKS: f64 = 12.0;
/// Silence after which a running follower stops the transport, in beats at the followed tempo.
const SILENCE_BEATS: f64 = 1.0;

pub const TIMING_CLOCK: u8 = 0xF8;
pub const START: u8 = 0xFA;
pub const CONTINUE: u8 = 0xFB;
pub const STOP: u8 = 0xFC;
pub const SONG_POSITION: u8 = 0xF2;

/// The Song Position Pointer message for `sixteenths` (14 bits, least significant 7 first).
pub fn song_position(frame: u64, sixteenths: u32) -> MidiEvent {
    let s = sixteenths.min(0x3FFF);
    MidiEvent::new(
        frame,
        &[SONG_POSITION, (s & 0x7F) as u8, ((s >> 7) & 0x7F) as u8],
    )
}

/// What the follower asks the transport to do after a message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Follow {
    Nothing,
    /// Start playing at this frame from this position (beats).
    Run {
        beats: f64,
    },
    /// Stop (the sender stopped, or fell silent).
    Halt,
    /// A new song position while stopped (beats), to send on as SPP.
    Locate {
        beats: f64,
    },
}

/// Follows an external MIDI clock. Fixed-size state: receiving never allocates.
#[derive(Clone, Debug)]
pub struct ClockFollower {
    /// Frames of the last ticks (a ring), and how many of them are valid.
    frames: [f64; FIT_TICKS],
    filled: usize,
    head: usize,
    /// Fitted line through the ring: frame of the latest tick and frames per tick.
    fit_frame: f64,
    period: f64,
    /// Ticks since the song's top at the latest tick (the phase: counted, never estimated).
    tick: u64,
    running: bool,
    /// Start or Continue received: the transport runs from the next tick.
    armed: bool,
    last_raw: f64,
}

impl ClockFollower {
    pub fn new(frames_per_beat: f64) -> Self {
        Self {
            frames: [0.0; FIT_TICKS],
            filled: 0,
            head: 0,
            fit_frame: 0.0,
            period: frames_per_beat / PPQ,
            tick: 0,
            running: false,
            armed: false,
            last_raw: f64::NEG_INFINITY,
        }
    }

    pub fn running(&self) -> bool {
        self.running
    }

    /// The followed tempo in beats per minute (the sender's, once a few ticks have come).
    pub fn bpm(&self, sample_rate: f64) -> f64 {
        60.0 * sample_rate / (PPQ * self.period)
    }

    /// Frames per beat at the followed tempo.
    pub fn frames_per_beat(&self) -> f64 {
        PPQ * self.period
    }

    /// Where a running follower puts the transport: the fitted frame of the latest tick, its
    /// position in beats, frames per beat and the beats the position may not pass
    /// (for [`crate::Transport::follow`]).
    pub fn anchor(&self) -> (f64, f64, f64, f64) {
        let beats = self.tick as f64 / PPQ;
        (
            self.fit_frame,
            beats,
            self.frames_per_beat(),
            beats + RUN_AHEAD_TICKS / PPQ,
        )
    }

    /// Beats from the top at `frame` while running (the latest tick's count plus the fitted line
    /// beyond it, at most [`RUN_AHEAD_TICKS`] on).
    #[inline]
    pub fn position(&self, frame: u64) -> f64 {
        let since = (frame as f64 - self.fit_frame) / self.period;
        (self.tick as f64 + since.min(RUN_AHEAD_TICKS)) / PPQ
    }

    /// Takes one clock message received at `frame` (the frame it was sent at, which may be
    /// before the engine's present: ticks arrive late, and the fit uses when they happened).
    pub fn receive(&mut self, frame: u64, message: ClockIn) -> Follow {
        match message {
            ClockIn::Tick => self.on_tick(frame as f64),
            ClockIn::Start => {
                self.tick = 0;
                self.armed = true;
                self.halt()
            }
            ClockIn::Continue => {
                self.armed = true;
                Follow::Nothing
            }
            ClockIn::Stop => {
                self.armed = false;
                self.halt()
            }
            ClockIn::SongPosition(sixteenths) if !self.running => {
                self.tick = sixteenths as u64 * 6;
                Follow::Locate {
                    beats: self.tick as f64 / PPQ,
                }
            }
            ClockIn::SongPosition(_) => Follow::Nothing,
        }
    }

    fn halt(&mut self) -> Follow {
        if std::mem::take(&mut self.running) {
            Follow::Halt
        } else {
            Follow::Nothing
        }
    }

    fn on_tick(&mut self, raw: f64) -> Follow {
        // A gap of more than a beat (the sender paused) starts the fit afresh: the old ticks
        // would drag the new tempo.
        if raw - self.last_raw > SILENCE_BEATS * self.frames_per_beat() || raw < self.last_raw {
            self.filled = 0;
        }
        self.last_raw = raw;
        self.frames[self.head] = raw;
        self.head = (self.head + 1) % FIT_TICKS;
        self.filled = (self.filled + 1).min(FIT_TICKS);
        self.fit();
        if self.armed {
            // The first tick after Start or Continue is the downbeat at the song position.
            self.armed = false;
            self.running = true;
            return Follow::Run {
                beats: self.tick as f64 / PPQ,
            };
        }
        if self.running {
            self.tick += 1;
        }
        Follow::Nothing
    }

    /// Least squares through the ring: x = tick index (0 oldest), y = frame.
    fn fit(&mut self) {
        let n = self.filled;
        let newest = (self.head + FIT_TICKS - 1) % FIT_TICKS;
        if n < 2 {
            self.fit_frame = self.frames[newest];
            return;
        }
        let oldest = (self.head + FIT_TICKS - n) % FIT_TICKS;
        let origin = self.frames[oldest];
        let (mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..n {
            let (x, y) = (i as f64, self.frames[(oldest + i) % FIT_TICKS] - origin);
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
        }
        let nf = n as f64;
        let slope = (nf * sxy - sx * sy) / (nf * sxx - sx * sx);
        if slope.is_finite() && slope > 0.0 {
            self.period = slope;
            self.fit_frame = origin + (sy - slope * sx) / nf + slope * (nf - 1.0);
        } else {
            self.fit_frame = self.frames[newest];
        }
    }

    /// True when the sender has been silent for more than a beat while running: the caller
    /// stops the transport (and this follower with it).
    pub fn silent_at(&mut self, frame: u64) -> bool {
        if self.running && frame as f64 - self.last_raw > SILENCE_BEATS * self.frames_per_beat() {
            self.running = false;
            self.armed = false;
            return true;
        }
        false
    }
}

/// How long before its frame a tick is announced. A tick's frame is known ahead (the transport
/// is a straight line between tempo changes), so it goes out stamped for its own frame this much
/// early: a main thread busy for up to this long still hands it to the MIDI port in time. A tempo
/// change moves the ticks already announced by at most the change's effect over this window.
pub const CLOCK_LOOKAHEAD_S: f64 = 0.1;

/// Sends 24 ticks per beat on the frames where the transport's position crosses them.
#[derive(Clone, Debug, Default)]
pub struct ClockSender {
    /// Index of the next tick (from the song's top).
    next: u64,
}

impl ClockSender {
    /// Aims at the first tick at or after `beats`.
    pub fn realign(&mut self, beats: f64) {
        self.next = libm::ceil(beats * PPQ - 1e-9).max(0.0) as u64;
    }

    /// The next tick's index when `beats` has reached it; then aims at the one after.
    #[inline]
    pub fn poll(&mut self, beats: f64) -> Option<u64> {
        if beats * PPQ >= self.next as f64 - 1e-9 {
            self.next += 1;
            Some(self.next - 1)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn song_position_is_least_significant_first() {
        let m = song_position(7, 200);
        assert_eq!(m.message(), &[0xF2, 200 & 0x7F, 200 >> 7]);
        assert_eq!(m.frame, 7);
    }

    #[test]
    fn sender_ticks_every_24th_of_a_beat_once() {
        let mut s = ClockSender::default();
        s.realign(0.0);
        let fired: Vec<(u32, u64)> = (0..=48)
            .filter_map(|i| s.poll(i as f64 / 48.0).map(|k| (i, k)))
            .collect();
        // Half-tick steps: every second one reaches a tick.
        assert_eq!(
            fired,
            (0..=24).map(|k| (2 * k, k as u64)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn follower_fits_tempo_and_locks_phase_to_the_count() {
        let frames_per_tick = 48000.0 * 60.0 / 100.0 / PPQ; // 100 BPM at 48 kHz: 1200
        let mut f = ClockFollower::new(24000.0);
        assert_eq!(f.receive(0, ClockIn::Start), Follow::Nothing);
        let mut started = None;
        for k in 0..100u64 {
            // ±2 ms of alternating jitter around the ideal frames.
            let jitter = if k % 2 == 0 { 96.0 } else { -96.0 };
            let frame = (1000.0 + k as f64 * frames_per_tick + jitter) as u64;
            if let Follow::Run { beats } = f.receive(frame, ClockIn::Tick) {
                started = Some((k, beats));
            }
        }
        assert_eq!(
            started,
            Some((0, 0.0)),
            "runs from the top at the first tick"
        );
        assert!((f.bpm(48000.0) - 100.0).abs() < 0.1, "{}", f.bpm(48000.0));
        // Tick 99's ideal frame is 1000 + 99 × 1200: the position there is 99 ticks.
        let at = 1000 + 99 * 1200;
        assert!(
            (f.position(at) * PPQ - 99.0).abs() < 0.05,
            "{}",
            f.position(at) * PPQ
        );
    }

    #[test]
    fn follower_stops_after_a_silent_beat_and_on_stop() {
        let mut f = ClockFollower::new(24000.0);
        f.receive(0, ClockIn::Start);
        for k in 0..30 {
            f.receive(k * 1000, ClockIn::Tick);
        }
        assert!(f.running());
        assert!(!f.silent_at(29_000 + 23_000));
        assert!(f.silent_at(29_000 + 25_000));
        assert!(!f.running());
        f.receive(60_000, ClockIn::Continue);
        f.receive(61_000, ClockIn::Tick);
        assert!(f.running());
        assert_eq!(f.receive(62_000, ClockIn::Stop), Follow::Halt);
    }

    #[test]
    fn song_position_locates_only_while_stopped() {
        let mut f = ClockFollower::new(24000.0);
        assert_eq!(
            f.receive(0, ClockIn::SongPosition(8)),
            Follow::Locate { beats: 2.0 }
        );
        f.receive(10, ClockIn::Continue);
        assert_eq!(
            f.receive(20, ClockIn::Tick),
            Follow::Run { beats: 2.0 },
            "continues from the pointer"
        );
        assert_eq!(f.receive(30, ClockIn::SongPosition(0)), Follow::Nothing);
    }
}
