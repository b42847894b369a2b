//! Training: the loss falls, the training rhythms come back above a stated rate for each
//! architecture, the velocity head learns the accents, the same seed gives the same bits, bad
//! configurations are refused, and 200 rhythms × 500 epochs train in well under a second
//! (release builds).

mod nn_support;

use nn_support::{example_rhythms, reconstruction};
use tidepool_rhythm::arch::Arch;
use tidepool_rhythm::decoder::{Decoded, Decoder};
use tidepool_rhythm::train::{train, TrainConfig, Trainer};
use tidepool_rhythm::{Rhythm, STEPS};

fn config(arch: Arch) -> TrainConfig {
    TrainConfig {
        arch,
        ..TrainConfig::default()
    }
}

/// Accuracy of the best constant guess per step (hit where most rhythms have one): what a
/// model that ignores its input scores.
fn per_step_majority(data: &[Rhythm]) -> f32 {
    let right: usize = (0..STEPS)
        .map(|s| {
            let hits = data.iter().filter(|r| r.hits[s]).count();
            hits.max(data.len() - hits)
        })
        .sum();
    right as f32 / (data.len() * STEPS) as f32
}

/// 200 rhythms, 500 epochs, batch 32 (the paper's setting and the benchmark's): the loss falls,
/// and the reconstructions (threshold 0.5) match at least `steps` of the steps and `exact` of
/// the rhythms entirely. Measured with seeds 1–3: prototype 0.944–0.956 / 0.21–0.30, model 1
/// 0.955–0.959 / 0.26–0.33, model 3 0.952–0.955 / 0.27–0.29; every one better than the
/// per-step majority. Model 2: 0.71–0.77 / 0: the paper's L2 of 0.01 on every weight matrix
/// squeezes the latent points together (its figure 6) so far that on these 200 rhythms it
/// collapses to (seeds 1, 2) or near (seed 3) one output whatever the input: it only matches
/// the per-step majority.
fn trains_well(arch: Arch, steps: f32, exact: f32) {
    let data = example_rhythms(200, 1);
    let mut losses = Vec::new();
    let model = train(&data, &config(arch), |epoch, loss| {
        assert!(loss.is_finite(), "epoch {epoch}: loss {loss}");
        losses.push(loss);
        true
    })
    .unwrap();
    assert_eq!(losses.len(), 500);
    let (first, last) = (losses[0], losses[499]);
    assert!(last < 0.8 * first, "{arch:?}: loss {first} → {last}");
    // Mostly downhill: the mean of the last 50 epochs is below that of epochs 50–100.
    let mean = |r: std::ops::Range<usize>| losses[r.clone()].iter().sum::<f32>() / r.len() as f32;
    assert!(mean(450..500) < mean(50..100), "{arch:?}");
    let (acc, ex) = reconstruction(&model, &data);
    let majority = per_step_majority(&data);
    let beats_majority = if arch == Arch::Model2 {
        acc >= majority - 1e-3
    } else {
        acc > majority + 0.1
    };
    assert!(
        acc >= steps && ex >= exact && beats_majority,
        "{arch:?}: {acc} of the steps, {ex} of the rhythms exactly (majority {majority})"
    );
    let info = model.training.as_ref().unwrap();
    assert_eq!(
        (info.epochs, info.data_count, info.final_loss),
        (500, 200, last)
    );
    // The latent points (the pad's scatter) are finite and, but for collapsed model 2, not
    // all in one place.
    let points = model.latent_points(&data);
    assert!(points.iter().flatten().all(|v| v.is_finite()));
    let spread = points
        .iter()
        .any(|p| (p[0] - points[0][0]).abs() + (p[1] - points[0][1]).abs() > 1e-3);
    assert!(spread || arch == Arch::Model2, "{arch:?}");
    compact_stays_close(&model.decoder());
}

/// The quantised link form of a trained decoder plays (nearly) the same rhythms: over the
/// paper's ±10 pad, fewer than 1 % of the thresholded (0.5) steps differ, and no probability
/// or velocity is off by 0.3 (measured, seeds 1–3: 0.2–0.5 % of the steps, worst 0.05–0.25,
/// largest at the pad's corners where the latent input amplifies the first layer's
/// rounding; random decoders stay within 0.03, tests/decoder.rs).
fn compact_stays_close(d: &Decoder) {
    let q = Decoder::from_compact(&d.to_compact()).unwrap();
    let (mut a, mut b) = (Decoded::default(), Decoded::default());
    let (mut flips, mut worst) = (0, 0.0f32);
    for i in 0..=40 {
        for j in 0..=40 {
            let xy = [i as f32 * 0.5 - 10.0, j as f32 * 0.5 - 10.0];
            d.decode(xy, &mut a);
            q.decode(xy, &mut b);
            for s in 0..STEPS {
                flips += usize::from((a.prob[s] >= 0.5) != (b.prob[s] >= 0.5));
                worst = worst
                    .max((a.prob[s] - b.prob[s]).abs())
                    .max((a.velocity[s] - b.velocity[s]).abs());
            }
        }
    }
    let rate = flips as f32 / (41 * 41 * STEPS) as f32;
    assert!(
        rate < 0.01 && worst < 0.3,
        "{:?}: {rate} of the steps flip, worst {worst}",
        d.arch()
    );
}

#[test]
fn prototype_trains() {
    trains_well(Arch::Prototype, 0.93, 0.15);
}

#[test]
fn model1_trains() {
    trains_well(Arch::Model1, 0.94, 0.2);
}

#[test]
fn model2_trains() {
    trains_well(Arch::Model2, 0.70, 0.0);
}

#[test]
fn model3_trains() {
    trains_well(Arch::Model3, 0.93, 0.2);
}

/// The velocity head learns the accents: the example rhythms' hits on beats are 30 louder.
#[test]
fn the_velocity_head_learns_accents() {
    let data = example_rhythms(200, 2);
    let model = train(&data, &config(Arch::Model1), |_, _| true).unwrap();
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for r in &data {
        let out = model.reconstruct(r);
        for s in (0..STEPS).filter(|&s| r.hits[s]) {
            if s % 4 == 0 { &mut on } else { &mut off }.push(out.velocity[s]);
        }
    }
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    // Accented hits are (80..120)/127, others (50..90)/127: 0.24 apart on average.
    assert!(
        mean(&on) - mean(&off) > 0.15,
        "on {} off {}",
        mean(&on),
        mean(&off)
    );
    assert!(model.decoder().has_velocity_head());
}

#[test]
fn the_same_seed_gives_the_same_bits_and_another_seed_does_not() {
    let data = example_rhythms(70, 3);
    for arch in Arch::ALL {
        let run = |seed: u64| {
            let mut t = Trainer::new(
                &data,
                &TrainConfig {
                    seed,
                    ..config(arch)
                },
            )
            .unwrap();
            let losses: Vec<u32> = (0..15).map(|_| t.epoch().to_bits()).collect();
            (
                t.parameters()
                    .iter()
                    .map(|p| p.to_bits())
                    .collect::<Vec<_>>(),
                losses,
            )
        };
        let (a, b, c) = (run(9), run(9), run(10));
        assert_eq!(a, b, "{arch:?}");
        assert_ne!(a.0, c.0, "{arch:?}");
    }
}

/// `train` and a `Trainer` driven epoch by epoch (the page's worker) give the same model;
/// `train` stops when its callback says so.
#[test]
fn train_is_the_trainer_epoch_by_epoch_and_stops_when_told() {
    let data = example_rhythms(50, 4);
    let cfg = TrainConfig {
        epochs: 12,
        batch: 16,
        ..config(Arch::Model3)
    };
    let mut t = Trainer::new(&data, &cfg).unwrap();
    for _ in 0..12 {
        t.epoch();
    }
    assert_eq!(t.epochs_done(), 12);
    assert_eq!(train(&data, &cfg, |_, _| true).unwrap(), t.model());
    let mut seen = 0;
    let stopped = train(&data, &cfg, |e, _| {
        seen = e;
        e < 5
    })
    .unwrap();
    assert_eq!((seen, stopped.training.unwrap().epochs), (5, 5));
}

#[test]
fn bad_configurations_are_refused() {
    let data = example_rhythms(10, 5);
    let err = |data: &[Rhythm], cfg: TrainConfig| Trainer::new(data, &cfg).err().unwrap();
    assert!(err(&[], TrainConfig::default()).contains("no rhythms"));
    let zero = TrainConfig {
        batch: 0,
        ..TrainConfig::default()
    };
    assert!(err(&data, zero).contains("batch"));
    for lr in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let bad = TrainConfig {
            learning_rate: lr,
            ..TrainConfig::default()
        };
        assert!(err(&data, bad).contains("learning rate"));
    }
    // A batch larger than the data set is one batch.
    let big = TrainConfig {
        batch: 1000,
        ..TrainConfig::default()
    };
    assert!(Trainer::new(&data, &big).unwrap().epoch().is_finite());
}

/// A run that diverges (an absurd learning rate) reports a non-finite loss and still gives a
/// model, never a panic; its file and link are refused when read back.
#[test]
fn a_diverged_run_is_visible_not_a_panic() {
    let data = example_rhythms(40, 8);
    let cfg = TrainConfig {
        learning_rate: 1e30,
        epochs: 5,
        ..config(Arch::Model1)
    };
    let mut losses = Vec::new();
    let model = train(&data, &cfg, |_, loss| {
        losses.push(loss);
        true
    })
    .unwrap();
    assert!(losses.iter().any(|l| !l.is_finite()), "{losses:?}");
    let e = tidepool_rhythm::model_file::read(&tidepool_rhythm::model_file::write(&model));
    assert!(e.unwrap_err().contains("non-finite"));
    assert!(Decoder::from_compact(&model.decoder().to_compact()).is_err());
}

/// This thread's CPU time in seconds (Linux's schedstat, in nanoseconds), so a machine busy
/// with other builds does not fail the speed test; `None` elsewhere.
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

/// The speed target, natively: 200 rhythms × 500 epochs, batch 32, every
/// architecture, well under a second each (measured 0.10–0.19 s of CPU on this machine:
/// prototype 0.10, model 1 0.13, model 3 0.14, model 2 0.19 with its dropout draws). CPU time
/// where the system tells it, wall time elsewhere. Only meaningful in a release build
/// (`cargo test --release`).
#[test]
fn two_hundred_rhythms_for_500_epochs_train_in_well_under_a_second() {
    if cfg!(debug_assertions) {
        return;
    }
    let data = example_rhythms(200, 1);
    for arch in Arch::ALL {
        let (wall, cpu) = (std::time::Instant::now(), thread_cpu_seconds());
        let mut t = Trainer::new(&data, &config(arch)).unwrap();
        for _ in 0..500 {
            t.epoch();
        }
        let seconds = match (cpu, thread_cpu_seconds()) {
            (Some(a), Some(b)) => b - a,
            _ => wall.elapsed().as_secs_f64(),
        };
        assert!(seconds < 0.5, "{arch:?}: {seconds:.2} s");
    }
}
