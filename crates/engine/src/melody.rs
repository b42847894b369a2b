//! The melody generator: a token model (the LSTM or an n-gram) stepped on the transport's 16th
//! notes, sampled with temperature, density and a range, transposed from C major / A minor to the
//! key in force; free-running, or answering a phrase the musician played.
//!
//! Tokens are those of the training data: 0–127 an onset, 128 note-off, 129 hold. Every sampled
//! token is fed back, so the model always knows what it played. In answer mode the musician's
//! phrase is tokenised on the same 16th grid and kept; when they stop, it is fed to the model
//! moved into C/Am with the key estimated from the whole phrase (a key estimated note by note
//! wanders at the start of a phrase, and a phrase fed in mixed keys is answered in none); after a
//! bar of silence the model answers from the next bar line for the chosen number of bars, then
//! listens again.
//!
//! The Markov chain (`markov1`, `markov2`; `tidepool_melody::markov`) is the other kind of model:
//! it learns from every note the musician plays, whatever the mode and model, when the note ends
//! (its length in 16ths, on the transport's grid; 1 while the transport stands), as a scale
//! degree of the key in force then. A silence of 1–16 16ths between two notes is learned as a
//! rest; a longer one ends the phrase (see [`tidepool_melody::markov::MAX_REST`]). Playing is
//! monophonic, as the rest of the unit hears it: a key pressed while another is held ends that
//! one. It generates notes, not tokens: at a note's start it draws (degree, duration), maps the
//! degree to a pitch in the key in force moved by octaves into the range, and holds it for the
//! duration; the density does not apply. A free line and an answer start from the context of
//! the last notes learned, so an answer continues the musician's phrase.
//!
//! Building a brain (loading a model file, counting an n-gram) allocates and happens off the
//! audio path; stepping never allocates, nor does learning (fixed tables).
//!
//! The brains sit in one slot per `mel.model` choice: the shipped LSTM, the n-grams and the
//! musician's own model file ([`MELODY_FILE_MODEL`](crate::params::MELODY_FILE_MODEL), another
//! quantized LSTM of 1–3 layers); the Markov chain (`markov1`, `markov2`) is not a brain but
//! fixed tables the unit owns. Every token is fed with its metrical position (the 16th within
//! the bar), which a model with the position input reads and the others ignore.

use crate::params::{MARKOV_MODEL, MELODY_MODEL_NAMES};
use tidepool_melody::key::{Key, KeyEstimator};
use tidepool_melody::lstm::POSITIONS;
use tidepool_melody::markov::{self, Markov, DURATIONS, MAX_REST, REST};
use tidepool_melody::quant::QuantLstm;
use tidepool_melody::{NGram, Token, HOLD, NOTE_OFF, VOCAB};
use tidepool_reservoir::SeededRng;

/// A model that predicts the next token.
pub enum Brain {
    /// The LSTM with i8 recurrent weights: 2.4× faster per step in wasm than f32, the same test
    /// NLL to 4 digits, and bit-identical natively and in wasm (exact integer dot products).
    Lstm(Box<QuantLstm>),
    NGram(Box<NGram>),
}

impl Brain {
    /// The LSTM from its quantized file's bytes (`melody-lstm.tpq`, written from the safetensors
    /// model by `tidepool melody export-quantized`; validated, the error says what is wrong):
    /// what the page hands over, so the engine only reads, never parses safetensors or quantizes.
    pub fn lstm_from_tpq(bytes: &[u8]) -> Result<Brain, String> {
        tidepool_melody::quant_file::read(bytes).map(|lstm| Brain::Lstm(Box::new(lstm)))
    }

    /// An n-gram model from its TPNG bytes (`NGram::to_bytes`; validated, the error says what is
    /// wrong): what the page hands over, so the engine only loads, never counts.
    pub fn ngram_from_bytes(bytes: &[u8]) -> Result<Brain, String> {
        NGram::from_bytes(bytes).map(|n| Brain::NGram(Box::new(n)))
    }

    /// An n-gram model of `order` (1–4) counted from a `.tokens` corpus (the training split).
    pub fn ngram_from_corpus(text: &str, order: usize) -> Result<Brain, String> {
        if !(1..=4).contains(&order) {
            return Err(format!("n-gram order {order} is not 1 to 4"));
        }
        let lines = tidepool_melody::dataset::parse(text)?;
        if lines.is_empty() {
            return Err("the n-gram corpus has no lines".into());
        }
        let tokens: Vec<Vec<Token>> = lines.into_iter().map(|l| l.tokens).collect();
        Ok(Brain::NGram(Box::new(NGram::train(&tokens, order))))
    }

    /// Which `mel.model` choice this brain serves by itself: 0 the LSTM, 1–4 the n-gram order
    /// (a musician's file is an LSTM put in [`MELODY_FILE_MODEL`](crate::params::MELODY_FILE_MODEL)'s slot by
    /// [`MelodyUnit::install_at`]).
    pub fn model_index(&self) -> usize {
        match self {
            Brain::Lstm(_) => 0,
            Brain::NGram(n) => n.order(),
        }
    }
}

/// Rest tokens (a note-off, then holds) kept for a silence inside a phrase, at most. They are
/// kept when the next note comes, not as the silence happens: in the training data a note-off
/// mostly ends a line, so a phrase's closing pause fed to the model would ask it to stay silent,
/// and it is the musician's turn signal anyway, not music to continue.
const MAX_REST_FED: u32 = 3;

/// 16ths of the latest phrase kept (16 bars of 4/4); older ones are forgotten.
const PHRASE_CAPACITY: usize = 256;

/// Phrase tokens fed to the model per 16th of the closing pause: the whole phrase is in before
/// the answer is due (15 steps × 18 > 256), and a step costs at most 18 model steps (about
/// 0.45 ms with the LSTM in wasm), well inside one render quantum.
const REFEED_PER_STEP: usize = 18;

/// What the generator is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Off,
    Free,
    /// Answer mode, waiting for or hearing a phrase.
    Listening,
    /// Answer mode, playing; the steps left.
    Answering(u32),
}

/// Settings read at each step (from the parameters).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MelodySettings {
    /// 0 off, 1 free, 2 answer.
    pub mode: usize,
    pub model: usize,
    pub temperature: f32,
    /// 0–100 %, 50 = as trained.
    pub density: f32,
    pub low: u8,
    pub high: u8,
    /// 0 follow, 1–24 a fixed key.
    pub key: usize,
    pub bars: u32,
    pub velocity: u8,
}

/// What one step asks the engine to do with the melody voice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct StepOut {
    /// Pitch to end (the sounding melody note).
    pub off: Option<u8>,
    /// (pitch, velocity) to start.
    pub on: Option<(u8, u8)>,
}

/// Brain slots: one per `mel.model` choice.
const SLOTS: usize = MELODY_MODEL_NAMES.len();

/// The generator's state; see the module doc.
pub struct MelodyUnit {
    brains: [Option<Brain>; SLOTS],
    /// The 16th within the bar of the latest step (0 = downbeat).
    position: u8,
    /// Tokens fed to a model so far (the work done, for load accounting).
    feeds: u64,
    logits: [f32; VOCAB],
    /// Scratch for sampling (kept here so a step never allocates).
    probs: [f32; VOCAB],
    history: [Token; 3],
    history_len: usize,
    rng: SeededRng,
    phase: Phase,
    /// Output pitch sounding now.
    sounding: Option<u8>,
    /// Input: the latest pitch pressed since the last step, the pitch held now, and how long
    /// (in steps) the current played note has lasted.
    pressed: Option<u8>,
    held: Option<u8>,
    played_len: u32,
    /// Answer mode: the phrase heard since the last answer, in played pitches (onsets) and
    /// NOTE_OFF/HOLD; how much of it is in the model; the shift it went in with; steps since
    /// the last release with nothing held; rest tokens owed to the phrase.
    phrase: [Token; PHRASE_CAPACITY],
    /// Each phrase token's position in the bar.
    phrase_positions: [u8; PHRASE_CAPACITY],
    phrase_len: usize,
    refed: usize,
    phrase_shift: i32,
    silent_steps: u32,
    rest_fed: u32,
    keys: KeyEstimator,
    /// The next sampled token must be a pitch (start of a free line or of an answer).
    start_with_note: bool,
    /// The Markov chain, learning from every note played; what it learns with: the key choice
    /// and the forgetting rate (0–0.5 per note); 16ths of silence since the last key went up.
    markov: Markov,
    learn_key: usize,
    forget: f32,
    rest_steps: u32,
    /// The chain's line: its context, and 16ths left of the note (or rest) it plays.
    voice: markov::Context,
    voice_left: u32,
}

/// Whether `mel.model` choice `model` is the Markov chain.
pub fn is_markov(model: usize) -> bool {
    (MARKOV_MODEL..MARKOV_MODEL + 2).contains(&model)
}

impl MelodyUnit {
    pub fn new(seed: u64) -> Self {
        Self {
            brains: std::array::from_fn(|_| None),
            position: 0,
            feeds: 0,
            logits: [0.0; VOCAB],
            probs: [0.0; VOCAB],
            history: [0; 3],
            history_len: 0,
            rng: SeededRng::new(seed, STREAM),
            phase: Phase::Off,
            sounding: None,
            pressed: None,
            held: None,
            played_len: 0,
            phrase: [0; PHRASE_CAPACITY],
            phrase_positions: [0; PHRASE_CAPACITY],
            phrase_len: 0,
            refed: 0,
            phrase_shift: 0,
            silent_steps: 0,
            rest_fed: 0,
            keys: KeyEstimator::default(),
            start_with_note: true,
            markov: Markov::new(),
            learn_key: 0,
            forget: 0.0,
            rest_steps: u32::MAX,
            voice: markov::Context::default(),
            voice_left: 0,
        }
    }

    /// What the chain learns with from now on: the key choice (0 follow, 1–24 a key) and the
    /// forgetting rate in % per note (`mk.forget`).
    pub fn set_learning(&mut self, key_choice: usize, forget_percent: f32) {
        self.learn_key = key_choice;
        self.forget = forget_percent / 100.0;
    }

    /// The Markov chain as learned so far.
    pub fn markov(&self) -> &Markov {
        &self.markov
    }

    /// Forgets what the chain learned; returns the note to end if the chain is playing one
    /// under `model` (the line restarts from nothing).
    pub fn clear_markov(&mut self, model: usize) -> Option<u8> {
        self.markov.clear();
        self.rest_steps = u32::MAX;
        self.voice = markov::Context::default();
        self.voice_left = 0;
        is_markov(model).then(|| self.sounding.take()).flatten()
    }

    /// Replaces what the chain learned with `bytes` (`Markov::to_bytes`); on error (which says
    /// what is wrong) nothing changes. Never allocates.
    pub fn load_markov(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.markov.load(bytes)?;
        self.voice = self.markov.context();
        self.voice_left = 0;
        Ok(())
    }

    /// Puts `brain` in its slot; returns the one it replaces (drop it off the audio path).
    pub fn install(&mut self, brain: Brain) -> Option<Brain> {
        let slot = brain.model_index().min(SLOTS - 1);
        let old = self.install_at(slot, brain);
        self.reset_brain(slot);
        old
    }

    /// Puts `brain` (at rest, as built) in the slot of `mel.model` choice `slot` (clamped to the
    /// choices): the musician's model file goes to
    /// [`MELODY_FILE_MODEL`](crate::params::MELODY_FILE_MODEL). Nothing else changes: the model
    /// playing now plays on (restart the melody to switch). Returns the brain it replaces.
    pub fn install_at(&mut self, slot: usize, brain: Brain) -> Option<Brain> {
        self.brains[slot.min(SLOTS - 1)].replace(brain)
    }

    pub fn has_model(&self, model: usize) -> bool {
        is_markov(model) || self.brains.get(model).is_some_and(Option::is_some)
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn sounding(&self) -> Option<u8> {
        self.sounding
    }

    /// The key in force for `key_choice` (0 = follow what was played, C major before any note).
    pub fn key_in_force(&self, key_choice: usize) -> Key {
        Key::from_choice_index(key_choice)
            .or_else(|| self.keys.estimate())
            .unwrap_or(Key::C_MAJOR)
    }

    /// Starts over with `seed` and `mode`: forgets the melody, the phrase and the key heard.
    /// Returns the note to end, if one sounds.
    pub fn restart(&mut self, seed: u64, s: &MelodySettings) -> Option<u8> {
        self.rng = SeededRng::new(seed, STREAM);
        self.phase = match s.mode {
            1 => Phase::Free,
            2 => Phase::Listening,
            _ => Phase::Off,
        };
        self.forget_phrase();
        self.start_with_note = true;
        self.reset_brain(s.model);
        self.sounding.take()
    }

    /// A key went down (any source).
    pub fn key_down(&mut self, pitch: u8) {
        if self.held.is_some() {
            self.close_played_note();
        } else {
            self.close_rest();
        }
        self.pressed = Some(pitch);
        self.held = Some(pitch);
        self.played_len = 0;
    }

    /// A key went up.
    pub fn key_up(&mut self, pitch: u8) {
        if self.held == Some(pitch) {
            self.close_played_note();
            self.held = None;
            self.rest_steps = 0;
        }
    }

    /// Every key let go (panic): the phrase so far stays, nothing is held.
    pub fn keys_released(&mut self) {
        if self.held.is_some() {
            self.close_played_note();
            self.rest_steps = 0;
        }
        self.held = None;
        self.pressed = None;
    }

    /// The held note ends: into the key estimate, then into the chain in the key in force.
    #[inline(never)]
    fn close_played_note(&mut self) {
        if let Some(p) = self.held {
            self.keys.add(p, self.played_len.max(1) as f32);
            let key = self.key_in_force(self.learn_key);
            let duration = markov::duration_class(self.played_len);
            self.markov
                .learn(markov::pitch_state(p, key), duration, self.forget);
        }
    }

    /// A key goes down after a silence: a rest for the chain, or the end of a phrase.
    fn close_rest(&mut self) {
        match self.rest_steps {
            0 => {}
            n if n <= MAX_REST => {
                if self.markov.context().last_pitch().is_some() {
                    let duration = markov::duration_class(n);
                    self.markov.learn(REST, duration, self.forget);
                }
            }
            _ => self.markov.phrase_break(),
        }
    }

    /// One 16th step. `on_bar_line`: this step starts a bar; `steps_per_bar`: 16ths in a bar.
    pub fn step(&mut self, s: &MelodySettings, on_bar_line: bool, steps_per_bar: u32) -> StepOut {
        self.position = if on_bar_line {
            0
        } else {
            (self.position + 1) % POSITIONS as u8
        };
        if self.held.is_some() {
            self.played_len += 1;
        } else {
            self.rest_steps = self.rest_steps.saturating_add(1);
        }
        let pressed = self.pressed.take();
        let shift = self.key_in_force(s.key).transpose() as i32;
        match self.phase {
            Phase::Off => StepOut {
                off: self.sounding.take(),
                on: None,
            },
            Phase::Free => self.generate(s, shift),
            Phase::Answering(left) => {
                if pressed.is_some() {
                    // The musician cuts in: stop, and their note starts the next phrase.
                    self.phase = Phase::Listening;
                    self.forget_phrase();
                    self.listen(pressed);
                    return StepOut {
                        off: self.sounding.take(),
                        on: None,
                    };
                }
                self.answer(s, shift, left)
            }
            Phase::Listening => {
                self.listen(pressed);
                if self.phrase_len == 0 || self.held.is_some() || self.silent_steps == 0 {
                    return StepOut::default();
                }
                if self.silent_steps == 1 {
                    // The phrase has ended (for now): into the model in one key, the one its
                    // notes point to, from rest as every training line starts.
                    self.reset_brain(s.model);
                    self.refed = 0;
                    self.phrase_shift = shift;
                }
                self.refeed(s.model, REFEED_PER_STEP);
                let answer_due = self.refed == self.phrase_len
                    && self.silent_steps >= steps_per_bar.max(1)
                    && on_bar_line;
                if answer_due && self.has_model(s.model) {
                    self.start_with_note = true;
                    return self.answer(s, shift, s.bars.max(1) * steps_per_bar.max(1));
                }
                StepOut::default()
            }
        }
    }

    /// One step of an answer with `left` steps to go (0: it is over, listen again).
    fn answer(&mut self, s: &MelodySettings, shift: i32, left: u32) -> StepOut {
        if left == 0 {
            self.phase = Phase::Listening;
            self.forget_phrase();
            return StepOut {
                off: self.sounding.take(),
                on: None,
            };
        }
        self.phase = Phase::Answering(left - 1);
        self.generate(s, shift)
    }

    fn forget_phrase(&mut self) {
        self.phrase_len = 0;
        self.refed = 0;
        self.silent_steps = 0;
        self.rest_fed = 0;
    }

    /// Keeps the musician's playing at this step (answer mode): an onset (with the rest before
    /// it, if any), a hold, or, in a pause, nothing yet.
    fn listen(&mut self, pressed: Option<u8>) {
        if let Some(p) = pressed {
            self.silent_steps = 0;
            let owed = std::mem::take(&mut self.rest_fed).min(MAX_REST_FED);
            if self.phrase_len > 0 {
                // The rests kept are the steps just before this one.
                let now = self.position as u32 + POSITIONS as u32 * MAX_REST_FED;
                for i in 0..owed {
                    let at = ((now - owed + i) % POSITIONS as u32) as u8;
                    self.keep_at(if i == 0 { NOTE_OFF } else { HOLD }, at);
                }
            }
            self.keep(p.min(127));
        } else if self.phrase_len > 0 {
            if self.held.is_some() {
                self.keep(HOLD);
            } else {
                self.silent_steps += 1;
                self.rest_fed += 1;
            }
        }
    }

    /// Appends a token played at this step to the phrase.
    fn keep(&mut self, token: Token) {
        self.keep_at(token, self.position);
    }

    /// Appends a token at `position` to the phrase, forgetting its oldest 16th when full.
    fn keep_at(&mut self, token: Token, position: u8) {
        if self.phrase_len == PHRASE_CAPACITY {
            self.phrase.copy_within(1.., 0);
            self.phrase_positions.copy_within(1.., 0);
            self.phrase_len -= 1;
        }
        self.phrase[self.phrase_len] = token;
        self.phrase_positions[self.phrase_len] = position;
        self.phrase_len += 1;
    }

    /// Feeds up to `most` more phrase tokens, onsets moved into C/Am by the phrase's shift.
    fn refeed(&mut self, model: usize, most: usize) {
        let end = (self.refed + most).min(self.phrase_len);
        for i in self.refed..end {
            let t = self.phrase[i];
            let token = if t < 128 {
                (t as i32 - self.phrase_shift).clamp(0, 127) as Token
            } else {
                t
            };
            self.feed(model, token, self.phrase_positions[i]);
        }
        self.refed = end;
    }

    /// Samples the next token, feeds it back, and says what the voice does.
    fn generate(&mut self, s: &MelodySettings, shift: i32) -> StepOut {
        if is_markov(s.model) {
            return self.generate_markov(s);
        }
        if !self.has_model(s.model) {
            return StepOut {
                off: self.sounding.take(),
                on: None,
            };
        }
        let token = self.sample(s, shift);
        self.feed(s.model, token, self.position);
        match token {
            HOLD => StepOut::default(),
            NOTE_OFF => StepOut {
                off: self.sounding.take(),
                on: None,
            },
            p => {
                let pitch = (p as i32 + shift).clamp(0, 127) as u8;
                StepOut {
                    off: self.sounding.replace(pitch),
                    on: Some((pitch, s.velocity.clamp(1, 127))),
                }
            }
        }
    }

    /// The Markov chain's step: the note (or rest) it plays goes on, or the next is drawn. Not
    /// inlined: once a 16th, and the page's wasm module has a size budget.
    #[inline(never)]
    fn generate_markov(&mut self, s: &MelodySettings) -> StepOut {
        if self.voice_left > 0 {
            self.voice_left -= 1;
            return StepOut::default();
        }
        let order = if s.model == MARKOV_MODEL { 1 } else { 2 };
        let rng = &mut self.rng;
        let drawn = self.markov.sample(
            &mut self.voice,
            order,
            s.temperature,
            self.start_with_note,
            || rng.unit_f64() as f32,
        );
        let ends = StepOut {
            off: self.sounding.take(),
            on: None,
        };
        let Some((state, duration)) = drawn else {
            return ends;
        };
        self.voice_left = u32::from(DURATIONS[usize::from(duration)]) - 1;
        let Some(pitch) = markov::state_pitch(state, self.key_in_force(s.key)) else {
            return ends;
        };
        self.start_with_note = false;
        let pitch = into_range(pitch, s.low, s.high);
        self.sounding = Some(pitch);
        StepOut {
            off: ends.off,
            on: Some((pitch, s.velocity.clamp(1, 127))),
        }
    }

    /// Draws a token from the current logits shaped by the settings.
    fn sample(&mut self, s: &MelodySettings, shift: i32) -> Token {
        let bias = density_bias(s.density);
        let (low, high) = (s.low.min(s.high) as i32, s.low.max(s.high) as i32);
        for (t, (p, &l)) in self.probs.iter_mut().zip(&self.logits).enumerate() {
            *p = if t < 128 {
                let out = t as i32 + shift;
                if (low..=high).contains(&out) {
                    l + bias
                } else {
                    f32::NEG_INFINITY
                }
            } else if self.start_with_note {
                // A line starts with a pitch, as every training line does, and an answer starts
                // on its bar line: without this, argmax (temperature 0) would pick "hold" from
                // rest and never begin.
                f32::NEG_INFINITY
            } else {
                l
            };
        }
        if self.probs.iter().all(|&l| l == f32::NEG_INFINITY) {
            // Only reachable when no pitch of the range is a token (e.g. 0–0 in a sharp key).
            return HOLD;
        }
        let shaped = self.probs;
        tidepool_melody::lstm::softmax(&shaped, s.temperature, &mut self.probs);
        self.start_with_note = false;
        let u = self.rng.unit_f64() as f32;
        let mut acc = 0.0f32;
        let mut last_possible = HOLD;
        for (t, &p) in self.probs.iter().enumerate() {
            if p > 0.0 {
                last_possible = t as Token;
                acc += p;
                if u < acc {
                    return t as Token;
                }
            }
        }
        last_possible
    }

    /// Tokens fed to a model so far: each is one model step, the melody's unit of work.
    pub fn feeds(&self) -> u64 {
        self.feeds
    }

    /// Feeds `token`, heard at `position` in the bar, to model `model`.
    fn feed(&mut self, model: usize, token: Token, position: u8) {
        let Some(brain) = self.brains.get_mut(model).and_then(Option::as_mut) else {
            return;
        };
        self.feeds += 1;
        match brain {
            Brain::Lstm(lstm) => self.logits.copy_from_slice(lstm.step(token, position)),
            Brain::NGram(ngram) => {
                if self.history_len == self.history.len() {
                    self.history.rotate_left(1);
                    self.history_len -= 1;
                }
                self.history[self.history_len] = token;
                self.history_len += 1;
                ngram_logits(ngram, &self.history[..self.history_len], &mut self.logits);
            }
        }
    }

    /// The model `model` back at rest, with the logits of a line's first token.
    fn reset_brain(&mut self, model: usize) {
        self.history_len = 0;
        if is_markov(model) {
            self.voice = self.markov.context();
            self.voice_left = 0;
            return;
        }
        match self.brains.get_mut(model).and_then(Option::as_mut) {
            Some(Brain::Lstm(lstm)) => {
                lstm.reset();
                self.logits.copy_from_slice(lstm.rest_logits());
            }
            Some(Brain::NGram(ngram)) => ngram_logits(ngram, &[], &mut self.logits),
            None => self.logits.fill(0.0),
        }
    }
}

const STREAM: u64 = 0x6d65_6c6f; // "melo": independent of the reservoirs' streams

/// `pitch` moved by octaves into `low`–`high` (keeping its pitch class and so the intervals
/// within the range); clamped when the range is narrower than an octave.
fn into_range(pitch: i32, low: u8, high: u8) -> u8 {
    let (low, high) = (i32::from(low.min(high)), i32::from(low.max(high)));
    let mut p = pitch;
    if p < low {
        p += 12 * (low - p + 11).div_euclid(12);
    }
    if p > high {
        p -= 12 * (p - high + 11).div_euclid(12);
    }
    p.clamp(low, high).clamp(0, 127) as u8
}

/// Log-probabilities of an n-gram model as logits.
fn ngram_logits(ngram: &NGram, history: &[Token], logits: &mut [f32; VOCAB]) {
    let mut dist = [0.0f64; VOCAB];
    ngram.distribution(history, &mut dist);
    for (l, p) in logits.iter_mut().zip(dist) {
        *l = libm::log(p.max(1e-30)) as f32;
    }
}

/// Nats added to every onset's logit: density 50 % leaves the model as trained, 100 % makes
/// onsets e³ ≈ 20 times likelier against holds and rests, 0 % 20 times less likely.
pub fn density_bias(density: f32) -> f32 {
    let d = if density.is_finite() { density } else { 50.0 };
    (d.clamp(0.0, 100.0) - 50.0) / 50.0 * 3.0
}
