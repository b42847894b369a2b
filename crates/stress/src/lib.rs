//! The stress harness of issue 8: what a plug-in validator (pluginval) throws at a plug-in,
//! thrown at a playing tidepool engine. Sample rates, block sizes, random automation of every
//! parameter with notes held and released, patches saved and restored mid-stream, the worst-case
//! patch's real-time factor, and fuzzed patch strings, model files and MIDI bytes fed while
//! playing.
//!
//! Each check returns [`Check`] rows (what, size, pass or fail, key numbers) and the binary
//! (`cargo xtask stress`) prints them as a table and fails on any failed row. [`Size::Ci`] is
//! the size `cargo xtask test` runs; [`Size::Long`] the on-demand one.

pub mod automation;
pub mod blocks;
pub mod host;
pub mod inputs;
pub mod measure;
pub mod midi;
pub mod networks;
pub mod rates;
pub mod state;
pub mod worst;

use std::path::Path;
use std::time::Instant;

/// How much of each check to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// Inside `cargo xtask test`: well under three minutes on two cores.
    Ci,
    /// On demand: the full sizes (10 000 automation changes) and several seeds.
    Long,
}

/// One line of the report.
#[derive(Clone, Debug)]
pub struct Check {
    pub what: String,
    pub size: String,
    pub ok: bool,
    /// The numbers that back the verdict (and, on failure, the failing case).
    pub numbers: String,
}

impl Check {
    pub fn new(what: &str, size: impl Into<String>, ok: bool, numbers: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            size: size.into(),
            ok,
            numbers: numbers.into(),
        }
    }
}

/// The checks, by the name `--only` selects them with.
pub const CHECKS: &[&str] = &[
    "rates",
    "onsets",
    "blocks",
    "automation",
    "state",
    "worst",
    "inputs",
    "networks",
];

/// Runs the checks named in `only` (all when empty) and hands each row to `row` as it is
/// known, with the seconds its check took. Informational lines (what a patch does not hold,
/// the worst case's arithmetic) go to `note`. A check that panics is reported as a failed row.
pub fn run(
    root: &Path,
    size: Size,
    only: &[String],
    mut row: impl FnMut(&Check, f64),
    mut note: impl FnMut(&str),
) -> Result<(), String> {
    let host = host::Host::new(host::Models::load(root)?);
    for &name in CHECKS {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let t = Instant::now();
        let mut notes = Vec::new();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match name {
            "rates" => rates::check(&host, size),
            "onsets" => rates::onsets(&host),
            "blocks" => blocks::check(&host, size),
            "automation" => automation::check(&host, size),
            "state" => state::check(&host, size, &mut notes),
            "worst" => worst::check(&host, size, &mut notes),
            "inputs" => inputs::check(&host, size),
            _ => networks::check(size),
        }));
        let seconds = t.elapsed().as_secs_f64();
        match result {
            Ok(rows) => rows.iter().for_each(|r| row(r, seconds)),
            Err(e) => {
                let message = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                row(
                    &Check::new(name, "", false, format!("panicked: {message}")),
                    seconds,
                );
            }
        }
        notes.iter().for_each(|n| note(n));
    }
    for (n, c, seed) in host.stalled() {
        row(
            &Check::new(
                "host: a network's radius did not come",
                format!("n={n} conn={c} seed={seed}"),
                false,
                format!("gave up after {} s", host::RADIUS_LIMIT.as_secs()),
            ),
            0.0,
        );
    }
    Ok(())
}
