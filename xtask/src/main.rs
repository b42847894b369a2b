//! `cargo xtask setup | test | run | bench`: the project's commands, each installing what it needs.
//!
//! Nothing here may rely on something installed by hand: a fresh machine runs `cargo xtask test`
//! (or `run`) and gets the wasm target, wasm-bindgen-cli, Chromium and the Python tools venv as
//! needed. Network access is only ever to the package registries, and only in setup steps.

mod bench;
mod setup;
mod stress;
mod web;

use std::path::{Path, PathBuf};
use std::process::Command;

const HELP: &str = "cargo xtask <command>
  setup   install what is missing (wasm target, wasm-bindgen-cli, chromium + chromedriver)
  test    setup, then fmt --check, clippy -D warnings, cargo test, wasm tests in headless Chromium
  serve   setup, build the wasm engine into pkg/ (and pkg/tools/), serve the instrument on
          127.0.0.1, print the URL
          (--no-build: serve pkg/ as it is)
  render  build the CLI and render a demo patch to out/demo.wav and out/demo.mid
  bench   criterion benches, ReservoirPy side by side, the wasm rate, native real-time factor
  stress  the stress harness, CI size (--long: the full size; --only CHECK: one check)";

fn main() {
    let cmd = std::env::args().nth(1).unwrap_or_default();
    let result = match cmd.as_str() {
        "setup" => setup::all(),
        "test" => test(),
        "serve" | "run" if std::env::args().any(|a| a == "--no-build") => web::serve(false),
        "serve" | "run" => setup::all().and_then(|_| web::serve(true)),
        "build-web" => web::build(),
        "render" => render_demo(),
        "bench" => bench::all(),
        "stress" => stress::run(&std::env::args().skip(2).collect::<Vec<_>>()),
        _ => {
            println!("{HELP}");
            Ok(())
        }
    };
    if let Err(e) = result {
        eprintln!("xtask {cmd}: {e}");
        std::process::exit(1);
    }
}

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask is in the workspace")
        .to_path_buf()
}

/// Runs a command from the workspace root, echoing it; an error names the command.
pub fn sh(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    println!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("`{program} {}` failed ({status})", args.join(" ")))
}

/// Runs a command and returns its standard output.
pub fn output(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(root())
        .output()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One step of `cargo xtask test`.
type Step = Box<dyn Fn() -> Result<(), String>>;

fn test() -> Result<(), String> {
    setup::all()?;
    let chrome = [
        ("CHROMEDRIVER", "/usr/bin/chromedriver"),
        ("WASM_BINDGEN_TEST_TIMEOUT", "120"),
    ];
    let steps: Vec<(&str, Step)> = vec![
        (
            "format",
            Box::new(|| sh("cargo", &["fmt", "--all", "--", "--check"], &[])),
        ),
        (
            "clippy",
            Box::new(|| {
                sh(
                    "cargo",
                    &[
                        "clippy",
                        "--workspace",
                        "--all-targets",
                        "--",
                        "-D",
                        "warnings",
                    ],
                    &[],
                )
            }),
        ),
        (
            // The wasm crate's `tools` feature (pkg/tools/: the recording renderer, the
            // benchmark exports) is off in the workspace build above.
            "clippy, wasm tools feature",
            Box::new(|| {
                sh(
                    "cargo",
                    &[
                        "clippy",
                        "-p",
                        "tidepool-wasm",
                        "--features",
                        "tools",
                        "--all-targets",
                        "--",
                        "-D",
                        "warnings",
                    ],
                    &[],
                )
            }),
        ),
        (
            "cargo test",
            Box::new(|| {
                // With the wasm crate's tools feature: its exports' native tests run too (the
                // page build is tested without it in Chromium, below).
                sh(
                    "cargo",
                    &[
                        "test",
                        "--workspace",
                        "--exclude",
                        "tidepool-bench",
                        "--features",
                        "tidepool-wasm/tools",
                    ],
                    &[],
                )?;
                // The reservoir as the page's module builds it: no eigenvalue code.
                sh(
                    "cargo",
                    &["test", "-p", "tidepool-reservoir", "--no-default-features"],
                    &[],
                )
            }),
        ),
        (
            "wasm tests in Chromium",
            Box::new(move || {
                sh(
                    "cargo",
                    &[
                        "test",
                        "-p",
                        "tidepool-wasm",
                        "--target",
                        "wasm32-unknown-unknown",
                    ],
                    &chrome,
                )
            }),
        ),
        ("build pkg/", Box::new(web::build)),
        (
            "build the CLI",
            Box::new(|| sh("cargo", &["build", "--release", "-p", "tidepool-cli"], &[])),
        ),
        ("stress harness (CI size)", Box::new(|| stress::run(&[]))),
        (
            "browser tests",
            Box::new(|| {
                sh(
                    "node",
                    &["--test", "--test-concurrency=1", "tests/e2e/"],
                    &[],
                )
            }),
        ),
    ];
    let total = steps.len();
    for (i, (name, step)) in steps.iter().enumerate() {
        println!("\n== {name} ==");
        if let Err(e) = step() {
            println!("steps: {i} passed, 1 failed");
            return Err(e);
        }
    }
    println!("steps: {total} passed, 0 failed");
    Ok(())
}

fn render_demo() -> Result<(), String> {
    sh("cargo", &["build", "--release", "-p", "tidepool-cli"], &[])?;
    std::fs::create_dir_all(root().join("out")).map_err(|e| e.to_string())?;
    sh(
        "target/release/tidepool",
        &[
            "render",
            "--notes",
            "C4 Eb4 G4 Bb4",
            "--seconds",
            "20",
            "-o",
            "out/demo.wav",
            "--midi",
            "out/demo.mid",
        ],
        &[],
    )?;
    println!("\nListen to out/demo.wav (and load out/demo.mid into any DAW).");
    println!("Try another patch: target/release/tidepool render --patch 'tp1&arp.mode=updown&lfo.sr=1.5' -o out/b.wav");
    Ok(())
}
