//! The arpeggiator as the engine runs it: the list of entries (held notes × octaves), the classic
//! modes beside ReMi's reservoir mode, velocities, and the gate that ends each note.

use crate::keys::Keys;
use tidepool_reservoir::{ReservoirArp, SeededRng, MAX_ARP_NOTES};

/// How the next entry is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No arpeggio: keys play the synth directly.
    Off,
    /// ReMi §4: θ ~ Cat(softmax(β y)).
    Reservoir,
    Up,
    Down,
    UpDown,
    Random,
    /// In the order the keys were pressed.
    Played,
}

impl Mode {
    pub fn from_index(i: usize) -> Self {
        [
            Mode::Off,
            Mode::Reservoir,
            Mode::Up,
            Mode::Down,
            Mode::UpDown,
            Mode::Random,
            Mode::Played,
        ]
        .get(i)
        .copied()
        .unwrap_or(Mode::Reservoir)
    }
}

/// How loud each arpeggiated note is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Velocity {
    Fixed(u8),
    /// As the key was struck.
    Played,
    /// From the chosen entry's probability p_θ (reservoir mode; as played otherwise).
    Accent,
}

/// One playable entry: a held note moved by some octaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub pitch: u8,
    pub velocity: u8,
    order: u64,
}

/// Entries, step counter, the reservoir and pending note-offs.
#[derive(Clone, Debug)]
pub struct ArpUnit {
    pub reservoir: ReservoirArp,
    random: SeededRng,
    seed: u64,
    entries: [Entry; MAX_ARP_NOTES],
    len: usize,
    counter: u64,
    /// Note-offs waiting for their frame.
    offs: [(u64, u8); MAX_ARP_NOTES],
    offs_len: usize,
}

/// A note the arpeggiator decided to play.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpNote {
    pub pitch: u8,
    pub velocity: u8,
    /// Index of the entry in [`ArpUnit::entries`].
    pub index: usize,
}

impl ArpUnit {
    pub fn new(reservoir: ReservoirArp, seed: u64) -> Self {
        Self {
            reservoir,
            random: SeededRng::new(seed, 17),
            seed,
            entries: [Entry::default(); MAX_ARP_NOTES],
            len: 0,
            counter: 0,
            offs: [(0, 0); MAX_ARP_NOTES],
            offs_len: 0,
        }
    }

    /// Back to the start: reservoir at rest, generators reseeded, counter at 0.
    pub fn restart(&mut self) {
        self.reservoir.reset();
        self.random = SeededRng::new(self.seed, 17);
        self.counter = 0;
    }

    /// Plays `reservoir` (built for `seed`) from now on and returns the one it replaces. The
    /// entries, the step counter and the pending note-offs stay: notes sounding now still end on
    /// their frame. A new seed also reseeds the classic random mode, as a new network would.
    pub fn swap_reservoir(&mut self, reservoir: ReservoirArp, seed: u64) -> ReservoirArp {
        if seed != self.seed {
            self.seed = seed;
            self.random = SeededRng::new(seed, 17);
        }
        std::mem::replace(&mut self.reservoir, reservoir)
    }

    /// The current entries, in arpeggio order (ascending pitch, or press order for `Played`).
    pub fn entries(&self) -> &[Entry] {
        &self.entries[..self.len]
    }

    /// Rebuilds the entries from the held keys: each note in each of `octaves` octaves, at most m.
    pub fn collect(&mut self, keys: &Keys, octaves: usize, played_order: bool) {
        self.len = 0;
        for octave in 0..octaves.clamp(1, 4) {
            for p in 0..128usize {
                let pitch = p + 12 * octave;
                if keys.held(p) && pitch < 128 && self.len < MAX_ARP_NOTES {
                    self.entries[self.len] = Entry {
                        pitch: pitch as u8,
                        velocity: keys.velocity(p),
                        order: keys.order(p) + 1000 * octave as u64,
                    };
                    self.len += 1;
                }
            }
        }
        let list = &mut self.entries[..self.len];
        // In place, no allocation: an insertion sort, fine for at most 32 entries (and what the
        // standard sort does below 20, without its general code in the page's wasm module).
        if played_order {
            insertion_sort(list, |e| e.order);
        } else {
            insertion_sort(list, |e| u64::from(e.pitch));
        }
    }

    /// Chooses the next note, or None when nothing is held.
    pub fn choose(&mut self, mode: Mode, beta: f32, velocity: Velocity) -> Option<ArpNote> {
        let n = self.len;
        if n == 0 {
            self.counter = 0;
            return None;
        }
        let c = self.counter as usize;
        self.counter += 1;
        let index = match mode {
            Mode::Off => return None,
            Mode::Reservoir => self.reservoir.step(n, beta, 0.0)?,
            Mode::Up | Mode::Played => c % n,
            Mode::Down => n - 1 - c % n,
            Mode::UpDown if n == 1 => 0,
            Mode::UpDown => {
                let period = 2 * n - 2;
                let i = c % period;
                if i < n {
                    i
                } else {
                    period - i
                }
            }
            Mode::Random => self.random.below(n),
        };
        let entry = self.entries[index.min(n - 1)];
        let velocity = match velocity {
            Velocity::Fixed(v) => v,
            Velocity::Played => entry.velocity,
            Velocity::Accent if mode == Mode::Reservoir => {
                let p = self
                    .reservoir
                    .probabilities()
                    .get(index)
                    .copied()
                    .unwrap_or(0.0);
                (20.0 + 107.0 * p).round() as u8
            }
            Velocity::Accent => entry.velocity,
        };
        Some(ArpNote {
            pitch: entry.pitch,
            velocity: velocity.clamp(1, 127),
            index,
        })
    }

    /// Remembers that `pitch` must stop at `frame`. False if the list is full (then the caller
    /// stops it at once rather than leave it hanging).
    pub fn schedule_off(&mut self, frame: u64, pitch: u8) -> bool {
        if self.offs_len == MAX_ARP_NOTES {
            return false;
        }
        self.offs[self.offs_len] = (frame, pitch);
        self.offs_len += 1;
        true
    }

    /// Calls `off` for each pending note-off due at or before `frame`, and forgets it.
    #[inline]
    pub fn due_offs(&mut self, frame: u64, mut off: impl FnMut(u8)) {
        let mut i = 0;
        while i < self.offs_len {
            if self.offs[i].0 <= frame {
                off(self.offs[i].1);
                self.offs_len -= 1;
                self.offs[i] = self.offs[self.offs_len];
            } else {
                i += 1;
            }
        }
    }
}

/// Sorts `list` by `key`, stably, in place.
fn insertion_sort(list: &mut [Entry], key: impl Fn(&Entry) -> u64) {
    for i in 1..list.len() {
        let mut j = i;
        while j > 0 && key(&list[j - 1]) > key(&list[j]) {
            list.swap(j - 1, j);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit_with(pitches: &[u8]) -> (ArpUnit, Keys) {
        let mut keys = Keys::default();
        for &p in pitches {
            keys.press(p, 80, false);
        }
        let mut u = ArpUnit::new(ReservoirArp::new(40, 0.2, 1), 1);
        u.collect(&keys, 1, false);
        (u, keys)
    }

    fn run(u: &mut ArpUnit, mode: Mode, steps: usize) -> Vec<u8> {
        (0..steps)
            .map(|_| u.choose(mode, 5.0, Velocity::Played).unwrap().pitch)
            .collect()
    }

    #[test]
    fn classic_modes() {
        let (mut u, _) = unit_with(&[64, 60, 67]);
        assert_eq!(run(&mut u, Mode::Up, 4), [60, 64, 67, 60]);
        u.counter = 0;
        assert_eq!(run(&mut u, Mode::Down, 4), [67, 64, 60, 67]);
        u.counter = 0;
        assert_eq!(run(&mut u, Mode::UpDown, 6), [60, 64, 67, 64, 60, 64]);
        let mut keys = Keys::default();
        for p in [64, 60, 67] {
            keys.press(p, 80, false);
        }
        u.collect(&keys, 1, true);
        u.counter = 0;
        assert_eq!(run(&mut u, Mode::Played, 3), [64, 60, 67]);
    }

    #[test]
    fn octaves_spread_and_cap_at_m() {
        let (mut u, keys) = unit_with(&[60, 64]);
        u.collect(&keys, 3, false);
        let pitches: Vec<u8> = u.entries().iter().map(|e| e.pitch).collect();
        assert_eq!(pitches, [60, 64, 72, 76, 84, 88]);
        let many: Vec<u8> = (40..80).collect();
        let (mut u, keys) = unit_with(&many);
        u.collect(&keys, 4, false);
        assert_eq!(u.entries().len(), MAX_ARP_NOTES);
    }

    #[test]
    fn reservoir_mode_plays_held_notes_and_accent_follows_p() {
        let (mut u, _) = unit_with(&[60, 63, 67, 70]);
        for _ in 0..100 {
            let note = u.choose(Mode::Reservoir, 2.0, Velocity::Accent).unwrap();
            assert!([60, 63, 67, 70].contains(&note.pitch));
            let p = u.reservoir.probabilities()[note.index];
            assert_eq!(note.velocity, (20.0 + 107.0 * p).round() as u8);
        }
    }

    #[test]
    fn offs_fire_once_when_due() {
        let (mut u, _) = unit_with(&[60]);
        u.schedule_off(10, 60);
        u.schedule_off(5, 61);
        let mut fired = vec![];
        u.due_offs(7, |p| fired.push(p));
        assert_eq!(fired, [61]);
        u.due_offs(7, |p| fired.push(p));
        u.due_offs(u64::MAX, |p| fired.push(p));
        assert_eq!(fired, [61, 60]);
    }
}
