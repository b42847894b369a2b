//! `tidepool bench-esn`: reservoir steps per second for the network ReservoirPy is timed on.

use std::time::Instant;
use tidepool_reservoir::{Esn, Feedback, Layout, SeededRng};

/// Best-of-`repeats` steps per second of an N-neuron reservoir (1-D random input, no feedback,
/// spectral radius 0.9, leak 0.3), the same setting as tools/bench_reservoirpy.py.
pub fn steps_per_second(
    n: usize,
    connectivity: f32,
    steps: usize,
    layout: Option<Layout>,
    repeats: usize,
) -> f64 {
    let mut esn = Esn::benchmark(n, connectivity, layout.unwrap_or(Layout::Sparse));
    let mut rng = SeededRng::new(7, 0);
    let inputs: Vec<f32> = (0..steps).map(|_| rng.symmetric_f64() as f32).collect();
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) + 1 {
        esn.reset();
        let start = Instant::now();
        let mut sink = 0.0f32;
        for x in &inputs {
            sink += esn.step(std::slice::from_ref(x), Feedback::None)[0];
        }
        std::hint::black_box(sink);
        best = best.min(start.elapsed().as_secs_f64());
    }
    steps as f64 / best
}
