//! The `tidepool` binary end to end: render to files, bad input, reseeding, esn-trace.

use std::process::Command;

fn tidepool(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tidepool"))
        .args(args)
        .output()
        .expect("binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn render_writes_a_wav_and_a_midi_file_with_the_arpeggio() {
    let dir = std::env::temp_dir().join(format!("tidepool-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (wav, mid) = (dir.join("a.wav"), dir.join("a.mid"));
    let (ok, stdout, stderr) = tidepool(&[
        "render",
        "--notes",
        "C4 E4 G4",
        "--seconds",
        "1",
        "--sample-rate",
        "44100",
        "-o",
        wav.to_str().unwrap(),
        "--midi",
        mid.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("8 notes played"), "{stdout}");
    let wav = std::fs::read(&wav).unwrap();
    assert_eq!(wav.len(), 44 + 44100 * 2 * 4);
    let samples: Vec<f32> = wav[44..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let peak = samples.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(peak > 0.05 && peak <= 0.98, "peak {peak}");
    let mid = std::fs::read(&mid).unwrap();
    assert_eq!(&mid[..4], b"MThd");
    assert!(
        mid.iter().filter(|&&b| b == 0x90).count() >= 8,
        "eight note-ons"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_patch_field_is_named_and_the_rest_applies() {
    let (ok, stdout, stderr) = tidepool(&["patch", "http://x/#tp1&bpm=fast&arp.oct=3&wat=1"]);
    assert!(ok);
    assert!(
        stderr.contains("bpm:") && stderr.contains("wat:"),
        "{stderr}"
    );
    assert!(
        stdout.contains("&arp.oct=3&") && stdout.contains("&bpm=120&"),
        "{stdout}"
    );
    let (ok, _, stderr) = tidepool(&["render", "--notes", "C4 H9"]);
    assert!(!ok && stderr.contains("H9"), "{stderr}");
}

#[test]
fn reseed_changes_only_the_seeds() {
    let (_, a, _) = tidepool(&["patch", "--reseed", "all"]);
    let (_, b, _) = tidepool(&["patch"]);
    let fields = |s: &str| s.trim().split('&').map(String::from).collect::<Vec<_>>();
    let diff: Vec<String> = fields(&a)
        .into_iter()
        .zip(fields(&b))
        .filter(|(x, y)| x != y)
        .map(|(x, _)| x)
        .collect();
    assert!(
        diff.iter()
            .all(|f| f.starts_with("lfo.seed=") || f.starts_with("arp.seed=")),
        "{diff:?}"
    );
    assert!(!diff.is_empty());
}

#[test]
fn esn_trace_reads_a_case_file() {
    let case = std::env::temp_dir().join(format!("tidepool-case-{}.json", std::process::id()));
    std::fs::write(
        &case,
        r#"{"W": [[0.5]], "Win": [[1.0]], "bias": [0.0], "lr": 1.0, "Wfb": null,
        "Wout": [[2.0]], "feedback": "none", "inputs": [[1.0], [0.0]]}"#,
    )
    .unwrap();
    let (ok, stdout, stderr) = tidepool(&["esn-trace", case.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let s0 = v["states"][0][0].as_f64().unwrap();
    assert!((s0 - 1f64.tanh()).abs() < 1e-6, "{s0}");
    let s1 = v["states"][1][0].as_f64().unwrap();
    assert!((s1 - (0.5 * 1f64.tanh()).tanh()).abs() < 1e-6);
    assert!((v["outputs"][1][0].as_f64().unwrap() - 2.0 * s1).abs() < 1e-6);
    std::fs::remove_file(&case).ok();
}

#[test]
fn export_quantized_writes_exactly_the_shipped_tpq() {
    let models = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/models");
    let dir = std::env::temp_dir().join(format!("tidepool-cli-tpq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("m.tpq");
    let model = format!("{models}/melody-lstm.safetensors");
    let (ok, stdout, stderr) = tidepool(&[
        "melody",
        "export-quantized",
        "--model",
        &model,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1468960 bytes"), "{stdout}");
    let written = std::fs::read(&out).unwrap();
    let shipped = std::fs::read(format!("{models}/melody-lstm.tpq")).unwrap();
    assert!(
        written == shipped,
        "web/models/melody-lstm.tpq is not what `tidepool melody export-quantized` writes"
    );
    // A file that is not a safetensors model is named in the error.
    let (ok, _, stderr) = tidepool(&[
        "melody",
        "export-quantized",
        "--model",
        &format!("{models}/melody-lstm.tpq"),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("melody-lstm.tpq:"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn render_plays_the_musicians_model_file_given_with_melody_file() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let dir = std::env::temp_dir().join(format!("tidepool-cli-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let notes = dir.join("n.json");
    let patch = "tp1&arp.mode=off&mel.mode=free&mel.model=file";
    let models = format!("{root}/web/models");
    let base = [
        "render",
        "--patch",
        patch,
        "--seconds",
        "4",
        "--models",
        &models,
        "--notes",
        "C4",
    ];
    // Without the file: said what to give.
    let (ok, _, stderr) = tidepool(&base);
    assert!(!ok);
    assert!(stderr.contains("--melody-file"), "{stderr}");
    let fixture = format!("{root}/tests/fixtures/melody-user-1x64.safetensors");
    let out = dir.join("a.wav");
    let mut args = base.to_vec();
    args.extend([
        "--melody-file",
        &fixture,
        "-o",
        out.to_str().unwrap(),
        "--notes-json",
        notes.to_str().unwrap(),
    ]);
    let (ok, stdout, stderr) = tidepool(&args);
    assert!(ok, "{stderr}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&notes).unwrap()).unwrap();
    let onsets = json
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n[2].as_u64() > Some(0))
        .count();
    // The held C4 and at least 8 melody notes in 4 s.
    assert!(onsets >= 9, "{onsets} onsets: {stdout}");
    // A bad file is named with the loader's reason.
    let bad = dir.join("bad.safetensors");
    std::fs::write(&bad, &std::fs::read(&fixture).unwrap()[..1000]).unwrap();
    let at = args.iter().position(|a| *a == fixture).unwrap();
    args[at] = bad.to_str().unwrap();
    let (ok, _, stderr) = tidepool(&args);
    assert!(!ok && stderr.contains("truncated"), "{stderr}");
}
