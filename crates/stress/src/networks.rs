//! Network shapes: every size and connectivity the parameter table allows must give a network
//! the host can build in bounded time. The spectral radius (an eigen-decomposition) of the very
//! sparse shapes is computed here on threads with a deadline, and a shape that does not finish
//! is a failure, named. Run last: a solver that never returns keeps spinning on its thread until
//! the harness exits.

use crate::host::radius_within;
use crate::{Check, Size};
use std::time::Duration;
use tidepool_engine::Shape;

/// Deadline for each shape (they run side by side; the largest here takes milliseconds).
/// Connections a row tried, from 1.
const K_MAX: usize = 6;

const LIMIT: Duration = Duration::from_secs(10);

pub fn check(size: Size) -> Vec<Check> {
    let sizes: &[usize] = match size {
        Size::Ci => &[8, 16, 50, 100, 300],
        Size::Long => &[4, 8, 12, 16, 32, 50, 64, 100, 200, 300, 500],
    };
    // Connections a row (connectivity = k / n, the table's minimum being 0.01).
    let shapes: Vec<Shape> = sizes
        .iter()
        .flat_map(|&n| (1..=K_MAX).map(move |k| (n, (k as f32 / n as f32).max(0.01), 1)))
        .collect();
    let waits: Vec<_> = shapes
        .iter()
        .map(|&s| std::thread::spawn(move || radius_within(s, LIMIT)))
        .collect();
    let stalled: Vec<String> = shapes
        .iter()
        .zip(waits)
        .filter_map(|((n, c, seed), w)| {
            let done = w.join().ok().flatten().is_some();
            (!done).then(|| format!("n={n} conn={c} seed={seed}"))
        })
        .collect();
    vec![Check::new(
        "networks: sparse shapes' spectral radius finishes",
        format!(
            "{} shapes, 1–{K_MAX} connections a row, {} s each",
            shapes.len(),
            LIMIT.as_secs()
        ),
        stalled.is_empty(),
        if stalled.is_empty() {
            "all finished".to_string()
        } else {
            format!(
                "{} never finished (eigen-decomposition does not converge; the page's radius \
                 worker and `tidepool render` hang on them): {}",
                stalled.len(),
                stalled.join(", ")
            )
        },
    )]
}
