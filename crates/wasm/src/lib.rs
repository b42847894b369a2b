//! wasm-bindgen exports of the tidepool engine, for the AudioWorklet (and Node benchmarks).
//!
//! This crate only translates between JavaScript and the pure crates: every decision lives in
//! `tidepool-engine` and `tidepool-reservoir`, which never depend on web crates. Numbers cross as
//! JS numbers: frames are `f64` (exact up to 2^53, where a `u64` would cross as a BigInt).
//!
//! Audio leaves through two buffers of [`BLOCK_FRAMES`] samples that JS reads without copying:
//!
//! ```js
//! import init, { WasmEngine, wasm_memory } from "./tidepool_wasm.js";
//! await init();
//! const engine = new WasmEngine(sampleRate, patchText);
//! const n = engine.process(128);
//! // A view lives as long as the memory's buffer: growing the memory detaches it, so keep views
//! // and make new ones only when `wasm_memory().buffer` is another object.
//! const left = new Float32Array(wasm_memory().buffer, engine.left_ptr(), n);
//! ```

#[cfg(feature = "tools")]
mod bench;
mod json;
#[cfg(feature = "tools")]
mod melody_tools;
#[cfg(feature = "tools")]
mod offline;
#[cfg(feature = "tools")]
mod rhythm_tools;

#[cfg(feature = "tools")]
pub use bench::{reservoir_steps, WasmMelody, WasmReservoir};
#[cfg(feature = "tools")]
pub use melody_tools::MelodyFile;
#[cfg(feature = "tools")]
pub use offline::OfflineRender;

use std::fmt::Write;
use tidepool_engine::bindings::{Binding, Bindings, Source, SOURCE_NAMES};
use tidepool_engine::rhythm::ModelRef;
#[cfg(feature = "tools")]
use tidepool_engine::{build_network_bytes, network_radius, Which};
use tidepool_engine::{
    network_from_bytes, Brain, Built, ClockIn, Engine, Input, InputEvent, MelodyPhase, ParamId,
    Patch, Shape, MIDI_CAPACITY, OUTPUT_CAPACITY,
};
use wasm_bindgen::prelude::*;

/// Frames the output buffers hold: one Web Audio render quantum.
pub const BLOCK_FRAMES: usize = 128;

/// The module's linear memory, for building `Float32Array` views on [`WasmEngine::left_ptr`] and
/// [`WasmEngine::right_ptr`] (with either the `web` or the `nodejs` glue).
#[wasm_bindgen]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}

/// A JS frame number to the engine's: negative and NaN become 0.
fn frame_of(frame: f64) -> u64 {
    if frame > 0.0 {
        frame as u64
    } else {
        0
    }
}

/// A JS number to a MIDI byte (the engine clamps to 127 itself; this only keeps 300 from wrapping).
fn byte_of(value: u32) -> u8 {
    value.min(127) as u8
}

/// The engine with its two output buffers.
#[wasm_bindgen]
pub struct WasmEngine {
    engine: Engine,
    errors: Vec<String>,
    left: Vec<f32>,
    right: Vec<f32>,
    /// Drained notes, five numbers each (see [`WasmEngine::drain_notes`]); allocated once.
    note_buf: Vec<u32>,
    /// The live-view snapshot (see [`WasmEngine::snapshot`]); allocated once.
    view: Vec<f32>,
    /// Networks built off the audio thread and read in by [`WasmEngine::stage_network`],
    /// waiting for the block after the one that applies the parameters asking for them.
    staged: Built,
    /// The networks they replaced, dropped by the next message handler rather than in
    /// `process` (freeing megabytes is no job for the audio callback either).
    retired: Built,
}

/// Neurons of the LFO reservoir shown in the activity view.
pub const VIEW_NEURONS: usize = 64;

/// Where each value of [`WasmEngine::snapshot`] sits. `snapshot` writes by these offsets and
/// [`snapshot_layout`] exports them, so the page reads offsets instead of mirroring them.
pub mod view {
    use super::VIEW_NEURONS;
    use tidepool_reservoir::{MAX_ARP_NOTES, MAX_LFO_OUTPUTS};

    /// The LFO's smoothed outputs, 0..1.
    pub const LFO: usize = 0;
    /// The first [`VIEW_NEURONS`] neurons of the LFO reservoir.
    pub const NEURONS: usize = LFO + MAX_LFO_OUTPUTS;
    /// How many arpeggio entries follow (up to [`MAX_ARP_NOTES`]).
    pub const ENTRIES: usize = NEURONS + VIEW_NEURONS;
    /// The entries' pitches.
    pub const PITCHES: usize = ENTRIES + 1;
    /// Their probabilities p (ReMi's Fig. 2).
    pub const PROBS: usize = PITCHES + MAX_ARP_NOTES;
    /// The engine's status counters, in this order.
    pub const STATUS: usize = PROBS + MAX_ARP_NOTES;
    pub const STATUS_NAMES: [&str; 7] = [
        "lfoNanResets",
        "arpNanResets",
        "droppedInputs",
        "droppedNotes",
        "voicesStolen",
        "synthNonFinite",
        "sounding",
    ];
    /// The melody: phase (0 off, 1 free, 2 listening, 3 answering), 16ths left in the answer,
    /// key in force (1–12 major C…B, 13–24 minor), sounding pitch (−1 none), the model the patch
    /// asks for and the engine lacks (−1 none), notes and rests the Markov chain learned since
    /// it was cleared.
    pub const MELODY: usize = STATUS + STATUS_NAMES.len();
    pub const MELODY_NAMES: [&str; 6] = ["phase", "left", "key", "sounding", "missing", "learned"];
    /// The networks installed now (which lag the parameters while a rebuild is on its way): the
    /// LFO's, then the arpeggiator's. A seed is split in 16-bit halves, each exact in an f32.
    pub const NETWORKS: usize = MELODY + MELODY_NAMES.len();
    pub const NETWORK_NAMES: [&str; 4] = ["neurons", "connectivity", "seedLow", "seedHigh"];
    /// The transport: tempo in force (the followed clock's when following), 1 when following
    /// an external MIDI clock, 1 when playing.
    pub const CLOCK: usize = NETWORKS + 2 * NETWORK_NAMES.len();
    pub const CLOCK_NAMES: [&str; 3] = ["bpm", "following", "playing"];
    /// The rhythm tracks, [`RHYTHM_PER_TRACK`] values each: the decoder's 32 probabilities at
    /// the track's point, its 32 velocities (0–1), the pattern step played last (−1 none), and
    /// 1 when the track has a model to play.
    pub const RHYTHM: usize = CLOCK + CLOCK_NAMES.len();
    pub const RHYTHM_TRACKS: usize = tidepool_engine::rhythm::TRACKS;
    pub const RHYTHM_STEPS: usize = tidepool_rhythm::STEPS;
    pub const RHYTHM_PER_TRACK: usize = 2 * RHYTHM_STEPS + 2;
    /// Values in the snapshot.
    pub const LEN: usize = RHYTHM + RHYTHM_TRACKS * RHYTHM_PER_TRACK;
}

/// The source code of a MIDI message entry in [`WasmEngine::drain_notes`]'s buffer.
const MIDI_SOURCE: u32 = 3;

/// Entries of the buffer [`WasmEngine::drain_notes`] fills: the notes, then the MIDI messages.
const NOTE_SLOTS: usize = OUTPUT_CAPACITY + MIDI_CAPACITY;

/// Length of [`WasmEngine::snapshot`] (see [`view`] for its layout).
pub const VIEW_LEN: usize = view::LEN;

#[wasm_bindgen]
impl WasmEngine {
    /// An engine at `sample_rate` playing `patch_text` (bad fields are skipped and reported by
    /// [`WasmEngine::patch_errors`]; the engine plays whatever was valid). Builds both reservoirs
    /// and allocates the output buffers: call it off the audio path, or in the worklet's
    /// constructor. The page's module has no eigenvalue code to compute the networks' radii
    /// with (see [`WasmEngine::with_radii`]): there, use `with_radii`.
    #[wasm_bindgen(constructor)]
    pub fn new(sample_rate: f64, patch_text: &str) -> WasmEngine {
        Self::with_radii(sample_rate, patch_text, f64::NAN, f64::NAN)
    }

    /// As the constructor, with the LFO's and the arpeggiator's W radii computed beforehand
    /// (`network_radius_of`, in the network worker), so the worklet never runs the O(N³) part.
    /// A NaN radius is computed here; the page's module, built without the `tools` feature, has
    /// no eigenvalue code for that and scales such a W by its largest absolute row sum instead, a
    /// different network (`tidepool_reservoir::Esn::generate_with_radius`): the page always
    /// passes both radii.
    pub fn with_radii(
        sample_rate: f64,
        patch_text: &str,
        lfo_radius: f64,
        arp_radius: f64,
    ) -> WasmEngine {
        let parsed = Patch::parse(patch_text);
        WasmEngine {
            engine: Engine::with_radii(sample_rate, &parsed.patch, lfo_radius, arp_radius),
            errors: parsed.errors.iter().map(ToString::to_string).collect(),
            left: vec![0.0; BLOCK_FRAMES],
            right: vec![0.0; BLOCK_FRAMES],
            note_buf: vec![0; NOTE_SLOTS * 5],
            view: vec![0.0; VIEW_LEN],
            staged: Built::default(),
            retired: Built::default(),
        }
    }

    /// What was wrong with the patch text given to the constructor (`"key: message"` each; empty
    /// when it was clean).
    pub fn patch_errors(&self) -> Vec<String> {
        self.errors.clone()
    }

    /// Queues a note-on at `frame` (velocity 0 is a note-off). False when the input queue is full.
    pub fn note_on(&mut self, frame: f64, pitch: u32, velocity: u32) -> bool {
        self.push(
            frame,
            Input::NoteOn {
                pitch: byte_of(pitch),
                velocity: byte_of(velocity),
            },
        )
    }

    /// Queues a note-off at `frame`. False when the input queue is full.
    pub fn note_off(&mut self, frame: f64, pitch: u32) -> bool {
        self.push(
            frame,
            Input::NoteOff {
                pitch: byte_of(pitch),
            },
        )
    }

    /// Queues the sustain pedal going down or up at `frame`. False when the input queue is full.
    pub fn sustain(&mut self, frame: f64, down: bool) -> bool {
        self.push(frame, Input::Sustain(down))
    }

    /// Queues a panic at `frame`: every held, sustained and sounding note stops.
    pub fn all_notes_off(&mut self, frame: f64) -> bool {
        self.push(frame, Input::AllNotesOff)
    }

    /// Queues a MIDI clock message from outside at `frame`: `status` 0xF8 (tick), 0xFA (start),
    /// 0xFB (continue), 0xFC (stop) or 0xF2 (song position, `position` in sixteenths). False for
    /// another status byte (or a full queue).
    pub fn clock_in(&mut self, frame: f64, status: u32, position: u32) -> bool {
        let clock = match status {
            0xF8 => ClockIn::Tick,
            0xFA => ClockIn::Start,
            0xFB => ClockIn::Continue,
            0xFC => ClockIn::Stop,
            0xF2 => ClockIn::SongPosition(position.min(0x3FFF) as u16),
            _ => return false,
        };
        self.push(frame, Input::Clock(clock))
    }

    /// Queues parameter `key` (a patch-text key such as `"syn.cut"`) to become `value` at
    /// `frame`. False for an unknown key (or a full queue). A network-shaping parameter
    /// (`lfo.n`, `arp.seed`, …) then needs its network, built elsewhere (`network_bytes`, tools
    /// module) and handed over with [`WasmEngine::stage_network`].
    pub fn set_param(&mut self, frame: f64, key: &str, value: f64) -> bool {
        match ParamId::from_key(key) {
            Some(id) => self.push(frame, Input::SetParam { id, value }),
            None => false,
        }
    }

    /// Queues parameter number `id` (its row in [`param_table`], as the page sends it) to become
    /// `value` at `frame`; the engine sanitises it as [`param_sanitize`] does. False for an
    /// unknown id (or a full queue). No string crosses: this is the page's path for every knob.
    pub fn set_param_id(&mut self, frame: f64, id: u32, value: f64) -> bool {
        match ParamId::from_index(id as usize) {
            Some(id) => self.push(frame, Input::SetParam { id, value }),
            None => false,
        }
    }

    /// Renders `frames` frames into the output buffers and returns how many the buffers now hold.
    /// Up to [`BLOCK_FRAMES`] (the worklet's case) that is all of them; more are rendered in
    /// 128-frame chunks and only the last chunk stays in the buffers (for skipping ahead and
    /// benchmarks). A staged network the parameters now ask for is swapped in after the block,
    /// at its boundary (see [`WasmEngine::stage_network`]). Never allocates or frees.
    pub fn process(&mut self, frames: usize) -> usize {
        let mut remaining = frames;
        let mut last = 0;
        while remaining > 0 {
            last = remaining.min(BLOCK_FRAMES);
            self.engine
                .process(&mut self.left[..last], &mut self.right[..last]);
            remaining -= last;
        }
        self.install_staged();
        last
    }

    /// Address of the left output buffer in wasm memory ([`BLOCK_FRAMES`] f32s).
    pub fn left_ptr(&self) -> *const f32 {
        self.left.as_ptr()
    }

    /// Address of the right output buffer in wasm memory ([`BLOCK_FRAMES`] f32s).
    pub fn right_ptr(&self) -> *const f32 {
        self.right.as_ptr()
    }

    /// Copies the notes played since the last call into a preallocated buffer, five numbers each:
    /// `[frame_lo32, frame_hi32, pitch, velocity (0 = off), source + 256 · channel]` (source 0 =
    /// keys, 1 = arpeggiator, 2 = melody, 4–6 = rhythm tracks 1–3; channel 0-based),
    /// then the MIDI clock and CC messages sent since, as
    /// `[frame_lo32, frame_hi32, bytes (first in the low 8 bits), byte count, 3]`; forgets them all
    /// and returns how many entries there are. Never allocates: the worklet calls it every block
    /// and reads [`WasmEngine::notes_ptr`].
    pub fn drain_notes(&mut self) -> usize {
        let notes = self.engine.notes();
        for (slot, n) in self.note_buf.chunks_exact_mut(5).zip(notes) {
            slot.copy_from_slice(&[
                n.frame as u32,
                (n.frame >> 32) as u32,
                n.pitch as u32,
                n.velocity as u32,
                n.source.code() | (u32::from(n.source.channel()) << 8),
            ]);
        }
        let count = notes.len().min(OUTPUT_CAPACITY);
        self.engine.clear_notes();
        // Then the MIDI clock and CC messages, on the same path so MIDI out keeps one order.
        let midi = self.engine.midi();
        for (slot, m) in self.note_buf[5 * count..].chunks_exact_mut(5).zip(midi) {
            let [a, b, c] = m.bytes;
            slot.copy_from_slice(&[
                m.frame as u32,
                (m.frame >> 32) as u32,
                u32::from_le_bytes([a, b, c, 0]),
                m.len as u32,
                MIDI_SOURCE,
            ]);
        }
        let count = count + midi.len().min(MIDI_CAPACITY);
        self.engine.clear_midi();
        count
    }

    /// Address of the buffer [`WasmEngine::drain_notes`] fills (u32s).
    pub fn notes_ptr(&self) -> *const u32 {
        self.note_buf.as_ptr()
    }

    /// Most entries [`WasmEngine::drain_notes`] returns at once (its buffer holds five u32s each).
    pub fn notes_capacity(&self) -> usize {
        NOTE_SLOTS
    }

    /// Fills the live-view buffer ([`VIEW_LEN`] f32s at [`WasmEngine::view_ptr`], laid out as
    /// [`view`] says and [`snapshot_layout`] tells JS) and returns its length. Never allocates.
    pub fn snapshot(&mut self) -> usize {
        let v = &mut self.view;
        v.fill(0.0);
        v[view::LFO..view::NEURONS].copy_from_slice(&self.engine.lfo_values());
        let neurons = self.engine.lfo_state();
        for (slot, x) in v[view::NEURONS..view::ENTRIES].iter_mut().zip(neurons) {
            *slot = *x;
        }
        let mut count = 0;
        for (slot, pitch) in v[view::PITCHES..view::PROBS]
            .iter_mut()
            .zip(self.engine.arp_entries())
        {
            *slot = pitch as f32;
            count += 1;
        }
        v[view::ENTRIES] = count as f32;
        let probs = self.engine.arp_probabilities();
        for (slot, p) in v[view::PROBS..view::STATUS].iter_mut().zip(probs) {
            *slot = *p;
        }
        let st = self.engine.status();
        let counters = [
            st.lfo_nan_resets as f32,
            st.arp_nan_resets as f32,
            st.dropped_inputs as f32,
            st.dropped_notes as f32,
            st.voices_stolen as f32,
            st.synth_non_finite as f32,
            st.sounding as f32,
        ];
        v[view::STATUS..view::MELODY].copy_from_slice(&counters);
        let (phase, left) = match self.engine.melody_phase() {
            MelodyPhase::Off => (0, 0),
            MelodyPhase::Free => (1, 0),
            MelodyPhase::Listening => (2, 0),
            MelodyPhase::Answering(left) => (3, left),
        };
        let key_choice = self.engine.param(ParamId::MelodyKey) as usize;
        let melody = self.engine.melody();
        let melody_view = [
            phase as f32,
            left as f32,
            melody.key_in_force(key_choice).choice_index() as f32,
            melody.sounding().map_or(-1.0, f32::from),
            self.engine
                .missing_melody_model()
                .map_or(-1.0, |m| m as f32),
            melody.markov().learned() as f32,
        ];
        v[view::MELODY..view::NETWORKS].copy_from_slice(&melody_view);
        let (lfo, arp) = self.engine.installed_shapes();
        let shape = |(neurons, connectivity, seed): Shape| {
            [
                neurons as f32,
                connectivity,
                (seed & 0xffff) as f32,
                (seed >> 16) as f32,
            ]
        };
        let per = view::NETWORK_NAMES.len();
        v[view::NETWORKS..view::NETWORKS + per].copy_from_slice(&shape(lfo));
        v[view::NETWORKS + per..view::CLOCK].copy_from_slice(&shape(arp));
        let clock = [
            self.engine.tempo() as f32,
            self.engine.param(ParamId::ClockFollow) as f32,
            f32::from(u8::from(self.engine.playing())),
        ];
        v[view::CLOCK..view::RHYTHM].copy_from_slice(&clock);
        for track in 0..view::RHYTHM_TRACKS {
            let at = view::RHYTHM + track * view::RHYTHM_PER_TRACK;
            let slot = &mut v[at..at + view::RHYTHM_PER_TRACK];
            let (head, tail) = slot.split_at_mut(2 * view::RHYTHM_STEPS);
            if let Some((decoded, step)) = self.engine.rhythm_view(track) {
                head[..view::RHYTHM_STEPS].copy_from_slice(&decoded.prob);
                head[view::RHYTHM_STEPS..].copy_from_slice(&decoded.velocity);
                tail[0] = step.map_or(-1.0, |s| s as f32);
                tail[1] = 1.0;
            } else {
                tail[0] = -1.0;
            }
        }
        VIEW_LEN
    }

    /// Makes rhythm track `track` (0–2) play `model`: a built-in's name or `~` and an embedded
    /// decoder, as in patch text. Allocates (reads the decoder): the worklet calls it from its
    /// message handler, between blocks. On error the track keeps its model.
    pub fn set_rhythm_model(&mut self, track: usize, model: &str) -> Result<(), String> {
        drop(self.engine.set_rhythm_model(track, model)?);
        Ok(())
    }

    /// Installs built-in rhythm model `name`'s decoder from its compact bytes
    /// (`web/models/rhythm-<name>.tprd`); the error says what is wrong with them.
    pub fn install_rhythm_builtin(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
        let decoder = tidepool_rhythm::decoder::Decoder::from_compact(bytes)?;
        drop(self.engine.install_rhythm_builtin(name, decoder)?);
        Ok(())
    }

    /// The 2-bar rhythms the keys played while the transport ran, oldest first, 33 numbers each:
    /// the window's number since the transport started (2 bars of 4/4 each), then the velocity
    /// at each of its 32 sixteenths (0: none). For "learn from my playing".
    pub fn played_rhythms(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for (window, steps) in self.engine.played_rhythms().windows() {
            out.push(*window as u32);
            out.extend(steps.iter().map(|&v| u32::from(v)));
        }
        out
    }

    /// The built-in rhythm models a track refers to that are not installed, comma-separated.
    pub fn missing_rhythm_models(&self) -> String {
        let mut out = String::new();
        for name in self.engine.missing_rhythm_models() {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(name);
        }
        out
    }

    /// Installs the melody LSTM from its quantized file's bytes (`melody-lstm.tpq`, validated
    /// first: the error names what is wrong, and the engine keeps playing without it).
    /// Allocates: the worklet calls it from its message handler, between blocks.
    pub fn install_melody_lstm(&mut self, bytes: &[u8]) -> Result<(), String> {
        let brain = Brain::lstm_from_tpq(bytes)?;
        drop(self.engine.install_melody(brain));
        Ok(())
    }

    /// Installs the musician's own melody model from its quantized bytes (`MelodyFile::tpq` of
    /// the tools module, made by the page's melody-file worker; validated again here: the error
    /// names what is wrong, and the engine keeps playing what it played). It plays when
    /// `mel.model` is `file`. Allocates: called from the worklet's message handler.
    pub fn install_melody_file(&mut self, bytes: &[u8]) -> Result<(), String> {
        let brain = Brain::lstm_from_tpq(bytes)?;
        drop(self.engine.install_melody_file(brain));
        Ok(())
    }

    /// Installs an n-gram melody model from its file's bytes (`melody-ngram-N.tpng`, validated:
    /// the error says what is wrong); returns its order. Loading is a copy, microseconds.
    pub fn install_melody_ngram(&mut self, bytes: &[u8]) -> Result<usize, String> {
        let brain = Brain::ngram_from_bytes(bytes)?;
        let order = brain.model_index();
        drop(self.engine.install_melody(brain));
        Ok(order)
    }

    /// Forgets what the Markov chain learned (the Clear button); a note it plays ends now. The
    /// worklet calls it from its message handler, between blocks.
    pub fn clear_markov(&mut self) {
        self.engine.clear_markov();
    }

    /// Replaces what the Markov chain learned with a table's text (a link's `mk.table` value;
    /// empty: clear). On error (which says what is wrong) it keeps what it learned. Allocates:
    /// from the worklet's message handler.
    pub fn set_markov_table(&mut self, text: &str) -> Result<(), String> {
        self.engine.set_markov_table(text)
    }

    /// What the Markov chain learned, as a link's `mk.table` value (empty: nothing). Allocates:
    /// from the worklet's message handler, when the page writes its URL.
    pub fn markov_table(&self) -> String {
        self.engine.markov_table_text().unwrap_or_default()
    }

    /// Address of the live-view buffer.
    pub fn view_ptr(&self) -> *const f32 {
        self.view.as_ptr()
    }

    /// Reads a network built off the audio thread (`network_bytes`, in the network worker) and
    /// stages it: it is swapped in after the first block that finds the parameters asking for
    /// exactly its shape, a block boundary; a later network of the same kind replaces it.
    /// Allocates and copies (about 4 MB at 1000 neurons and full connectivity; no weight is drawn
    /// or normalised here): the worklet calls it from its message handler, between blocks. Drops
    /// the networks earlier swaps replaced. The error says what is wrong with the bytes.
    pub fn stage_network(&mut self, bytes: &[u8]) -> Result<(), String> {
        let built = network_from_bytes(bytes)?;
        self.drop_retired();
        if built.lfo.is_some() {
            self.staged.lfo = built.lfo;
        }
        if built.arp.is_some() {
            self.staged.arp = built.arp;
        }
        Ok(())
    }

    /// Drops the networks that swaps replaced (from the worklet's message handler).
    pub fn drop_retired(&mut self) {
        self.retired = Built::default();
    }

    /// The patch as it stands now (knob changes included), as patch text.
    pub fn patch_text(&self) -> String {
        self.engine.patch().to_text()
    }

    /// Frames rendered so far: the frame the next sample will have.
    pub fn frame(&self) -> f64 {
        self.engine.frame() as f64
    }
}

/// Rust only in the page's module (the tests call them); pkg/tools/ exports them to JS for the
/// benchmarks (crates/wasm/src/bench.rs), since neither the page nor the worklet uses them.
impl WasmEngine {
    /// The notes played since the last call, flattened to five numbers each:
    /// `[frame_lo32, frame_hi32, pitch, velocity (0 = off), source (0 = keys, 1 = arpeggiator, 2 = melody)]`.
    /// Forgets them. Allocates the returned array (empty when no note was played).
    pub fn notes_flat(&mut self) -> Vec<u32> {
        let notes = self.engine.notes();
        let mut out = Vec::with_capacity(notes.len() * 5);
        for n in notes {
            out.extend([
                n.frame as u32,
                (n.frame >> 32) as u32,
                n.pitch as u32,
                n.velocity as u32,
                n.source.code(),
            ]);
        }
        self.engine.clear_notes();
        out
    }

    /// The melody model the patch asks for and the engine lacks: 0 the LSTM, 1–4 an n-gram
    /// order, the `file` choice's number the musician's model file, −1 none.
    pub fn missing_melody_model(&self) -> i32 {
        self.engine.missing_melody_model().map_or(-1, |m| m as i32)
    }

    /// A network-shaping parameter changed and its network is not playing yet.
    pub fn rebuild_pending(&self) -> bool {
        self.engine.status().rebuild_pending
    }

    /// The sample rate the engine runs at (after clamping to 8 kHz..384 kHz).
    pub fn sample_rate(&self) -> f64 {
        self.engine.sample_rate()
    }
}

impl WasmEngine {
    /// Swaps in the staged networks the parameters ask for now. Moves only: the replaced
    /// network waits in `retired` (a swap waits while the previous one's is still there).
    fn install_staged(&mut self) {
        let Some(wanted) = self.engine.pending_rebuild() else {
            return;
        };
        let lfo_ready = self.staged.lfo.as_ref().map(|(shape, _)| *shape) == wanted.lfo;
        if wanted.lfo.is_some() && lfo_ready && self.retired.lfo.is_none() {
            let built = Built {
                lfo: self.staged.lfo.take(),
                arp: None,
            };
            self.retired.lfo = self.engine.install(built).lfo;
        }
        let arp_ready = self.staged.arp.as_ref().map(|(shape, _)| *shape) == wanted.arp;
        if wanted.arp.is_some() && arp_ready && self.retired.arp.is_none() {
            let built = Built {
                lfo: None,
                arp: self.staged.arp.take(),
            };
            self.retired.arp = self.engine.install(built).arp;
        }
    }

    fn push(&mut self, frame: f64, input: Input) -> bool {
        self.engine.push_event(InputEvent {
            frame: frame_of(frame),
            input,
        })
    }
}

/// The parameter table as JSON: `[{key, name, group, kind, min, max, log, choices, default,
/// unit, smoothing_ms, structural}, …]`, for the UI to build its controls from.
#[wasm_bindgen]
pub fn param_table() -> String {
    json::param_table()
}

/// Parses patch text (or a URL, or a fragment) and returns JSON `{"text": canonical patch text,
/// "values": [one number per row of the parameter table], "errors": ["field: message", …],
/// "bindings": [{"id", "cc", "channel" (0: any), "source": "cc"|"cc14"|"bend"|"pressure",
/// "soft"}, …]}`: the page's URL codec, the same code as the CLI's.
#[wasm_bindgen]
pub fn parse_patch(text: &str) -> String {
    let parsed = Patch::parse(text);
    let errors: Vec<String> = parsed.errors.iter().map(ToString::to_string).collect();
    let values: Vec<f64> = ParamId::all()
        .iter()
        .map(|&id| parsed.patch.values.get(id))
        .collect();
    let mut out = json::patch_result(&parsed.text(), &values, &errors);
    // The MIDI learn bindings join the object before its closing brace.
    out.pop();
    out.push_str(",\"bindings\":[");
    for b in parsed.bindings.iter() {
        let (kind, cc) = b.source.code();
        if !out.ends_with('[') {
            out.push(',');
        }
        // One formatting call, all numbers u32: the page's wasm is kept small.
        let (id, channel) = (b.param.index() as u32, u32::from(b.channel.unwrap_or(0)));
        let cc = u32::from(cc);
        let _ = write!(
            out,
            "{{\"id\":{id},\"cc\":{cc},\"channel\":{channel},\"source\":\""
        );
        out.push_str(SOURCE_NAMES[kind]);
        out.push_str(if b.soft {
            "\",\"soft\":true}"
        } else {
            "\",\"soft\":false}"
        });
    }
    out.push_str("],\"models\":[");
    for (i, model) in parsed.patch.models.0.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json::string(&model.text()));
    }
    out.push_str("],\"markov\":");
    out.push_str(&json::string(parsed.patch.markov.as_deref().unwrap_or("")));
    out.push('}');
    out
}

/// Canonical patch text of `values`, one per row of the parameter table in table order (each
/// sanitised; missing ones keep their defaults), and of `bindings`, five numbers per MIDI learn
/// binding: parameter id, source (its index in "cc", "cc14", "bend", "pressure"), controller
/// number, channel (0: any) and soft takeover (0 or 1); invalid ones are left out; and of the
/// rhythm tracks' `models` (as `rh1.model` values; a missing or invalid one is the track's
/// default); and of the Markov chain's learned table (`markov`, as `mk.table`; empty, missing or
/// invalid: none). How the page writes its patch state into the URL.
#[wasm_bindgen]
pub fn patch_text_of(
    values: &[f64],
    bindings: Option<Vec<u32>>,
    models: Option<Vec<String>>,
    markov: Option<String>,
) -> String {
    let mut patch = Patch {
        markov: markov.filter(|t| tidepool_engine::learned::check_text(t).is_ok()),
        ..Patch::default()
    };
    for (slot, text) in patch.models.0.iter_mut().zip(models.unwrap_or_default()) {
        if let Ok((model, _)) = ModelRef::parse(&text) {
            *slot = model;
        }
    }
    for (&id, &value) in ParamId::all().iter().zip(values) {
        patch.values.set(id, value);
    }
    let mut list = Bindings::default();
    for b in bindings.unwrap_or_default().chunks_exact(5) {
        let param = ParamId::from_index(b[0] as usize);
        if let (Some(param), Some(source)) = (param, Source::from_code(b[1] as usize, b[2])) {
            let channel = u8::try_from(b[3]).ok().filter(|c| (1..=16).contains(c));
            let soft = b[4] != 0;
            let _ = list.insert(Binding {
                param,
                source,
                channel,
                soft,
            });
        }
    }
    patch.text_with(&list)
}

/// The value parameter number `id` takes when set to `value`: clamped to its range, whole
/// numbers (ints, toggles, choices) rounded; NaN for NaN or an unknown id. The engine applies
/// the same rule, so the page can show and send exactly what will play.
#[wasm_bindgen]
pub fn param_sanitize(id: u32, value: f64) -> f64 {
    ParamId::from_index(id as usize)
        .and_then(|id| id.spec().sanitize(value))
        .unwrap_or(f64::NAN)
}

/// Where each value of [`WasmEngine::snapshot`] sits, as JSON (offsets into the snapshot):
/// `{"length", "lfo", "lfoCount", "neurons", "neuronCount", "entries", "maxEntries", "pitches",
/// "probs", "status": {name: offset}, "melody": {name: offset}, "networks": {"lfo": {"neurons",
/// "connectivity", "seedLow", "seedHigh"}, "arp": {…}}}`.
#[wasm_bindgen]
pub fn snapshot_layout() -> String {
    json::snapshot_layout()
}

/// `text` with parameter `key` set to `value` (clamped), as canonical patch text; `text`
/// unchanged (canonicalised) for an unknown key.
#[wasm_bindgen]
pub fn patch_with(text: &str, key: &str, value: f64) -> String {
    let mut patch = Patch::parse(text).patch;
    if let Some(id) = ParamId::from_key(key) {
        patch.values.set(id, value);
    }
    patch.to_text()
}

/// The spectral radius of W for a network shape, before normalisation: the O(N³) part of a
/// rebuild, for the network worker (see [`network_bytes`]). Tools module only (the eigenvalue
/// code stays out of the page's).
#[cfg(feature = "tools")]
#[wasm_bindgen]
pub fn network_radius_of(neurons: usize, connectivity: f32, seed: f64) -> f64 {
    network_radius(neurons, connectivity, seed as u64)
}

/// The network `which` ("lfo" or "arp") of `neurons`, `connectivity`, `seed`, built and written
/// as bytes for [`WasmEngine::stage_network`]; `radius` is W's radius if known
/// ([`network_radius_of`]), NaN to compute it here. Takes up to about a second: for the network
/// worker. Tools module only.
#[cfg(feature = "tools")]
#[wasm_bindgen]
pub fn network_bytes(
    which: &str,
    neurons: usize,
    connectivity: f32,
    seed: f64,
    radius: f64,
) -> Result<Vec<u8>, String> {
    let which = match which {
        "lfo" => Which::Lfo,
        "arp" => Which::Arp,
        other => return Err(format!("no network called {other:?} (lfo or arp)")),
    };
    Ok(build_network_bytes(
        which,
        (neurons, connectivity, seed as u64),
        radius,
    ))
}

/// Takes `bytes` of heap, writes them and gives them back, so that later allocations up to that
/// size find memory already grown and touched: the worklet does this in its constructor for the
/// largest network swap (its bytes and the network read from them), which then costs the audio
/// thread a copy instead of a memory growth and page faults as well.
#[wasm_bindgen]
pub fn reserve_heap(bytes: usize) {
    let touched = vec![1u8; bytes];
    std::hint::black_box(&touched);
}

/// Checks a quantized melody LSTM file (`melody-lstm.tpq`) exactly as
/// [`WasmEngine::install_melody_lstm`] reads it; the error says what is wrong with it. The page
/// checks the file with it before handing the bytes to the worklet. (The safetensors model is
/// read only by the tools module's `WasmMelody`, for the benchmarks.)
#[wasm_bindgen]
pub fn check_melody_lstm(bytes: &[u8]) -> Result<(), String> {
    tidepool_melody::quant_file::weights(bytes).map(drop)
}
