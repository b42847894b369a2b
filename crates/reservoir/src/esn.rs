//! The leaky echo state network of ReMi eqs. (1)–(3), with live scaling knobs and a NaN guard.

use crate::fast_tanh::fast_tanh;
use crate::matrix::{dot, sum, Layout, Recurrent};
use crate::rng::SeededRng;
use crate::spectral::one_diagonal_radius;
#[cfg(feature = "spectral")]
use crate::spectral::spectral_radius;

/// The largest network the instrument offers (column indices are stored as u16).
pub const MAX_NEURONS: usize = 1000;

/// What identifies a network: the same config gives the same weights everywhere, bit for bit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReservoirConfig {
    /// N, 1..=1000.
    pub neurons: usize,
    /// Fraction of non-zero recurrent weights per row, (0, 1].
    pub connectivity: f32,
    pub seed: u64,
    /// D, the input dimension (the rhythmic pulse uses one).
    pub inputs: usize,
    /// K, the readout rows.
    pub outputs: usize,
    /// F, the length of the fed-back vector y'.
    pub feedback: usize,
}

impl ReservoirConfig {
    /// The shape of ReMi's generators: one input (the rhythmic pulse) and `readouts` outputs,
    /// all fed back (sigmoid values for the LFO, one-hot for the arpeggiator).
    pub fn pulsed(neurons: usize, connectivity: f32, seed: u64, readouts: usize) -> Self {
        Self {
            neurons,
            connectivity,
            seed,
            inputs: 1,
            outputs: readouts,
            feedback: readouts,
        }
    }

    /// Recurrent weights per row: at least one, at most N.
    pub fn per_row(&self) -> usize {
        let n = self.neurons.clamp(1, MAX_NEURONS);
        let c = if self.connectivity.is_finite() {
            self.connectivity.clamp(0.0, 1.0)
        } else {
            1.0
        };
        ((c * n as f32).round() as usize).clamp(1, n)
    }

    /// The spectral radius of this config's W before normalisation: the O(N³) part of building
    /// a network (about a second at N = 1000), separable so it can run off the audio thread.
    /// Needs the `spectral` feature.
    #[cfg(feature = "spectral")]
    pub fn recurrent_radius(&self) -> f64 {
        RawRecurrent::generate(self).radius()
    }

    /// The faster storage: the diagonal one does K·N multiply-adds against N² for dense, with
    /// the same contiguous access, so it wins at every connectivity (dense stays for comparison).
    pub fn auto_layout(&self) -> Layout {
        Layout::Sparse
    }
}

/// W before normalisation: K offsets and the K×N values on those wrapped diagonals.
struct RawRecurrent {
    n: usize,
    offsets: Vec<usize>,
    diagonals: Vec<f64>,
}

impl RawRecurrent {
    fn generate(config: &ReservoirConfig) -> Self {
        let n = config.neurons.clamp(1, MAX_NEURONS);
        let per_row = config.per_row();
        let mut rng = SeededRng::new(config.seed, 0);
        // K distinct offsets by partial Fisher–Yates, then one independent value per entry.
        let mut order: Vec<usize> = (0..n).collect();
        for i in 0..per_row {
            let j = i + rng.below(n - i);
            order.swap(i, j);
        }
        let mut offsets = order[..per_row].to_vec();
        offsets.sort_unstable();
        let diagonals = (0..per_row * n).map(|_| rng.symmetric_f64()).collect();
        Self {
            n,
            offsets,
            diagonals,
        }
    }

    fn dense(&self) -> Vec<f64> {
        let n = self.n;
        let mut dense = vec![0.0f64; n * n];
        for (k, &off) in self.offsets.iter().enumerate() {
            for r in 0..n {
                dense[r * n + (r + off) % n] = self.diagonals[k * n + r];
            }
        }
        dense
    }

    /// The spectral radius: exact for one diagonal, from the eigenvalues for more. Without the
    /// `spectral` feature, more diagonals give the largest absolute row sum instead (see
    /// [`Esn::generate_with_radius`]).
    fn radius(&self) -> f64 {
        match self.offsets[..] {
            [offset] => one_diagonal_radius(&self.diagonals, offset),
            #[cfg(feature = "spectral")]
            _ => spectral_radius(&self.dense(), self.n),
            #[cfg(not(feature = "spectral"))]
            _ => self.largest_row_sum(),
        }
    }

    /// max over rows of the sum of |W[r][c]|: an upper bound of the spectral radius, O(K·N).
    #[cfg(not(feature = "spectral"))]
    fn largest_row_sum(&self) -> f64 {
        (0..self.n)
            .map(|r| {
                self.diagonals
                    .chunks_exact(self.n)
                    .map(|diagonal| diagonal[r].abs())
                    .sum::<f64>()
            })
            .fold(0.0, f64::max)
    }
}

/// The live knobs: each scales one weight matrix at step time, so turning them never regenerates W.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EsnKnobs {
    /// Multiplies W, whose spectral radius is 1: this *is* the spectral radius (0–2).
    pub spectral_radius: f32,
    /// α in eq. (2), 0–1.
    pub leak: f32,
    pub input_scaling: f32,
    pub feedback_scaling: f32,
    pub bias_scaling: f32,
    pub output_scaling: f32,
}

impl Default for EsnKnobs {
    fn default() -> Self {
        Self {
            spectral_radius: 0.9,
            leak: 0.3,
            input_scaling: 1.0,
            feedback_scaling: 1.0,
            bias_scaling: 0.2,
            output_scaling: 1.0,
        }
    }
}

/// Explicit weights for [`Esn::from_matrices`], all row-major.
#[derive(Clone, Debug, Default)]
pub struct EsnMatrices {
    /// N.
    pub n: usize,
    /// N×N.
    pub w: Vec<f32>,
    /// N×D.
    pub win: Vec<f32>,
    /// D.
    pub inputs: usize,
    /// N×F.
    pub wfb: Vec<f32>,
    /// F.
    pub feedback: usize,
    /// N.
    pub bias: Vec<f32>,
    /// K×N.
    pub wout: Vec<f32>,
    /// α.
    pub leak: f32,
}

/// The fed-back vector y'_{t-1} for one step.
#[derive(Clone, Copy, Debug)]
pub enum Feedback<'a> {
    None,
    /// A dense y' (its first `len` columns of Wfb are used).
    Dense(&'a [f32]),
    /// one_hot(θ): adds column θ of Wfb, O(N) instead of O(N·F).
    OneHot(usize),
}

/// An echo state network: fixed random weights, leaky tanh state, linear readout.
#[derive(Clone, Debug)]
pub struct Esn {
    pub(crate) n: usize,
    pub(crate) inputs: usize,
    pub(crate) outputs: usize,
    pub(crate) feedback: usize,
    pub(crate) w: Recurrent,
    /// Column-major (D×N) so each input adds one contiguous column.
    pub(crate) win: Vec<f32>,
    /// Column-major (F×N), as `win`.
    pub(crate) wfb: Vec<f32>,
    pub(crate) bias: Vec<f32>,
    /// Row-major K×N.
    pub(crate) wout: Vec<f32>,
    knobs: EsnKnobs,
    state: Vec<f32>,
    pre: Vec<f32>,
    /// Scratch for the sparse product (2N).
    doubled: Vec<f32>,
    y: Vec<f32>,
    nan_resets: u64,
}

impl Esn {
    /// Generates the network of `config` with the faster storage for its connectivity.
    pub fn generate(config: &ReservoirConfig) -> Self {
        Self::generate_with_layout(config, config.auto_layout())
    }

    /// Generates the network of `config` stored as `layout`; both layouts hold the same weights.
    ///
    /// W gets exactly `per_row` non-zeros per row and per column (see [`Layout::Sparse`]), uniform
    /// in [-1, 1), scaled to unit spectral radius; Win, Wfb and b are uniform in [-1, 1); Wout is uniform scaled by sqrt(3/N), so each
    /// output has unit variance when the state does. Each matrix draws from its own stream.
    pub fn generate_with_layout(config: &ReservoirConfig, layout: Layout) -> Self {
        Self::build(config, layout, None)
    }

    /// The network every reservoir benchmark times, natively, in wasm and against ReservoirPy
    /// (tools/bench_reservoirpy.py builds the same setting): seed 42, one input, one output, no
    /// feedback, spectral radius 0.9, leak 0.3, input and bias scaling 1.
    pub fn benchmark(neurons: usize, connectivity: f32, layout: Layout) -> Self {
        let config = ReservoirConfig {
            neurons,
            connectivity,
            seed: 42,
            inputs: 1,
            outputs: 1,
            feedback: 0,
        };
        let mut esn = Self::generate_with_layout(&config, layout);
        esn.set_knobs(EsnKnobs {
            spectral_radius: 0.9,
            leak: 0.3,
            input_scaling: 1.0,
            bias_scaling: 1.0,
            ..EsnKnobs::default()
        });
        esn
    }

    /// As [`Esn::generate`], with W's spectral radius before normalisation already known (from
    /// [`ReservoirConfig::recurrent_radius`], computed elsewhere): skips the O(N³) step, so a
    /// network can be built in an audio thread's message handler in about a millisecond. A radius
    /// that is not finite and positive is ignored and computed here.
    ///
    /// Without the `spectral` feature there is no eigenvalue code to compute it with: a W of one
    /// diagonal still gets its exact radius, but any other is scaled by its largest absolute row
    /// sum, an upper bound of the radius (the one `spectral_radius` falls back to when it does
    /// not converge). That network is stable but not the one the seed makes with the feature, so
    /// such builds are to pass radii computed elsewhere (the page's module gets them from the
    /// network worker, which runs the tools module).
    pub fn generate_with_radius(config: &ReservoirConfig, radius: f64) -> Self {
        let known = (radius.is_finite() && radius > 0.0).then_some(radius);
        Self::build(config, config.auto_layout(), known)
    }

    fn build(config: &ReservoirConfig, layout: Layout, radius: Option<f64>) -> Self {
        let raw = RawRecurrent::generate(config);
        let n = raw.n;
        let rho = radius.unwrap_or_else(|| raw.radius());
        let norm = if rho > 1e-9 { 1.0 / rho } else { 1.0 };
        let unit = |v: &f64| (v * norm) as f32;
        let w = match layout {
            Layout::Dense => Recurrent::dense(n, raw.dense().iter().map(unit).collect()),
            Layout::Sparse => {
                Recurrent::sparse(n, raw.offsets, raw.diagonals.iter().map(unit).collect())
            }
        };
        let uniform = |stream: u64, len: usize, scale: f64| -> Vec<f32> {
            let mut rng = SeededRng::new(config.seed, stream);
            (0..len)
                .map(|_| (rng.symmetric_f64() * scale) as f32)
                .collect()
        };
        let win = uniform(1, config.inputs * n, 1.0);
        let wfb = uniform(2, config.feedback * n, 1.0);
        let bias = uniform(3, n, 1.0);
        let wout = uniform(4, config.outputs * n, libm::sqrt(3.0 / n as f64));
        Self::assemble(
            w,
            config.inputs,
            config.outputs,
            config.feedback,
            win,
            wfb,
            bias,
            wout,
        )
    }

    /// A network from explicit matrices (W used as is, not normalised), for conformance traces.
    /// Knobs are all 1 so the equations hold literally.
    pub fn from_matrices(m: EsnMatrices) -> Self {
        let n = m.n;
        assert_eq!(m.w.len(), n * n, "W must be N×N");
        assert_eq!(m.bias.len(), n, "bias must have N entries");
        assert_eq!(m.win.len(), n * m.inputs, "Win must be N×D");
        assert_eq!(m.wfb.len(), n * m.feedback, "Wfb must be N×F");
        assert_eq!(m.wout.len() % n.max(1), 0, "Wout must be K×N");
        let outputs = m.wout.len() / n.max(1);
        let transpose = |a: &[f32], cols: usize| -> Vec<f32> {
            (0..cols)
                .flat_map(|c| (0..n).map(move |r| a[r * cols + c]))
                .collect()
        };
        let mut esn = Self::assemble(
            Recurrent::dense(n, m.w),
            m.inputs,
            outputs,
            m.feedback,
            transpose(&m.win, m.inputs),
            transpose(&m.wfb, m.feedback),
            m.bias,
            m.wout,
        );
        esn.knobs = EsnKnobs {
            spectral_radius: 1.0,
            leak: m.leak,
            input_scaling: 1.0,
            feedback_scaling: 1.0,
            bias_scaling: 1.0,
            output_scaling: 1.0,
        };
        esn
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn assemble(
        w: Recurrent,
        inputs: usize,
        outputs: usize,
        feedback: usize,
        win: Vec<f32>,
        wfb: Vec<f32>,
        bias: Vec<f32>,
        wout: Vec<f32>,
    ) -> Self {
        let n = w.n();
        Self {
            n,
            inputs,
            outputs,
            feedback,
            w,
            win,
            wfb,
            bias,
            wout,
            knobs: EsnKnobs::default(),
            state: vec![0.0; n],
            pre: vec![0.0; n],
            doubled: vec![0.0; 2 * n],
            y: vec![0.0; outputs],
            nan_resets: 0,
        }
    }

    pub fn neurons(&self) -> usize {
        self.n
    }

    pub fn outputs(&self) -> usize {
        self.outputs
    }

    pub fn layout(&self) -> Layout {
        self.w.layout()
    }

    pub fn knobs(&self) -> EsnKnobs {
        self.knobs
    }

    /// Sets the live knobs. Non-finite values keep the previous setting; the rest are clamped to
    /// their ranges, so no knob value can make the network blow up or panic.
    pub fn set_knobs(&mut self, k: EsnKnobs) {
        let pick = |new: f32, old: f32, lo: f32, hi: f32| {
            if new.is_finite() {
                new.clamp(lo, hi)
            } else {
                old
            }
        };
        let o = self.knobs;
        self.knobs = EsnKnobs {
            spectral_radius: pick(k.spectral_radius, o.spectral_radius, 0.0, 2.0),
            leak: pick(k.leak, o.leak, 0.0, 1.0),
            input_scaling: pick(k.input_scaling, o.input_scaling, -100.0, 100.0),
            feedback_scaling: pick(k.feedback_scaling, o.feedback_scaling, -100.0, 100.0),
            bias_scaling: pick(k.bias_scaling, o.bias_scaling, -100.0, 100.0),
            output_scaling: pick(k.output_scaling, o.output_scaling, -1000.0, 1000.0),
        };
    }

    /// s_t, the current state.
    pub fn state(&self) -> &[f32] {
        &self.state
    }

    /// y_t, the last readout.
    pub fn output(&self) -> &[f32] {
        &self.y
    }

    /// How often a non-finite state was detected and reset since construction.
    pub fn nan_resets(&self) -> u64 {
        self.nan_resets
    }

    /// s = 0, y = 0.
    pub fn reset(&mut self) {
        self.state.fill(0.0);
        self.y.fill(0.0);
    }

    /// Overwrites one state entry; lets tests and fault injection put a NaN where it can be caught.
    pub fn poke_state(&mut self, index: usize, value: f32) {
        if let Some(s) = self.state.get_mut(index) {
            *s = value;
        }
    }

    /// One step of eqs. (1)–(3): `x` has D entries (missing ones count as 0), `fb` is y'_{t-1}.
    /// Returns y_t. Never allocates. A non-finite state is reset to zero and counted.
    pub fn step(&mut self, x: &[f32], fb: Feedback) -> &[f32] {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU has AVX, checked just above.
            unsafe { self.step_avx(x, fb) };
            return &self.y;
        }
        self.step_portable(x, fb);
        &self.y
    }

    /// The same step compiled with 256-bit AVX (not FMA): about 1.7× faster at N = 300. Every sum
    /// has a fixed order in the source, so the bits equal the portable and the wasm builds' (tested).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    unsafe fn step_avx(&mut self, x: &[f32], fb: Feedback) {
        self.step_portable(x, fb);
    }

    /// The step for any target; [`Esn::step`] picks a wider instruction set when the CPU has one.
    #[inline(always)]
    pub fn step_portable(&mut self, x: &[f32], fb: Feedback) {
        let n = self.n;
        let k = self.knobs;
        self.w
            .mul_vec(&self.state, &mut self.pre, &mut self.doubled);
        for (p, b) in self.pre.iter_mut().zip(&self.bias) {
            *p = k.spectral_radius * *p + k.bias_scaling * b;
        }
        for (d, &xd) in x.iter().take(self.inputs).enumerate() {
            axpy(
                k.input_scaling * xd,
                &self.win[d * n..(d + 1) * n],
                &mut self.pre,
            );
        }
        match fb {
            Feedback::None => {}
            Feedback::Dense(v) => {
                for (f, &vf) in v.iter().take(self.feedback).enumerate() {
                    axpy(
                        k.feedback_scaling * vf,
                        &self.wfb[f * n..(f + 1) * n],
                        &mut self.pre,
                    );
                }
            }
            Feedback::OneHot(theta) if theta < self.feedback => {
                axpy(
                    k.feedback_scaling,
                    &self.wfb[theta * n..(theta + 1) * n],
                    &mut self.pre,
                );
            }
            Feedback::OneHot(_) => {}
        }
        let a = k.leak;
        for (s, &p) in self.state.iter_mut().zip(&self.pre) {
            *s = (1.0 - a) * *s + a * fast_tanh(p);
        }
        // A lane-wise sum (a serial one would keep the loop above from vectorising); NaN anywhere
        // makes it NaN.
        if !sum(&self.state).is_finite() {
            // tanh bounds the state, so this only happens when NaN got in (a poked state, a NaN
            // weight in a conformance case): start again from rest rather than play silence forever.
            self.state.fill(0.0);
            self.nan_resets += 1;
        }
        for (y, row) in self.y.iter_mut().zip(self.wout.chunks_exact(n)) {
            *y = k.output_scaling * dot(row, &self.state);
        }
    }
}

#[inline(always)]
fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(n: usize, c: f32, seed: u64) -> ReservoirConfig {
        ReservoirConfig {
            neurons: n,
            connectivity: c,
            seed,
            inputs: 1,
            outputs: 2,
            feedback: 2,
        }
    }

    #[test]
    #[cfg(feature = "spectral")]
    fn generated_w_has_unit_spectral_radius_and_exact_sparsity() {
        for c in [0.05, 0.1, 0.5, 1.0] {
            let cfg = config(120, c, 11);
            let esn = Esn::generate(&cfg);
            let rho = spectral_radius(&esn.w.to_dense_f64(), 120);
            assert!((rho - 1.0).abs() < 1e-5, "c={c}: rho={rho}");
            let nonzero = esn.w.to_dense_f64().iter().filter(|v| **v != 0.0).count();
            assert_eq!(nonzero, 120 * cfg.per_row());
        }
    }

    #[test]
    fn same_config_same_bits_and_seed_changes_everything() {
        let a = Esn::generate(&config(60, 0.1, 5));
        let b = Esn::generate(&config(60, 0.1, 5));
        let c = Esn::generate(&config(60, 0.1, 6));
        let bits = |e: &Esn| {
            e.w.to_dense_f64()
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&a), bits(&b));
        assert_eq!(a.win, b.win);
        assert_ne!(bits(&a), bits(&c));
        assert_ne!(a.wout, c.wout);
    }

    #[test]
    fn dense_and_sparse_layouts_hold_the_same_network() {
        let cfg = config(80, 0.1, 2);
        let mut d = Esn::generate_with_layout(&cfg, Layout::Dense);
        let mut s = Esn::generate_with_layout(&cfg, Layout::Sparse);
        assert_eq!(d.w.to_dense_f64(), s.w.to_dense_f64());
        for t in 0..200 {
            let x = [if t % 7 == 0 { 1.0 } else { 0.0 }];
            d.step(&x, Feedback::None);
            s.step(&x, Feedback::None);
        }
        for (a, b) in d.state().iter().zip(s.state()) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    #[cfg(feature = "spectral")]
    fn a_known_radius_builds_the_same_network() {
        let cfg = config(90, 0.1, 3);
        let rho = cfg.recurrent_radius();
        let a = Esn::generate(&cfg);
        let b = Esn::generate_with_radius(&cfg, rho);
        let c = Esn::generate_with_radius(&cfg, f64::NAN);
        let bits = |e: &Esn| {
            e.w.to_dense_f64()
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&a), bits(&b));
        assert_eq!(bits(&a), bits(&c), "a bad radius is recomputed");
        // The radius depends on W alone: outputs and feedback size do not change it.
        assert_eq!(
            ReservoirConfig {
                outputs: 32,
                feedback: 32,
                ..cfg
            }
            .recurrent_radius(),
            rho
        );
    }

    /// `cargo test -p tidepool-reservoir --no-default-features`: one diagonal keeps its exact
    /// radius, more are scaled by the largest absolute row sum (so W's rows sum to at most 1).
    #[test]
    #[cfg(not(feature = "spectral"))]
    fn without_spectral_an_unknown_radius_falls_back_to_the_row_sum_bound() {
        let bits = |e: &Esn| {
            e.w.to_dense_f64()
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        let one = config(50, 0.01, 4);
        assert_eq!(one.per_row(), 1);
        let raw = RawRecurrent::generate(&one);
        let exact = one_diagonal_radius(&raw.diagonals, raw.offsets[0]);
        assert_eq!(
            bits(&Esn::generate_with_radius(&one, f64::NAN)),
            bits(&Esn::generate_with_radius(&one, exact))
        );
        let many = config(80, 0.1, 4);
        let bound = RawRecurrent::generate(&many).largest_row_sum();
        let esn = Esn::generate_with_radius(&many, f64::NAN);
        assert_eq!(bits(&esn), bits(&Esn::generate_with_radius(&many, bound)));
        let w = esn.w.to_dense_f64();
        let largest = w
            .chunks_exact(80)
            .map(|row| row.iter().map(|v| v.abs()).sum::<f64>())
            .fold(0.0, f64::max);
        assert!((largest - 1.0).abs() < 1e-5, "{largest}");
    }

    #[test]
    fn knobs_are_live_and_clamped() {
        let mut e = Esn::generate(&config(30, 0.2, 1));
        e.set_knobs(EsnKnobs {
            spectral_radius: 5.0,
            leak: f32::NAN,
            ..EsnKnobs::default()
        });
        assert_eq!(e.knobs().spectral_radius, 2.0);
        assert_eq!(e.knobs().leak, EsnKnobs::default().leak);
        e.set_knobs(EsnKnobs {
            output_scaling: f32::INFINITY,
            ..e.knobs()
        });
        assert!(e.knobs().output_scaling.is_finite());
    }

    #[test]
    fn nan_state_is_reset_counted_and_the_network_keeps_going() {
        let mut e = Esn::generate(&config(40, 0.2, 9));
        e.set_knobs(EsnKnobs {
            spectral_radius: 1.3,
            ..EsnKnobs::default()
        });
        for _ in 0..50 {
            e.step(&[1.0], Feedback::None);
        }
        e.poke_state(3, f32::NAN);
        let y = e.step(&[1.0], Feedback::None).to_vec();
        assert!(y.iter().all(|v| v.is_finite()));
        assert_eq!(e.nan_resets(), 1);
        for _ in 0..50 {
            e.step(&[1.0], Feedback::Dense(&[0.5, 0.5]));
        }
        assert!(
            e.state().iter().any(|v| *v != 0.0),
            "network went silent after the reset"
        );
        assert!(e.state().iter().all(|v| v.is_finite()));
    }

    #[test]
    fn dispatched_and_portable_steps_give_the_same_bits() {
        let mut a = Esn::generate(&config(300, 0.1, 12));
        a.set_knobs(EsnKnobs {
            spectral_radius: 1.3,
            ..EsnKnobs::default()
        });
        let mut b = a.clone();
        for t in 0..500 {
            let x = [(t % 5) as f32 * 0.3];
            let fb = [0.2, -0.7];
            a.step(&x, Feedback::Dense(&fb));
            b.step_portable(&x, Feedback::Dense(&fb));
            assert_eq!(a.output(), b.output(), "step {t}");
        }
        let bits = |e: &Esn| e.state().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b));
    }

    #[test]
    fn one_hot_feedback_equals_dense_one_hot_vector() {
        let mut a = Esn::generate(&config(50, 0.2, 4));
        let mut b = a.clone();
        for t in 0..100 {
            let theta = t % 2;
            let mut v = [0.0f32; 2];
            v[theta] = 1.0;
            a.step(&[0.0], Feedback::OneHot(theta));
            b.step(&[0.0], Feedback::Dense(&v));
        }
        assert_eq!(a.state(), b.state());
    }
}
