//! The snapshot the page's live views and tests read, the parameter-by-id path the page's knobs
//! use, and the numeric patch codec, through the exports (natively with `cargo test`, and in
//! headless Chromium with the wasm target, as `tests/web.rs`).

use tidepool_engine::{ParamId, Patch};
use tidepool_wasm::{param_sanitize, parse_patch, patch_text_of, view, WasmEngine, VIEW_LEN};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn snapshot(engine: &mut WasmEngine) -> Vec<f32> {
    let len = engine.snapshot();
    assert_eq!(len, VIEW_LEN);
    // SAFETY: view_ptr addresses VIEW_LEN f32s owned by `engine`, copied before it changes.
    unsafe { std::slice::from_raw_parts(engine.view_ptr(), len) }.to_vec()
}

fn id(key: &str) -> u32 {
    ParamId::from_key(key).unwrap().index() as u32
}

/// (neurons, connectivity, seed) of the installed network whose fields start at `at`.
fn shape_at(v: &[f32], at: usize) -> (f32, f32, u64) {
    (
        v[at],
        v[at + 1],
        v[at + 2] as u64 | (v[at + 3] as u64) << 16,
    )
}

#[test]
fn the_snapshot_reports_the_installed_networks_not_the_requested_ones() {
    let patch =
        "tp1&lfo.n=37&lfo.conn=0.5&lfo.seed=4000000001&arp.n=5&arp.conn=0.25&arp.seed=65537";
    let mut engine = WasmEngine::new(48_000.0, patch);
    assert!(engine.patch_errors().is_empty());
    let per = view::NETWORK_NAMES.len();
    let v = snapshot(&mut engine);
    assert_eq!(shape_at(&v, view::NETWORKS), (37.0, 0.5, 4_000_000_001));
    assert_eq!(shape_at(&v, view::NETWORKS + per), (5.0, 0.25, 65_537));

    // Asking for another network changes the parameter at once, the installed network only when
    // it is built and installed: until then the old one plays and the snapshot says so.
    assert!(engine.set_param_id(0.0, id("lfo.n"), 20.0));
    engine.process(128);
    assert!(engine.patch_text().contains("&lfo.n=20&"));
    let v = snapshot(&mut engine);
    assert_eq!(shape_at(&v, view::NETWORKS).0, 37.0);
}

#[test]
fn the_snapshot_fills_its_named_fields() {
    let mut engine = WasmEngine::new(48_000.0, "tp1&arp.mode=off");
    for pitch in [60, 64, 67] {
        assert!(engine.note_on(0.0, pitch, 100));
    }
    engine.process(128);
    let v = snapshot(&mut engine);
    let sounding = view::STATUS
        + view::STATUS_NAMES
            .iter()
            .position(|&n| n == "sounding")
            .unwrap();
    assert_eq!(v[sounding], 3.0);
    let missing = view::MELODY
        + view::MELODY_NAMES
            .iter()
            .position(|&n| n == "missing")
            .unwrap();
    assert_eq!(v[missing], -1.0, "the melody is off: no model is missing");
    assert_eq!(v[view::ENTRIES], 0.0, "the arpeggiator is off: no entries");
}

#[test]
fn parameters_set_by_id_are_sanitised_like_the_page_shows_them() {
    let mut engine = WasmEngine::new(48_000.0, "");
    assert!(engine.set_param_id(0.0, id("bpm"), 1e9));
    assert!(engine.set_param_id(0.0, id("arp.oct"), 2.6));
    assert!(engine.set_param_id(0.0, id("syn.cut"), 1234.5));
    assert!(
        !engine.set_param_id(0.0, ParamId::all().len() as u32, 1.0),
        "unknown id"
    );
    engine.process(128);
    let text = engine.patch_text();
    for (key, value) in [("bpm", 1e9), ("arp.oct", 2.6), ("syn.cut", 1234.5)] {
        let shown = param_sanitize(id(key), value);
        assert!(
            text.contains(&format!("&{key}={shown}&")),
            "{key}={shown} in {text}"
        );
    }
    assert_eq!(param_sanitize(id("bpm"), 1e9), 300.0);
    assert_eq!(param_sanitize(id("arp.oct"), 2.6), 3.0);
    assert_eq!(param_sanitize(id("arp.mode"), -4.0), 0.0);
    assert!(param_sanitize(id("bpm"), f64::NAN).is_nan());
    assert!(param_sanitize(9999, 1.0).is_nan());
}

#[test]
fn numeric_patch_state_writes_the_canonical_text() {
    let text = "tp1&bpm=97.5&arp.mode=updown&lfo.seed=4000000001&syn.cut=1234.5";
    let patch = Patch::parse(text).patch;
    let values: Vec<f64> = ParamId::all()
        .iter()
        .map(|&id| patch.values.get(id))
        .collect();
    assert_eq!(patch_text_of(&values, None, None, None), patch.to_text());
    assert_eq!(
        patch_text_of(&[], None, None, None),
        Patch::default().to_text(),
        "missing values keep defaults"
    );
}

#[test]
fn bindings_cross_to_the_page_and_back() {
    let text = "tp1&bpm=90&bind.lfo.sr=cc21:14:ch2:soft&bind.arp.beta=bend&bind.syn.cut=cc64";
    let json = parse_patch(text);
    let tail = json.split("\"bindings\":").nth(1).expect("a bindings list");
    let (sr, beta) = (id("lfo.sr"), id("arp.beta"));
    assert_eq!(
        tail,
        format!(
            "[{{\"id\":{sr},\"cc\":21,\"channel\":2,\"source\":\"cc14\",\"soft\":true}},\
             {{\"id\":{beta},\"cc\":0,\"channel\":0,\"source\":\"bend\",\"soft\":false}}],\
             \"models\":[\"model1\",\"model3\",\"prototype\"],\"markov\":\"\"}}"
        )
    );
    assert!(
        json.contains("bind.syn.cut: `cc64` is the sustain pedal"),
        "{json}"
    );
    let values: Vec<f64> = ParamId::all().iter().map(|id| id.spec().default).collect();
    let bindings = [sr, 1, 21, 2, 1, beta, 2, 0, 0, 0];
    let written = patch_text_of(&values, Some(bindings.to_vec()), None, None);
    assert!(
        written.ends_with("&bind.lfo.sr=cc21:14:ch2:soft&bind.arp.beta=bend"),
        "{written}"
    );
    // Nonsense is left out: an unknown id, a refused controller, a 14-bit CC above 31, a channel
    // of 17 (read as any), a trailing partial binding.
    let junk = [
        999, 0, 1, 0, 0, sr, 0, 64, 0, 0, sr, 1, 40, 0, 0, beta, 3, 0, 17, 1, beta,
    ];
    let written = patch_text_of(&values, Some(junk.to_vec()), None, None);
    assert!(
        written.ends_with("&bind.arp.beta=pressure:soft"),
        "{written}"
    );
    assert_eq!(written.matches("bind.").count(), 1, "{written}");
}

/// A prototype-shaped decoder whose probabilities are `pattern`'s (0.99 on, 0.01 off).
fn pattern_decoder(pattern: &str) -> tidepool_rhythm::decoder::Decoder {
    use tidepool_rhythm::dense::Dense;
    let mut out = Dense::zeros(16, 32);
    for (step, c) in pattern.chars().enumerate() {
        out.bias[step] = if c == '1' { 4.6 } else { -4.6 };
    }
    let layers = vec![Dense::zeros(2, 16), out];
    tidepool_rhythm::decoder::Decoder::new(tidepool_rhythm::arch::Arch::Prototype, layers, None)
        .unwrap()
}

#[test]
fn rhythm_models_cross_to_the_page_and_back_and_the_snapshot_shows_each_track() {
    let beats = "10001000100010001000100010001000";
    let embedded = format!("~{}", pattern_decoder(beats).to_text());
    let mut values: Vec<f64> = ParamId::all().iter().map(|id| id.spec().default).collect();
    values[id("rh1.on") as usize] = 1.0;
    values[id("rh2.on") as usize] = 1.0;
    let models = vec![embedded.clone(), "model2".to_string(), "junk".to_string()];
    let text = patch_text_of(&values, None, Some(models), None);
    assert!(text.contains(&format!("rh1.model={embedded}")), "{text}");
    assert!(
        text.contains("rh2.model=model2&rh3.model=prototype"),
        "junk keeps the default: {text}"
    );
    let parsed = parse_patch(&text);
    assert!(
        parsed.contains(&format!(
            "\"models\":[\"{embedded}\",\"model2\",\"prototype\"]"
        )),
        "{parsed}"
    );
    assert!(parsed.contains("\"errors\":[]"), "{parsed}");

    let mut engine = WasmEngine::new(48_000.0, &text);
    assert_eq!(engine.missing_rhythm_models(), "model2");
    let track = |v: &[f32], t: usize| {
        let at = view::RHYTHM + t * view::RHYTHM_PER_TRACK;
        v[at..at + view::RHYTHM_PER_TRACK].to_vec()
    };
    let v = snapshot(&mut engine);
    let one = track(&v, 0);
    let hits: String = one[..32]
        .iter()
        .map(|p| if *p > 0.5 { '1' } else { '0' })
        .collect();
    assert_eq!(hits, beats, "track 1's probabilities at its point");
    assert_eq!(
        one[32..64],
        one[..32],
        "no velocity head: velocities are the probabilities"
    );
    assert_eq!((one[64], one[65]), (-1.0, 1.0), "not played yet, ready");
    assert_eq!(track(&v, 1)[65], 0.0, "track 2 waits for model2");
    let offbeats = "00100010001000100010001000100010";
    engine
        .install_rhythm_builtin("model2", &pattern_decoder(offbeats).to_compact())
        .unwrap();
    assert!(engine.install_rhythm_builtin("model2", b"garbage").is_err());
    assert_eq!(engine.missing_rhythm_models(), "");
    let v = snapshot(&mut engine);
    assert_eq!(track(&v, 1)[65], 1.0);
    assert!(
        track(&v, 1)[2] > 0.5 && track(&v, 1)[0] < 0.5,
        "model2's pattern"
    );
    // Playing: the step played last shows; bad models are refused and the track keeps its own.
    engine.process(128 * 200);
    assert!(track(&snapshot(&mut engine), 0)[64] >= 0.0);
    assert!(engine.set_rhythm_model(0, "~broken").is_err());
    assert!(engine.set_rhythm_model(7, "model1").is_err());
    assert!(engine
        .patch_text()
        .contains(&format!("rh1.model={embedded}")));
}

#[test]
fn the_markov_table_crosses_to_the_page_and_back_and_the_snapshot_counts_its_notes() {
    let mut engine = WasmEngine::new(48_000.0, "tp1&arp.mode=off&mel.key=C");
    let learned = |e: &mut WasmEngine| snapshot(e)[view::MELODY + 5];
    assert_eq!(learned(&mut engine), 0.0);
    assert_eq!(engine.markov_table(), "");
    // Four notes, a 16th (6000 frames at 120 BPM) apart, played legato.
    for (i, pitch) in [60, 62, 64, 65].into_iter().enumerate() {
        assert!(engine.note_on(100.0 + 6000.0 * i as f64, pitch, 90));
    }
    assert!(engine.note_off(24_100.0, 65));
    engine.process(30_000);
    assert_eq!(learned(&mut engine), 4.0);
    let table = engine.markov_table();
    assert!(!table.is_empty());
    assert!(engine.patch_text().contains(&format!("&mk.table={table}")));

    // The page writes it into its URL and reads it back.
    let values: Vec<f64> = ParamId::all().iter().map(|id| id.spec().default).collect();
    let text = patch_text_of(&values, None, None, Some(table.clone()));
    assert!(text.ends_with(&format!("&mk.table={table}")), "{text}");
    assert!(parse_patch(&text).contains(&format!("\"markov\":\"{table}\"")));
    let junk = patch_text_of(&values, None, None, Some("AAAA".into()));
    assert!(
        !junk.contains("mk.table"),
        "an invalid table is left out: {junk}"
    );
    assert!(parse_patch("tp1").contains("\"markov\":\"\""));

    // Another engine takes it (a link opened in another tab), refuses junk, and clears.
    let mut other = WasmEngine::new(48_000.0, "tp1");
    other.set_markov_table(&table).unwrap();
    assert_eq!(other.markov_table(), table);
    assert_eq!(learned(&mut other), 4.0);
    let err = other.set_markov_table("AAAA").unwrap_err();
    assert!(err.contains("header"), "{err}");
    assert_eq!(other.markov_table(), table, "kept");
    other.clear_markov();
    assert_eq!(other.markov_table(), "");
    assert_eq!(learned(&mut other), 0.0);
}
