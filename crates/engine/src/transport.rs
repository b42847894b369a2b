//! The one musical clock: a beat position per sample frame, and step clocks that fire on the exact
//! frame where their boundary falls, whatever the block size.
//!
//! Position is `base_beats + (frame - base_frame) * beats_per_frame`, rebased whenever the tempo
//! changes, so it never drifts by accumulating increments and a tempo change never jumps. While an
//! external MIDI clock is followed, the follower re-anchors it at every tick it receives
//! ([`Transport::follow`]) and caps how far it runs past the last one.

/// Tempo, play state and position.
#[derive(Clone, Debug)]
pub struct Transport {
    sample_rate: f64,
    bpm: f64,
    playing: bool,
    /// A frame, or the fitted (fractional) frame of a followed clock's tick.
    base_frame: f64,
    base_beats: f64,
    beats_per_frame: f64,
    /// Beats the position does not pass (a followed clock's last tick plus its run-ahead).
    limit: f64,
}

impl Transport {
    pub fn new(sample_rate: f64, bpm: f64, playing: bool) -> Self {
        let mut t = Self {
            sample_rate,
            bpm,
            playing,
            base_frame: 0.0,
            base_beats: 0.0,
            beats_per_frame: 0.0,
            limit: f64::INFINITY,
        };
        t.beats_per_frame = t.rate();
        t
    }

    fn rate(&self) -> f64 {
        self.bpm / 60.0 / self.sample_rate
    }

    pub fn bpm(&self) -> f64 {
        self.bpm
    }

    pub fn playing(&self) -> bool {
        self.playing
    }

    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// Beats since play started, at `frame` (frozen while stopped).
    #[inline]
    pub fn position(&self, frame: u64) -> f64 {
        if self.playing {
            // Exact for the integer frames of the own clock (both below 2^53).
            let beats = self.base_beats + (frame as f64 - self.base_frame) * self.beats_per_frame;
            beats.min(self.limit)
        } else {
            self.base_beats
        }
    }

    /// Frames per beat at the current tempo.
    pub fn frames_per_beat(&self) -> f64 {
        1.0 / self.beats_per_frame
    }

    /// A new tempo from `frame` on; the position is continuous.
    pub fn set_bpm(&mut self, frame: u64, bpm: f64) {
        self.base_beats = self.position(frame);
        self.base_frame = frame as f64;
        self.bpm = bpm;
        self.beats_per_frame = self.rate();
        self.limit = f64::INFINITY;
    }

    /// Starts from beat 0 at `frame`, or stops (position kept until the next start).
    pub fn set_playing(&mut self, frame: u64, playing: bool) {
        if playing && !self.playing {
            self.start_at(frame, 0.0);
            return;
        } else if !playing {
            self.base_beats = self.position(frame);
        }
        self.base_frame = frame as f64;
        self.playing = playing;
    }

    /// Starts playing at `frame` from `beats` (0: the top; a song position otherwise).
    pub fn start_at(&mut self, frame: u64, beats: f64) {
        self.base_beats = beats;
        self.base_frame = frame as f64;
        self.playing = true;
    }

    /// Moves a stopped transport to `beats` (a song position pointer).
    pub fn locate(&mut self, beats: f64) {
        if !self.playing {
            self.base_beats = beats;
        }
    }

    /// Follows an external clock: `beats` at (fractional) frame `anchor`, `frames_per_beat` from
    /// there, never past `limit` beats.
    pub fn follow(&mut self, anchor: f64, beats: f64, frames_per_beat: f64, limit: f64) {
        self.base_frame = anchor;
        self.base_beats = beats;
        self.beats_per_frame = 1.0 / frames_per_beat;
        self.bpm = 60.0 * self.sample_rate / frames_per_beat;
        self.limit = limit;
    }
}

/// Fires at every multiple of a division (in beats), with swing moving every second step later.
#[derive(Clone, Debug)]
pub struct Clock {
    division: f64,
    /// Share of a pair of steps taken by the first one: 0.5 is straight, 0.75 a dotted feel.
    swing: f64,
    index: u64,
    next: f64,
}

impl Clock {
    pub fn new(division: f64, swing: f64) -> Self {
        Self {
            division,
            swing: swing.clamp(0.5, 0.75),
            index: 0,
            next: 0.0,
        }
    }

    fn boundary(&self, index: u64) -> f64 {
        let pair = (index / 2) as f64 * 2.0 * self.division;
        if index % 2 == 1 {
            pair + 2.0 * self.division * self.swing
        } else {
            pair
        }
    }

    /// Aims at the first boundary at or after `position` (after a change or a restart).
    pub fn realign(&mut self, position: f64) {
        let mut index = ((position / (2.0 * self.division)).floor().max(0.0) as u64) * 2;
        while self.boundary(index) < position {
            index += 1;
        }
        self.index = index;
        self.next = self.boundary(index);
    }

    pub fn set(&mut self, division: f64, swing: f64, position: f64) {
        let swing = swing.clamp(0.5, 0.75);
        if division != self.division || swing != self.swing {
            self.division = division;
            self.swing = swing;
            self.realign(position);
        }
    }

    /// True when `position` has reached the next boundary; then aims at the one after.
    #[inline]
    pub fn poll(&mut self, position: f64) -> bool {
        if position >= self.next {
            self.index += 1;
            self.next = self.boundary(self.index);
            true
        } else {
            false
        }
    }

    /// Steps fired since the last realign at 0 (the index of the step just fired is this minus 1).
    pub fn count(&self) -> u64 {
        self.index
    }

    /// Beats from `position` to the next boundary.
    pub fn beats_to_next(&self, position: f64) -> f64 {
        self.next - position
    }
}

/// Fires at a rate in steps per second, independent of the tempo.
#[derive(Clone, Debug)]
pub struct FreeClock {
    next: f64,
}

impl FreeClock {
    pub fn new() -> Self {
        Self { next: 0.0 }
    }

    /// True at the first frame at or after the next boundary; the following one is `period` frames
    /// after the boundary (not after the frame), so rounding never accumulates.
    #[inline]
    pub fn poll(&mut self, frame: u64, period_frames: f64) -> bool {
        if frame as f64 >= self.next {
            self.next = (self.next + period_frames).max(frame as f64 + 1.0);
            true
        } else {
            false
        }
    }

    pub fn restart(&mut self, frame: u64) {
        self.next = frame as f64;
    }
}

impl Default for FreeClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fire_frames(t: &Transport, clock: &mut Clock, frames: u64) -> Vec<u64> {
        (0..frames).filter(|&f| clock.poll(t.position(f))).collect()
    }

    #[test]
    fn sixteenths_at_120_bpm_fall_on_exact_frames() {
        let t = Transport::new(48000.0, 120.0, true);
        let mut c = Clock::new(0.25, 0.5);
        // 120 BPM: a beat is 24000 frames, a 16th 6000.
        assert_eq!(
            fire_frames(&t, &mut c, 24001),
            [0, 6000, 12000, 18000, 24000]
        );
    }

    #[test]
    fn swing_moves_every_second_step() {
        let t = Transport::new(48000.0, 120.0, true);
        let mut c = Clock::new(0.25, 2.0 / 3.0);
        assert_eq!(
            fire_frames(&t, &mut c, 24001),
            [0, 8000, 12000, 20000, 24000]
        );
    }

    #[test]
    fn tempo_change_keeps_position_continuous() {
        let mut t = Transport::new(44100.0, 120.0, true);
        let before = t.position(44100);
        t.set_bpm(44100, 60.0);
        assert_eq!(t.position(44100), before);
        assert!((t.position(88200) - (before + 1.0)).abs() < 1e-12);
    }

    #[test]
    fn stop_freezes_and_play_restarts_at_zero() {
        let mut t = Transport::new(44100.0, 120.0, true);
        t.set_playing(1000, false);
        let p = t.position(1000);
        assert_eq!(t.position(50_000), p);
        t.set_playing(60_000, true);
        assert_eq!(t.position(60_000), 0.0);
    }

    #[test]
    fn free_clock_does_not_drift() {
        let mut c = FreeClock::new();
        let fired: Vec<u64> = (0..44100).filter(|&f| c.poll(f, 44100.0 / 7.0)).collect();
        assert_eq!(fired.len(), 7);
        assert_eq!(fired[6], (6.0f64 * 44100.0 / 7.0).ceil() as u64);
    }

    #[test]
    fn realign_finds_the_next_boundary() {
        let mut c = Clock::new(0.5, 0.5);
        c.realign(1.2);
        assert_eq!(c.beats_to_next(1.2), 1.5 - 1.2);
        assert!(!c.poll(1.4));
        assert!(c.poll(1.5));
    }
}
