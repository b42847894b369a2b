//! A Markov chain that learns from the musician: first- and second-order transition counts over
//! pitch (scale degrees of the key in force) and over durations (16ths), the survey's "first and
//! second order in regard to pitches and rhythm", counted note by note as they are played.
//!
//! **States.** A pitch is a scale degree of the key in force: degree 0–6 of the major or natural
//! minor scale, an alteration flag (a note outside the scale is always one semitone above a
//! scale note, so "raised" covers every chromatic note), and an octave, one of [`OCTAVES`]
//! counted from the tonic three octaves above MIDI 0 (C major: MIDI 36–95, B major: 47–106);
//! notes outside are moved in by octaves. A silence between two notes is the state [`REST`].
//! That is [`PITCH_STATES`] = 71 states. A duration is the nearest of the classes
//! [`DURATIONS`] (16ths).
//!
//! **Two independent chains**, one over pitch states and one over duration classes, each with
//! zeroth-, first- and second-order counts. Not one joint chain over (pitch, duration): a
//! musician teaches tens of notes, and a joint second-order table (568³ cells) would almost
//! never see a context twice, so it could only replay the phrase or fall back to zeroth order.
//!
//! **Fixed tables, no allocation after construction.** The second-order pitch table is dense
//! (71³ f32, 1.4 MB), so learning a note is three increments per chain. Forgetting is a rate `r`
//! per note: the note learned `k` notes ago weighs `(1 − r)^k` against the newest. It is lazy:
//! each note adds the current weight `g`, and `g` grows by `1/(1 − r)` per note; counts are
//! read divided by `g`. When `g` passes 2^60 every cell is divided by it (one pass over the
//! tables, at most once per 60 notes at the largest rate, 50 %), cells below 1/10000 of a
//! fresh note become zero, and `g` is 1 again.
//!
//! **Sampling** uses the highest order whose context was seen (second → first → zeroth), with
//! temperature over the counts (`p ∝ count^(1/T)`; 0 = the likeliest, ties to the lowest
//! state).
//!
//! **Phrases.** A silence longer than [`MAX_REST`] 16ths is a phrase break, not a rest: nothing
//! is counted across it, and the next note starts without context (zeroth order only).
//!
//! **Bytes** ([`Markov::to_bytes`]): a compact form for a link, only non-zero cells, each count
//! quantised to 1/16 of a fresh note (exact for whole counts, as learned without forgetting).

use crate::key::Key;

/// Octaves a pitch state spans.
pub const OCTAVES: usize = 5;
/// The lowest octave's start, in semitones above the tonic's pitch class at MIDI 0.
const LOWEST: i32 = 36;
/// Pitch states: degree × alteration × octave, then the rest.
pub const PITCH_STATES: usize = OCTAVES * 14 + 1;
/// The silence between two notes.
pub const REST: u8 = (PITCH_STATES - 1) as u8;
/// Duration classes in 16ths.
pub const DURATIONS: [u8; 8] = [1, 2, 3, 4, 6, 8, 12, 16];
/// A longer silence (16ths) ends the phrase instead of being a rest.
pub const MAX_REST: u32 = 16;
/// Largest forgetting rate per note.
pub const MAX_FORGET: f32 = 0.5;
/// Weight at which the tables are renormalised.
const RENORM_AT: f32 = 1.152_921_5e18; // 2^60
/// Cells lighter than this (against a fresh note's 1) are dropped at a renormalisation.
const FLUSH_BELOW: f32 = 1e-4;
/// Steps of a count in the bytes: 1/16 of a fresh note.
const QUANTUM: f32 = 16.0;
const VERSION: u8 = 1;
/// No context ("before the phrase").
const NONE: u8 = u8::MAX;

const MAJOR: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];
const MINOR: [u8; 7] = [0, 2, 3, 5, 7, 8, 10];

fn scale(key: Key) -> &'static [u8; 7] {
    if key.minor {
        &MINOR
    } else {
        &MAJOR
    }
}

/// The pitch state of MIDI `pitch` in `key` (never [`REST`]).
pub fn pitch_state(pitch: u8, key: Key) -> u8 {
    let rel = i32::from(pitch) - i32::from(key.tonic % 12);
    let octave = (rel - LOWEST).div_euclid(12).clamp(0, OCTAVES as i32 - 1);
    let pc = rel.rem_euclid(12) as u8;
    let steps = scale(key);
    // The scale note at or just below the pitch class: every other pitch class is one above one.
    let degree = steps.iter().rposition(|&s| s <= pc).unwrap_or(0);
    let raised = u8::from(steps[degree] != pc);
    (octave as u8 * 7 + degree as u8) * 2 + raised
}

/// The MIDI pitch (before any range folding; may lie outside 0–127) of pitch state `state` in
/// `key`; None for [`REST`] and out-of-range states.
pub fn state_pitch(state: u8, key: Key) -> Option<i32> {
    if state >= REST {
        return None;
    }
    let (octave, degree, raised) = (state / 14, (state / 2) % 7, state % 2);
    let pc = i32::from(scale(key)[degree as usize] + raised);
    Some(i32::from(key.tonic % 12) + LOWEST + 12 * i32::from(octave) + pc)
}

/// The duration class nearest to `sixteenths` (ties to the shorter; 0 counts as 1).
pub fn duration_class(sixteenths: u32) -> u8 {
    let len = sixteenths.max(1);
    let mut best = 0;
    for (i, &d) in DURATIONS.iter().enumerate() {
        if len.abs_diff(u32::from(d)) < len.abs_diff(u32::from(DURATIONS[best])) {
            best = i;
        }
    }
    best as u8
}

/// Zeroth-, first- and second-order counts over `states` states, flat: `one[b·S + next]`,
/// `two[(a·S + b)·S + next]` for the context a, b (b the latest). Not generic over the number of
/// states: one copy of the code serves both chains (the page's wasm module has a size budget).
#[derive(Clone, Debug, PartialEq)]
struct Chain {
    states: usize,
    zero: Box<[f32]>,
    one: Box<[f32]>,
    two: Box<[f32]>,
}

impl Chain {
    fn new(states: usize) -> Self {
        let zeros = |n: usize| vec![0.0; n].into_boxed_slice();
        Self {
            states,
            zero: zeros(states),
            one: zeros(states * states),
            two: zeros(states * states * states),
        }
    }

    fn tables(&self) -> [&[f32]; 3] {
        [&self.zero, &self.one, &self.two]
    }

    fn tables_mut(&mut self) -> [&mut [f32]; 3] {
        [&mut self.zero, &mut self.one, &mut self.two]
    }

    fn clear(&mut self) {
        self.tables_mut().into_iter().for_each(|t| t.fill(0.0));
    }

    /// Adds `w` to `next` after the context `ctx` ([older, latest]; NONE where there is none).
    fn add(&mut self, ctx: [u8; 2], next: u8, w: f32) {
        let s = self.states;
        let [a, b] = ctx.map(usize::from);
        let n = usize::from(next);
        self.zero[n] += w;
        if b < s {
            self.one[b * s + n] += w;
            if a < s {
                self.two[(a * s + b) * s + n] += w;
            }
        }
    }

    /// The row used to predict after `ctx` at `order` at most, falling back to lower orders
    /// whose row holds some weight outside `masked`; None when even order 0 holds none.
    fn row(&self, ctx: [u8; 2], order: usize, masked: Option<u8>) -> Option<&[f32]> {
        let s = self.states;
        let [a, b] = ctx.map(usize::from);
        let usable = |row: &[f32]| {
            row.iter()
                .enumerate()
                .any(|(i, &c)| c > 0.0 && Some(i as u8) != masked)
        };
        if order >= 2 && a < s && b < s {
            let row = &self.two[(a * s + b) * s..][..s];
            if usable(row) {
                return Some(row);
            }
        }
        if order >= 1 && b < s {
            let row = &self.one[b * s..][..s];
            if usable(row) {
                return Some(row);
            }
        }
        usable(&self.zero).then_some(&self.zero[..])
    }
}

/// Draws from `row` with temperature (`p ∝ count^(1/T)`, T ≤ 0 or NaN: the largest count),
/// never `masked`; `u` uniform in [0, 1). `logits` is scratch of the row's length.
fn draw(row: &[f32], temperature: f32, masked: Option<u8>, u: f32, logits: &mut [f32]) -> u8 {
    for (i, (l, &c)) in logits.iter_mut().zip(row).enumerate() {
        *l = if c > 0.0 && Some(i as u8) != masked {
            // f64's log: the n-gram logits link it already (one log less in the page's module).
            libm::log(f64::from(c)) as f32
        } else {
            f32::NEG_INFINITY
        };
    }
    let mut probs = [0.0f32; PITCH_STATES];
    let probs = &mut probs[..row.len()];
    crate::lstm::softmax(logits, temperature, probs);
    let mut acc = 0.0;
    let mut last = 0;
    for (i, &p) in probs.iter().enumerate() {
        if p > 0.0 {
            last = i;
            acc += p;
            if u < acc {
                return i as u8;
            }
        }
    }
    last as u8
}

/// The chain's context: the last two pitch states and duration classes ([older, latest]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    pitch: [u8; 2],
    duration: [u8; 2],
}

impl Default for Context {
    fn default() -> Self {
        Self {
            pitch: [NONE; 2],
            duration: [NONE; 2],
        }
    }
}

impl Context {
    fn push(&mut self, state: u8, duration: u8) {
        self.pitch = [self.pitch[1], state];
        self.duration = [self.duration[1], duration];
    }

    /// The latest pitch state, if any.
    pub fn last_pitch(&self) -> Option<u8> {
        (self.pitch[1] != NONE).then_some(self.pitch[1])
    }
}

/// One table of the bytes, in their order: (chain, order).
const TABLES: [(&str, usize); 6] = [
    ("pitch", 0),
    ("pitch", 1),
    ("pitch", 2),
    ("duration", 0),
    ("duration", 1),
    ("duration", 2),
];

/// The learned chain; see the module doc.
#[derive(Clone, Debug, PartialEq)]
pub struct Markov {
    pitch: Chain,
    duration: Chain,
    /// The weight the next note adds (counts are read divided by it).
    weight: f32,
    /// Notes and rests learned since the last clear.
    learned: u32,
    context: Context,
}

impl Default for Markov {
    fn default() -> Self {
        Self::new()
    }
}

impl Markov {
    /// An empty chain. Allocates its tables (about 1.4 MB): never on the audio path.
    pub fn new() -> Self {
        Self {
            pitch: Chain::new(PITCH_STATES),
            duration: Chain::new(DURATIONS.len()),
            weight: 1.0,
            learned: 0,
            context: Context::default(),
        }
    }

    /// Forgets everything learned.
    pub fn clear(&mut self) {
        self.pitch.clear();
        self.duration.clear();
        self.weight = 1.0;
        self.learned = 0;
        self.context = Context::default();
    }

    /// Nothing learned (or all of it forgotten).
    pub fn is_empty(&self) -> bool {
        self.pitch.zero.iter().all(|&c| c == 0.0)
    }

    /// Notes and rests learned since the last clear (or as loaded).
    pub fn learned(&self) -> u32 {
        self.learned
    }

    /// The context after the last note learned: where an answer starts.
    pub fn context(&self) -> Context {
        self.context
    }

    /// Learns a note (or [`REST`]) of duration class `duration` after the context, forgetting
    /// older material by `forget` (0–[`MAX_FORGET`], per note). O(1), except for a pass over the
    /// tables at most once per 60 notes when forgetting (see the module doc). Never allocates.
    #[inline(never)]
    pub fn learn(&mut self, state: u8, duration: u8, forget: f32) {
        let state = state.min(REST);
        let duration = duration.min(DURATIONS.len() as u8 - 1);
        let forget = if forget.is_finite() {
            forget.clamp(0.0, MAX_FORGET)
        } else {
            0.0
        };
        self.weight /= 1.0 - forget;
        let w = self.weight;
        self.pitch.add(self.context.pitch, state, w);
        self.duration.add(self.context.duration, duration, w);
        self.context.push(state, duration);
        self.learned = self.learned.saturating_add(1);
        if self.weight > RENORM_AT {
            self.renormalise();
        }
    }

    /// A phrase ended: the next note is learned without context.
    pub fn phrase_break(&mut self) {
        self.context = Context::default();
    }

    fn renormalise(&mut self) {
        let scale = 1.0 / self.weight;
        let tables = self.pitch.tables_mut().into_iter();
        for table in tables.chain(self.duration.tables_mut()) {
            for c in table.iter_mut() {
                *c *= scale;
                if *c < FLUSH_BELOW {
                    *c = 0.0;
                }
            }
        }
        self.weight = 1.0;
    }

    /// The count of pitch state `next` after `ctx` at `order` (0: ctx unused; 1: the latest of
    /// ctx; 2: both), in notes (a fresh note counts 1, older ones less when forgetting).
    pub fn pitch_count(&self, order: usize, ctx: [u8; 2], next: u8) -> f32 {
        count(&self.pitch, order, ctx, next) / self.weight
    }

    /// As [`Markov::pitch_count`], for duration classes.
    pub fn duration_count(&self, order: usize, ctx: [u8; 2], next: u8) -> f32 {
        count(&self.duration, order, ctx, next) / self.weight
    }

    /// Draws the next (pitch state, duration class) after `context` from the chains of `order`
    /// (1 or 2) at `temperature`, and moves `context` on; `uniform` gives numbers in [0, 1).
    /// `note_only`: never a rest (an answer starts with a note). None when nothing was learned.
    /// Never allocates.
    #[inline(never)]
    pub fn sample(
        &self,
        context: &mut Context,
        order: usize,
        temperature: f32,
        note_only: bool,
        mut uniform: impl FnMut() -> f32,
    ) -> Option<(u8, u8)> {
        let masked = note_only.then_some(REST);
        let row = self.pitch.row(context.pitch, order, masked)?;
        let mut scratch = [0.0f32; PITCH_STATES];
        let state = draw(row, temperature, masked, uniform(), &mut scratch);
        let row = self.duration.row(context.duration, order, None)?;
        let duration = draw(
            row,
            temperature,
            None,
            uniform(),
            &mut scratch[..DURATIONS.len()],
        );
        context.push(state, duration);
        Some((state, duration))
    }

    /// The compact bytes: version, the numbers of states, the context, the notes learned, then
    /// each table's non-zero cells as (index gap, count in 1/16 notes), LEB128 numbers.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![VERSION, PITCH_STATES as u8, DURATIONS.len() as u8];
        out.extend(self.context.pitch);
        out.extend(self.context.duration);
        put(&mut out, self.learned);
        let tables = self.pitch.tables().into_iter();
        for table in tables.chain(self.duration.tables()) {
            let cells: Vec<(usize, u32)> = table
                .iter()
                .enumerate()
                .map(|(i, &c)| (i, libm::roundf(c / self.weight * QUANTUM) as u32))
                .filter(|&(_, q)| q > 0)
                .collect();
            put(&mut out, cells.len() as u32);
            let mut next = 0;
            for (i, q) in cells {
                put(&mut out, (i - next) as u32);
                put(&mut out, q);
                next = i + 1;
            }
        }
        out
    }

    /// Replaces what the chain learned with `bytes` ([`Markov::to_bytes`]); checked whole
    /// first: on error (naming the table and the cell) the chain is unchanged. Never allocates.
    pub fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let (context, learned) = read(bytes, &mut |_, _, _| {})?;
        self.clear();
        let (pitch, duration) = (&mut self.pitch, &mut self.duration);
        read(bytes, &mut |table, index, count| match table {
            0..=2 => pitch.tables_mut()[table][index] = count,
            _ => duration.tables_mut()[table - 3][index] = count,
        })?;
        self.context = context;
        self.learned = learned;
        Ok(())
    }

    /// Checks `bytes` as [`Markov::load`] reads them, without a chain to load them into.
    pub fn check(bytes: &[u8]) -> Result<(), String> {
        read(bytes, &mut |_, _, _| {}).map(drop)
    }
}

fn count(chain: &Chain, order: usize, ctx: [u8; 2], next: u8) -> f32 {
    let s = chain.states;
    let [a, b, n] = [ctx[0], ctx[1], next].map(usize::from);
    let index = match order {
        0 => n,
        1 => b * s + n,
        _ => (a * s + b) * s + n,
    };
    chain.tables()[order.min(2)]
        .get(index)
        .copied()
        .unwrap_or(0.0)
}

/// Appends `v` as LEB128.
fn put(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads a LEB128 number at `*at` (at most 32 bits), moving `at` on.
fn get(bytes: &[u8], at: &mut usize, what: &dyn Fn() -> String) -> Result<u32, String> {
    let mut v = 0u64;
    for shift in (0..35).step_by(7) {
        let Some(&byte) = bytes.get(*at) else {
            return Err(format!("truncated in {}", what()));
        };
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return u32::try_from(v).map_err(|_| format!("{}: a number over 32 bits", what()));
        }
    }
    Err(format!("{}: a number longer than 5 bytes", what()))
}

/// Reads the bytes, calling `cell(table, index, count)` for every cell; returns the context and
/// the notes learned. Every error names the byte and what was being read.
fn read(bytes: &[u8], cell: &mut dyn FnMut(usize, usize, f32)) -> Result<(Context, u32), String> {
    let head = bytes.get(..7).ok_or_else(|| {
        format!(
            "the Markov table is {} bytes, shorter than its 7-byte header",
            bytes.len()
        )
    })?;
    if head[0] != VERSION {
        return Err(format!(
            "the Markov table is version {}, this instrument reads version {VERSION}",
            head[0]
        ));
    }
    if usize::from(head[1]) != PITCH_STATES || usize::from(head[2]) != DURATIONS.len() {
        return Err(format!(
            "the Markov table has {} pitch states and {} duration classes, not {PITCH_STATES} and {}",
            head[1],
            head[2],
            DURATIONS.len()
        ));
    }
    let context = Context {
        pitch: [head[3], head[4]],
        duration: [head[5], head[6]],
    };
    let bad_context = context.pitch.iter().any(|&s| s != NONE && s > REST)
        || context
            .duration
            .iter()
            .any(|&d| d != NONE && usize::from(d) >= DURATIONS.len());
    if bad_context {
        // No `{:?}` of the bytes: Debug formatting would cost the page's wasm module 1.3 KB.
        return Err("the Markov table's context (bytes 3–6) names states that do not exist".into());
    }
    let mut at = 7;
    let learned = get(bytes, &mut at, &|| "the notes learned".to_string())?;
    let sizes = [
        PITCH_STATES,
        PITCH_STATES.pow(2),
        PITCH_STATES.pow(3),
        DURATIONS.len(),
        DURATIONS.len().pow(2),
        DURATIONS.len().pow(3),
    ];
    for (t, (&(name, order), &size)) in TABLES.iter().zip(&sizes).enumerate() {
        let table = || format!("the {name} table of order {order}");
        let cells = get(bytes, &mut at, &|| format!("{}'s length", table()))? as usize;
        if cells > size {
            return Err(format!(
                "{} has {cells} cells, more than its {size}",
                table()
            ));
        }
        let mut next = 0usize;
        for c in 0..cells {
            let byte = at;
            let what = || format!("{} at cell {} (byte {byte})", table(), c + 1);
            let gap = get(bytes, &mut at, &what)? as usize;
            let q = get(bytes, &mut at, &what)?;
            let index = next.saturating_add(gap);
            if index >= size {
                return Err(format!("{} points past the table's {size} cells", what()));
            }
            if q == 0 || q > 1 << 24 {
                return Err(format!("{}: the count {q} is not 1 to 2^24", what()));
            }
            cell(t, index, q as f32 / QUANTUM);
            next = index + 1;
        }
    }
    if at != bytes.len() {
        return Err(format!(
            "the Markov table has {} bytes after its end (byte {at})",
            bytes.len() - at
        ));
    }
    Ok((context, learned))
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: Key = Key::C_MAJOR;

    #[test]
    fn pitch_states_are_scale_degrees_and_map_back() {
        // C major: C4 = degree 0, E4 degree 2, F#4 = F raised.
        let c4 = pitch_state(60, C);
        assert_eq!(pitch_state(64, C), c4 + 4);
        assert_eq!(pitch_state(66, C), pitch_state(65, C) + 1);
        assert_eq!(pitch_state(72, C), c4 + 14, "an octave is 7 degrees × 2");
        // Every pitch of the span maps back to itself, in every key.
        for index in 1..=24 {
            let key = Key::from_choice_index(index).unwrap();
            let low = i32::from(key.tonic) + LOWEST;
            for p in low..low + 12 * OCTAVES as i32 {
                let s = pitch_state(p as u8, key);
                assert!(s < REST);
                assert_eq!(state_pitch(s, key), Some(p), "{p} in {key:?}");
            }
        }
        // Below and above the span: moved in by octaves.
        assert_eq!(pitch_state(24, C), pitch_state(36, C));
        assert_eq!(pitch_state(120, C), pitch_state(84, C));
        // The same degree in G major is a fifth up; A minor's G# is G raised.
        let g = Key {
            tonic: 7,
            minor: false,
        };
        assert_eq!(pitch_state(67, g), pitch_state(60, C));
        let am = Key {
            tonic: 9,
            minor: true,
        };
        assert_eq!(pitch_state(68, am), pitch_state(67, am) + 1);
        assert_eq!(state_pitch(REST, C), None);
    }

    #[test]
    fn durations_go_to_the_nearest_class() {
        let classes: Vec<u8> = (0..=20)
            .map(|n| DURATIONS[duration_class(n) as usize])
            .collect();
        assert_eq!(
            classes,
            [1, 1, 2, 3, 4, 4, 6, 6, 8, 8, 8, 12, 12, 12, 12, 16, 16, 16, 16, 16, 16]
        );
    }

    #[test]
    fn counts_are_the_transitions_learned() {
        let mut m = Markov::new();
        let [a, b, c] = [10, 12, 14];
        for (s, d) in [(a, 1), (b, 1), (c, 3), (a, 1), (b, 1), (REST, 0)] {
            m.learn(s, d, 0.0);
        }
        assert_eq!(m.learned(), 6);
        assert_eq!(m.pitch_count(0, [NONE, NONE], a), 2.0);
        assert_eq!(m.pitch_count(1, [NONE, a], b), 2.0);
        assert_eq!(m.pitch_count(1, [NONE, b], c), 1.0);
        assert_eq!(m.pitch_count(1, [NONE, b], REST), 1.0);
        assert_eq!(m.pitch_count(2, [a, b], c), 1.0);
        assert_eq!(m.pitch_count(2, [a, b], REST), 1.0);
        assert_eq!(m.pitch_count(2, [b, c], a), 1.0);
        assert_eq!(m.duration_count(2, [1, 1], 3), 1.0);
        assert_eq!(m.duration_count(1, [NONE, 1], 1), 2.0);
        // A phrase break: the next note has no context.
        m.phrase_break();
        m.learn(c, 2, 0.0);
        assert_eq!(m.pitch_count(0, [NONE, NONE], c), 2.0);
        assert_eq!(m.pitch_count(1, [NONE, REST], c), 0.0);
        m.clear();
        assert!(m.is_empty());
        assert_eq!(m.learned(), 0);
    }

    #[test]
    fn forgetting_weighs_a_note_k_notes_ago_by_one_minus_r_to_the_k() {
        let mut m = Markov::new();
        for s in 0..5u8 {
            m.learn(s, 0, 0.1);
        }
        for s in 0..5u8 {
            let expected = 0.9f32.powi(4 - i32::from(s));
            let got = m.pitch_count(0, [NONE, NONE], s);
            assert!((got - expected).abs() < 1e-6, "{s}: {got} vs {expected}");
        }
        // Through renormalisations (every ~60 notes at 50 %): the last notes keep 1, 1/2, 1/4,
        // and what is older than 1/10000 is gone.
        for i in 0..1000u32 {
            m.learn((i % 3) as u8 + 20, 0, 0.5);
        }
        assert_eq!(m.pitch_count(0, [NONE, NONE], 0), 0.0);
        let last = (999 % 3) as u8 + 20;
        let sum = 8.0 / 7.0; // 1 + 1/8 + 1/64 + …
        let got = m.pitch_count(0, [NONE, NONE], last);
        assert!((got - sum).abs() < 1e-3 * sum, "{got} vs {sum}");
        assert!(m.weight <= RENORM_AT);
    }

    #[test]
    fn sampling_falls_back_and_temperature_zero_replays_the_likeliest() {
        let mut m = Markov::new();
        let mut ctx = Context::default();
        assert_eq!(m.sample(&mut ctx, 2, 1.0, false, || 0.5), None);
        // A B C A B D A B C: after (A, B) C twice and D once.
        for s in [0, 2, 4, 0, 2, 6, 0, 2, 4] {
            m.learn(s, 1, 0.0);
        }
        let mut ctx = Context::default();
        ctx.push(0, 1);
        ctx.push(2, 1);
        let next = m.sample(&mut ctx, 2, 0.0, false, || 0.99);
        assert_eq!(next, Some((4, 1)));
        // After (B, C) comes A; (C, A) then B; second order replays the line.
        let line: Vec<u8> = (0..3)
            .map(|_| m.sample(&mut ctx, 2, 0.0, false, || 0.0).unwrap().0)
            .collect();
        assert_eq!(line, [0, 2, 4]);
        // An unseen context falls back to first order (after D: A), then to zeroth order.
        let mut ctx = Context::default();
        ctx.push(40, 1);
        ctx.push(6, 1);
        assert_eq!(m.sample(&mut ctx, 2, 0.0, false, || 0.0).unwrap().0, 0);
        let mut ctx = Context::default();
        ctx.push(50, 1);
        assert_eq!(m.sample(&mut ctx, 2, 0.0, false, || 0.0).unwrap().0, 0);
        // At temperature 1 the draw follows the counts: u below 2/3 gives C, above gives D.
        let draw_after_ab = |u: f32| {
            let mut c = Context::default();
            c.push(0, 1);
            c.push(2, 1);
            m.sample(&mut c, 2, 1.0, false, || u).unwrap().0
        };
        assert_eq!(draw_after_ab(0.6), 4);
        assert_eq!(draw_after_ab(0.7), 6);
    }

    #[test]
    fn note_only_never_draws_a_rest() {
        let mut m = Markov::new();
        for s in [3, REST, 3, REST, 3, REST, 5] {
            m.learn(s, 1, 0.0);
        }
        let mut ctx = m.context();
        ctx.push(3, 1);
        for u in [0.0, 0.5, 0.99] {
            let (s, _) = m.sample(&mut { ctx }, 2, 1.0, true, || u).unwrap();
            assert_ne!(s, REST);
        }
        assert_eq!(
            m.sample(&mut { ctx }, 2, 0.0, false, || 0.0).unwrap().0,
            REST
        );
    }

    #[test]
    fn bytes_round_trip_and_bad_bytes_are_named() {
        let mut m = Markov::new();
        for i in 0..200u32 {
            m.learn((i * 7 % 30) as u8, (i % 8) as u8, 0.0);
        }
        let bytes = m.to_bytes();
        let mut back = Markov::new();
        back.load(&bytes).unwrap();
        assert_eq!(back, m, "whole counts round-trip exactly");
        assert!(bytes.len() < 2000, "{} bytes", bytes.len());
        let empty = Markov::new().to_bytes();
        assert_eq!(empty.len(), 7 + 1 + 6);

        let expect = |b: &[u8], needle: &str| {
            let mut target = m.clone();
            let err = target.load(b).unwrap_err();
            assert!(err.contains(needle), "{err}");
            assert_eq!(target, m, "a refused table changes nothing");
        };
        expect(&bytes[..3], "shorter than its 7-byte header");
        expect(
            &bytes[..bytes.len() - 1],
            "truncated in the duration table of order 2",
        );
        let mut b = bytes.clone();
        b[0] = 9;
        expect(&b, "version 9");
        let mut b = bytes.clone();
        b[1] = 50;
        expect(&b, "50 pitch states");
        let mut b = bytes.clone();
        b[3] = 200;
        expect(&b, "context");
        let mut b = bytes.clone();
        b.push(0);
        expect(&b, "1 bytes after its end");
        // A gap that jumps past the zeroth-order pitch table's 71 cells.
        let mut b = empty.clone();
        b[8] = 1;
        b.splice(9..9, [100, 1]);
        expect(&b, "points past the table's 71 cells");
        let mut b = empty.clone();
        b[8] = 1;
        b.splice(9..9, [3, 0]);
        expect(&b, "the count 0");
        assert!(Markov::check(&bytes).is_ok());
    }
}
