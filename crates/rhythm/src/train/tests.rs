//! Finite-difference gradient checks of the training net: every parameter of every
//! architecture, with and without the velocity head, with model 2's L2 and a fixed dropout
//! mask, on a partial batch (n < cap, so stale columns must not leak in).

use super::net::{Net, Work};
use super::rng::SplitMix;
use crate::arch::Arch;
use crate::pattern::STEPS;

/// A batch of `n` random rhythms with random velocities in a buffer for `cap`.
fn batch(net: &Net, n: usize, cap: usize, rng: &mut SplitMix) -> Work {
    let mut w = Work::new(net, cap);
    // Stale values in the unused columns: a kernel that reads past `n` changes the result.
    w.x.fill(0.7);
    w.vt.fill(0.3);
    w.vm.fill(1.0);
    for f in 0..STEPS {
        for b in 0..n {
            let hit = rng.unit() < 0.35;
            w.x[f * cap + b] = if hit { 1.0 } else { 0.0 };
            w.vm[f * cap + b] = w.x[f * cap + b];
            w.vt[f * cap + b] = if hit { rng.unit() } else { 0.0 };
        }
    }
    w
}

/// Whether a finite difference with step `h` agrees with the analytic gradient: within 0.5 %,
/// plus the f32 forward pass's rounding, about 1e-9 in the loss, so 3e-9 / h in the slope.
fn agrees(numeric: f32, analytic: f32, h: f32) -> bool {
    (numeric - analytic).abs() <= 5e-3 * (numeric.abs() + analytic.abs()) + 3e-9 / h
}

/// The smallest |pre-activation| of a hidden unit that dropout keeps, over the batch: how far
/// the nearest ReLU kink is (computed here in f64, independently of the net's kernels).
fn kink_margin(net: &Net, work: &Work, n: usize, dropout: bool) -> f64 {
    let cap = work.cap;
    let mut margin = f64::INFINITY;
    for b in 0..n {
        let mut a: Vec<f64> = (0..STEPS).map(|f| f64::from(work.x[f * cap + b])).collect();
        for (k, s) in net.layers.iter().enumerate() {
            let mut out = vec![0.0; s.outputs];
            for (o, y) in out.iter_mut().enumerate() {
                *y = f64::from(net.params[s.b + o])
                    + (0..s.inputs)
                        .map(|i| f64::from(net.params[s.w + o * s.inputs + i]) * a[i])
                        .sum::<f64>();
                if net.is_hidden(k) {
                    let mask = match (&work.masks[k], dropout) {
                        (m, true) if !m.is_empty() => f64::from(m[o * cap + b]),
                        _ => 1.0,
                    };
                    if mask > 0.0 {
                        margin = margin.min(y.abs());
                    }
                    *y = y.max(0.0) * mask;
                }
            }
            a = out;
        }
    }
    margin
}

/// Checks the analytic gradient of every parameter against central differences; returns the
/// parameters where no step agrees.
///
/// A step that carries a ReLU across its kink gives a wrong difference, so smaller steps are
/// tried until one agrees; a small step alone would drown in rounding (the forward pass is
/// f32: a 1e-4 step is off by ~1e-5, a 1e-2 step by ~1e-7).
fn check(arch: Arch, head: bool, dropout: bool, seed: u64) -> Vec<String> {
    let mut rng = SplitMix::new(seed);
    let mut net = Net::new(arch, head);
    net.init_glorot(&mut rng);
    // Non-zero biases, so the check covers their gradients and the ReLU boundaries move.
    for s in net.layers.clone().iter().chain(&net.head.clone()) {
        for b in &mut net.params[s.b..s.b + s.outputs] {
            *b = 0.2 * (rng.unit() - 0.3);
        }
    }
    let (n, cap) = (5, 8);
    // Central differences are only valid away from a ReLU's kink: draw batches until every
    // kept hidden unit's pre-activation is at least 1e-3 from 0 (seed 104's first batch put
    // one at 4e-5, and every upstream parameter's difference was off by up to 50 %).
    let mut work = Work::new(&net, cap);
    for _ in 0..100 {
        work = batch(&net, n, cap, &mut rng);
        if dropout {
            work.draw_masks(arch.dropout(), n, &mut rng);
        }
        if kink_margin(&net, &work, n, dropout) >= 1e-3 {
            break;
        }
    }
    assert!(kink_margin(&net, &work, n, dropout) >= 1e-3);
    let loss = net.loss_and_gradient(&mut work, n, dropout);
    assert!(loss.is_finite() && loss > 0.0);
    let analytic = work.grads.clone();
    let mut bad = Vec::new();
    for (i, &ana) in analytic.iter().enumerate() {
        let mut tried = Vec::new();
        for h in [1e-2f32, 3e-3, 1e-3, 3e-4, 1e-4] {
            let keep = net.params[i];
            net.params[i] = keep + h;
            let up = net.loss_and_gradient(&mut work, n, dropout);
            net.params[i] = keep - h;
            let down = net.loss_and_gradient(&mut work, n, dropout);
            net.params[i] = keep;
            let numeric = ((up - down) / (2.0 * f64::from(h))) as f32;
            if agrees(numeric, ana, h) {
                tried.clear();
                break;
            }
            tried.push(numeric);
        }
        if !tried.is_empty() {
            bad.push(format!(
                "{arch:?} head {head} parameter {i}: analytic {ana}, differences {tried:?}"
            ));
        }
    }
    bad
}

#[test]
fn gradients_match_finite_differences_for_every_architecture() {
    for (i, arch) in Arch::ALL.into_iter().enumerate() {
        for head in [false, true] {
            let dropout = arch.dropout() > 0.0;
            let bad = check(arch, head, dropout, 100 + i as u64);
            assert!(bad.is_empty(), "{bad:#?}");
        }
    }
}

/// Model 2 evaluated without dropout (its L2 alone) is checked too.
#[test]
fn l2_gradient_without_dropout_matches() {
    let bad = check(Arch::Model2, true, false, 7);
    assert!(bad.is_empty(), "{bad:#?}");
}

/// A wrong gradient is caught: the check is not vacuous.
#[test]
fn a_corrupted_gradient_fails_the_check() {
    let mut rng = SplitMix::new(3);
    let mut net = Net::new(Arch::Prototype, false);
    net.init_glorot(&mut rng);
    let mut work = batch(&net, 4, 4, &mut rng);
    net.loss_and_gradient(&mut work, 4, false);
    let i = net.layers[1].w + 3;
    let ana = work.grads[i] * 1.1 + 1e-3;
    let h = 1e-2f32;
    let keep = net.params[i];
    net.params[i] = keep + h;
    let up = net.loss_and_gradient(&mut work, 4, false);
    net.params[i] = keep - h;
    let down = net.loss_and_gradient(&mut work, 4, false);
    let numeric = ((up - down) / (2.0 * f64::from(h))) as f32;
    assert!(agrees(numeric, work.grads[i], h));
    assert!(!agrees(numeric, ana, h));
}
