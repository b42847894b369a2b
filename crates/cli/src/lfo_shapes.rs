//! `tidepool lfo-shapes`: searches reservoir LFO settings whose output reproduces ReMi's Fig. 1
//! common waveforms (sine, triangle, saw, square), and measures how close a patch's LFO comes.
//!
//! Everything here drives the real engine ([`Engine::process`], [`Engine::lfo_values`]), so a
//! number printed is what the instrument plays. The measure, used by the search, by
//! `--presets` and by the factory-bank test, is:
//!
//! 1. [`lfo_trace`]: output 1 of the LFO, sampled [`SAMPLES_PER_STEP`] times per reservoir step
//!    for [`WINDOW_STEPS`] steps after [`SETTLE_STEPS`] steps of settling, at [`MEASURE_RATE`].
//! 2. [`fit`]: the ideal wave `c + a·w(t/P + φ)` closest to the trace in least squares, over
//!    the period P (in steps, from 6 to 32, so the window holds at least four periods), the
//!    phase φ, the offset c and the amplitude a (negative a allowed: a falling saw is a saw).
//! 3. The shape error: the RMS of the residual over the RMS of the fitted wave's swing
//!    (`a·(w − mean w)`). 0 is the ideal wave exactly; 0.1 leaves a residual a tenth the size
//!    of the swing; a trace that is not periodic at one P or not that shape scores 1 or more.
//!
//! Deterministic: candidates come from a fixed-seed generator, the fit is a grid then a
//! shrinking local search, and the engine renders the same samples on every machine.

use tidepool_engine::params::DIVISION_BEATS;
use tidepool_engine::{Engine, ParamId, Patch};

/// Sample rate of the measuring renders: the engine's lowest, since only the LFO is read.
pub const MEASURE_RATE: f64 = 8000.0;
/// Trace samples per reservoir step (the smoothing's curve between steps shows at this rate).
pub const SAMPLES_PER_STEP: usize = 8;
/// Steps rendered before the trace starts, so the network has left its rest state.
pub const SETTLE_STEPS: usize = 192;
/// Steps in the scored trace.
pub const WINDOW_STEPS: usize = 128;
/// Periods fitted, in steps: from 6 to 32 (four periods in the window). Below 6 the smoothing
/// between steps draws the shape rather than the reservoir: a network that merely alternates
/// between two values every step is an exact triangle with linear smoothing and an exact square
/// without (the search finds such networks at once, error 0.0000).
pub const MIN_PERIOD_STEPS: f64 = 6.0;
pub const MAX_PERIOD_STEPS: f64 = 32.0;
/// The fitted wave must swing over at least this share of the LFO's 0..1 range to count
/// (a perfect shape too small to hear is no preset).
pub const MIN_SWING: f64 = 0.3;

/// One of ReMi's Fig. 1 common waveforms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Sine,
    Triangle,
    Saw,
    Square,
}

impl Shape {
    pub const ALL: [Shape; 4] = [Shape::Sine, Shape::Triangle, Shape::Saw, Shape::Square];

    pub fn label(self) -> &'static str {
        match self {
            Shape::Sine => "sine",
            Shape::Triangle => "triangle",
            Shape::Saw => "saw",
            Shape::Square => "square",
        }
    }

    pub fn from_label(label: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.label() == label)
    }

    /// The ideal wave at phase `u` in [0, 1), between −1 and 1.
    pub fn at(self, u: f64) -> f64 {
        match self {
            Shape::Sine => (std::f64::consts::TAU * u).sin(),
            Shape::Triangle => 4.0 * (u - 0.5).abs() - 1.0,
            Shape::Saw => 2.0 * u - 1.0,
            Shape::Square => {
                if u < 0.5 {
                    1.0
                } else {
                    -1.0
                }
            }
        }
    }
}

/// The ideal wave closest to a trace, and how far the trace is from it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fit {
    /// RMS residual over the RMS swing of the fitted wave (0 = the ideal wave).
    pub error: f64,
    pub period_steps: f64,
    /// Phase in periods, 0..1.
    pub phase: f64,
    /// a: the fitted wave is `offset + amplitude · w`, so it swings over 2·|a|.
    pub amplitude: f64,
    pub offset: f64,
}

impl Fit {
    const NONE: Fit = Fit {
        error: f64::INFINITY,
        period_steps: 0.0,
        phase: 0.0,
        amplitude: 0.0,
        offset: 0.0,
    };

    /// Peak to peak of the fitted wave, in the LFO's 0..1 units.
    pub fn swing(&self) -> f64 {
        2.0 * self.amplitude.abs()
    }
}

/// Reservoir steps per second the patch asks for, at its tempo in sync mode.
fn steps_per_second(patch: &Patch) -> f64 {
    let v = &patch.values;
    if v.index(ParamId::LfoSync) == 1 {
        v.get(ParamId::LfoRate)
    } else {
        let beats = DIVISION_BEATS[v.index(ParamId::LfoDivision)];
        v.get(ParamId::Tempo) / 60.0 / beats
    }
}

/// Output 1 of the patch's LFO as the engine plays it: [`SAMPLES_PER_STEP`] samples per step
/// for [`WINDOW_STEPS`] steps after [`SETTLE_STEPS`]. No notes are played (the LFO runs
/// without them); a synced LFO needs `play=1`, or it never steps and the trace is flat.
pub fn lfo_trace(patch: &Patch) -> Vec<f64> {
    let mut engine = Engine::new(MEASURE_RATE, patch);
    let step_frames = MEASURE_RATE / steps_per_second(patch);
    let hop = step_frames / SAMPLES_PER_STEP as f64;
    let (mut left, mut right) = (vec![0.0f32; 4096], vec![0.0f32; 4096]);
    let mut advance = |engine: &mut Engine, to: u64| {
        while engine.frame() < to {
            let n = ((to - engine.frame()) as usize).min(left.len());
            engine.process(&mut left[..n], &mut right[..n]);
        }
    };
    let start = SETTLE_STEPS as f64 * step_frames;
    (0..WINDOW_STEPS * SAMPLES_PER_STEP)
        .map(|k| {
            advance(&mut engine, (start + k as f64 * hop).round() as u64);
            engine.lfo_values()[0] as f64
        })
        .collect()
}

/// The least-squares fit of `shape` at period `period` (samples) and phase `phase`: (error,
/// amplitude, offset).
fn fit_at(trace: &[f64], shape: Shape, period: f64, phase: f64) -> (f64, f64, f64) {
    let n = trace.len() as f64;
    let (mut sw, mut sww, mut sx, mut sxx, mut sxw) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &x) in trace.iter().enumerate() {
        let u = (i as f64 / period + phase).rem_euclid(1.0);
        let w = shape.at(u);
        sw += w;
        sww += w * w;
        sx += x;
        sxx += x * x;
        sxw += x * w;
    }
    let var_w = sww / n - (sw / n).powi(2);
    let var_x = sxx / n - (sx / n).powi(2);
    let cov = sxw / n - (sx / n) * (sw / n);
    if var_w <= 1e-12 || cov == 0.0 {
        return (f64::INFINITY, 0.0, sx / n);
    }
    let a = cov / var_w;
    let residual = (var_x - cov * cov / var_w).max(0.0);
    let swing_rms = a.abs() * var_w.sqrt();
    (residual.sqrt() / swing_rms, a, sx / n - a * sw / n)
}

/// The period (in samples) the trace repeats at: the shortest lag, between the limits, whose
/// normalised autocorrelation is within 5% of the best, refined between its neighbours.
fn period_guess(trace: &[f64]) -> Option<f64> {
    let mean = trace.iter().sum::<f64>() / trace.len() as f64;
    let x: Vec<f64> = trace.iter().map(|v| v - mean).collect();
    let lo = (MIN_PERIOD_STEPS * SAMPLES_PER_STEP as f64) as usize;
    let hi = (MAX_PERIOD_STEPS * SAMPLES_PER_STEP as f64) as usize;
    let r = |lag: usize| {
        let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
        for i in 0..x.len() - lag {
            xy += x[i] * x[i + lag];
            xx += x[i] * x[i];
            yy += x[i + lag] * x[i + lag];
        }
        if xx * yy > 0.0 {
            xy / (xx * yy).sqrt()
        } else {
            0.0
        }
    };
    let rs: Vec<f64> = (lo - 1..=hi + 1).map(r).collect();
    let best = rs.iter().cloned().fold(f64::MIN, f64::max);
    if best <= 0.0 {
        return None;
    }
    let i = (1..rs.len() - 1)
        .find(|&i| rs[i] >= 0.95 * best && rs[i] >= rs[i - 1] && rs[i] >= rs[i + 1])?;
    let (a, b, c) = (rs[i - 1], rs[i], rs[i + 1]);
    let denom = a - 2.0 * b + c;
    let shift = if denom.abs() > 1e-12 {
        (0.5 * (a - c) / denom).clamp(-0.5, 0.5)
    } else {
        0.0
    };
    Some((lo - 1 + i) as f64 + shift)
}

/// The ideal `shape` closest to `trace` (sampled [`SAMPLES_PER_STEP`] per step) over period,
/// phase, offset and amplitude: a grid around the autocorrelation's period, then a local search
/// whose steps halve until they are below 1e-4 of a period.
pub fn fit(trace: &[f64], shape: Shape) -> Fit {
    let Some(guess) = period_guess(trace) else {
        return Fit::NONE;
    };
    let per_step = SAMPLES_PER_STEP as f64;
    let (lo, hi) = (MIN_PERIOD_STEPS * per_step, MAX_PERIOD_STEPS * per_step);
    let eval = |p: f64, ph: f64| fit_at(trace, shape, p.clamp(lo, hi), ph.rem_euclid(1.0)).0;
    let mut best = (f64::INFINITY, guess, 0.0);
    for k in -4..=4 {
        let p = guess * (1.0 + 0.004 * k as f64);
        for j in 0..48 {
            let ph = j as f64 / 48.0;
            let e = eval(p, ph);
            if e < best.0 {
                best = (e, p, ph);
            }
        }
    }
    let (mut dp, mut dph) = (0.002 * guess, 1.0 / 96.0);
    while dph > 1e-4 {
        let mut moved = false;
        for (p, ph) in [
            (best.1 + dp, best.2),
            (best.1 - dp, best.2),
            (best.1, best.2 + dph),
            (best.1, best.2 - dph),
        ] {
            let e = eval(p, ph);
            if e < best.0 {
                best = (e, p, ph);
                moved = true;
            }
        }
        if !moved {
            dp /= 2.0;
            dph /= 2.0;
        }
    }
    let (period, phase) = (best.1.clamp(lo, hi), best.2.rem_euclid(1.0));
    let (error, amplitude, offset) = fit_at(trace, shape, period, phase);
    Fit {
        error,
        period_steps: period / per_step,
        phase,
        amplitude,
        offset,
    }
}

/// The shape error of a patch's LFO output 1 against `shape` ([`lfo_trace`] then [`fit`]).
pub fn measure(patch: &Patch, shape: Shape) -> Fit {
    fit(&lfo_trace(patch), shape)
}

/// The LFO settings the search varies, as (parameter, value) pairs.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate(pub Vec<(ParamId, f64)>);

/// Step rate of the search's renders: 32 frames a step at [`MEASURE_RATE`], so a candidate
/// costs about 10 000 frames. The shape per step does not depend on the rate (smoothing spans
/// one step whatever its length), so a preset may then sync the same settings to the tempo.
pub const SEARCH_STEPS_PER_SECOND: f64 = 250.0;

impl Candidate {
    /// The default patch with these LFO settings, free-running at the search's step rate.
    pub fn patch(&self) -> Patch {
        let mut patch = Patch::default();
        patch.values.set(ParamId::LfoSync, 1.0);
        patch.values.set(ParamId::LfoRate, SEARCH_STEPS_PER_SECOND);
        patch.values.set(ParamId::LfoOutputs, 1.0);
        for &(id, v) in &self.0 {
            patch.values.set(id, v);
        }
        patch
    }

    /// The settings as patch fields (`lfo.n=20&lfo.seed=7&…`), in the codec's number format.
    pub fn fields(&self) -> String {
        let patch = self.patch();
        self.0
            .iter()
            .map(|&(id, _)| {
                let v = patch.values.get(id);
                format!("{}={}", id.spec().key, tidepool_engine::format_value(id, v))
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// SplitMix64: a fixed, tiny generator so the search is the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Rounds to 3 significant places, so patches stay short and read back exactly.
fn round3(v: f64) -> f64 {
    if v == 0.0 {
        return 0.0;
    }
    let scale = 10f64.powi(2 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

const NEURONS: [f64; 11] = [2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 40.0, 64.0, 100.0];
const CONNECTIVITY: [f64; 4] = [0.1, 0.2, 0.5, 1.0];

/// A random point of the space, weighted toward where the shapes live: half the networks have no
/// feedback (a plain echo-state network, which oscillates on its own above a radius near 1 or
/// echoes the pulse below it), the leak is log-uniform (a low leak slows the dominant mode's
/// rotation, lengthening the period, and integrates saturated neurons into ramps), and so is the
/// output scaling (small keeps the sigmoid linear, large saturates it into a square).
fn random_candidate(rng: &mut Rng) -> Candidate {
    let log_range = |rng: &mut Rng, lo: f64, hi: f64| round3(lo * (hi / lo).powf(rng.unit()));
    let pulse = rng.pick(&[0.0, 1.0]);
    let feedback = if rng.unit() < 0.5 {
        0.0
    } else {
        log_range(rng, 0.05, 4.0)
    };
    let mut c = vec![
        (ParamId::LfoNeurons, rng.pick(&NEURONS)),
        (ParamId::LfoConnectivity, rng.pick(&CONNECTIVITY)),
        (ParamId::LfoSeed, (rng.next() % 1000 + 1) as f64),
        (ParamId::LfoSpectralRadius, round3(rng.range(0.05, 2.0))),
        (ParamId::LfoLeak, log_range(rng, 0.01, 1.0)),
        (ParamId::LfoFeedbackScaling, feedback),
        (ParamId::LfoBiasScaling, round3(rng.range(0.0, 1.5))),
        (ParamId::LfoOutputScaling, log_range(rng, 0.3, 20.0)),
        (ParamId::LfoSmoothing, rng.pick(&[0.0, 1.0, 2.0])),
        (ParamId::LfoPulse, pulse),
    ];
    if pulse == 1.0 {
        c.push((
            ParamId::LfoPulseEvery,
            rng.pick(&[6.0, 8.0, 12.0, 16.0, 24.0, 32.0]),
        ));
        c.push((ParamId::LfoPulseLevel, log_range(rng, 0.2, 8.0)));
        c.push((ParamId::LfoInputScaling, log_range(rng, 0.2, 8.0)));
    }
    Candidate(c)
}

/// A neighbour of `c`: one or two continuous knobs nudged by up to `scale` of their range.
fn nudge(c: &Candidate, rng: &mut Rng, scale: f64) -> Candidate {
    let mut next = c.clone();
    for _ in 0..1 + rng.next() % 2 {
        let i = (rng.next() % next.0.len() as u64) as usize;
        let (id, v) = next.0[i];
        let spec = id.spec();
        if matches!(
            id,
            ParamId::LfoNeurons
                | ParamId::LfoConnectivity
                | ParamId::LfoSeed
                | ParamId::LfoSmoothing
                | ParamId::LfoPulse
                | ParamId::LfoPulseEvery
        ) {
            continue; // the network and the step pattern stay: only knobs glide.
        }
        let span = spec.max() - spec.min();
        let moved = (v + rng.range(-scale, scale) * span).clamp(spec.min(), spec.max());
        next.0[i] = (id, round3(moved));
    }
    next
}

/// The score the search minimises for one shape: the shape error, or infinity when the wave
/// swings less than [`MIN_SWING`].
fn score(fit: &Fit) -> f64 {
    if fit.swing() >= MIN_SWING {
        fit.error
    } else {
        f64::INFINITY
    }
}

/// The best candidate found for a shape, with its fit.
#[derive(Clone)]
pub struct Found {
    pub shape: Shape,
    pub candidate: Candidate,
    pub fit: Fit,
}

/// Candidates per shape kept from the random search for refining (the best one may sit on a
/// narrow ridge where a runner-up refines further).
const KEEP: usize = 4;

/// Random search over `candidates` settings from `seed`, then `refine` hill-climbing steps per
/// shape shared among its [`KEEP`] best. `progress` hears about each improvement.
pub fn search(
    candidates: usize,
    refine: usize,
    seed: u64,
    mut progress: impl FnMut(&str),
) -> Vec<Found> {
    let mut rng = Rng(seed);
    let mut kept: Vec<Vec<Found>> = vec![Vec::new(); Shape::ALL.len()];
    for k in 0..candidates {
        let c = random_candidate(&mut rng);
        let trace = lfo_trace(&c.patch());
        for (shape, list) in Shape::ALL.into_iter().zip(kept.iter_mut()) {
            let fit = fit(&trace, shape);
            if !score(&fit).is_finite() {
                continue;
            }
            if list.first().is_none_or(|b| score(&fit) < score(&b.fit)) {
                progress(&format!(
                    "candidate {k}: {} error {:.4}",
                    shape.label(),
                    fit.error
                ));
            }
            list.push(Found {
                shape,
                candidate: c.clone(),
                fit,
            });
            list.sort_by(|a, b| score(&a.fit).total_cmp(&score(&b.fit)));
            list.truncate(KEEP);
        }
    }
    let per = refine / KEEP;
    let mut best = Vec::new();
    for list in kept.iter_mut() {
        for b in list.iter_mut() {
            for k in 0..per {
                let scale = 0.1 * (1.0 - k as f64 / per as f64) + 0.005;
                let c = nudge(&b.candidate, &mut rng, scale);
                let f = measure(&c.patch(), b.shape);
                if score(&f) < score(&b.fit) {
                    b.candidate = c;
                    b.fit = f;
                }
            }
        }
        if let Some(b) = list
            .iter()
            .min_by(|a, b| score(&a.fit).total_cmp(&score(&b.fit)))
        {
            progress(&format!(
                "refined {}: error {:.4}",
                b.shape.label(),
                b.fit.error
            ));
            best.push(b.clone());
        }
    }
    best
}

/// One table row: shape, error, period, swing, and what was measured.
pub fn row(shape: Shape, fit: &Fit, what: &str) -> String {
    format!(
        "| {:<8} | {:>7.4} | {:>6.3} | {:>5.3} | {} |",
        shape.label(),
        fit.error,
        fit.period_steps,
        fit.swing(),
        what
    )
}

pub const TABLE_HEAD: &str = "| shape    |   error | period | swing | settings |\n\
                              |---|---:|---:|---:|---|";
