//! The shipped melody model and musicians' model files (1–3 layers, with and without the
//! position input), run by tidepool's LSTM, against an independent NumPy implementation
//! (tools/melody_reference.py, float64) on committed golden probabilities.

use tidepool_melody::lstm::softmax;
use tidepool_melody::{model_file, quant_file, VOCAB};

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../web/models/melody-lstm.safetensors"
);
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/lstm_probs.json");

/// The largest |p_tidepool − p_numpy| over the golden file's cases, through `step`, each case
/// from the rest state with token i at position i % 16 (as the reference feeds them); and how
/// many probabilities were compared.
fn worst_difference(
    golden: &serde_json::Value,
    mut reset: impl FnMut(),
    mut step: impl FnMut(u8, u8) -> Vec<f32>,
) -> (f64, usize) {
    let mut p = vec![0.0f32; VOCAB];
    let mut worst = 0.0f64;
    let mut checked = 0;
    for case in golden["cases"].as_array().unwrap() {
        reset();
        let tokens = case["tokens"].as_array().unwrap();
        let probs = case["probs"].as_array().unwrap();
        assert_eq!(tokens.len(), probs.len());
        for (i, (t, want)) in tokens.iter().zip(probs).enumerate() {
            softmax(
                &step(t.as_u64().unwrap() as u8, (i % 16) as u8),
                1.0,
                &mut p,
            );
            for (a, b) in p.iter().zip(want.as_array().unwrap()) {
                worst = worst.max((*a as f64 - b.as_f64().unwrap()).abs());
                checked += 1;
            }
        }
    }
    (worst, checked)
}

/// The model file at `model` (relative to the workspace) and its golden probabilities.
fn model_and_golden(model: &str, golden: &str) -> (Vec<u8>, serde_json::Value) {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../");
    let bytes = std::fs::read(format!("{root}{model}")).expect(model);
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}{golden}")).unwrap()).unwrap();
    assert_eq!(
        golden["model_bytes"].as_u64(),
        Some(bytes.len() as u64),
        "{golden:.60}: the golden file is for another model file"
    );
    (bytes, golden)
}

#[test]
fn probabilities_match_the_numpy_reference_within_1e_4() {
    let bytes = std::fs::read(MODEL).expect("the shipped model web/models/melody-lstm.safetensors");
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(GOLDEN).unwrap()).unwrap();
    assert_eq!(
        golden["model_bytes"].as_u64(),
        Some(bytes.len() as u64),
        "the golden file is for another model file"
    );
    let (model, info) = model_file::load(&bytes).unwrap();
    for key in ["best_epoch", "valid_nll_nats", "seed"] {
        assert_eq!(
            golden["metadata"][key].as_str(),
            info.metadata.get(key).map(String::as_str),
            "the golden file is for another model ({key})"
        );
    }
    let model = std::cell::RefCell::new(model);
    let (worst, checked) = worst_difference(
        &golden,
        || model.borrow_mut().reset(),
        |t, pos| model.borrow_mut().step(t, pos).to_vec(),
    );
    assert!(checked > 3 * 20 * VOCAB, "{checked}");
    assert!(worst < 1e-4, "max |p_tidepool - p_numpy| = {worst:e}");
}

/// Musicians' model files of 1, 2 and 3 layers against the NumPy reference: two trained in
/// PyTorch by tools/melody/train_torch.py (1 × 64, 2 × 64) and one of random weights with the
/// metrical position input (3 × 64, position_input "16"), in f32 within 1e-4, and quantized
/// (what the engine plays, through the .tpq file the page's worker writes) within 0.01.
#[test]
fn musicians_files_of_1_to_3_layers_match_the_numpy_reference() {
    let files = [
        ("melody-user-1x64", "user_1x64", 1, 0),
        ("melody-user-2x64", "user_2x64", 2, 0),
        ("melody-random-3x64-position", "random_3x64_position", 3, 16),
    ];
    for (file, golden, layers, positions) in files {
        let (bytes, golden) = model_and_golden(
            &format!("tests/fixtures/{file}.safetensors"),
            &format!("crates/melody/tests/golden/{golden}_probs.json"),
        );
        let (model, info) = model_file::load(&bytes).unwrap();
        assert_eq!(
            (info.layers, info.hidden, info.position_width),
            (layers, 64, positions)
        );
        let model = std::cell::RefCell::new(model);
        let (worst, checked) = worst_difference(
            &golden,
            || model.borrow_mut().reset(),
            |t, pos| model.borrow_mut().step(t, pos).to_vec(),
        );
        eprintln!("{file}: f32 max |Δp| {worst:.2e} over {checked}");
        assert!(checked > 3 * 20 * VOCAB, "{checked}");
        assert!(
            worst < 1e-4,
            "{file}: max |p_tidepool - p_numpy| = {worst:e}"
        );
        let tpq = quant_file::write(&model.borrow()).unwrap();
        let quant = std::cell::RefCell::new(quant_file::read(&tpq).unwrap());
        let (worst, _) = worst_difference(
            &golden,
            || quant.borrow_mut().reset(),
            |t, pos| quant.borrow_mut().step(t, pos).to_vec(),
        );
        eprintln!("{file}: quantized max |Δp| {worst:.2e}");
        assert!(worst < 0.01, "{file}: quantized max |Δp| = {worst:e}");
    }
}

fn split(name: &str) -> Vec<Vec<u8>> {
    tidepool_melody::dataset::read_split(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/chorales")),
        name,
    )
    .unwrap()
}

/// The numbers the README and the model's metadata state, reproduced from the committed files:
/// the shipped LSTM's validation NLL (as training measured it, in f32 before the f16 export),
/// and its test NLL at least 10% below the best n-gram's (the target).
#[test]
fn the_committed_model_reproduces_its_numbers_and_beats_the_ngram_by_10_percent() {
    let bytes = std::fs::read(MODEL).unwrap();
    let (mut model, info) = model_file::load(&bytes).unwrap();
    let stated: f64 = info.metadata["valid_nll_nats"].parse().unwrap();
    let valid = tidepool_melody::lstm::nll(&mut model, &split("valid"));
    assert!(
        (valid - stated).abs() < 2e-3,
        "validation NLL {valid:.5}, the file says {stated:.5}"
    );
    let (train, test) = (split("train"), split("test"));
    let (best, _) = tidepool_melody::NGram::choose_order(&train, &split("valid"));
    let ngram = best.nll(&test);
    let lstm = tidepool_melody::lstm::nll(&mut model, &test);
    assert!(
        lstm <= 0.9 * ngram,
        "test NLL: LSTM {lstm:.4} vs n-gram order {} {ngram:.4}",
        best.order()
    );
}
