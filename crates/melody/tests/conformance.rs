//! The shipped melody model, run by tidepool's LSTM, against an independent NumPy
//! implementation (tools/melody_reference.py, float64) on committed golden probabilities.

use tidepool_melody::lstm::softmax;
use tidepool_melody::{model_file, VOCAB};

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../web/models/melody-lstm.safetensors"
);
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/lstm_probs.json");

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
    let (mut model, info) = model_file::load(&bytes).unwrap();
    for key in ["best_epoch", "valid_nll_nats", "seed"] {
        assert_eq!(
            golden["metadata"][key].as_str(),
            info.metadata.get(key).map(String::as_str),
            "the golden file is for another model ({key})"
        );
    }
    let mut p = vec![0.0f32; VOCAB];
    let mut worst = 0.0f64;
    let mut checked = 0;
    for case in golden["cases"].as_array().unwrap() {
        model.reset();
        let tokens = case["tokens"].as_array().unwrap();
        let probs = case["probs"].as_array().unwrap();
        assert_eq!(tokens.len(), probs.len());
        for (t, want) in tokens.iter().zip(probs) {
            softmax(model.step(t.as_u64().unwrap() as u8), 1.0, &mut p);
            for (a, b) in p.iter().zip(want.as_array().unwrap()) {
                worst = worst.max((*a as f64 - b.as_f64().unwrap()).abs());
                checked += 1;
            }
        }
    }
    assert!(checked > 3 * 20 * VOCAB, "{checked}");
    assert!(worst < 1e-4, "max |p_tidepool - p_numpy| = {worst:e}");
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
