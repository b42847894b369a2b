//! `cargo xtask bench`: criterion, then one table that puts ReservoirPy, the native engine and the
//! wasm build side by side (measured in the same run), then the native real-time factor.

use crate::{output, setup, sh};
use serde_json::Value;

const SIZES: [usize; 3] = [100, 300, 1000];

pub fn all() -> Result<(), String> {
    setup::all()?;
    sh("cargo", &["bench", "-p", "tidepool-bench"], &[])?;
    sh("cargo", &["build", "--release", "-p", "tidepool-cli"], &[])?;
    let wasm = wasm_rates();
    setup::tools_venv()?;
    let py = json_lines(&output(
        "tools/.venv/bin/python",
        &["tools/bench_reservoirpy.py"],
    )?);
    println!("\n## Reservoir steps per second (connectivity 0.1, 10 000 steps, best of 3)\n");
    println!("| N | ReservoirPy 0.4.2 | tidepool native | native / ReservoirPy | tidepool wasm (Node V8) | wasm / ReservoirPy |");
    println!("|---|---|---|---|---|---|");
    for n in SIZES {
        let native = json_lines(&output(
            "target/release/tidepool",
            &["bench-esn", "--n", &n.to_string()],
        )?);
        let rate = |lines: &[Value]| {
            lines
                .iter()
                .find(|l| l["n"].as_u64() == Some(n as u64))
                .and_then(|l| l["steps_per_sec"].as_f64())
        };
        let (p, nat) = (
            rate(&py).unwrap_or(f64::NAN),
            rate(&native).unwrap_or(f64::NAN),
        );
        let w = wasm.as_ref().ok().and_then(|w| rate(w));
        let wasm_cells = match w {
            Some(w) => format!("{:.0} | {:.1}×", w, w / p),
            None => "n/a | n/a".to_string(),
        };
        println!(
            "| {n} | {p:.0} | {nat:.0} | {:.1}× | {wasm_cells} |",
            nat / p
        );
    }
    if let Err(e) = &wasm {
        println!("\n(wasm rates unavailable: {e})");
    }
    rhythm_training()?;
    if let Ok(lines) = &wasm {
        for l in lines.iter().filter(|l| l["what"].is_string()) {
            println!("\nwasm engine: {l}");
        }
    }
    println!(
        "\n## Native real-time factor, default patch, 4-note chord, 60 s at 48 kHz (best of 3)\n"
    );
    let mut best = 0.0f64;
    for _ in 0..3 {
        let text = output(
            "target/release/tidepool",
            &["render", "--notes", "C4 E4 G4 B4", "--seconds", "60"],
        )?;
        let factor = text
            .split(['(', 'x'])
            .find_map(|w| {
                w.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|_| text.contains("real time"))
            })
            .unwrap_or(0.0);
        best = best.max(factor);
    }
    println!("real-time factor: {best:.0}× (target ≥ 100×)");
    println!("\n## In headless Chromium (tests/bench/browser.mjs)\n");
    crate::web::build()?;
    sh("node", &["tests/bench/browser.mjs"], &[])?;
    println!("\n## Melody LSTM step against TensorFlow.js (tests/bench/melody_tfjs.mjs)\n");
    sh("node", &["tests/bench/melody_tfjs.mjs"], &[])?;
    println!(
        "\n## Arpeggio under main-thread stalls against Tone.js (tests/bench/stall_tone.mjs)\n"
    );
    sh("node", &["tests/bench/stall_tone.mjs"], &[])?;
    println!("\n## The worst-case patch in the worklet (tests/bench/worst_case.mjs)\n");
    sh("node", &["tests/bench/worst_case.mjs"], &[])
}

/// Rhythm training side by side, measured in the same run: every architecture (velocity head
/// on) on 200 rhythms for 500 epochs in batches of 32, tidepool natively
/// (crates/bench/benches/rhythm.rs) and PyTorch on the CPU (tools/rhythm/bench_torch.py, one
/// thread and every core). PyTorch comes from tools/rhythm/.venv (tools/rhythm/setup_venv.sh)
/// unless `RHYTHM_PYTHON` names an interpreter that has it.
fn rhythm_training() -> Result<(), String> {
    let args = ["bench", "-q", "-p", "tidepool-bench", "--bench", "rhythm"];
    println!("$ TIDEPOOL_BENCH_JSON=1 cargo {}", args.join(" "));
    let out = std::process::Command::new("cargo")
        .args(args)
        .env("TIDEPOOL_BENCH_JSON", "1")
        .current_dir(crate::root())
        .output()
        .map_err(|e| format!("cannot start cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the rhythm bench failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let native = json_lines(&String::from_utf8_lossy(&out.stdout));
    let python = match std::env::var("RHYTHM_PYTHON") {
        Ok(p) => p,
        Err(_) => {
            sh("bash", &["tools/rhythm/setup_venv.sh"], &[])?;
            "tools/rhythm/.venv/bin/python".into()
        }
    };
    let torch = json_lines(&output(&python, &["tools/rhythm/bench_torch.py"])?);
    let seconds = |lines: &[Value], arch: &str, threads: Option<u64>| {
        lines
            .iter()
            .filter(|l| l["rhythm_train"] == arch)
            .filter(|l| threads.is_none_or(|t| l["threads"].as_u64() == Some(t)))
            .filter_map(|l| l["seconds"].as_f64())
            .reduce(f64::min)
    };
    let most = torch
        .iter()
        .filter_map(|l| l["threads"].as_u64())
        .max()
        .unwrap_or(1);
    let version = torch
        .first()
        .and_then(|l| l["torch"].as_str())
        .unwrap_or("?");
    println!("\n## Rhythm training: 200 rhythms × 500 epochs, batch 32, velocity head (seconds, best of 3)\n");
    println!("| architecture | tidepool native (1 thread) | PyTorch {version} CPU, 1 thread | PyTorch, {most} threads | native speed-up over the faster PyTorch |");
    println!("|---|---|---|---|---|");
    for arch in ["prototype", "model1", "model2", "model3"] {
        let cell = |v: Option<f64>| v.map_or("n/a".to_string(), |s| format!("{s:.3}"));
        let nat = seconds(&native, arch, None);
        let (one, all) = (
            seconds(&torch, arch, Some(1)),
            seconds(&torch, arch, Some(most)),
        );
        let fastest = [one, all].into_iter().flatten().reduce(f64::min);
        let ratio = match (nat, fastest) {
            (Some(n), Some(t)) => format!("{:.0}×", t / n),
            _ => "n/a".into(),
        };
        println!(
            "| {arch} | {} | {} | {} | {ratio} |",
            cell(nat),
            cell(one),
            cell(all)
        );
    }
    Ok(())
}

/// Builds the wasm engine for Node and runs tests/bench/wasm_reservoir.mjs.
fn wasm_rates() -> Result<Vec<Value>, String> {
    crate::web::bindgen("nodejs", "target/pkg-node")?;
    // The nodejs glue is CommonJS; the root package.json says "module".
    std::fs::write(
        crate::root().join("target/pkg-node/package.json"),
        "{\"type\": \"commonjs\"}\n",
    )
    .map_err(|e| e.to_string())?;
    Ok(json_lines(&output(
        "node",
        &["tests/bench/wasm_reservoir.mjs"],
    )?))
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| serde_json::from_str(l.trim()).ok())
        .collect()
}
