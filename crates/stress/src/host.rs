//! The host side of a playing engine, as the page and the offline renderer are: it feeds timed
//! inputs block by block, builds changed networks off the audio path and installs them, hands
//! over melody models when the engine asks, drains the note stream, and watches every block
//! (time, allocations, peak, non-finite samples).
//!
//! Every engine of the harness is driven through [`play`], so a check differs from another only
//! in its patch, its events and how it cuts blocks.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use tidepool_alloc_count::allocations_during;
use tidepool_engine::{
    network_radius, Brain, Engine, Input, InputEvent, NoteEvent, Patch, Rebuild, Shape, Source,
    MELODY_FILE_MODEL,
};
use tidepool_reservoir::SeededRng;

/// The model files the page ships, read once: every engine gets its brains built from them.
pub struct Models {
    pub lstm: Vec<u8>,
    /// n-gram orders 1–4.
    pub ngram: [Vec<u8>; 4],
}

impl Models {
    /// Reads `web/models/` under the workspace `root`.
    pub fn load(root: &Path) -> Result<Self, String> {
        let read = |name: &str| {
            let path = root.join("web/models").join(name);
            std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
        };
        Ok(Self {
            lstm: read("melody-lstm.tpq")?,
            ngram: [
                read("melody-ngram-1.tpng")?,
                read("melody-ngram-2.tpng")?,
                read("melody-ngram-3.tpng")?,
                read("melody-ngram-4.tpng")?,
            ],
        })
    }

    /// The brain for `mel.model` choice `model` (0 the LSTM, 1–4 an n-gram order; the shipped
    /// LSTM stands in for a musician's model file, as in the page when none is kept).
    pub fn brain(&self, model: usize) -> Brain {
        let brain = match model {
            0 | MELODY_FILE_MODEL => Brain::lstm_from_tpq(&self.lstm),
            n => Brain::ngram_from_bytes(&self.ngram[(n - 1).min(3)]),
        };
        brain.expect("the shipped models load")
    }
}

/// Builds networks as a host does. The O(N³) spectral radius of each shape is computed once and
/// kept, as the page's worker would hand it over: with thousands of random structural changes
/// the harness would otherwise spend its time in eigen-decompositions, not in the engine.
pub struct Host {
    pub models: Models,
    radii: RefCell<HashMap<(usize, u32, u64), f64>>,
    stalled: RefCell<Vec<Shape>>,
}

/// Longest a network's spectral radius may take (1000 neurons at full connectivity take about
/// 1 s on a quiet machine, 8 s on this one with both cores busy).
pub const RADIUS_LIMIT: Duration = Duration::from_secs(60);

/// The radius of `shape` computed on another thread, or None if it takes longer than `limit`
/// (the thread is left to finish or spin on its own: nothing can stop it).
pub fn radius_within((n, c, seed): Shape, limit: Duration) -> Option<f64> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(network_radius(n, c, seed));
    });
    rx.recv_timeout(limit).ok()
}

impl Host {
    pub fn new(models: Models) -> Self {
        Self {
            models,
            radii: RefCell::new(HashMap::new()),
            stalled: RefCell::new(Vec::new()),
        }
    }

    /// The W radius of a shape (cached). Computed on a thread of its own and given up after
    /// [`RADIUS_LIMIT`]: a shape whose eigen-decomposition does not finish is recorded (see
    /// [`Host::stalled`]) and built with radius 1 instead, so one hang cannot stop the harness.
    pub fn radius(&self, shape: Shape) -> f64 {
        let (n, c, seed) = shape;
        if let Some(&r) = self.radii.borrow().get(&(n, c.to_bits(), seed)) {
            return r;
        }
        let r = radius_within(shape, RADIUS_LIMIT).unwrap_or_else(|| {
            self.stalled.borrow_mut().push(shape);
            1.0
        });
        self.radii.borrow_mut().insert((n, c.to_bits(), seed), r);
        r
    }

    /// Shapes whose radius did not come within [`RADIUS_LIMIT`].
    pub fn stalled(&self) -> Vec<Shape> {
        self.stalled.borrow().clone()
    }

    /// Shapes whose radius has been computed so far.
    pub fn shapes_built(&self) -> usize {
        self.radii.borrow().len()
    }

    /// A fresh engine playing `patch` at `rate`, its networks built with cached radii.
    pub fn engine(&self, rate: f64, patch: &Patch) -> Engine {
        let v = &patch.values;
        use tidepool_engine::ParamId as P;
        let shape = |n, c, s| (v.index(n), v.get(c) as f32, v.get(s) as u64);
        let lfo = self.radius(shape(P::LfoNeurons, P::LfoConnectivity, P::LfoSeed));
        let arp = self.radius(shape(P::ArpNeurons, P::ArpConnectivity, P::ArpSeed));
        Engine::with_radii(rate, patch, lfo, arp)
    }

    /// Installs every melody model at once (the LSTM and the four n-grams), so a render never
    /// waits for one: what a render compared across block sizes needs, since a model handed over
    /// between blocks restarts the melody on a block boundary.
    pub fn preload(&self, engine: &mut Engine) {
        for model in 0..5 {
            drop(engine.install_melody(self.models.brain(model)));
        }
    }

    /// What a host does between blocks: build and install changed networks, hand over a missing
    /// melody model. Returns the number of installs.
    pub fn serve(&self, engine: &mut Engine) -> usize {
        let mut installs = 0;
        if let Some(rebuild) = engine.pending_rebuild() {
            let Rebuild { lfo, arp } = rebuild;
            let r = |s: Option<Shape>| s.map_or(f64::NAN, |s| self.radius(s));
            drop(engine.install(rebuild.build_with_radii(r(lfo), r(arp))));
            installs += 1;
        }
        if let Some(model) = engine.missing_melody_model() {
            let brain = self.models.brain(model);
            drop(if model == MELODY_FILE_MODEL {
                engine.install_melody_file(brain)
            } else {
                engine.install_melody(brain)
            });
            installs += 1;
        }
        installs
    }
}

/// How a render is cut into blocks.
#[derive(Clone, Copy, Debug)]
pub enum Blocks {
    Fixed(usize),
    /// Sizes drawn uniformly from 1 to `max` by a generator seeded with `seed`.
    Random {
        seed: u64,
        max: usize,
    },
}

/// What to watch during a render.
#[derive(Clone, Copy, Debug, Default)]
pub struct Watch {
    /// Keep the samples (memory: 8 bytes a frame).
    pub audio: bool,
    /// Time each `process` call.
    pub time: bool,
    /// Count allocations in `process` and `push_event` (needs the counting global allocator).
    pub allocs: bool,
}

/// One timed block.
#[derive(Clone, Copy, Debug)]
pub struct BlockTime {
    pub start: u64,
    pub frames: usize,
    pub seconds: f64,
    /// The networks that played it (LFO, arpeggiator).
    pub shapes: (Shape, Shape),
    /// What else costs: the melody's mode and model, the tempo, the LFO's mode (0 synced,
    /// 1 free) and free rate, at the block's end.
    pub context: BlockContext,
    /// The work the block did: LFO and arpeggiator reservoir steps, melody model steps, and the
    /// synth voices sounding at its end (from the engine's own counters).
    pub work: [u64; 4],
}

impl BlockTime {
    /// Blocks with the same key did the same work: same networks, frames, reservoir and model
    /// steps and (to four voices) synth voices. Their times should agree; one far slower than
    /// its kind's median was slow for no reason of its own (a denormal, a build, a lock).
    pub fn kind(&self) -> impl Eq + std::hash::Hash + Copy {
        let ((ln, lc, _), (an, ac, _)) = self.shapes;
        let [lfo, arp, mel, voices] = self.work;
        (
            (ln, lc.to_bits(), an, ac.to_bits()),
            self.frames,
            (lfo, arp, mel, voices / 4),
            (self.context.melody_model, self.context.lfo_free),
        )
    }
}

/// See [`BlockTime::context`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BlockContext {
    pub melody_mode: u8,
    pub melody_model: u8,
    pub tempo: f32,
    pub lfo_free: bool,
    pub lfo_hz: f32,
}

impl BlockContext {
    pub fn of(engine: &Engine) -> Self {
        use tidepool_engine::ParamId as P;
        Self {
            melody_mode: engine.param(P::MelodyMode) as u8,
            melody_model: engine.param(P::MelodyModel) as u8,
            tempo: engine.param(P::Tempo) as f32,
            lfo_free: engine.param(P::LfoSync) >= 0.5,
            lfo_hz: engine.param(P::LfoRate) as f32,
        }
    }
}

/// What a render produced and what was seen while it ran.
#[derive(Clone, Debug, Default)]
pub struct Played {
    pub left: Vec<f32>,
    pub right: Vec<f32>,
    pub notes: Vec<NoteEvent>,
    pub blocks: Vec<BlockTime>,
    pub allocations: u64,
    /// The largest |sample| seen (non-finite samples are counted, not compared).
    pub peak: f32,
    pub non_finite: u64,
    /// Network and model installs made between blocks.
    pub installs: usize,
    /// The engine's LFO outputs at each probe frame (read before that frame renders).
    pub probes: Vec<[f32; 4]>,
    pub frames: u64,
    /// Inputs the engine's queue refused.
    pub dropped_inputs: u64,
}

/// Renders `frames` frames from the engine's current frame, feeding `events` (frames absolute,
/// any order), serving rebuilds and models between blocks. A block ends right after a
/// structural change (as `render::render_with` does) so the new network plays from the next frame
/// whatever the block size, and at each of `probes` (absolute frames, ascending) so the LFO's
/// value there can be read.
pub fn play(
    host: &Host,
    engine: &mut Engine,
    events: &[InputEvent],
    frames: u64,
    blocks: Blocks,
    watch: Watch,
    probes: &[u64],
) -> Played {
    let (events, structural) = tidepool_engine::render::schedule(events);
    let mut out = Played::default();
    let mut rng = match blocks {
        Blocks::Random { seed, .. } => Some(SeededRng::new(seed, 3)),
        Blocks::Fixed(_) => None,
    };
    let max = match blocks {
        Blocks::Fixed(n) | Blocks::Random { max: n, .. } => n.max(1),
    };
    let (mut l, mut r) = (vec![0.0f32; max], vec![0.0f32; max]);
    let start = engine.frame();
    let end_frame = start + frames;
    let (mut next_event, mut next_structural, mut next_probe) = (0, 0, 0);
    let dropped_before = engine.status().dropped_inputs;
    while engine.frame() < end_frame {
        let now = engine.frame();
        let size = match &mut rng {
            Some(rng) => 1 + rng.below(max) as u64,
            None => max as u64,
        };
        let mut end = (now + size).min(end_frame);
        while next_structural < structural.len() && structural[next_structural] < now {
            next_structural += 1;
        }
        if let Some(&f) = structural.get(next_structural) {
            end = end.min(f + 1);
        }
        while next_probe < probes.len() && probes[next_probe] < now {
            next_probe += 1;
        }
        while probes.get(next_probe) == Some(&now) {
            out.probes.push(engine.lfo_values());
            next_probe += 1;
        }
        if let Some(&p) = probes.get(next_probe) {
            end = end.min(p);
        }
        let n = (end - now) as usize;
        let (left, right) = (&mut l[..n], &mut r[..n]);
        let mut push = |engine: &mut Engine| {
            while next_event < events.len() && events[next_event].frame < end {
                engine.push_event(events[next_event]);
                next_event += 1;
            }
        };
        let mut seconds = 0.0;
        let before = engine.status();
        let mut render = |engine: &mut Engine| {
            push(engine);
            let t = Instant::now();
            engine.process(left, right);
            seconds = t.elapsed().as_secs_f64();
        };
        if watch.allocs {
            out.allocations += allocations_during(|| render(engine));
        } else {
            render(engine);
        }
        if watch.time {
            let after = engine.status();
            let work = [
                after.lfo_steps - before.lfo_steps,
                after.arp_steps - before.arp_steps,
                after.melody_feeds - before.melody_feeds,
                after.sounding as u64,
            ];
            out.blocks.push(BlockTime {
                work,
                start: now,
                frames: n,
                seconds,
                shapes: engine.installed_shapes(),
                context: BlockContext::of(engine),
            });
        }
        for &x in l[..n].iter().chain(&r[..n]) {
            if x.is_finite() {
                out.peak = out.peak.max(x.abs());
            } else {
                out.non_finite += 1;
            }
        }
        if watch.audio {
            out.left.extend_from_slice(&l[..n]);
            out.right.extend_from_slice(&r[..n]);
        }
        out.notes.extend_from_slice(engine.notes());
        engine.clear_notes();
        out.installs += host.serve(engine);
    }
    out.frames = frames;
    out.dropped_inputs = engine.status().dropped_inputs - dropped_before;
    out
}

/// The note stream's bookkeeping per (source, pitch): a note-on opens the note, a note-off
/// closes it (MIDI semantics: one off ends it, however many ons came before).
#[derive(Clone, Debug)]
pub struct Ledger {
    open: [[Option<u64>; 128]; 3],
    pub ons: u64,
    pub offs: u64,
    /// Note-offs for notes that were not open (harmless on MIDI, but a sign of confusion).
    pub orphan_offs: u64,
    /// Note-ons for a note already open (a MIDI receiver hears a retrigger).
    pub double_ons: u64,
}

impl Default for Ledger {
    fn default() -> Self {
        Self {
            open: [[None; 128]; 3],
            ons: 0,
            offs: 0,
            orphan_offs: 0,
            double_ons: 0,
        }
    }
}

impl Ledger {
    pub fn feed(&mut self, notes: &[NoteEvent]) {
        for n in notes {
            let slot = &mut self.open[n.source.code() as usize][n.pitch.min(127) as usize];
            if n.velocity > 0 {
                self.ons += 1;
                if slot.is_some() {
                    self.double_ons += 1;
                }
                *slot = Some(n.frame);
            } else {
                self.offs += 1;
                if slot.take().is_none() {
                    self.orphan_offs += 1;
                }
            }
        }
    }

    /// Notes still open: (source, pitch, frame of the note-on).
    pub fn open_notes(&self) -> Vec<(Source, u8, u64)> {
        let sources = [Source::Keys, Source::Arp, Source::Melody];
        let mut open = Vec::new();
        for (s, pitches) in sources.iter().zip(&self.open) {
            for (p, on) in pitches.iter().enumerate() {
                if let Some(frame) = on {
                    open.push((*s, p as u8, *frame));
                }
            }
        }
        open
    }
}

/// The inputs that let go of everything a musician can hold, without panic (which would hide a
/// stuck note): every key up, the pedal up, hold off, the melody off.
pub fn release_everything(frame: u64) -> Vec<InputEvent> {
    use tidepool_engine::ParamId;
    let at = |input| InputEvent { frame, input };
    let mut events: Vec<InputEvent> = (0..128u8)
        .map(|pitch| at(Input::NoteOff { pitch }))
        .collect();
    events.push(at(Input::Sustain(false)));
    events.push(at(Input::SetParam {
        id: ParamId::ArpHold,
        value: 0.0,
    }));
    events.push(at(Input::SetParam {
        id: ParamId::MelodyMode,
        value: 0.0,
    }));
    events
}

/// After [`release_everything`]: renders in one-second pieces until the synth is silent and
/// every note is closed, at most `max_seconds`. Returns the seconds rendered and the final state.
pub fn tail(
    host: &Host,
    engine: &mut Engine,
    ledger: &mut Ledger,
    max_seconds: u32,
) -> (u32, Played) {
    let second = engine.sample_rate() as u64;
    let mut last = Played::default();
    for s in 1..=max_seconds {
        last = play(
            host,
            engine,
            &[],
            second,
            Blocks::Fixed(4096),
            Watch::default(),
            &[],
        );
        ledger.feed(&last.notes);
        if engine.status().sounding == 0 && ledger.open_notes().is_empty() {
            return (s, last);
        }
    }
    (max_seconds, last)
}

/// Seconds to frames at `rate` (rounded).
pub fn frames(seconds: f64, rate: f64) -> u64 {
    (seconds * rate).round() as u64
}

/// Median of some values (sorted copy).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
