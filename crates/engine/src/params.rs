//! Every parameter, declared once: key, name, range, unit, default, smoothing. The CLI, the UI and
//! the patch codec all read this table.

/// How a parameter's value space looks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// A real number in [min, max]; `log` says the UI should use a logarithmic scale.
    Real { min: f64, max: f64, log: bool },
    /// A whole number in [min, max].
    Int { min: f64, max: f64 },
    /// Off (0) or on (1).
    Toggle,
    /// An index into named choices; the patch text uses the names.
    Choice(&'static [&'static str]),
}

/// Where a parameter lives in the UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Transport,
    Lfo,
    Arp,
    Synth,
    Melody,
    Rhythm,
}

/// One row of the parameter table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamSpec {
    /// Stable key used in patch text, URLs and the CLI. Never rename one: old links would break.
    pub key: &'static str,
    pub name: &'static str,
    pub group: Group,
    pub kind: Kind,
    pub default: f64,
    pub unit: &'static str,
    /// Time constant the engine smooths changes with (0: applied at once).
    pub smoothing_ms: f32,
    /// Changing it rebuilds a network (off the audio path) instead of turning a knob.
    pub structural: bool,
}

impl ParamSpec {
    pub fn min(&self) -> f64 {
        match self.kind {
            Kind::Real { min, .. } | Kind::Int { min, .. } => min,
            Kind::Toggle | Kind::Choice(_) => 0.0,
        }
    }

    pub fn max(&self) -> f64 {
        match self.kind {
            Kind::Real { max, .. } | Kind::Int { max, .. } => max,
            Kind::Toggle => 1.0,
            Kind::Choice(names) => (names.len() - 1) as f64,
        }
    }

    /// The nearest valid value: clamped to the range, whole numbers rounded. None for NaN.
    pub fn sanitize(&self, value: f64) -> Option<f64> {
        if value.is_nan() {
            return None;
        }
        let v = value.clamp(self.min(), self.max());
        Some(match self.kind {
            Kind::Real { .. } => v,
            _ => libm::round(v),
        })
    }
}

pub const DIVISION_NAMES: &[&str] = &[
    "1/1", "1/2", "1/4", "1/8", "1/16", "1/32", "1/64", "1/2d", "1/4d", "1/8d", "1/16d", "1/32d",
    "1/2t", "1/4t", "1/8t", "1/16t", "1/32t",
];

/// Length in quarter-note beats of each entry of [`DIVISION_NAMES`].
pub const DIVISION_BEATS: &[f64] = &[
    4.0,
    2.0,
    1.0,
    0.5,
    0.25,
    0.125,
    0.0625,
    3.0,
    1.5,
    0.75,
    0.375,
    0.1875,
    4.0 / 3.0,
    2.0 / 3.0,
    1.0 / 3.0,
    1.0 / 6.0,
    1.0 / 12.0,
];

pub const SYNC_NAMES: &[&str] = &["sync", "free"];
pub const SMOOTHING_NAMES: &[&str] = &["off", "linear", "smooth"];
pub const PULSE_NAMES: &[&str] = &["off", "steps", "beat", "bar"];
pub const DEST_NAMES: &[&str] = &["none", "cutoff", "amp", "pitch", "pan"];
pub const ARP_MODE_NAMES: &[&str] = &[
    "off",
    "reservoir",
    "up",
    "down",
    "updown",
    "random",
    "played",
];
pub const VELOCITY_NAMES: &[&str] = &["fixed", "played", "accent"];
pub const WAVE_NAMES: &[&str] = &["saw", "square"];
pub const MELODY_MODE_NAMES: &[&str] = &["off", "free", "answer"];
/// Where a rhythm track's notes come from: its eight pitch steps, or the held keys.
pub const PITCH_FROM_NAMES: &[&str] = &["steps", "keys"];
/// A rhythm hit's velocity: the decoder's output at the step (the paper's), the trained velocity
/// head's, or fixed.
pub const RHYTHM_VELOCITY_NAMES: &[&str] = &["model", "head", "fixed"];
/// The melody's models: the token LSTM, the n-grams of order 1–4, the Markov chain that learns
/// from the musician's playing (sampled at first or second order), and last the musician's own
/// model file.
pub const MELODY_MODEL_NAMES: &[&str] = &[
    "lstm", "ngram1", "ngram2", "ngram3", "ngram4", "markov1", "markov2", "file",
];
/// The first `mel.model` choice that is the Markov chain (`markov1`; `markov2` follows).
pub const MARKOV_MODEL: usize = 5;
/// The `mel.model` choice of the musician's own model file (an LSTM the page converts and hands
/// over; it never travels in the URL, only the choice does). Always the last choice.
pub const MELODY_FILE_MODEL: usize = MELODY_MODEL_NAMES.len() - 1;
/// "follow" (estimated from the notes played), then the 12 major and the 12 minor keys. Flats
/// only: a `#` would end the URL fragment's meaning for many tools.
pub const KEY_NAMES: &[&str] = &[
    "follow", "C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B", "Cm", "Dbm", "Dm",
    "Ebm", "Em", "Fm", "Gbm", "Gm", "Abm", "Am", "Bbm", "Bm",
];

const fn real(min: f64, max: f64) -> Kind {
    Kind::Real {
        min,
        max,
        log: false,
    }
}
const fn log(min: f64, max: f64) -> Kind {
    Kind::Real {
        min,
        max,
        log: true,
    }
}
const fn int(min: f64, max: f64) -> Kind {
    Kind::Int { min, max }
}

/// Declares [`ParamId`] and [`PARAMS`] from one list, so the two can never disagree. The rhythm
/// tracks' rows are written once with the three tracks' ids and defaults, and laid out track by
/// track (`rh1.*`, then `rh2.*`, then `rh3.*`) in the order written: [`track_param`] relies on it.
macro_rules! params {
    ($($id:ident: $key:literal, $name:literal, $group:ident, $kind:expr, $default:expr, $unit:literal,
       $smooth:expr, $structural:expr;)*
     @tracks {$([$t1:ident, $t2:ident, $t3:ident]: $tkey:literal, $tname:literal, $tkind:expr,
       [$d1:expr, $d2:expr, $d3:expr], $tunit:literal;)*}) => {
        /// Index of a parameter in [`PARAMS`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum ParamId { $($id,)* $($t1,)* $($t2,)* $($t3,)* }

        /// The parameter table, in [`ParamId`] order. A `static`, not a `const`: a const table
        /// was copied into the wasm module once per crate that read it (10 KB of strings twice).
        pub static PARAMS: &[ParamSpec] = &[$(ParamSpec {
            key: $key, name: $name, group: Group::$group, kind: $kind, default: $default as f64,
            unit: $unit, smoothing_ms: $smooth as f32, structural: $structural,
        },)* $(track_row!("1", $tkey, $tname, $tkind, $d1, $tunit),)*
           $(track_row!("2", $tkey, $tname, $tkind, $d2, $tunit),)*
           $(track_row!("3", $tkey, $tname, $tkind, $d3, $tunit),)*];

        const ALL: &[ParamId] = &[$(ParamId::$id,)* $(ParamId::$t1,)* $(ParamId::$t2,)* $(ParamId::$t3,)*];

        /// Parameters per rhythm track.
        pub const TRACK_FIELDS: usize = [$($tkey),*].len();
    };
}

macro_rules! track_row {
    ($n:literal, $key:literal, $name:literal, $kind:expr, $default:expr, $unit:literal) => {
        ParamSpec {
            key: concat!("rh", $n, ".", $key),
            name: concat!("Track ", $n, " ", $name),
            group: Group::Rhythm,
            kind: $kind,
            default: $default as f64,
            unit: $unit,
            smoothing_ms: 0.0,
            structural: false,
        }
    };
}

const SEED_MAX: f64 = 4_294_967_295.0;

params! {
    Tempo: "bpm", "Tempo", Transport, real(20.0, 300.0), 120, "BPM", 0, false;
    BeatsPerBar: "bpb", "Beats per bar", Transport, int(1.0, 16.0), 4, "", 0, false;
    Playing: "play", "Play", Transport, Kind::Toggle, 1, "", 0, false;
    Swing: "swing", "Swing", Transport, real(50.0, 75.0), 50, "%", 0, false;
    ClockOut: "clock.out", "Send MIDI clock", Transport, Kind::Toggle, 0, "", 0, false;
    ClockFollow: "clock.follow", "Follow external clock", Transport, Kind::Toggle, 0, "", 0, false;

    LfoNeurons: "lfo.n", "LFO neurons", Lfo, int(1.0, 1000.0), 300, "", 0, true;
    LfoConnectivity: "lfo.conn", "LFO connectivity", Lfo, real(0.01, 1.0), 0.1, "", 0, true;
    LfoSeed: "lfo.seed", "LFO seed", Lfo, int(0.0, SEED_MAX), 1, "", 0, true;
    LfoSpectralRadius: "lfo.sr", "LFO spectral radius", Lfo, real(0.0, 2.0), 1.4, "", 0, false;
    LfoLeak: "lfo.leak", "LFO leak rate", Lfo, real(0.0, 1.0), 0.4, "", 0, false;
    LfoInputScaling: "lfo.in", "LFO input scaling", Lfo, real(0.0, 10.0), 1, "", 0, false;
    LfoFeedbackScaling: "lfo.fb", "LFO feedback scaling", Lfo, real(0.0, 10.0), 0.05, "", 0, false;
    LfoBiasScaling: "lfo.bias", "LFO bias scaling", Lfo, real(0.0, 10.0), 0.1, "", 0, false;
    LfoOutputScaling: "lfo.out", "LFO output scaling", Lfo, real(0.0, 20.0), 3, "", 0, false;
    LfoOutputs: "lfo.outs", "LFO outputs", Lfo, int(1.0, 4.0), 2, "", 0, false;
    LfoSync: "lfo.sync", "LFO rate mode", Lfo, Kind::Choice(SYNC_NAMES), 0, "", 0, false;
    LfoDivision: "lfo.div", "LFO step (synced)", Lfo, Kind::Choice(DIVISION_NAMES), 4, "", 0, false;
    LfoRate: "lfo.hz", "LFO step rate (free)", Lfo, log(0.1, 1000.0), 20, "steps/s", 0, false;
    LfoSmoothing: "lfo.smooth", "LFO smoothing", Lfo, Kind::Choice(SMOOTHING_NAMES), 2, "", 0, false;
    LfoPulse: "lfo.pulse", "Pulse input", Lfo, Kind::Choice(PULSE_NAMES), 0, "", 0, false;
    LfoPulseEvery: "lfo.pk", "Pulse every", Lfo, int(1.0, 64.0), 8, "steps", 0, false;
    LfoPulseLevel: "lfo.pamp", "Pulse intensity", Lfo, real(0.0, 10.0), 1, "", 0, false;
    LfoPitchRange: "lfo.cents", "LFO pitch range", Lfo, real(0.0, 1200.0), 50, "cents", 0, false;
    LfoDest1: "lfo.dest1", "Output 1 destination", Lfo, Kind::Choice(DEST_NAMES), 1, "", 0, false;
    LfoDepth1: "lfo.depth1", "Output 1 depth", Lfo, real(0.0, 1.0), 0.5, "", 20, false;
    LfoOffset1: "lfo.off1", "Output 1 offset", Lfo, real(-1.0, 1.0), 0, "", 20, false;
    LfoDest2: "lfo.dest2", "Output 2 destination", Lfo, Kind::Choice(DEST_NAMES), 4, "", 0, false;
    LfoDepth2: "lfo.depth2", "Output 2 depth", Lfo, real(0.0, 1.0), 0.4, "", 20, false;
    LfoOffset2: "lfo.off2", "Output 2 offset", Lfo, real(-1.0, 1.0), 0, "", 20, false;
    LfoDest3: "lfo.dest3", "Output 3 destination", Lfo, Kind::Choice(DEST_NAMES), 0, "", 0, false;
    LfoDepth3: "lfo.depth3", "Output 3 depth", Lfo, real(0.0, 1.0), 0.5, "", 20, false;
    LfoOffset3: "lfo.off3", "Output 3 offset", Lfo, real(-1.0, 1.0), 0, "", 20, false;
    LfoDest4: "lfo.dest4", "Output 4 destination", Lfo, Kind::Choice(DEST_NAMES), 0, "", 0, false;
    LfoDepth4: "lfo.depth4", "Output 4 depth", Lfo, real(0.0, 1.0), 0.5, "", 20, false;
    LfoOffset4: "lfo.off4", "Output 4 offset", Lfo, real(-1.0, 1.0), 0, "", 20, false;
    // MIDI CC numbers the outputs are sent as (0: not sent; CC 0 is bank select, never a target).
    LfoCc1: "lfo.cc1", "Output 1 to MIDI CC", Lfo, int(0.0, 127.0), 0, "", 0, false;
    LfoCc2: "lfo.cc2", "Output 2 to MIDI CC", Lfo, int(0.0, 127.0), 0, "", 0, false;
    LfoCc3: "lfo.cc3", "Output 3 to MIDI CC", Lfo, int(0.0, 127.0), 0, "", 0, false;
    LfoCc4: "lfo.cc4", "Output 4 to MIDI CC", Lfo, int(0.0, 127.0), 0, "", 0, false;
    LfoCcChannel: "lfo.ccch", "LFO CC channel", Lfo, int(1.0, 16.0), 1, "", 0, false;

    ArpMode: "arp.mode", "Arpeggiator mode", Arp, Kind::Choice(ARP_MODE_NAMES), 1, "", 0, false;
    ArpNeurons: "arp.n", "Arp neurons", Arp, int(1.0, 1000.0), 100, "", 0, true;
    ArpConnectivity: "arp.conn", "Arp connectivity", Arp, real(0.01, 1.0), 0.1, "", 0, true;
    ArpSeed: "arp.seed", "Arp seed", Arp, int(0.0, SEED_MAX), 1, "", 0, true;
    ArpSpectralRadius: "arp.sr", "Arp spectral radius", Arp, real(0.0, 2.0), 1.3, "", 0, false;
    ArpLeak: "arp.leak", "Arp leak rate", Arp, real(0.0, 1.0), 1, "", 0, false;
    ArpFeedbackScaling: "arp.fb", "Arp feedback scaling", Arp, real(0.0, 10.0), 1, "", 0, false;
    ArpBiasScaling: "arp.bias", "Arp bias scaling", Arp, real(0.0, 10.0), 0.3, "", 0, false;
    ArpOutputScaling: "arp.out", "Arp output scaling", Arp, real(0.0, 20.0), 1, "", 0, false;
    ArpConfidence: "arp.beta", "Confidence β", Arp, log(0.001, 1000.0), 3, "", 0, false;
    ArpDivision: "arp.div", "Arp step", Arp, Kind::Choice(DIVISION_NAMES), 4, "", 0, false;
    ArpGate: "arp.gate", "Gate length", Arp, real(0.05, 1.0), 0.5, "of step", 0, false;
    ArpSwing: "arp.swing", "Arp swing", Arp, real(50.0, 75.0), 50, "%", 0, false;
    ArpVelocityMode: "arp.vel", "Velocity", Arp, Kind::Choice(VELOCITY_NAMES), 1, "", 0, false;
    ArpFixedVelocity: "arp.fixv", "Fixed velocity", Arp, int(1.0, 127.0), 100, "", 0, false;
    ArpOctaves: "arp.oct", "Octaves", Arp, int(1.0, 4.0), 1, "", 0, false;
    ArpHold: "arp.hold", "Hold", Arp, Kind::Toggle, 0, "", 0, false;

    SynthWave: "syn.wave", "Waveform", Synth, Kind::Choice(WAVE_NAMES), 0, "", 0, false;
    SynthDetune: "syn.detune", "Detune", Synth, real(0.0, 50.0), 8, "cents", 20, false;
    SynthOsc2: "syn.osc2", "Oscillator 2 level", Synth, real(0.0, 1.0), 0.6, "", 20, false;
    SynthCutoff: "syn.cut", "Filter cutoff", Synth, log(20.0, 18000.0), 1800, "Hz", 30, false;
    SynthResonance: "syn.res", "Resonance", Synth, real(0.0, 1.0), 0.35, "", 30, false;
    SynthFilterEnv: "syn.fenv", "Filter envelope", Synth, real(0.0, 6.0), 1.5, "oct", 0, false;
    SynthAttack: "syn.a", "Attack", Synth, log(0.5, 5000.0), 4, "ms", 0, false;
    SynthDecay: "syn.d", "Decay", Synth, log(1.0, 5000.0), 220, "ms", 0, false;
    SynthSustain: "syn.s", "Sustain", Synth, real(0.0, 1.0), 0.5, "", 0, false;
    SynthRelease: "syn.r", "Release", Synth, log(1.0, 10000.0), 250, "ms", 0, false;
    SynthVoices: "syn.poly", "Voices", Synth, int(1.0, 16.0), 8, "", 0, false;
    SynthGain: "syn.gain", "Output gain", Synth, real(-60.0, 12.0), 0, "dB", 30, false;

    // Off by default: a link made before the melody existed keeps its sound.
    MelodyMode: "mel.mode", "Melody", Melody, Kind::Choice(MELODY_MODE_NAMES), 0, "", 0, false;
    MelodyModel: "mel.model", "Model", Melody, Kind::Choice(MELODY_MODEL_NAMES), 0, "", 0, false;
    MelodyTemperature: "mel.temp", "Temperature", Melody, real(0.0, 10.0), 1, "", 0, false;
    MelodyDensity: "mel.dens", "Density", Melody, real(0.0, 100.0), 50, "%", 0, false;
    MelodyLow: "mel.lo", "Lowest note", Melody, int(0.0, 127.0), 55, "", 0, false;
    MelodyHigh: "mel.hi", "Highest note", Melody, int(0.0, 127.0), 84, "", 0, false;
    MelodyKey: "mel.key", "Key", Melody, Kind::Choice(KEY_NAMES), 0, "", 0, false;
    MelodyBars: "mel.bars", "Answer length", Melody, int(1.0, 16.0), 2, "bars", 0, false;
    MelodySeed: "mel.seed", "Melody seed", Melody, int(0.0, SEED_MAX), 1, "", 0, false;
    MelodyVelocity: "mel.vel", "Melody velocity", Melody, int(1.0, 127.0), 90, "", 0, false;
    MelodyWave: "mel.wave", "Melody waveform", Melody, Kind::Choice(WAVE_NAMES), 1, "", 0, false;
    MelodyCutoff: "mel.cut", "Melody cutoff", Melody, log(20.0, 18000.0), 2400, "Hz", 30, false;
    MelodyAttack: "mel.a", "Melody attack", Melody, log(0.5, 5000.0), 6, "ms", 0, false;
    MelodyRelease: "mel.r", "Melody release", Melody, log(1.0, 10000.0), 160, "ms", 0, false;
    MelodyGain: "mel.gain", "Melody gain", Melody, real(-60.0, 12.0), -4, "dB", 30, false;
    // Of the learned weight, what each note the musician plays takes away from the older ones.
    MarkovForget: "mk.forget", "Markov forgetting", Melody, real(0.0, 50.0), 1, "% per note", 0,
        false;
    RhythmGain: "rhy.gain", "Rhythm gain", Rhythm, real(-60.0, 12.0), -6, "dB", 30, false;
    // The rhythm sequencer's three tracks (crate::rhythm), off by default: a link made before
    // they existed keeps its sound. Each row: the three tracks' ids, key, name, kind, defaults.
    @tracks {
        [Rh1On, Rh2On, Rh3On]: "on", "on", Kind::Toggle, [0, 0, 0], "";
        // The latent layer is linear (unbounded): trained points reach beyond the paper's ±10.
        [Rh1X, Rh2X, Rh3X]: "x", "X", real(-50.0, 50.0), [1, 1, 1], "";
        [Rh1Y, Rh2Y, Rh3Y]: "y", "Y", real(-50.0, 50.0), [1, 1, 1], "";
        [Rh1Threshold, Rh2Threshold, Rh3Threshold]: "thr", "threshold", real(0.0, 1.0),
            [0.5, 0.5, 0.5], "";
        [Rh1Length, Rh2Length, Rh3Length]: "len", "length", int(1.0, 32.0), [32, 32, 32], "steps";
        [Rh1PitchSteps, Rh2PitchSteps, Rh3PitchSteps]: "np", "pitch steps", int(1.0, 8.0),
            [8, 8, 8], "";
        [Rh1Pitch1, Rh2Pitch1, Rh3Pitch1]: "p1", "pitch 1", int(0.0, 127.0), [36, 60, 72], "";
        [Rh1Pitch2, Rh2Pitch2, Rh3Pitch2]: "p2", "pitch 2", int(0.0, 127.0), [36, 63, 75], "";
        [Rh1Pitch3, Rh2Pitch3, Rh3Pitch3]: "p3", "pitch 3", int(0.0, 127.0), [43, 67, 79], "";
        [Rh1Pitch4, Rh2Pitch4, Rh3Pitch4]: "p4", "pitch 4", int(0.0, 127.0), [46, 70, 84], "";
        [Rh1Pitch5, Rh2Pitch5, Rh3Pitch5]: "p5", "pitch 5", int(0.0, 127.0), [36, 67, 82], "";
        [Rh1Pitch6, Rh2Pitch6, Rh3Pitch6]: "p6", "pitch 6", int(0.0, 127.0), [39, 63, 79], "";
        [Rh1Pitch7, Rh2Pitch7, Rh3Pitch7]: "p7", "pitch 7", int(0.0, 127.0), [41, 65, 77], "";
        [Rh1Pitch8, Rh2Pitch8, Rh3Pitch8]: "p8", "pitch 8", int(0.0, 127.0), [43, 62, 75], "";
        [Rh1Transpose, Rh2Transpose, Rh3Transpose]: "tr", "transpose", int(-24.0, 24.0),
            [0, 0, 0], "semitones";
        [Rh1PitchFrom, Rh2PitchFrom, Rh3PitchFrom]: "pitch", "pitches from",
            Kind::Choice(PITCH_FROM_NAMES), [0, 0, 0], "";
        [Rh1Velocity, Rh2Velocity, Rh3Velocity]: "vel", "velocity",
            Kind::Choice(RHYTHM_VELOCITY_NAMES), [0, 0, 0], "";
        [Rh1FixedVelocity, Rh2FixedVelocity, Rh3FixedVelocity]: "vfix", "fixed velocity",
            int(1.0, 127.0), [100, 100, 100], "";
        [Rh1Gate, Rh2Gate, Rh3Gate]: "gate", "gate", real(0.05, 1.0), [0.5, 0.5, 0.5], "of step";
        [Rh1Mute, Rh2Mute, Rh3Mute]: "mute", "mute", Kind::Toggle, [0, 0, 0], "";
        [Rh1Solo, Rh2Solo, Rh3Solo]: "solo", "solo", Kind::Toggle, [0, 0, 0], "";
        [Rh1Channel, Rh2Channel, Rh3Channel]: "ch", "MIDI channel", int(1.0, 16.0), [3, 4, 5], "";
        [Rh1Synth, Rh2Synth, Rh3Synth]: "synth", "built-in synth", Kind::Toggle, [1, 1, 1], "";
    }
}

/// Number of parameters.
pub const PARAM_COUNT: usize = ALL.len();

/// The MIDI connection settings: they route messages to and from other gear and never change
/// the sound, and all default to off. Patch text writes them only when they differ from their
/// default, so a link stays short and links written before they existed mean the same.
pub const CONNECTION_PARAMS: &[ParamId] = &[
    ParamId::ClockOut,
    ParamId::ClockFollow,
    ParamId::LfoCc1,
    ParamId::LfoCc2,
    ParamId::LfoCc3,
    ParamId::LfoCc4,
    ParamId::LfoCcChannel,
];

/// The Markov chain's settings: written in patch text only when not at their default, so the
/// default patch's text stays what it was before the chain existed.
pub const MARKOV_PARAMS: &[ParamId] = &[ParamId::MarkovForget];

/// Whether patch text leaves `id` out at its default value (connection and Markov settings).
pub fn written_only_when_set(id: ParamId) -> bool {
    CONNECTION_PARAMS.contains(&id) || MARKOV_PARAMS.contains(&id)
}

/// The id of rhythm track `track`'s (0–2) parameter whose track-1 id is `first` (`ParamId::Rh1X`…).
pub fn track_param(track: usize, first: ParamId) -> ParamId {
    let offset = first.index() - ParamId::Rh1On.index();
    let index = ParamId::Rh1On.index() + track.min(2) * TRACK_FIELDS + offset % TRACK_FIELDS;
    ParamId::from_index(index).unwrap_or(first)
}

/// The rhythm track (0–2) `id` belongs to and its track-1 equivalent, for a track parameter.
pub fn track_field(id: ParamId) -> Option<(usize, ParamId)> {
    let offset = id.index().checked_sub(ParamId::Rh1On.index())?;
    let track = offset / TRACK_FIELDS;
    let first = ParamId::from_index(ParamId::Rh1On.index() + offset % TRACK_FIELDS)?;
    (track < 3).then_some((track, first))
}

impl ParamId {
    /// All ids in table order.
    pub fn all() -> &'static [ParamId] {
        ALL
    }

    pub fn spec(self) -> &'static ParamSpec {
        &PARAMS[self as usize]
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(index: usize) -> Option<ParamId> {
        ALL.get(index).copied()
    }

    pub fn from_key(key: &str) -> Option<ParamId> {
        ALL.iter().copied().find(|id| id.spec().key == key)
    }
}

/// One value for every parameter, always valid.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamValues([f64; PARAM_COUNT]);

impl Default for ParamValues {
    fn default() -> Self {
        let mut v = [0.0; PARAM_COUNT];
        for (slot, spec) in v.iter_mut().zip(PARAMS) {
            *slot = spec.default;
        }
        Self(v)
    }
}

impl ParamValues {
    pub fn get(&self, id: ParamId) -> f64 {
        self.0[id.index()]
    }

    /// Sets `id` to the nearest valid value and returns it; NaN leaves the value as it was.
    pub fn set(&mut self, id: ParamId, value: f64) -> f64 {
        if let Some(v) = id.spec().sanitize(value) {
            self.0[id.index()] = v;
        }
        self.0[id.index()]
    }

    /// The value as an index (choices, whole numbers).
    pub fn index(&self, id: ParamId) -> usize {
        self.get(id) as usize
    }

    pub fn on(&self, id: ParamId) -> bool {
        self.get(id) >= 0.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut keys: Vec<&str> = PARAMS.iter().map(|p| p.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), PARAM_COUNT, "duplicate keys");
        for (i, id) in ParamId::all().iter().enumerate() {
            let spec = id.spec();
            assert_eq!(id.index(), i);
            assert_eq!(ParamId::from_key(spec.key), Some(*id));
            assert!(
                spec.min() <= spec.default && spec.default <= spec.max(),
                "{}",
                spec.key
            );
            assert_eq!(
                spec.sanitize(spec.default),
                Some(spec.default),
                "{}",
                spec.key
            );
            assert!(
                spec.key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.'),
                "{}",
                spec.key
            );
        }
        assert_eq!(DIVISION_NAMES.len(), DIVISION_BEATS.len());
    }

    #[test]
    fn set_clamps_rounds_and_ignores_nan() {
        let mut v = ParamValues::default();
        assert_eq!(v.set(ParamId::Tempo, 1e9), 300.0);
        assert_eq!(v.set(ParamId::Tempo, f64::NAN), 300.0);
        assert_eq!(v.set(ParamId::Tempo, f64::NEG_INFINITY), 20.0);
        assert_eq!(v.set(ParamId::LfoNeurons, 12.6), 13.0);
        assert_eq!(
            v.set(ParamId::ArpMode, 99.0),
            (ARP_MODE_NAMES.len() - 1) as f64
        );
        assert_eq!(v.set(ParamId::LfoSeed, 4e9), 4e9);
    }
}
