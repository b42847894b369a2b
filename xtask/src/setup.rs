//! Installs what the tests and the run command need, when it is missing: quick when all is there.

use crate::{output, sh};
use std::path::Path;

/// The wasm-bindgen version the wasm crate pins (`=0.2.130`): the CLI must match it exactly.
pub const WASM_BINDGEN: &str = "0.2.130";

pub fn all() -> Result<(), String> {
    wasm_target()?;
    wasm_bindgen_cli()?;
    chromium()?;
    npm_packages()
}

/// playwright-core (pinned in package-lock.json), which drives Debian's chromium in the tests.
fn npm_packages() -> Result<(), String> {
    if crate::root()
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        return Ok(());
    }
    sh("npm", &["ci", "--no-audit", "--no-fund"], &[])
}

fn wasm_target() -> Result<(), String> {
    if output("rustup", &["target", "list", "--installed"])?.contains("wasm32-unknown-unknown") {
        return Ok(());
    }
    sh("rustup", &["target", "add", "wasm32-unknown-unknown"], &[])
}

fn wasm_bindgen_cli() -> Result<(), String> {
    let have = output("wasm-bindgen", &["--version"]).unwrap_or_default();
    if have.contains(WASM_BINDGEN) && output("wasm-bindgen-test-runner", &["--version"]).is_ok() {
        return Ok(());
    }
    // --locked first (reproducible); the registry mirror here has lacked one locked dependency
    // version before, so fall back to a fresh resolution of the same CLI version.
    sh(
        "cargo",
        &[
            "install",
            "wasm-bindgen-cli",
            "--version",
            WASM_BINDGEN,
            "--locked",
        ],
        &[],
    )
    .or_else(|_| {
        sh(
            "cargo",
            &["install", "wasm-bindgen-cli", "--version", WASM_BINDGEN],
            &[],
        )
    })
}

fn chromium() -> Result<(), String> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    let apt = |args: &[&str]| sh("apt-get", args, &[("DEBIAN_FRONTEND", "noninteractive")]);
    apt(&["update", "-qq"])?;
    apt(&["install", "-y", "-qq", "chromium", "chromium-driver"])
}

/// The Python venv with ReservoirPy, for benchmarks and conformance tools (never for tests).
pub fn tools_venv() -> Result<(), String> {
    sh("bash", &["tools/setup_venv.sh"], &[])
}
