//! The quantized melody LSTM in the browser against the logits written natively: wasm's
//! `simd128` integer products and gate arithmetic and the native loops must give the same bits,
//! both for the model quantized from the safetensors file and for the `.tpq` the page loads.
//!
//! `CHROMEDRIVER=/usr/bin/chromedriver cargo test -p tidepool-wasm --target wasm32-unknown-unknown
//! --test quant_lstm` runs it in headless Chromium; a plain `cargo test -p tidepool-wasm` runs the
//! same test natively. The golden file is crates/melody/tests/golden/quant_lstm.rs, written by
//! `TIDEPOOL_BLESS=1 cargo test -p tidepool-melody --test quant`.

use tidepool_melody::quant::{dot4_i8_i16, dot_i8_i16, exact_product, QuantLstm};
use tidepool_melody::{model_file, quant_file, VOCAB};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

static MODEL: &[u8] = include_bytes!("../../../web/models/melody-lstm.safetensors");
/// What the page loads: `tidepool melody export-quantized` of MODEL.
static TPQ: &[u8] = include_bytes!("../../../web/models/melody-lstm.tpq");

include!("../../melody/tests/golden/quant_run.rs");

mod golden {
    include!("../../melody/tests/golden/quant_lstm.rs");
}

#[test]
fn the_wasm_build_uses_simd128() {
    // Otherwise the browser run would compare the portable loop with itself.
    assert_eq!(
        cfg!(target_feature = "simd128"),
        cfg!(target_arch = "wasm32")
    );
}

#[test]
fn quantized_logits_match_the_native_golden_bit_for_bit() {
    assert_eq!(
        MODEL.len(),
        golden::MODEL_BYTES,
        "the golden is for another model file"
    );
    let (model, _) = model_file::load(MODEL).expect("the shipped model loads");
    assert_golden(&mut QuantLstm::new(&model));
}

#[test]
fn the_tpq_the_page_loads_plays_the_native_golden_bit_for_bit() {
    assert_golden(&mut quant_file::read(TPQ).expect("the shipped .tpq loads"));
}

/// `quant`'s logits on the golden run are the native golden's, bit for bit.
fn assert_golden(quant: &mut QuantLstm) {
    let (bits, hash) = quant_golden_run(quant, golden::TOKENS, golden::CHECKPOINTS);
    assert_eq!(bits.len(), golden::CHECKPOINTS.len() * VOCAB);
    let differ: Vec<usize> = (0..bits.len())
        .filter(|&i| bits[i] != golden::LOGIT_BITS[i])
        .collect();
    assert!(
        differ.is_empty(),
        "{} of {} logits differ from the native golden, first at {:?}: {:#010x} vs {:#010x}",
        differ.len(),
        bits.len(),
        differ.first(),
        differ.first().map_or(0, |&i| bits[i]),
        differ.first().map_or(0, |&i| golden::LOGIT_BITS[i])
    );
    assert_eq!(
        hash,
        golden::ALL_STEPS_FNV,
        "the logits of some step differ"
    );
}

#[test]
fn simd_dot_products_are_exact_at_the_extremes() {
    for k in [16, 255, 256, 512, 513, 1024] {
        let most = 127 * 32767 * k as i64;
        let (hi_w, lo_w) = (vec![127i8; k], vec![-127i8; k]);
        let (hi_x, lo_x) = (vec![32767i16; k], vec![-32767i16; k]);
        assert_eq!(dot_i8_i16(&hi_w, &hi_x), most, "K = {k}");
        assert_eq!(dot_i8_i16(&lo_w, &hi_x), -most, "K = {k}");
        assert_eq!(
            dot4_i8_i16([&hi_w, &lo_w, &lo_w, &hi_w], &lo_x),
            [-most, most, most, -most],
            "K = {k}"
        );
    }
    // Mixed signs and a tail past the last 16-lane block, against plain i64 sums.
    let w: Vec<i8> = (0..300).map(|i| ((i * 37) % 255 - 127) as i8).collect();
    let x: Vec<i16> = (0..300)
        .map(|i| ((i * 7919) % 65535 - 32767) as i16)
        .collect();
    let want: i64 = w.iter().zip(&x).map(|(&a, &b)| a as i64 * b as i64).sum();
    assert_eq!(dot_i8_i16(&w, &x), want);
    assert_eq!(dot4_i8_i16([&w, &w, &w, &w], &x), [want; 4]);
}

#[test]
fn simd_matrix_products_are_exact_at_the_extremes() {
    // Shapes stored as pairs of rows (up to the widest, 256 columns) and row-major ones; each row
    // all +127 or all −127 (both signs in both slots of a pair), against all ±32767.
    let reference = |q: &[i8], cols: usize, x: &[i16]| -> Vec<i64> {
        q.chunks_exact(cols)
            .map(|r| r.iter().zip(x).map(|(&a, &b)| a as i64 * b as i64).sum())
            .collect()
    };
    let signs = [127i8, 127, -127, -127, 127, -127, -127, 127];
    for (rows, cols) in [(4, 8), (8, 24), (1024, 256), (7, 21), (4, 264)] {
        let q: Vec<i8> = (0..rows * cols).map(|i| signs[i / cols % 8]).collect();
        for v in [32767i16, -32767] {
            let x = vec![v; cols];
            assert_eq!(
                exact_product(&q, cols, &x),
                reference(&q, cols, &x),
                "{rows} × {cols}, x = {v}"
            );
        }
        // Mixed values, and activations shorter than a row.
        let q: Vec<i8> = (0..rows * cols)
            .map(|i| ((i * 37) % 255) as i8 ^ 0x40)
            .map(|v| v.max(-127))
            .collect();
        let x: Vec<i16> = (0..cols)
            .map(|i| ((i * 7919) % 65535) as i32 - 32767)
            .map(|v| v as i16)
            .collect();
        assert_eq!(exact_product(&q, cols, &x), reference(&q, cols, &x));
        let short = &x[..cols - 3];
        assert_eq!(exact_product(&q, cols, short), reference(&q, cols, short));
    }
}
