//! `tidepool melody metrics` end to end: a token file's numbers are the library's, the model rows
//! are there and reproducible, bad input is named.

use std::process::Command;
use tidepool_melody::key::Key;
use tidepool_melody::metrics::{Line, Meter, Summary, Tally};
use tidepool_melody::tokens;

fn tidepool(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tidepool"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args(args)
        .output()
        .expect("binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// The numbers of the table row starting with `| name |` (a share's " %" and a gap's "(…)"
/// dropped; "–" as None).
fn row(table: &str, name: &str) -> Vec<Option<f64>> {
    let line = table
        .lines()
        .find(|l| l.starts_with(&format!("| {name} |")))
        .unwrap_or_else(|| panic!("no row {name} in\n{table}"));
    line.trim_matches('|')
        .split('|')
        .skip(1)
        .map(|cell| {
            let value = cell.split('(').next().unwrap().trim().trim_end_matches('%');
            value.trim().parse::<f64>().ok()
        })
        .collect()
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tidepool-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Asserts a printed value is the library's to the digits printed.
fn same(printed: Option<f64>, value: Option<f64>, scale: f64, digits: i32, what: &str) {
    match (printed, value) {
        (Some(p), Some(v)) => {
            let half_ulp = 0.5 * 10f64.powi(-digits) + 1e-9;
            assert!(
                (p - scale * v).abs() <= half_ulp,
                "{what}: printed {p}, library {v}"
            );
        }
        (None, None) => {}
        _ => panic!("{what}: printed {printed:?}, library {value:?}"),
    }
}

#[test]
fn a_token_file_measures_as_the_library_does() {
    // A chorale-format line in A minor with a G#, and a bare token line (measured in C major),
    // nine bars between them so one 8-bar window exists.
    let mut minor = String::from("test/x.mxl S 0 minor 0 16 0|");
    for _ in 0..9 {
        minor.push_str("69 129 129 129 71 129 72 129 68 129 129 129 69 129 129 129 ");
    }
    minor.push_str("128");
    let bare = "60 129 62 129 64 129 129 129 65 129 67 129 128 129 72 129";
    let path = temp_file("two.tokens", &format!("{minor}\n\n{bare}\n"));
    let (ok, stdout, stderr) = tidepool(&["melody", "metrics", "--tokens", path.to_str().unwrap()]);
    assert!(ok, "{stderr}");

    let mut tally = Tally::default();
    let mut minor_tokens = tokens::parse(minor.split('|').nth(1).unwrap()).unwrap();
    // The chorale format's closing note-off ends the line (the bare line keeps its own).
    assert_eq!(minor_tokens.pop(), Some(128));
    let a_minor = Key {
        tonic: 9,
        minor: true,
    };
    tally.add(&Line::from_tokens(&minor_tokens, Meter::FOUR_FOUR), a_minor);
    tally.add(
        &Line::from_tokens(&tokens::parse(bare).unwrap(), Meter::FOUR_FOUR),
        Key::C_MAJOR,
    );
    let s: Summary = tally.summary();
    assert_eq!(s.windows, 1);
    let printed = row(&stdout, path.to_str().unwrap());
    assert_eq!(printed[0], Some(s.notes as f64));
    let want = [
        (s.entropy_bits, 1.0, 3),
        (s.step_share, 100.0, 1),
        (s.repeat_share, 100.0, 1),
        (s.range_semitones, 1.0, 1),
        (s.density, 1.0, 2),
        (s.on_beat_share, 100.0, 1),
        (s.onset_variance, 1.0, 4),
        (s.in_key_share, 100.0, 1),
        (s.longest_figure, 1.0, 1),
        (s.mean_diameter, 1.0, 3),
        (s.mean_strain, 1.0, 3),
        (s.silent_bar_share, 100.0, 1),
    ];
    for (i, (value, scale, digits)) in want.into_iter().enumerate() {
        same(
            printed[i + 2],
            value,
            scale,
            digits,
            &format!("column {}", i + 4),
        );
    }
    // The G# is in A minor: every note of both lines is in its key.
    assert_eq!(s.in_key_share, Some(1.0));

    // The same file read as 3/4 measures differently (the meter is used).
    let (ok, three, _) = tidepool(&[
        "melody",
        "metrics",
        "--tokens",
        path.to_str().unwrap(),
        "--bar",
        "12",
    ]);
    assert!(ok);
    assert_ne!(row(&three, path.to_str().unwrap()), printed);
}

#[test]
fn model_rows_are_generated_reproducibly_next_to_the_corpus() {
    let args = [
        "melody",
        "metrics",
        "--models",
        "ngram2,lstm",
        "--seeds",
        "2",
        "--bars",
        "4",
        "--temperatures",
        "1,1.5",
    ];
    let (ok, first, stderr) = tidepool(&args);
    assert!(ok, "{stderr}");
    for name in [
        "corpus (test split)",
        "ngram2 T=1",
        "ngram2 T=1.5",
        "lstm T=1",
        "lstm T=1.5",
    ] {
        let values = row(&first, name);
        assert!(values[0].unwrap() > 0.0, "{name} has notes");
    }
    // 2 seeds × 4 bars = 8 bars per model row.
    assert_eq!(row(&first, "lstm T=1")[1], Some(8.0));
    // The corpus row is the whole test split: 79 lines.
    assert!(first.contains("Corpus: 79 lines"), "{first}");
    let (_, second, _) = tidepool(&args);
    assert_eq!(first, second, "seeded: the same table twice");
}

#[test]
fn bad_options_and_files_are_named() {
    let (ok, _, err) = tidepool(&["melody", "metrics", "--models", "lstm,nope"]);
    assert!(
        !ok && err.contains("`nope`") && err.contains("ngram4"),
        "{err}"
    );
    let (ok, _, err) = tidepool(&["melody", "metrics", "--temperatures", "1,11"]);
    assert!(!ok && err.contains("`11`"), "{err}");
    let path = temp_file("bad.tokens", "60 129 128\n60 131\n");
    let (ok, _, err) = tidepool(&["melody", "metrics", "--tokens", path.to_str().unwrap()]);
    assert!(
        !ok && err.contains("line 2") && err.contains("131"),
        "{err}"
    );
    let (ok, _, err) = tidepool(&["melody", "metrics", "--phase", "16"]);
    assert!(!ok && err.contains("phase 16"), "{err}");
}
