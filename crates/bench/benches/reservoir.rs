//! Reservoir step for N = 100, 300, 1000, dense and sparse, and one arpeggiator step.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use tidepool_reservoir::{Esn, EsnKnobs, Feedback, Layout, ReservoirArp, ReservoirConfig};

fn reservoir_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("reservoir_step");
    for n in [100, 300, 1000] {
        for (name, layout) in [("sparse", Layout::Sparse), ("dense", Layout::Dense)] {
            let config = ReservoirConfig {
                neurons: n,
                connectivity: 0.1,
                seed: 42,
                inputs: 1,
                outputs: 1,
                feedback: 0,
            };
            let mut esn = Esn::generate_with_layout(&config, layout);
            esn.set_knobs(EsnKnobs {
                spectral_radius: 0.9,
                leak: 0.3,
                ..EsnKnobs::default()
            });
            let mut t = 0u32;
            group.bench_function(BenchmarkId::new(name, n), |b| {
                b.iter(|| {
                    t = t.wrapping_add(1);
                    let x = [(t % 7) as f32 * 0.1];
                    black_box(esn.step(&x, Feedback::None)[0])
                })
            });
        }
    }
    group.finish();
}

fn arp_step(c: &mut Criterion) {
    let mut arp = ReservoirArp::new(100, 0.1, 1);
    c.bench_function("arp_step_n100_4notes", |b| {
        b.iter(|| black_box(arp.step(4, 5.0, 0.0)))
    });
}

criterion_group!(benches, reservoir_step, arp_step);
criterion_main!(benches);
