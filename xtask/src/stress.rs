//! `cargo xtask stress [--long] [--only CHECK …]`: the stress harness of `crates/stress` (sample
//! rates, block sizes, random automation, state, the worst-case patch, fuzzed inputs while
//! playing), built in release: its block timings and real-time factor mean something only
//! optimised, and `cargo xtask test` builds the release dependencies for the CLI anyway.
//! `--long` (or `TIDEPOOL_STRESS=long`) runs the on-demand size; without it, the CI size.

use crate::sh;

/// Runs the harness with `args` passed through (`--long`, `--only NAME`).
pub fn run(args: &[String]) -> Result<(), String> {
    let mut all = vec!["run", "--release", "-q", "-p", "tidepool-stress", "--"];
    all.extend(args.iter().map(String::as_str));
    sh("cargo", &all, &[])
}
