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

/// The npm devDependencies, pinned in package.json and package-lock.json: playwright-core (drives
/// Debian's chromium in the tests) and binaryen (wasm-opt for pkg/); `npm ci` unless every one is
/// installed at its pinned version.
fn npm_packages() -> Result<(), String> {
    if npm_installed().unwrap_or(false) {
        return Ok(());
    }
    sh("npm", &["ci", "--no-audit", "--no-fund"], &[])
}

/// Whether node_modules/ holds every devDependency at the exact version package.json pins.
fn npm_installed() -> Option<bool> {
    let read = |path: &Path| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    };
    let root = crate::root();
    let manifest = read(&root.join("package.json"))?;
    let deps = manifest["devDependencies"].as_object()?;
    Some(deps.iter().all(|(name, pinned)| {
        let installed = read(&root.join("node_modules").join(name).join("package.json"));
        installed.is_some_and(|p| pinned.as_str() == p["version"].as_str())
    }))
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
