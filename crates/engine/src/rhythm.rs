//! The rhythm sequencer: three tracks, each a stacked-autoencoder decoder (Wastnidge) played as a
//! 32-step pattern. The track's X/Y point goes through the decoder to 32 probabilities, the
//! threshold turns them into hits, the length loops the first steps, and eight pitch steps (or
//! the held keys) give each hit its note, cycling on from hit to hit.
//!
//! Steps fall on the transport's sixteenths (with its swing) at exact frames: step `k` of the
//! transport plays pattern step `k mod length`, so a 32-step pattern starts on every second bar
//! line of a 4/4 transport. Decoding happens on the audio path only when the point or the model
//! changed, into fixed arrays: nothing here allocates after construction except the methods that
//! say so (installing models).

use crate::params::{track_param, ParamId, ParamValues};
use tidepool_rhythm::decoder::{Decoded, Decoder};
use tidepool_rhythm::STEPS;

/// Tracks of the sequencer (the paper's ensemble of three agents).
pub const TRACKS: usize = 3;
/// The built-in models, by the name a patch refers to them with: the paper's four architectures
/// trained on the built-in corpus (`web/models/rhythm-<name>.tprd`).
pub const BUILTIN_MODELS: [&str; 4] = ["prototype", "model1", "model2", "model3"];
/// Marks a model embedded in the patch text (`rh1.model=~<compact decoder, base64url>`).
pub const EMBEDDED_PREFIX: char = '~';
/// Notes of one track that can wait for their note-off at once (a gate never exceeds a step,
/// so two are the most a track has; more only if steps come faster than offs).
const PENDING: usize = 8;

/// Which decoder a track plays: a built-in (index into [`BUILTIN_MODELS`]) or one the musician
/// trained, carried in the patch as text.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelRef {
    Builtin(usize),
    Embedded(String),
}

impl ModelRef {
    /// Reads a `rhN.model` value: a built-in's name, or `~` and a compact decoder (checked by
    /// decoding it, which allocates: never on the audio path).
    pub fn parse(raw: &str) -> Result<(ModelRef, Option<Decoder>), String> {
        if let Some(text) = raw.strip_prefix(EMBEDDED_PREFIX) {
            let decoder = Decoder::from_text(text)?;
            return Ok((ModelRef::Embedded(text.to_string()), Some(decoder)));
        }
        BUILTIN_MODELS
            .iter()
            .position(|name| name.eq_ignore_ascii_case(raw))
            .map(|i| (ModelRef::Builtin(i), None))
            .ok_or_else(|| {
                "not a built-in model (prototype, model1, model2, model3) nor an embedded one (~…)"
                    .to_string()
            })
    }

    /// The value as patch text writes it.
    pub fn text(&self) -> String {
        match self {
            ModelRef::Builtin(i) => BUILTIN_MODELS[*i].to_string(),
            ModelRef::Embedded(text) => format!("{EMBEDDED_PREFIX}{text}"),
        }
    }
}

/// The three tracks' models, as a patch holds them.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackModels(pub [ModelRef; TRACKS]);

impl Default for TrackModels {
    /// Three distinct agents, as the paper's ensemble: model 1, model 3 and the prototype.
    /// Not model 2: trained as the paper specifies it (L2 0.01 on every weight matrix, dropout
    /// 0.2, Keras's loss scale), it collapses to one rhythm over the whole pad on the built-in
    /// corpus; it stays a choice.
    fn default() -> Self {
        Self([
            ModelRef::Builtin(1),
            ModelRef::Builtin(3),
            ModelRef::Builtin(0),
        ])
    }
}

/// The patch-text key of track `track`'s (0–2) model field.
pub fn model_key(track: usize) -> String {
    format!("rh{}.model", track + 1)
}

/// The track (0–2) whose model field `key` is, if it is one.
pub fn track_of_model_key(key: &str) -> Option<usize> {
    let n = key.strip_prefix("rh")?.strip_suffix(".model")?;
    match n {
        "1" => Some(0),
        "2" => Some(1),
        "3" => Some(2),
        _ => None,
    }
}

/// A note a track plays or ends: `velocity` 0 ends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackNote {
    pub track: usize,
    pub pitch: u8,
    pub velocity: u8,
    /// The MIDI channel (0-based) it was started on: its note-off goes to the same one.
    pub channel: u8,
}

#[derive(Clone, Copy, Debug, Default)]
struct Pending {
    off: u64,
    pitch: u8,
    channel: u8,
}

struct Track {
    model: ModelRef,
    embedded: Option<Decoder>,
    decoded: Decoded,
    /// The point and model generation `decoded` was computed for.
    decoded_for: Option<(f32, f32, u64)>,
    /// Hits played so far: which pitch step comes next.
    hit_count: usize,
    pending: [Pending; PENDING],
    pending_len: usize,
    /// The pattern step played last (for the grid), if the track played since the start.
    last_step: Option<usize>,
}

impl Track {
    fn new(model: ModelRef, embedded: Option<Decoder>) -> Self {
        Self {
            model,
            embedded,
            decoded: Decoded {
                prob: [0.0; STEPS],
                velocity: [0.0; STEPS],
            },
            decoded_for: None,
            hit_count: 0,
            pending: [Pending::default(); PENDING],
            pending_len: 0,
            last_step: None,
        }
    }
}

/// The three tracks, the built-in models, and the notes waiting for their offs.
pub struct RhythmUnit {
    builtins: [Option<Decoder>; BUILTIN_MODELS.len()],
    tracks: [Track; TRACKS],
    /// Bumped whenever any model changes, so every decode is redone.
    generation: u64,
}

/// Velocity 1–127 of a 0–1 model output.
fn velocity_of(value: f32) -> u8 {
    let v = if value.is_finite() { value } else { 0.0 };
    (1.0 + libm::roundf(v.clamp(0.0, 1.0) * 126.0)) as u8
}

impl RhythmUnit {
    /// The tracks with `models`, their embedded decoders already read (see [`ModelRef::parse`]).
    pub fn new(models: &TrackModels) -> Self {
        let mut unit = Self {
            builtins: [None, None, None, None],
            tracks: [0, 1, 2].map(|t| Track::new(ModelRef::Builtin(t + 1), None)),
            generation: 0,
        };
        for (track, model) in models.0.iter().enumerate() {
            let embedded = match model {
                ModelRef::Embedded(text) => Decoder::from_text(text).ok(),
                ModelRef::Builtin(_) => None,
            };
            unit.set_model(track, model.clone(), embedded);
        }
        unit
    }

    /// The models the tracks play, as a patch holds them.
    pub fn models(&self) -> TrackModels {
        TrackModels(std::array::from_fn(|t| self.tracks[t].model.clone()))
    }

    /// Installs a built-in model's decoder; returns the one it replaces (drop it off the audio
    /// path).
    pub fn install_builtin(&mut self, index: usize, decoder: Decoder) -> Option<Decoder> {
        let slot = self.builtins.get_mut(index)?;
        self.generation += 1;
        slot.replace(decoder)
    }

    /// Makes track `track` play `model` (with its decoder when embedded); returns the embedded
    /// decoder it replaces, to be dropped off the audio path.
    pub fn set_model(
        &mut self,
        track: usize,
        model: ModelRef,
        embedded: Option<Decoder>,
    ) -> Option<Decoder> {
        let t = self.tracks.get_mut(track)?;
        t.model = model;
        self.generation += 1;
        std::mem::replace(&mut t.embedded, embedded)
    }

    /// The built-in models a track that is on refers to and that are not installed, by index.
    pub fn missing_builtins(&self, v: &ParamValues) -> [bool; BUILTIN_MODELS.len()] {
        let mut missing = [false; BUILTIN_MODELS.len()];
        for (t, track) in self.tracks.iter().enumerate() {
            if let ModelRef::Builtin(i) = track.model {
                missing[i] |= self.builtins[i].is_none() && v.on(track_param(t, ParamId::Rh1On));
            }
        }
        missing
    }

    fn decoder(&self, track: usize) -> Option<&Decoder> {
        let t = &self.tracks[track];
        match t.model {
            ModelRef::Builtin(i) => self.builtins[i].as_ref(),
            ModelRef::Embedded(_) => t.embedded.as_ref(),
        }
    }

    /// Decodes track `track`'s point if it or the model changed since the last decode; false
    /// when the track has no decoder (a built-in not installed yet). Never allocates.
    fn refresh(&mut self, track: usize, v: &ParamValues) -> bool {
        let x = v.get(track_param(track, ParamId::Rh1X)) as f32;
        let y = v.get(track_param(track, ParamId::Rh1Y)) as f32;
        let key = Some((x, y, self.generation));
        // The decoder and the output buffer are disjoint fields: borrowed side by side.
        let t = &mut self.tracks[track];
        let decoder = match t.model {
            ModelRef::Builtin(i) => self.builtins[i].as_ref(),
            ModelRef::Embedded(_) => t.embedded.as_ref(),
        };
        let Some(decoder) = decoder else {
            return false;
        };
        if t.decoded_for != key {
            decoder.decode([x, y], &mut t.decoded);
            t.decoded_for = key;
        }
        true
    }

    /// Track `track`'s decoder output for its current point (probabilities and velocities), or
    /// None without a decoder. For the grid; never allocates.
    pub fn view(&mut self, track: usize, v: &ParamValues) -> Option<(&Decoded, Option<usize>)> {
        if track >= TRACKS || !self.refresh(track, v) {
            return None;
        }
        let t = &self.tracks[track];
        Some((&t.decoded, t.last_step))
    }

    /// Plays transport sixteenth `sixteenth` at `frame` on every track (`step_frames`: frames to
    /// the next sixteenth, for the gate; `held`: the held keys' pitches in ascending order, for
    /// tracks taking their pitches from the keys). `emit` gets each note-on (and the note-off
    /// of a note of the same pitch still sounding on the track, first). Never allocates.
    pub fn step(
        &mut self,
        frame: u64,
        sixteenth: u64,
        step_frames: f64,
        v: &ParamValues,
        held: &[u8],
        mut emit: impl FnMut(TrackNote),
    ) {
        let solo = (0..TRACKS).any(|t| v.on(track_param(t, ParamId::Rh1Solo)));
        for track in 0..TRACKS {
            let p = |first| track_param(track, first);
            if !v.on(p(ParamId::Rh1On)) || !self.refresh(track, v) {
                continue;
            }
            let length = v.index(p(ParamId::Rh1Length)).clamp(1, STEPS) as u64;
            let step = (sixteenth % length) as usize;
            let t = &mut self.tracks[track];
            t.last_step = Some(step);
            let probability = t.decoded.prob[step];
            // A NaN probability (never from a checked decoder) is no hit.
            let threshold = v.get(p(ParamId::Rh1Threshold)) as f32;
            if probability.is_nan() || probability < threshold {
                continue;
            }
            let index = t.hit_count;
            t.hit_count = t.hit_count.wrapping_add(1);
            let audible = !v.on(p(ParamId::Rh1Mute)) && (!solo || v.on(p(ParamId::Rh1Solo)));
            let base = if v.index(p(ParamId::Rh1PitchFrom)) == 1 {
                if held.is_empty() {
                    continue;
                }
                held[index % held.len()]
            } else {
                let steps = v.index(p(ParamId::Rh1PitchSteps)).clamp(1, 8);
                let first = ParamId::Rh1Pitch1.index() - ParamId::Rh1On.index();
                let id = ParamId::from_index(p(ParamId::Rh1On).index() + first + index % steps);
                id.map_or(60, |id| v.index(id) as u8)
            };
            if !audible {
                continue;
            }
            let pitch = (base as i32 + v.get(p(ParamId::Rh1Transpose)) as i32).clamp(0, 127) as u8;
            let velocity = match v.index(p(ParamId::Rh1Velocity)) {
                0 => velocity_of(probability),
                1 => velocity_of(t.decoded.velocity[step]),
                _ => v.index(p(ParamId::Rh1FixedVelocity)).clamp(1, 127) as u8,
            };
            let channel = (v.index(p(ParamId::Rh1Channel)).clamp(1, 16) - 1) as u8;
            let gate = libm::round(v.get(p(ParamId::Rh1Gate)) * step_frames).max(1.0) as u64;
            // The same pitch still sounding on this track ends first (a retrigger), and a full
            // list ends its oldest note now rather than leave one hanging.
            let same = t.pending[..t.pending_len]
                .iter()
                .position(|n| n.pitch == pitch);
            let ended = same.or((t.pending_len == PENDING).then_some(0));
            if let Some(i) = ended {
                let n = t.pending[i];
                t.pending.copy_within(i + 1..t.pending_len, i);
                t.pending_len -= 1;
                emit(TrackNote {
                    track,
                    pitch: n.pitch,
                    velocity: 0,
                    channel: n.channel,
                });
            }
            t.pending[t.pending_len] = Pending {
                off: frame + gate,
                pitch,
                channel,
            };
            t.pending_len += 1;
            emit(TrackNote {
                track,
                pitch,
                velocity,
                channel,
            });
        }
    }

    /// Whether any track has a note waiting for its off (checked every frame, so cheap).
    #[inline]
    pub fn any_pending(&self) -> bool {
        self.tracks.iter().any(|t| t.pending_len > 0)
    }

    /// Ends the notes whose off is due by `due` (u64::MAX: all of them) on the tracks marked in
    /// `tracks`. Never allocates.
    pub fn due_offs(&mut self, due: u64, tracks: [bool; TRACKS], mut emit: impl FnMut(TrackNote)) {
        for (track, t) in self.tracks.iter_mut().enumerate() {
            if t.pending_len == 0 || !tracks[track] {
                continue;
            }
            let mut kept = 0;
            for i in 0..t.pending_len {
                let n = t.pending[i];
                if n.off <= due {
                    emit(TrackNote {
                        track,
                        pitch: n.pitch,
                        velocity: 0,
                        channel: n.channel,
                    });
                } else {
                    t.pending[kept] = n;
                    kept += 1;
                }
            }
            t.pending_len = kept;
        }
    }

    /// Starts every track over: the pitch steps from the first, no step played yet.
    pub fn restart(&mut self) {
        for t in &mut self.tracks {
            t.hit_count = 0;
            t.last_step = None;
        }
    }

    /// Notes sounding now on track `track`.
    pub fn sounding(&self, track: usize) -> usize {
        self.tracks.get(track).map_or(0, |t| t.pending_len)
    }

    /// Whether track `track` has a decoder to play.
    pub fn ready(&self, track: usize) -> bool {
        track < TRACKS && self.decoder(track).is_some()
    }
}

/// Two-bar windows the played keys' onsets are kept in ("learn from my playing").
pub const PLAYED_WINDOWS: usize = 8;

/// The last [`PLAYED_WINDOWS`] 2-bar windows of keys played while the transport ran, each onset
/// rounded to its nearest sixteenth with its velocity: rhythms the musician played, to train on.
/// Fixed arrays: recording a note never allocates.
#[derive(Clone, Debug)]
pub struct PlayedRhythms {
    /// (window number since beat 0, velocity per step, 0 where nothing was played), oldest
    /// first; windows with no onset are not kept.
    windows: [(u64, [u8; STEPS]); PLAYED_WINDOWS],
    len: usize,
}

impl Default for PlayedRhythms {
    fn default() -> Self {
        Self {
            windows: [(0, [0; STEPS]); PLAYED_WINDOWS],
            len: 0,
        }
    }
}

impl PlayedRhythms {
    /// A key played at transport position `beats` with `velocity`.
    pub fn note(&mut self, beats: f64, velocity: u8) {
        if !beats.is_finite() || beats < 0.0 {
            return;
        }
        let sixteenth = libm::round(beats * 4.0) as u64;
        let (window, step) = (
            sixteenth / STEPS as u64,
            (sixteenth % STEPS as u64) as usize,
        );
        let found = self.windows[..self.len].iter().position(|w| w.0 == window);
        let slot = match found {
            Some(i) => i,
            None => {
                if self.len == PLAYED_WINDOWS {
                    self.windows.copy_within(1.., 0);
                    self.len -= 1;
                }
                self.windows[self.len] = (window, [0; STEPS]);
                self.len += 1;
                self.len - 1
            }
        };
        let hit = &mut self.windows[slot].1[step];
        *hit = (*hit).max(velocity.clamp(1, 127));
    }

    /// The kept windows, oldest first: (window number, velocity per step).
    pub fn windows(&self) -> &[(u64, [u8; STEPS])] {
        &self.windows[..self.len]
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }
}
