//! Which keys are held: pressed, kept by the sustain pedal, or latched by the arpeggiator's hold.

/// Key state for all 128 MIDI notes.
#[derive(Clone, Debug)]
pub struct Keys {
    down: [bool; 128],
    sustained: [bool; 128],
    latched: [bool; 128],
    velocity: [u8; 128],
    /// Press order, for the "as played" arpeggio.
    order: [u64; 128],
    presses: u64,
    pedal: bool,
}

impl Default for Keys {
    fn default() -> Self {
        Self {
            down: [false; 128],
            sustained: [false; 128],
            latched: [false; 128],
            velocity: [0; 128],
            order: [0; 128],
            presses: 0,
            pedal: false,
        }
    }
}

impl Keys {
    /// A key goes down. With `latch`, a press while no key is down starts a new latched set.
    pub fn press(&mut self, pitch: u8, velocity: u8, latch: bool) {
        let p = (pitch & 0x7f) as usize;
        if latch {
            if !self.down.iter().any(|d| *d) {
                self.latched = [false; 128];
            }
            self.latched[p] = true;
        }
        self.down[p] = true;
        self.sustained[p] = false;
        self.velocity[p] = velocity;
        self.presses += 1;
        self.order[p] = self.presses;
    }

    /// A key comes up. Returns true if the note ends now (not kept by the pedal).
    pub fn release(&mut self, pitch: u8) -> bool {
        let p = (pitch & 0x7f) as usize;
        let was_down = self.down[p];
        self.down[p] = false;
        if was_down && self.pedal {
            self.sustained[p] = true;
            return false;
        }
        was_down
    }

    /// The pedal moves. When it comes up, `ended` is called for each note it was keeping.
    pub fn pedal(&mut self, down: bool, mut ended: impl FnMut(u8)) {
        self.pedal = down;
        if !down {
            for p in 0..128 {
                if self.sustained[p] {
                    self.sustained[p] = false;
                    ended(p as u8);
                }
            }
        }
    }

    /// Hold switched off: latched notes no longer count.
    pub fn unlatch(&mut self) {
        self.latched = [false; 128];
    }

    /// Everything up, pedal included.
    pub fn clear(&mut self) {
        *self = Self {
            presses: self.presses,
            ..Self::default()
        };
    }

    /// Whether `pitch` is held in any way.
    pub fn held(&self, pitch: usize) -> bool {
        self.down[pitch] || self.sustained[pitch] || self.latched[pitch]
    }

    pub fn velocity(&self, pitch: usize) -> u8 {
        self.velocity[pitch]
    }

    pub fn order(&self, pitch: usize) -> u64 {
        self.order[pitch]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pedal_keeps_released_notes_until_it_lifts() {
        let mut k = Keys::default();
        k.pedal(true, |_| {});
        k.press(60, 90, false);
        assert!(!k.release(60));
        assert!(k.held(60));
        let mut ended = vec![];
        k.pedal(false, |p| ended.push(p));
        assert_eq!(ended, [60]);
        assert!(!k.held(60));
    }

    #[test]
    fn latch_keeps_the_last_chord_and_a_new_chord_replaces_it() {
        let mut k = Keys::default();
        k.press(60, 90, true);
        k.press(64, 90, true);
        k.release(60);
        k.release(64);
        assert!(k.held(60) && k.held(64));
        k.press(67, 90, true);
        assert!(!k.held(60) && k.held(67));
        k.unlatch();
        k.release(67);
        assert!(!k.held(67));
    }
}
