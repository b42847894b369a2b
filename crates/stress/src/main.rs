//! `tidepool-stress [--long] [--only CHECK …]`: runs the stress harness and prints one line per
//! check (what, size, result, key numbers); exits 1 if any check failed. `cargo xtask stress`
//! runs it in release; `TIDEPOOL_STRESS=long` is the same as `--long`.

use std::path::Path;
use tidepool_stress::{run, Check, Size, CHECKS};

// The counting allocator, so the checks can prove `process` never allocates.
#[global_allocator]
static GLOBAL: tidepool_alloc_count::CountingAlloc = tidepool_alloc_count::CountingAlloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let long = args.iter().any(|a| a == "--long")
        || std::env::var("TIDEPOOL_STRESS").is_ok_and(|v| v == "long");
    let only: Vec<String> = args
        .windows(2)
        .filter(|w| w[0] == "--only")
        .map(|w| w[1].clone())
        .collect();
    if let Some(bad) = only.iter().find(|o| !CHECKS.contains(&o.as_str())) {
        eprintln!(
            "unknown check `{bad}`; the checks are {}",
            CHECKS.join(", ")
        );
        std::process::exit(2);
    }
    // The counter must be live, or "0 allocations" would mean nothing.
    if tidepool_alloc_count::allocations_during(|| drop(std::hint::black_box(vec![1u8; 8]))) == 0 {
        eprintln!("the counting allocator is not installed");
        std::process::exit(2);
    }
    let size = if long { Size::Long } else { Size::Ci };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    println!(
        "stress harness ({} size){}\n",
        if long { "long" } else { "CI" },
        if cfg!(debug_assertions) {
            " — debug build: timings are not meaningful"
        } else {
            ""
        }
    );
    println!(
        "{:<6} {:<52} {:<58} {:>7}  numbers",
        "result", "check", "size", "secs"
    );
    let start = std::time::Instant::now();
    let mut rows: Vec<Check> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let result = run(
        &root,
        size,
        &only,
        |c, secs| {
            println!(
                "{:<6} {:<52} {:<58} {:>7.1}  {}",
                if c.ok { "ok" } else { "FAIL" },
                c.what,
                c.size,
                secs,
                c.numbers
            );
            rows.push(c.clone());
        },
        |n| notes.push(n.to_string()),
    );
    if let Err(e) = result {
        eprintln!("stress: {e}");
        std::process::exit(2);
    }
    println!();
    notes.iter().for_each(|n| println!("{n}"));
    let failed = rows.iter().filter(|c| !c.ok).count();
    println!(
        "\n{} checks: {} passed, {failed} failed, {:.1} s",
        rows.len(),
        rows.len() - failed,
        start.elapsed().as_secs_f64()
    );
    if failed > 0 {
        std::process::exit(1);
    }
}
