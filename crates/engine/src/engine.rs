//! The engine: one clock, the reservoir LFO and arpeggiator, the synth; `process` renders a block.
//!
//! Control methods (`new`, `push_event`, `install`) may allocate; `process` never allocates,
//! locks or panics, and splits nothing by block: every decision is taken on an absolute frame,
//! so any block size gives the same output.

use crate::arp::{ArpUnit, Mode, Velocity};
use crate::events::{ClockIn, FixedQueue, Input, InputEvent, MidiEvent, NoteEvent, Source};
use crate::keys::Keys;
use crate::learned;
use crate::lfo::{LfoUnit, Smoothing};
use crate::lfo_cc::LfoCc;
use crate::melody::{is_markov, Brain, MelodySettings, MelodyUnit, Phase, StepOut};
use crate::midi_clock::{self, ClockFollower, ClockSender, Follow};
use crate::params::{
    track_field, track_param, ParamId, ParamValues, DIVISION_BEATS, MELODY_FILE_MODEL, PARAMS,
    PARAM_COUNT,
};
use crate::patch::Patch;
use crate::rhythm::{ModelRef, PlayedRhythms, RhythmUnit, TrackNote, BUILTIN_MODELS, TRACKS};
use crate::synth::{Modulation, Synth, SynthSettings};
use crate::transport::{Clock, FreeClock, Transport};
use tidepool_reservoir::{EsnKnobs, ReservoirArp, ReservoirLfo};
use tidepool_rhythm::decoder::{Decoded, Decoder};

/// Frames between control-rate updates (filter coefficients, modulation, smoothing).
pub const CONTROL_FRAMES: u32 = 16;
/// Input events that can wait at once.
pub const INPUT_CAPACITY: usize = 1024;
/// Note events one block can produce before the caller drains them.
pub const OUTPUT_CAPACITY: usize = 1024;
/// MIDI clock and CC messages one block can produce before the caller drains them.
pub const MIDI_CAPACITY: usize = 1024;

/// Counters of everything the engine recovered from, for the UI and the CLI to report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Status {
    pub frame: u64,
    /// Times a reservoir state went non-finite and was reset (the LFO's, the arpeggiator's).
    pub lfo_nan_resets: u64,
    pub arp_nan_resets: u64,
    /// Input events refused because the queue was full.
    pub dropped_inputs: u64,
    /// Note events lost because the caller did not drain the output queue.
    pub dropped_notes: u64,
    /// MIDI clock and CC messages lost because the caller did not drain their queue.
    pub dropped_midi: u64,
    pub voices_stolen: u64,
    pub synth_non_finite: u64,
    /// Synth voices making sound now (the melody voice included).
    pub sounding: usize,
    /// A network change is waiting to be built off the audio path.
    pub rebuild_pending: bool,
    /// Work done so far: reservoir steps of the LFO and the arpeggiator, tokens fed to the
    /// melody model. A block's cost follows these (and the networks' shapes), so a host can tell
    /// a block that did more work from one that was slow for no reason (a denormal, say).
    pub lfo_steps: u64,
    pub arp_steps: u64,
    pub melody_feeds: u64,
}

/// What identifies a network: neurons, connectivity, seed.
pub type Shape = (usize, f32, u64);

/// Networks to build off the audio path, for a changed size, connectivity or seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rebuild {
    pub lfo: Option<Shape>,
    pub arp: Option<Shape>,
}

/// Networks built from a [`Rebuild`] with the shape each was built for, ready to be swapped in
/// (or swapped out, to be dropped).
#[derive(Debug, Default)]
pub struct Built {
    pub lfo: Option<(Shape, ReservoirLfo)>,
    pub arp: Option<(Shape, ReservoirArp)>,
}

impl Rebuild {
    /// Builds the networks. Allocates and costs up to about a second at N = 1000 (the spectral
    /// radius): never call it from the audio callback.
    pub fn build(&self) -> Built {
        self.build_with_radii(f64::NAN, f64::NAN)
    }

    /// Builds the networks with their W radii already known ([`network_radius`], computed on
    /// another thread): O(N·K), about a millisecond. NaN radii are computed here.
    pub fn build_with_radii(&self, lfo_radius: f64, arp_radius: f64) -> Built {
        Built {
            lfo: self
                .lfo
                .map(|(n, c, s)| ((n, c, s), ReservoirLfo::with_radius(n, c, s, lfo_radius))),
            arp: self
                .arp
                .map(|(n, c, s)| ((n, c, s), ReservoirArp::with_radius(n, c, s, arp_radius))),
        }
    }
}

/// The spectral radius of the recurrent weights of a network of `neurons`, `connectivity`,
/// `seed` before normalisation: the expensive part of a rebuild, for a worker. Needs the
/// `spectral` feature.
#[cfg(feature = "spectral")]
pub fn network_radius(neurons: usize, connectivity: f32, seed: u64) -> f64 {
    tidepool_reservoir::ReservoirConfig {
        neurons,
        connectivity,
        seed,
        inputs: 1,
        outputs: 1,
        feedback: 0,
    }
    .recurrent_radius()
}

fn lfo_shape(v: &ParamValues) -> Shape {
    (
        v.index(ParamId::LfoNeurons),
        v.get(ParamId::LfoConnectivity) as f32,
        v.get(ParamId::LfoSeed) as u64,
    )
}

fn arp_shape(v: &ParamValues) -> Shape {
    (
        v.index(ParamId::ArpNeurons),
        v.get(ParamId::ArpConnectivity) as f32,
        v.get(ParamId::ArpSeed) as u64,
    )
}

/// The whole instrument minus I/O.
pub struct Engine {
    sample_rate: f64,
    frame: u64,
    values: ParamValues,
    smoothed: [f64; PARAM_COUNT],
    smooth_coef: [f64; PARAM_COUNT],
    transport: Transport,
    beat_clock: Clock,
    bar_clock: Clock,
    lfo_clock: Clock,
    lfo_free: FreeClock,
    arp_clock: Clock,
    lfo: LfoUnit,
    lfo_built: Shape,
    arp: ArpUnit,
    arp_built: Shape,
    melody: MelodyUnit,
    mel_clock: Clock,
    mel_synth: Synth,
    rhythm: RhythmUnit,
    rhy_clock: Clock,
    /// One voice set per rhythm track, so one track's note-off never ends another's note.
    rhy_synths: [Synth; TRACKS],
    /// A track is on or its synth still rings: worth rendering (updated at control rate).
    rhy_live: [bool; TRACKS],
    /// The keys' onsets on the sixteenth grid, for "learn from my playing".
    played: PlayedRhythms,
    synth: Synth,
    keys: Keys,
    /// Notes sounding from the keys directly (arpeggiator off), to stop them on panic.
    direct: [bool; 128],
    inputs: FixedQueue<InputEvent>,
    outputs: FixedQueue<NoteEvent>,
    midi: FixedQueue<MidiEvent>,
    clock_sender: ClockSender,
    /// Frames a tick is announced ahead of itself ([`midi_clock::CLOCK_LOOKAHEAD_S`]).
    clock_lookahead: u64,
    /// A MIDI Start waits for the next bar line (clock out switched on while playing).
    clock_start_pending: bool,
    follower: ClockFollower,
    lfo_cc: LfoCc,
    status: Status,
}

impl Engine {
    /// An engine playing `patch` at `sample_rate`. Builds both networks (allocates).
    pub fn new(sample_rate: f64, patch: &Patch) -> Self {
        Self::with_radii(sample_rate, patch, f64::NAN, f64::NAN)
    }

    /// As [`Engine::new`], with the two networks' W radii already known ([`network_radius`]):
    /// what an audio thread uses so it never runs the O(N³) part. A NaN radius is computed here;
    /// without the `spectral` feature that gives another network (see
    /// `tidepool_reservoir::Esn::generate_with_radius`), so builds without it pass radii.
    pub fn with_radii(sample_rate: f64, patch: &Patch, lfo_radius: f64, arp_radius: f64) -> Self {
        let sample_rate = if sample_rate.is_finite() {
            sample_rate.clamp(8000.0, 384_000.0)
        } else {
            48000.0
        };
        let v = patch.values.clone();
        let mut smoothed = [0.0; PARAM_COUNT];
        let mut smooth_coef = [1.0; PARAM_COUNT];
        for (i, spec) in PARAMS.iter().enumerate() {
            smoothed[i] = v.get(ParamId::from_index(i).expect("table index"));
            if spec.smoothing_ms > 0.0 {
                let tau_frames = spec.smoothing_ms as f64 * 0.001 * sample_rate;
                smooth_coef[i] = 1.0 - libm::exp(-(CONTROL_FRAMES as f64) / tau_frames);
            }
        }
        let lfo_built = lfo_shape(&v);
        let arp_built = arp_shape(&v);
        let built = Rebuild {
            lfo: Some(lfo_built),
            arp: Some(arp_built),
        }
        .build_with_radii(lfo_radius, arp_radius);
        let (lfo, arp) = (built.lfo.expect("built").1, built.arp.expect("built").1);
        let mut engine = Self {
            sample_rate,
            frame: 0,
            // A follower waits for the sender's Start or Continue.
            transport: Transport::new(
                sample_rate,
                v.get(ParamId::Tempo),
                v.on(ParamId::Playing) && !v.on(ParamId::ClockFollow),
            ),
            beat_clock: Clock::new(1.0, 0.5),
            bar_clock: Clock::new(v.get(ParamId::BeatsPerBar), 0.5),
            lfo_clock: Clock::new(
                DIVISION_BEATS[v.index(ParamId::LfoDivision)],
                v.get(ParamId::Swing) / 100.0,
            ),
            lfo_free: FreeClock::new(),
            arp_clock: Clock::new(
                DIVISION_BEATS[v.index(ParamId::ArpDivision)],
                v.get(ParamId::ArpSwing) / 100.0,
            ),
            lfo: LfoUnit::new(lfo),
            lfo_built,
            arp: ArpUnit::new(arp, arp_built.2),
            arp_built,
            melody: MelodyUnit::new(v.get(ParamId::MelodySeed) as u64),
            mel_clock: Clock::new(0.25, v.get(ParamId::Swing) / 100.0),
            mel_synth: Synth::new(sample_rate as f32, melody_voice(&v, &smoothed)),
            rhythm: RhythmUnit::new(&patch.models),
            rhy_clock: Clock::new(0.25, v.get(ParamId::Swing) / 100.0),
            rhy_synths: std::array::from_fn(|t| {
                Synth::new(sample_rate as f32, rhythm_voice(t, &smoothed))
            }),
            rhy_live: std::array::from_fn(|t| v.on(track_param(t, ParamId::Rh1On))),
            played: PlayedRhythms::default(),
            synth: Synth::new(sample_rate as f32, synth_settings(&v, &smoothed)),
            keys: Keys::default(),
            direct: [false; 128],
            inputs: FixedQueue::with_capacity(INPUT_CAPACITY),
            outputs: FixedQueue::with_capacity(OUTPUT_CAPACITY),
            midi: FixedQueue::with_capacity(MIDI_CAPACITY),
            clock_sender: ClockSender::default(),
            clock_lookahead: libm::round(midi_clock::CLOCK_LOOKAHEAD_S * sample_rate) as u64,
            clock_start_pending: v.on(ParamId::ClockOut)
                && v.on(ParamId::Playing)
                && !v.on(ParamId::ClockFollow),
            follower: ClockFollower::new(60.0 * sample_rate / v.get(ParamId::Tempo)),
            lfo_cc: LfoCc::new(sample_rate),
            status: Status::default(),
            values: v,
            smoothed,
            smooth_coef,
        };
        engine.apply_knobs();
        engine.set_learning();
        if let Some(text) = &patch.markov {
            // Checked when the patch was parsed; a patch built by hand with a bad table plays
            // with an empty chain, as a link whose table was refused does.
            let loaded = learned::table_bytes(text).and_then(|b| engine.melody.load_markov(&b));
            debug_assert!(loaded.is_ok(), "{loaded:?}");
        }
        engine.restart_melody(0);
        engine
    }

    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    /// Frames rendered so far: the frame the next sample will have.
    pub fn frame(&self) -> u64 {
        self.frame
    }

    /// The patch as it stands now (knob changes included).
    pub fn patch(&self) -> Patch {
        Patch {
            values: self.values.clone(),
            models: self.rhythm.models(),
            markov: learned::table_text(self.melody.markov()),
        }
    }

    pub fn param(&self, id: ParamId) -> f64 {
        self.values.get(id)
    }

    /// Queues an input for its frame (frames already past apply at the start of the next block).
    /// False, and counted, when the queue is full. Never allocates.
    pub fn push_event(&mut self, event: InputEvent) -> bool {
        let ok = self.inputs.insert_by_frame(event);
        if !ok {
            self.status.dropped_inputs += 1;
        }
        ok
    }

    /// Note events produced since the last drain, in frame order.
    pub fn notes(&self) -> &[NoteEvent] {
        self.outputs.as_slice()
    }

    /// Forgets the notes returned by [`Engine::notes`].
    pub fn clear_notes(&mut self) {
        self.outputs.clear();
    }

    /// MIDI clock and CC messages produced since the last drain, in frame order.
    pub fn midi(&self) -> &[MidiEvent] {
        self.midi.as_slice()
    }

    /// Forgets the messages returned by [`Engine::midi`].
    pub fn clear_midi(&mut self) {
        self.midi.clear();
    }

    pub fn status(&self) -> Status {
        Status {
            frame: self.frame,
            lfo_nan_resets: self.lfo.reservoir.esn().nan_resets(),
            arp_nan_resets: self.arp.reservoir.esn().nan_resets(),
            voices_stolen: self.synth.stolen(),
            synth_non_finite: self.synth.non_finite(),
            sounding: self.synth.sounding()
                + self.mel_synth.sounding()
                + self.rhy_synths.iter().map(Synth::sounding).sum::<usize>(),
            rebuild_pending: self.pending_rebuild().is_some(),
            melody_feeds: self.melody.feeds(),
            ..self.status
        }
    }

    /// The networks whose shape no longer matches the parameters, if any.
    pub fn pending_rebuild(&self) -> Option<Rebuild> {
        let lfo = (lfo_shape(&self.values) != self.lfo_built).then(|| lfo_shape(&self.values));
        let arp = (arp_shape(&self.values) != self.arp_built).then(|| arp_shape(&self.values));
        (lfo.is_some() || arp.is_some()).then_some(Rebuild { lfo, arp })
    }

    /// Swaps in networks built by [`Rebuild::build`]; returns the old ones so the caller can drop
    /// them off the audio path. A network built for another shape than the parameters ask for
    /// now (a stale build after a further change) is refused: returned as is.
    pub fn install(&mut self, mut built: Built) -> Built {
        let mut old = Built::default();
        if let Some((shape, lfo)) = built.lfo.take() {
            if shape == lfo_shape(&self.values) {
                // The output glides on from where it is, on the same step grid.
                let previous = std::mem::replace(&mut self.lfo.reservoir, lfo);
                old.lfo = Some((self.lfo_built, previous));
                self.lfo_built = shape;
            } else {
                old.lfo = Some((shape, lfo));
            }
        }
        if let Some((shape, arp)) = built.arp.take() {
            if shape == arp_shape(&self.values) {
                // Only the reservoir changes: the held entries, the pending note-offs of notes
                // sounding now and the step counter carry on, so nothing is left hanging.
                let previous = self.arp.swap_reservoir(arp, shape.2);
                old.arp = Some((self.arp_built, previous));
                self.arp_built = shape;
            } else {
                old.arp = Some((shape, arp));
            }
        }
        self.apply_knobs();
        old
    }

    /// The shapes (neurons, connectivity, seed) of the LFO's and the arpeggiator's networks as
    /// installed now: what plays, which can lag the parameters while a rebuild is on its way.
    pub fn installed_shapes(&self) -> (Shape, Shape) {
        (self.lfo_built, self.arp_built)
    }

    /// Reservoir neurons of the LFO (for the activity view).
    pub fn lfo_state(&self) -> &[f32] {
        self.lfo.reservoir.esn().state()
    }

    /// The LFO's current smoothed outputs, 0..1 (for the scope).
    pub fn lfo_values(&self) -> [f32; tidepool_reservoir::MAX_LFO_OUTPUTS] {
        self.lfo.values_at(
            self.frame,
            Smoothing::from_index(self.values.index(ParamId::LfoSmoothing)),
        )
    }

    /// p of the last reservoir arpeggio step, one per entry (ReMi's Fig. 2).
    pub fn arp_probabilities(&self) -> &[f32] {
        self.arp.reservoir.probabilities()
    }

    /// The arpeggiator's entries (pitches in arpeggio order).
    pub fn arp_entries(&self) -> impl Iterator<Item = u8> + '_ {
        self.arp.entries().iter().map(|e| e.pitch)
    }

    /// Renders `left.len()` frames (the shorter of the two slices). Never allocates or panics.
    pub fn process(&mut self, left: &mut [f32], right: &mut [f32]) {
        let len = left.len().min(right.len());
        for (l, r) in left[..len].iter_mut().zip(right[..len].iter_mut()) {
            while self.inputs.peek().is_some_and(|e| e.frame <= self.frame) {
                if let Some(event) = self.inputs.pop() {
                    self.apply(event);
                }
            }
            self.tick();
            (*l, *r) = self.mix_frame();
            self.frame += 1;
        }
    }

    /// One output frame: the main synth with the melody's and the rhythm tracks' voices mixed in
    /// when they sound (added only then, so a patch without them renders exactly as before).
    #[inline]
    fn mix_frame(&mut self) -> (f32, f32) {
        let mut extra = self.melody_audible().then(|| self.mel_synth.mix());
        if self.rhy_live.iter().any(|live| *live) {
            let (l, r) = self.mix_rhythm();
            extra = Some(extra.map_or((l, r), |(el, er)| (el + l, er + r)));
        }
        match extra {
            Some(other) => self.synth.frame_with(other),
            None => self.synth.frame(),
        }
    }

    /// The live rhythm tracks' voices, summed. Not inlined: one call per frame costs little and
    /// keeps another copy of the synth's mix out of the page's size-budgeted wasm module.
    #[inline(never)]
    fn mix_rhythm(&mut self) -> (f32, f32) {
        let (mut l, mut r) = (0.0, 0.0);
        for (synth, live) in self.rhy_synths.iter_mut().zip(self.rhy_live) {
            if live {
                let (sl, sr) = synth.mix();
                l += sl;
                r += sr;
            }
        }
        (l, r)
    }

    /// Everything that happens at one frame before the synth renders it.
    #[inline]
    fn tick(&mut self) {
        let frame = self.frame;
        let playing = self.transport.playing();
        let pos = self.transport.position(frame);
        let mut bar = false;
        if playing {
            let beat = self.beat_clock.poll(pos);
            bar = self.bar_clock.poll(pos);
            let pulse_mode = self.values.index(ParamId::LfoPulse);
            if (pulse_mode == 2 && beat) || (pulse_mode == 3 && bar) {
                self.lfo.pulse_pending = true;
            }
        }
        if playing {
            self.send_clock(frame, pos);
        }
        // Offs before ons: a note ending on the frame where the next begins must not cut it.
        self.end_arp_notes(frame, frame);
        if self.rhythm.any_pending() {
            self.end_rhythm_notes(frame, frame, [true; TRACKS]);
        }
        self.lfo_tick(frame, playing, pos);
        if playing && self.arp_clock.poll(pos) {
            self.arp_step(frame, pos);
        }
        if playing && self.mel_clock.poll(pos) {
            // A bar line is an even 16th, so the bar clock fires on this very frame.
            self.melody_step(frame, bar);
        }
        if playing && self.rhy_clock.poll(pos) {
            self.rhythm_step(frame, pos);
        }
        if frame.is_multiple_of(CONTROL_FRAMES as u64) {
            self.control(frame);
        }
    }

    fn lfo_tick(&mut self, frame: u64, playing: bool, pos: f64) {
        let v = &self.values;
        let free = v.index(ParamId::LfoSync) == 1;
        let step_frames = if free {
            let period = self.sample_rate / v.get(ParamId::LfoRate);
            if !self.lfo_free.poll(frame, period) {
                return;
            }
            period
        } else {
            if !(playing && self.lfo_clock.poll(pos)) {
                return;
            }
            self.lfo_clock.beats_to_next(pos) * self.transport.frames_per_beat()
        };
        let pulse = match v.index(ParamId::LfoPulse) {
            1 => self
                .lfo
                .steps()
                .is_multiple_of(v.get(ParamId::LfoPulseEvery) as u64),
            2 | 3 => self.lfo.pulse_pending,
            _ => false,
        };
        let level = if pulse {
            v.get(ParamId::LfoPulseLevel) as f32
        } else {
            0.0
        };
        let smoothing = Smoothing::from_index(v.index(ParamId::LfoSmoothing));
        self.lfo.step(frame, step_frames, level, smoothing);
        self.status.lfo_steps += 1;
    }

    fn arp_step(&mut self, frame: u64, pos: f64) {
        let v = &self.values;
        let mode = Mode::from_index(v.index(ParamId::ArpMode));
        if mode == Mode::Off {
            return;
        }
        self.arp.collect(
            &self.keys,
            v.index(ParamId::ArpOctaves),
            mode == Mode::Played,
        );
        let velocity = match v.index(ParamId::ArpVelocityMode) {
            0 => Velocity::Fixed(v.get(ParamId::ArpFixedVelocity) as u8),
            1 => Velocity::Played,
            _ => Velocity::Accent,
        };
        if mode == Mode::Reservoir && !self.arp.entries().is_empty() {
            self.status.arp_steps += 1;
        }
        let Some(note) = self
            .arp
            .choose(mode, v.get(ParamId::ArpConfidence) as f32, velocity)
        else {
            return;
        };
        let step_frames = self.arp_clock.beats_to_next(pos) * self.transport.frames_per_beat();
        let gate = (v.get(ParamId::ArpGate) * step_frames).round().max(1.0) as u64;
        self.synth.note_on(note.pitch, note.velocity);
        self.emit_note(Source::Arp, frame, note.pitch, note.velocity);
        if !self.arp.schedule_off(frame + gate, note.pitch) {
            // Only reachable with more than m notes pending: end them rather than hang one.
            self.end_arp_notes(frame, u64::MAX);
            self.arp.schedule_off(frame + gate, note.pitch);
        }
    }

    fn control(&mut self, frame: u64) {
        for (i, s) in self.smoothed.iter_mut().enumerate() {
            let target = self
                .values
                .get(ParamId::from_index(i).unwrap_or(ParamId::Tempo));
            *s += (target - *s) * self.smooth_coef[i];
        }
        let values = self.lfo.values_at(
            frame,
            Smoothing::from_index(self.values.index(ParamId::LfoSmoothing)),
        );
        let (midi, status) = (&mut self.midi, &mut self.status);
        self.lfo_cc
            .update(frame, &values, &self.values, |e| push_midi(midi, status, e));
        if self.following() && self.follower.silent_at(frame) {
            self.stop_transport(frame);
        }
        let outputs = self.lfo.reservoir.outputs();
        let modulation = LfoUnit::modulation(&values, outputs, &self.values, &self.smoothed);
        self.synth.control(
            synth_settings(&self.values, &self.smoothed),
            modulation,
            CONTROL_FRAMES,
        );
        if self.melody_audible() {
            self.mel_synth.control(
                melody_voice(&self.values, &self.smoothed),
                Modulation::default(),
                CONTROL_FRAMES,
            );
        }
        for track in 0..TRACKS {
            let live = self.values.on(track_param(track, ParamId::Rh1On))
                || self.rhy_synths[track].sounding() > 0;
            self.rhy_live[track] = live;
            if live {
                self.rhy_synths[track].control(
                    rhythm_voice(track, &self.smoothed),
                    Modulation::default(),
                    CONTROL_FRAMES,
                );
            }
        }
    }

    /// One sixteenth of the rhythm tracks at `frame`. Not inlined into the per-frame path: it
    /// runs once a sixteenth, and the page's wasm module has a size budget.
    #[inline(never)]
    fn rhythm_step(&mut self, frame: u64, pos: f64) {
        // The clock counts sixteenths from beat 0 (the one just fired is count − 1).
        let sixteenth = self.rhy_clock.count().saturating_sub(1);
        let step_frames = self.rhy_clock.beats_to_next(pos) * self.transport.frames_per_beat();
        let mut held = [0u8; 128];
        let mut count = 0;
        for pitch in 0..128u8 {
            if self.keys.held(pitch as usize) {
                held[count] = pitch;
                count += 1;
            }
        }
        let (rhythm, mut out) = self.rhythm_out(frame);
        let values = out.values;
        rhythm.step(frame, sixteenth, step_frames, values, &held[..count], |n| {
            out.play(n)
        });
    }

    /// The rhythm unit beside where its notes go at `frame` (borrowed side by side).
    fn rhythm_out(&mut self, frame: u64) -> (&mut RhythmUnit, TrackOut<'_>) {
        let out = TrackOut {
            synths: &mut self.rhy_synths,
            live: &mut self.rhy_live,
            outputs: &mut self.outputs,
            status: &mut self.status,
            values: &self.values,
            frame,
        };
        (&mut self.rhythm, out)
    }

    /// Ends, at `frame`, the rhythm notes due by `due` (u64::MAX: all) on the tracks marked.
    #[inline(never)]
    fn end_rhythm_notes(&mut self, frame: u64, due: u64, tracks: [bool; TRACKS]) {
        let (rhythm, mut out) = self.rhythm_out(frame);
        rhythm.due_offs(due, tracks, |n| out.play(n));
    }

    /// After `id` changed: a track switched off, muted or soloed away ends its notes where they
    /// are, and one moved to another channel or off the built-in synth too (its note-offs would
    /// miss the notes), so none is left on.
    fn silence_tracks(&mut self, frame: u64, id: ParamId) {
        let v = &self.values;
        let solo = (0..TRACKS).any(|t| v.on(track_param(t, ParamId::Rh1Solo)));
        let changed = track_field(id);
        let ended: [bool; TRACKS] = std::array::from_fn(|t| {
            let p = |first| v.on(track_param(t, first));
            let audible =
                p(ParamId::Rh1On) && !p(ParamId::Rh1Mute) && (!solo || p(ParamId::Rh1Solo));
            let rerouted = matches!(
                changed,
                Some((track, ParamId::Rh1Channel | ParamId::Rh1Synth)) if track == t
            );
            !audible || rerouted
        });
        self.end_rhythm_notes(frame, u64::MAX, ended);
    }

    /// Installs the decoder of built-in rhythm model `name` ([`BUILTIN_MODELS`]); returns the one
    /// it replaces, to be dropped off the audio path. Err for an unknown name.
    pub fn install_rhythm_builtin(
        &mut self,
        name: &str,
        decoder: Decoder,
    ) -> Result<Option<Decoder>, String> {
        let index = BUILTIN_MODELS
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| format!("`{name}` is not a built-in rhythm model"))?;
        Ok(self.rhythm.install_builtin(index, decoder))
    }

    /// Makes rhythm track `track` (0–2) play the model `text` names (a built-in's name or `~` and
    /// an embedded decoder, as in patch text). Allocates (reads the decoder): call it off the
    /// audio path. Returns the embedded decoder it replaces, to be dropped there too. On error
    /// the track keeps its model.
    pub fn set_rhythm_model(
        &mut self,
        track: usize,
        text: &str,
    ) -> Result<Option<Decoder>, String> {
        if track >= TRACKS {
            return Err(format!("there is no rhythm track {}", track + 1));
        }
        let (model, decoder) = ModelRef::parse(text)?;
        Ok(self.rhythm.set_model(track, model, decoder))
    }

    /// Names of the built-in rhythm models a track that is on refers to and that are not
    /// installed yet (a host fetches them; the track is silent until then).
    pub fn missing_rhythm_models(&self) -> impl Iterator<Item = &'static str> {
        let missing = self.rhythm.missing_builtins(&self.values);
        BUILTIN_MODELS
            .into_iter()
            .zip(missing)
            .filter_map(|(name, missing)| missing.then_some(name))
    }

    /// The 2-bar rhythms the keys played while the transport ran (the last
    /// [`crate::rhythm::PLAYED_WINDOWS`]), for training on what the musician played.
    pub fn played_rhythms(&self) -> &PlayedRhythms {
        &self.played
    }

    /// Rhythm track `track`'s decoder output at its current point and the pattern step it
    /// played last, or None while it has no model. For the grid view; never allocates.
    pub fn rhythm_view(&mut self, track: usize) -> Option<(&Decoded, Option<usize>)> {
        self.rhythm.view(track, &self.values)
    }

    /// The melody voice is worth rendering: the generator is on or a note still rings out.
    fn melody_audible(&self) -> bool {
        self.values.index(ParamId::MelodyMode) != 0 || self.mel_synth.sounding() > 0
    }

    fn melody_settings(&self) -> MelodySettings {
        let v = &self.values;
        MelodySettings {
            mode: v.index(ParamId::MelodyMode),
            model: v.index(ParamId::MelodyModel),
            temperature: v.get(ParamId::MelodyTemperature) as f32,
            density: v.get(ParamId::MelodyDensity) as f32,
            low: v.index(ParamId::MelodyLow) as u8,
            high: v.index(ParamId::MelodyHigh) as u8,
            key: v.index(ParamId::MelodyKey),
            bars: v.index(ParamId::MelodyBars) as u32,
            velocity: v.index(ParamId::MelodyVelocity) as u8,
        }
    }

    /// One 16th of the melody at `frame`; `on_bar_line`: the bar clock fired on it too.
    fn melody_step(&mut self, frame: u64, on_bar_line: bool) {
        let steps_per_bar = 4 * self.values.index(ParamId::BeatsPerBar).max(1) as u32;
        let settings = self.melody_settings();
        let out = self.melody.step(&settings, on_bar_line, steps_per_bar);
        self.melody_out(frame, out);
    }

    fn melody_out(&mut self, frame: u64, out: StepOut) {
        for (pitch, velocity) in out.off.map(|p| (p, 0)).into_iter().chain(out.on) {
            if velocity > 0 {
                self.mel_synth.note_on(pitch, velocity);
            } else {
                self.mel_synth.note_off(pitch);
            }
            self.emit_note(Source::Melody, frame, pitch, velocity);
        }
    }

    /// Starts the melody over from its seed (transport start, mode, model or seed change).
    fn restart_melody(&mut self, frame: u64) {
        let settings = self.melody_settings();
        let seed = self.values.get(ParamId::MelodySeed) as u64;
        let off = self.melody.restart(seed, &settings);
        self.melody_out(frame, StepOut { off, on: None });
    }

    /// Installs a melody model (built off the audio path); returns the one it replaces, to be
    /// dropped off the audio path too.
    pub fn install_melody(&mut self, brain: Brain) -> Option<Brain> {
        let old = self.melody.install(brain);
        let frame = self.frame;
        self.restart_melody(frame);
        old
    }

    /// Installs the musician's own melody model (an LSTM from [`Brain::lstm_from_tpq`], built
    /// off the audio path) in the slot of the `mel.model` choice `file`; returns the one it
    /// replaces. The melody restarts (its sounding note ends) only if that choice is playing:
    /// another model plays on untouched.
    pub fn install_melody_file(&mut self, brain: Brain) -> Option<Brain> {
        let old = self.melody.install_at(MELODY_FILE_MODEL, brain);
        if self.values.index(ParamId::MelodyModel) == MELODY_FILE_MODEL {
            let frame = self.frame;
            self.restart_melody(frame);
        }
        old
    }

    /// Which melody model the parameters ask for and the engine lacks (0 the LSTM, 1–4 an
    /// n-gram order, [`MELODY_FILE_MODEL`] the musician's file): the host builds it off the
    /// audio path and calls [`Engine::install_melody`] (or [`Engine::install_melody_file`]).
    pub fn missing_melody_model(&self) -> Option<usize> {
        let model = self.values.index(ParamId::MelodyModel);
        (self.values.index(ParamId::MelodyMode) != 0 && !self.melody.has_model(model))
            .then_some(model)
    }

    /// Forgets what the Markov chain learned (the Clear button). A note the chain plays ends now
    /// and its line starts over. Call it between blocks (it is a pass over 1.4 MB of tables).
    pub fn clear_markov(&mut self) {
        let off = self
            .melody
            .clear_markov(self.values.index(ParamId::MelodyModel));
        let frame = self.frame;
        self.melody_out(frame, StepOut { off, on: None });
        if is_markov(self.values.index(ParamId::MelodyModel)) {
            self.restart_melody(frame);
        }
    }

    /// Replaces what the Markov chain learned with a table's text (as `mk.table` in patch text).
    /// Allocates (decodes the text): call it off the audio path. On error (which says what is
    /// wrong) the chain keeps what it learned.
    pub fn set_markov_table(&mut self, text: &str) -> Result<(), String> {
        if text.is_empty() {
            self.clear_markov();
            return Ok(());
        }
        let bytes = learned::table_bytes(text)?;
        self.melody.load_markov(&bytes)
    }

    /// What the Markov chain learned, as patch text's `mk.table` value (None: nothing). Allocates.
    pub fn markov_table_text(&self) -> Option<String> {
        learned::table_text(self.melody.markov())
    }

    /// The Markov chain learns with the key choice and forgetting rate in force.
    fn set_learning(&mut self) {
        let key = self.values.index(ParamId::MelodyKey);
        let forget = self.values.get(ParamId::MarkovForget) as f32;
        self.melody.set_learning(key, forget);
    }

    /// The melody generator (phase, key in force, sounding note), for the views.
    pub fn melody(&self) -> &MelodyUnit {
        &self.melody
    }

    /// What the melody generator does now.
    pub fn melody_phase(&self) -> Phase {
        self.melody.phase()
    }

    /// Announces the MIDI clock's ticks [`midi_clock::CLOCK_LOOKAHEAD_S`] before they happen, each
    /// stamped with its own frame (where the transport will cross it), and a Start waiting for a
    /// bar line just before that bar's first tick. Without clock out the ticks are only counted,
    /// so switching it on carries on the same grid.
    fn send_clock(&mut self, frame: u64, pos: f64) {
        // Every frame only this position and one comparison; the rest only when a tick is due.
        let ahead = self.transport.position(frame + self.clock_lookahead);
        while let Some(k) = self.clock_sender.poll(ahead) {
            if !self.values.on(ParamId::ClockOut) {
                continue;
            }
            let frames_per_beat = self.transport.frames_per_beat();
            let bar_ticks = (midi_clock::PPQ * self.values.get(ParamId::BeatsPerBar)) as u64;
            let beats = k as f64 / midi_clock::PPQ;
            let at = frame + libm::round(((beats - pos) * frames_per_beat).max(0.0)) as u64;
            // Clock switched on while playing: the receiver starts with us on a bar line.
            if self.clock_start_pending && k.is_multiple_of(bar_ticks.max(1)) {
                self.clock_start_pending = false;
                push_midi(
                    &mut self.midi,
                    &mut self.status,
                    MidiEvent::new(at, &[midi_clock::START]),
                );
            }
            push_midi(
                &mut self.midi,
                &mut self.status,
                MidiEvent::new(at, &[midi_clock::TIMING_CLOCK]),
            );
        }
    }

    /// Ends, at `frame`, the arpeggiated notes whose off is due by `due` (u64::MAX: all of them).
    fn end_arp_notes(&mut self, frame: u64, due: u64) {
        let (synth, outputs, status) = (&mut self.synth, &mut self.outputs, &mut self.status);
        self.arp.due_offs(due, |pitch| {
            synth.note_off(pitch);
            emit(
                outputs,
                status,
                NoteEvent {
                    frame,
                    pitch,
                    velocity: 0,
                    source: Source::Arp,
                },
            );
        });
    }

    fn arp_on(&self) -> bool {
        Mode::from_index(self.values.index(ParamId::ArpMode)) != Mode::Off
    }

    /// Applies an input at the present frame (the event's own frame may be earlier: a late one).
    fn apply(&mut self, event: InputEvent) {
        let frame = self.frame;
        match event.input {
            Input::NoteOn { pitch, velocity: 0 } => self.apply(InputEvent {
                input: Input::NoteOff { pitch },
                ..event
            }),
            Input::NoteOn { pitch, velocity } => {
                let pitch = pitch.min(127);
                if self.transport.playing() {
                    self.played
                        .note(self.transport.position(frame), velocity.min(127));
                }
                self.melody.key_down(pitch);
                self.keys
                    .press(pitch, velocity.min(127), self.values.on(ParamId::ArpHold));
                if !self.arp_on() {
                    self.direct_on(frame, pitch, velocity.min(127));
                }
            }
            Input::NoteOff { pitch } => {
                let pitch = pitch.min(127);
                self.melody.key_up(pitch);
                if self.keys.release(pitch) && !self.arp_on() {
                    self.direct_off(frame, pitch);
                }
            }
            Input::Sustain(down) => {
                let arp_on = self.arp_on();
                let mut ended = [false; 128];
                self.keys.pedal(down, |p| ended[p as usize] = true);
                if !arp_on {
                    for p in (0..128u8).filter(|p| ended[*p as usize]) {
                        self.direct_off(frame, p);
                    }
                }
            }
            Input::AllNotesOff => self.all_notes_off(frame),
            Input::SetParam { id, value } => self.set_param(frame, id, value),
            // The follower fits the frame the tick was sent at, not the one it arrived by.
            Input::Clock(message) => self.clock_in(event.frame, message),
        }
    }

    fn direct_on(&mut self, frame: u64, pitch: u8, velocity: u8) {
        // A key pressed again while it sounds (two inputs holding one pitch) retriggers: its
        // note-off goes out first, so every note-on of the stream has exactly one note-off.
        if self.direct[pitch as usize] {
            self.emit_note(Source::Keys, frame, pitch, 0);
        }
        self.synth.note_on(pitch, velocity);
        self.direct[pitch as usize] = true;
        self.emit_note(Source::Keys, frame, pitch, velocity);
    }

    fn direct_off(&mut self, frame: u64, pitch: u8) {
        if std::mem::take(&mut self.direct[pitch as usize]) {
            self.synth.note_off(pitch);
            self.emit_note(Source::Keys, frame, pitch, 0);
        }
    }

    /// Reports a note the engine played (velocity 0: its end).
    fn emit_note(&mut self, source: Source, frame: u64, pitch: u8, velocity: u8) {
        let note = NoteEvent {
            frame,
            pitch,
            velocity,
            source,
        };
        emit(&mut self.outputs, &mut self.status, note);
    }

    /// Stops every note the engine started, held or not, and forgets held keys and the pedal.
    fn all_notes_off(&mut self, frame: u64) {
        self.keys.clear();
        self.melody.keys_released();
        self.stop_sounding(frame);
        self.restart_melody(frame);
        self.mel_synth.release_all();
    }

    /// Ends every arpeggiated and direct note (keys stay held).
    fn stop_sounding(&mut self, frame: u64) {
        self.end_arp_notes(frame, u64::MAX);
        for p in 0..128u8 {
            self.direct_off(frame, p);
        }
        self.synth.release_all();
        self.end_rhythm_notes(frame, u64::MAX, [true; TRACKS]);
        for synth in &mut self.rhy_synths {
            synth.release_all();
        }
    }

    /// Sets a parameter at `frame` (clamped; NaN ignored) and applies what it changes.
    pub fn set_param(&mut self, frame: u64, id: ParamId, value: f64) {
        let before = self.values.get(id);
        let now = self.values.set(id, value);
        if now == before {
            return;
        }
        let pos = self.transport.position(frame);
        let v = &self.values;
        match id {
            ParamId::Tempo => self.transport.set_bpm(frame, now),
            // A followed clock's Start and Stop play and stop the transport instead.
            ParamId::Playing if self.following() => {}
            ParamId::Playing if now >= 0.5 => self.start_transport(frame, 0.0),
            ParamId::Playing => self.stop_transport(frame),
            ParamId::ClockOut => self.clock_start_pending = now >= 0.5 && self.playing(),
            ParamId::ClockFollow => self.set_following(frame, now >= 0.5),
            ParamId::BeatsPerBar => self.bar_clock.set(now, 0.5, pos),
            ParamId::Swing | ParamId::LfoDivision => {
                self.lfo_clock.set(
                    DIVISION_BEATS[v.index(ParamId::LfoDivision)],
                    v.get(ParamId::Swing) / 100.0,
                    pos,
                );
                self.mel_clock.set(0.25, v.get(ParamId::Swing) / 100.0, pos);
                self.rhy_clock.set(0.25, v.get(ParamId::Swing) / 100.0, pos);
            }
            ParamId::ArpDivision | ParamId::ArpSwing => self.arp_clock.set(
                DIVISION_BEATS[v.index(ParamId::ArpDivision)],
                v.get(ParamId::ArpSwing) / 100.0,
                pos,
            ),
            ParamId::LfoSync => {
                self.lfo_free.restart(frame);
                self.lfo_clock.realign(pos);
            }
            ParamId::ArpMode => self.stop_sounding(frame),
            ParamId::MelodyMode | ParamId::MelodyModel | ParamId::MelodySeed => {
                self.restart_melody(frame)
            }
            ParamId::ArpHold if now < 0.5 => self.keys.unlatch(),
            ParamId::MelodyKey | ParamId::MarkovForget => self.set_learning(),
            // A track switched off, muted, soloed away, moved to another channel or off the
            // built-in synth ends its notes where they are, so none is left on.
            _ if ends_rhythm_notes(id) => self.silence_tracks(frame, id),
            _ => self.apply_knobs(),
        }
    }

    /// Starts the transport at `frame` from `beats`: every step clock aims at its first boundary
    /// there (which fires on this very frame when it is on one), and a MIDI Start (from the top)
    /// or Continue goes out.
    fn start_transport(&mut self, frame: u64, beats: f64) {
        self.transport.start_at(frame, beats);
        self.stop_sounding(frame);
        self.restart_melody(frame);
        for c in [
            &mut self.beat_clock,
            &mut self.bar_clock,
            &mut self.lfo_clock,
            &mut self.arp_clock,
        ] {
            c.realign(beats);
        }
        self.arp.restart();
        self.mel_clock.realign(beats);
        self.rhy_clock.realign(beats);
        self.rhythm.restart();
        if self.values.index(ParamId::LfoSync) == 0 {
            self.lfo.restart();
        }
        self.clock_sender.realign(beats);
        if self.values.on(ParamId::ClockOut) {
            let message = if beats == 0.0 {
                midi_clock::START
            } else {
                midi_clock::CONTINUE
            };
            self.emit_midi(&[message]);
        }
    }

    /// Stops the transport at `frame`: every note the generators play ends there.
    fn stop_transport(&mut self, frame: u64) {
        self.transport.set_playing(frame, false);
        self.stop_sounding(frame);
        self.restart_melody(frame);
        if self.values.on(ParamId::ClockOut) {
            self.emit_midi(&[midi_clock::STOP]);
        }
    }

    fn following(&self) -> bool {
        self.values.on(ParamId::ClockFollow)
    }

    /// Turning following on stops the transport until the sender's Start or Continue; turning
    /// it off plays on from where it is at the patch's own tempo (and starts it again if the
    /// patch's play switch is on and the follower had it stopped).
    fn set_following(&mut self, frame: u64, on: bool) {
        let bpm = self.values.get(ParamId::Tempo);
        self.follower = ClockFollower::new(60.0 * self.sample_rate / bpm);
        if on {
            if self.transport.playing() {
                self.stop_transport(frame);
            }
        } else {
            self.transport.set_bpm(frame, bpm);
            // Stopped while waiting for a sender that never started: the patch's own play
            // switch rules again, from where the transport stands.
            if self.values.on(ParamId::Playing) && !self.transport.playing() {
                let beats = self.transport.position(frame);
                self.start_transport(frame, beats);
            }
        }
    }

    /// A MIDI clock message sent at `sent` (a frame at or before the present one).
    fn clock_in(&mut self, sent: u64, message: ClockIn) {
        if !self.following() {
            return;
        }
        let frame = self.frame;
        match self.follower.receive(sent, message) {
            Follow::Run { beats } => self.start_transport(frame, beats),
            Follow::Halt => self.stop_transport(frame),
            Follow::Locate { beats } => {
                self.transport.locate(beats);
                if self.values.on(ParamId::ClockOut) {
                    let sixteenths = libm::round(beats * 4.0) as u32;
                    push_midi(
                        &mut self.midi,
                        &mut self.status,
                        midi_clock::song_position(frame, sixteenths),
                    );
                }
            }
            Follow::Nothing => {}
        }
        if self.follower.running() {
            let (anchor, beats, frames_per_beat, limit) = self.follower.anchor();
            self.transport.follow(anchor, beats, frames_per_beat, limit);
        }
    }

    /// The tempo the transport runs at now: the patch's, or the followed clock's.
    pub fn tempo(&self) -> f64 {
        if self.following() {
            self.follower.bpm(self.sample_rate)
        } else {
            self.transport.bpm()
        }
    }

    /// Whether the transport is playing (its own, or a followed clock's).
    pub fn playing(&self) -> bool {
        self.transport.playing()
    }

    fn emit_midi(&mut self, bytes: &[u8]) {
        let event = MidiEvent::new(self.frame, bytes);
        push_midi(&mut self.midi, &mut self.status, event);
    }

    /// Pushes the reservoir knobs from the parameters into both networks.
    fn apply_knobs(&mut self) {
        let v = &self.values;
        let f = |id| v.get(id) as f32;
        self.lfo.reservoir.set_knobs(EsnKnobs {
            spectral_radius: f(ParamId::LfoSpectralRadius),
            leak: f(ParamId::LfoLeak),
            input_scaling: f(ParamId::LfoInputScaling),
            feedback_scaling: f(ParamId::LfoFeedbackScaling),
            bias_scaling: f(ParamId::LfoBiasScaling),
            output_scaling: f(ParamId::LfoOutputScaling),
        });
        self.lfo.reservoir.set_outputs(v.index(ParamId::LfoOutputs));
        self.arp.reservoir.set_knobs(EsnKnobs {
            spectral_radius: f(ParamId::ArpSpectralRadius),
            leak: f(ParamId::ArpLeak),
            input_scaling: 1.0,
            feedback_scaling: f(ParamId::ArpFeedbackScaling),
            bias_scaling: f(ParamId::ArpBiasScaling),
            output_scaling: f(ParamId::ArpOutputScaling),
        });
    }

    /// Test and fault-injection hook: puts `value` into one LFO neuron, as a NaN from a bad
    /// network would. The next step detects it, resets and counts it.
    pub fn inject_lfo_state(&mut self, neuron: usize, value: f32) {
        self.lfo.reservoir.esn_mut().poke_state(neuron, value);
    }
}

/// Whether changing `id` can silence a rhythm track's notes (see [`Engine::silence_tracks`]).
fn ends_rhythm_notes(id: ParamId) -> bool {
    track_field(id).is_some_and(|(_, field)| {
        matches!(
            field,
            ParamId::Rh1On
                | ParamId::Rh1Mute
                | ParamId::Rh1Solo
                | ParamId::Rh1Channel
                | ParamId::Rh1Synth
        )
    })
}

/// Where the rhythm tracks' notes go at one frame: their voices and the note stream.
struct TrackOut<'a> {
    synths: &'a mut [Synth; TRACKS],
    live: &'a mut [bool; TRACKS],
    outputs: &'a mut FixedQueue<NoteEvent>,
    status: &'a mut Status,
    values: &'a ParamValues,
    frame: u64,
}

impl TrackOut<'_> {
    /// Sounds (or ends) a track's note on its synth when the track uses it, and reports it.
    #[inline(never)]
    fn play(&mut self, n: TrackNote) {
        let synth = &mut self.synths[n.track];
        if n.velocity == 0 {
            synth.note_off(n.pitch);
        } else if self.values.on(track_param(n.track, ParamId::Rh1Synth)) {
            synth.note_on(n.pitch, n.velocity);
            self.live[n.track] = true;
        }
        let note = NoteEvent {
            frame: self.frame,
            pitch: n.pitch,
            velocity: n.velocity,
            source: Source::Rhythm {
                track: n.track as u8,
                channel: n.channel,
            },
        };
        emit(self.outputs, self.status, note);
    }
}

fn push_midi(midi: &mut FixedQueue<MidiEvent>, status: &mut Status, event: MidiEvent) {
    if !midi.push(event) {
        status.dropped_midi += 1;
    }
}

fn emit(outputs: &mut FixedQueue<NoteEvent>, status: &mut Status, note: NoteEvent) {
    if !outputs.push(note) {
        status.dropped_notes += 1;
    }
}

/// The melody's own voice: its waveform, cutoff, attack, release and gain; the rest fixed for a
/// clear monophonic lead (a second voice lets a release overlap the next note).
fn melody_voice(v: &ParamValues, smoothed: &[f64]) -> SynthSettings {
    let s = |id: ParamId| smoothed[id.index()] as f32;
    let f = |id: ParamId| v.get(id) as f32;
    SynthSettings {
        wave: v.index(ParamId::MelodyWave),
        detune_cents: 4.0,
        osc2_level: 0.3,
        cutoff_hz: s(ParamId::MelodyCutoff),
        resonance: 0.2,
        filter_env_oct: 1.0,
        attack_ms: f(ParamId::MelodyAttack),
        decay_ms: 300.0,
        sustain: 0.7,
        release_ms: f(ParamId::MelodyRelease),
        voices: 2,
        gain_db: s(ParamId::MelodyGain),
    }
}

/// A rhythm track's voice: a short plucked note, a bass (track 1), a square mid (2) and a bright
/// square top (3) so the ensemble's three agents are told apart; level from the rhythm gain.
fn rhythm_voice(track: usize, smoothed: &[f64]) -> SynthSettings {
    let (wave, cutoff_hz, decay_ms) =
        [(0, 700.0, 220.0), (1, 1600.0, 160.0), (1, 3200.0, 110.0)][track.min(TRACKS - 1)];
    SynthSettings {
        wave,
        detune_cents: 6.0,
        osc2_level: 0.4,
        cutoff_hz,
        resonance: 0.3,
        filter_env_oct: 2.0,
        attack_ms: 1.5,
        decay_ms,
        sustain: 0.25,
        release_ms: 90.0,
        voices: 4,
        gain_db: smoothed[ParamId::RhythmGain.index()] as f32,
    }
}

fn synth_settings(v: &ParamValues, smoothed: &[f64]) -> SynthSettings {
    let s = |id: ParamId| smoothed[id.index()] as f32;
    let f = |id: ParamId| v.get(id) as f32;
    SynthSettings {
        wave: v.index(ParamId::SynthWave),
        detune_cents: s(ParamId::SynthDetune),
        osc2_level: s(ParamId::SynthOsc2),
        cutoff_hz: s(ParamId::SynthCutoff),
        resonance: s(ParamId::SynthResonance),
        filter_env_oct: f(ParamId::SynthFilterEnv),
        attack_ms: f(ParamId::SynthAttack),
        decay_ms: f(ParamId::SynthDecay),
        sustain: f(ParamId::SynthSustain),
        release_ms: f(ParamId::SynthRelease),
        voices: v.index(ParamId::SynthVoices),
        gain_db: s(ParamId::SynthGain),
    }
}
