//! Rhythm training: each architecture (velocity head on) on 200 rhythms for 500 epochs in
//! batches of 32, the benchmark (tools/rhythm/bench_torch.py trains the same in
//! PyTorch). With `TIDEPOOL_BENCH_JSON=1` it skips criterion and prints one JSON line per
//! architecture (best of 3) for `cargo xtask bench`'s table.

use criterion::{black_box, Criterion};
use tidepool_rhythm::arch::Arch;
use tidepool_rhythm::train::{TrainConfig, Trainer};
use tidepool_rhythm::Rhythm;

// The example rhythms the rhythm crate's tests train on.
#[path = "../../rhythm/tests/nn_support/mod.rs"]
mod nn_support;

const RHYTHMS: usize = 200;
const EPOCHS: usize = 500;
const BATCH: usize = 32;

fn train_once(data: &[Rhythm], arch: Arch, seed: u64) -> f32 {
    let config = TrainConfig {
        arch,
        epochs: EPOCHS,
        batch: BATCH,
        seed,
        velocity_head: true,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(data, &config).expect("the example rhythms train");
    for _ in 0..EPOCHS {
        trainer.epoch();
    }
    trainer.last_loss()
}

fn json_lines(data: &[Rhythm]) {
    for arch in Arch::ALL {
        let mut best = f64::INFINITY;
        let mut loss = 0.0;
        for seed in 0..3 {
            let start = std::time::Instant::now();
            loss = black_box(train_once(data, arch, seed));
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!(
            "{{\"rhythm_train\":\"{}\",\"framework\":\"tidepool\",\"threads\":1,\"rhythms\":{RHYTHMS},\"epochs\":{EPOCHS},\"batch\":{BATCH},\"seconds\":{best:.4},\"final_loss\":{loss:.4}}}",
            arch.name()
        );
    }
}

fn main() {
    let data = nn_support::example_rhythms(RHYTHMS, 1);
    if std::env::var_os("TIDEPOOL_BENCH_JSON").is_some() {
        json_lines(&data);
        return;
    }
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(std::time::Duration::from_secs(10))
        .configure_from_args();
    let mut group = c.benchmark_group("rhythm_train_200x500_batch32");
    for arch in Arch::ALL {
        let mut seed = 0;
        group.bench_function(arch.name(), |b| {
            b.iter(|| {
                seed += 1;
                train_once(&data, arch, seed)
            })
        });
    }
    group.finish();
    c.final_summary();
}
