//! The quantized LSTM against the f32 one on the shipped model (likelihood and probabilities),
//! its promises (no allocation, clamped tokens, reset), the golden logits that the wasm
//! build must reproduce bit for bit (crates/wasm/tests/quant_lstm.rs), and the shipped `.tpq`
//! (what the page plays): exactly the safetensors model quantized, with the same golden logits.
//!
//! `TIDEPOOL_BLESS=1 cargo test -p tidepool-melody --test quant` rewrites
//! `tests/golden/quant_lstm.rs` (after a deliberate change of the quantized arithmetic).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use tidepool_melody::lstm::{self, softmax, Lstm};
use tidepool_melody::quant::QuantLstm;
use tidepool_melody::{model_file, quant_file, Token, VOCAB};

include!("golden/quant_run.rs");

mod golden {
    include!("golden/quant_lstm.rs");
}

/// Counts allocations made by this thread while `COUNTING` is set.
struct CountingAlloc;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            ALLOCS.with(|a| a.set(a.get() + 1));
        }
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.with(|c| c.get()) {
            ALLOCS.with(|a| a.set(a.get() + 1));
        }
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            ALLOCS.with(|a| a.set(a.get() + 1));
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocations_during(f: impl FnOnce()) -> u64 {
    ALLOCS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCS.with(|a| a.get())
}

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../web/models/melody-lstm.safetensors"
);
/// What the page and `tidepool render` load: `tidepool melody export-quantized` of MODEL.
const TPQ: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../web/models/melody-lstm.tpq"
);
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/quant_lstm.rs");

fn shipped() -> (Lstm, usize) {
    let bytes = std::fs::read(MODEL).expect("the shipped model web/models/melody-lstm.safetensors");
    (model_file::load(&bytes).unwrap().0, bytes.len())
}

fn test_split() -> Vec<tidepool_melody::dataset::Line> {
    tidepool_melody::dataset::read_lines(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/chorales")),
        "test",
    )
    .unwrap()
}

/// Measured on the shipped model: f32 0.73240 nats/token, quantized 0.73235 (−0.007 %).
#[test]
fn test_nll_within_1_percent_of_the_f32_model() {
    let (mut f32_model, _) = shipped();
    let mut quant = QuantLstm::new(&f32_model);
    let test = test_split();
    let exact = lstm::nll(&mut f32_model, &test);
    let approx = lstm::nll(&mut quant, &test);
    eprintln!("test NLL: f32 {exact:.5}, quantized {approx:.5}");
    assert!(
        (approx - exact).abs() <= 0.01 * exact,
        "test NLL: f32 {exact:.5}, quantized {approx:.5}"
    );
}

/// Measured on the shipped model: max |Δp| = 0.0025 over these 400 steps (0.0157 when the
/// output layer was i8 too).
#[test]
fn probabilities_within_0_005_of_the_f32_model() {
    let (mut f32_model, _) = shipped();
    let mut quant = QuantLstm::new(&f32_model);
    let test = test_split();
    let line = test.iter().max_by_key(|l| l.tokens.len()).unwrap();
    assert!(
        line.tokens.len() >= 400,
        "the longest test line has {}",
        line.tokens.len()
    );
    let (mut p, mut q) = (vec![0.0f32; VOCAB], vec![0.0f32; VOCAB]);
    let mut worst = 0.0f32;
    for (i, &t) in line.tokens[..400].iter().enumerate() {
        let pos = line.position(i);
        softmax(f32_model.step(t, pos), 1.0, &mut p);
        softmax(quant.step(t, pos), 1.0, &mut q);
        worst = p
            .iter()
            .zip(&q)
            .fold(worst, |w, (a, b)| w.max((a - b).abs()));
    }
    eprintln!("max |p_quant - p_f32| over 400 steps: {worst:.5}");
    assert!(worst < 0.005, "max |p_quant - p_f32| = {worst}");
}

#[test]
fn step_never_allocates_and_clamps_tokens() {
    let (model, _) = shipped();
    let mut quant = QuantLstm::new(&model);
    quant.step(60, 0);
    let allocs = allocations_during(|| {
        for t in 0..=255u8 {
            std::hint::black_box(quant.step(t, 0)[0]);
        }
        quant.reset();
        std::hint::black_box(quant.step(60, 0)[0]);
    });
    assert_eq!(allocs, 0, "QuantLstm::step allocated");
    quant.reset();
    let last = quant.step(VOCAB as Token - 1, 0).to_vec();
    for t in [VOCAB as Token, 200, 255] {
        quant.reset();
        assert_eq!(quant.step(t, 0), &last[..], "token {t} is not clamped");
    }
    assert!(last.iter().all(|v| v.is_finite()));
}

#[test]
fn reset_reproduces_the_logits_and_a_step_reads_under_30_percent_of_the_bytes() {
    let (model, _) = shipped();
    let mut quant = QuantLstm::new(&model);
    let tokens = [60, 129, 129, 129, 62, 129, 128, 129, 64];
    let first: Vec<Vec<f32>> = tokens.iter().map(|&t| quant.step(t, 0).to_vec()).collect();
    quant.reset();
    let again: Vec<Vec<f32>> = tokens.iter().map(|&t| quant.step(t, 0).to_vec()).collect();
    assert_eq!(first, again);
    let f32_bytes = 4
        * (model
            .layers
            .iter()
            .map(|l| l.w_hh.len() + l.w_ih.len() + l.bias.len())
            .sum::<usize>()
            + model.linear_w.len()
            + model.linear_b.len());
    let bytes = quant.weight_bytes();
    eprintln!("weights read per step: quantized {bytes} B, f32 {f32_bytes} B");
    // Three 1024 × 256 i8 matrices with row scales, one bias, a table row, the f32 output layer.
    let want = 3 * (1024 * 256 + 4 * 1024) + 4 * 1024 + 4 * 1024 + 4 * (130 * 256 + 130);
    assert_eq!(bytes, want);
    assert!(10 * bytes < 3 * f32_bytes, "{bytes} vs {f32_bytes}");
}

fn hex_rows(bits: &[u32]) -> String {
    bits.chunks(8)
        .map(|c| {
            let row: Vec<String> = c.iter().map(|b| format!("0x{b:08x},")).collect();
            format!("    {}\n", row.join(" "))
        })
        .collect()
}

#[test]
fn golden_logits_bit_for_bit() {
    let (model, model_bytes) = shipped();
    let mut quant = QuantLstm::new(&model);
    if std::env::var("TIDEPOOL_BLESS").as_deref() == Ok("1") {
        // A chorale line, then tokens that must be clamped, then ordinary ones again.
        let mut tokens: Vec<Token> = test_split()[0].tokens[..96].to_vec();
        tokens.extend([200, 255, 130, 0, 128, 129, 129, 64]);
        let checkpoints = [0, 15, 63, tokens.len() - 1];
        let (bits, hash) = quant_golden_run(&mut quant, &tokens, &checkpoints);
        let text = format!(
            "// Generated by `TIDEPOOL_BLESS=1 cargo test -p tidepool-melody --test quant`: the\n\
             // QuantLstm logits of the shipped model. Checked natively there and in the browser by\n\
             // crates/wasm/tests/quant_lstm.rs; do not edit.\n\n\
             /// Size of web/models/melody-lstm.safetensors these logits are for.\n\
             pub const MODEL_BYTES: usize = {model_bytes};\n\
             /// Fed from the rest state.\n\
             pub const TOKENS: &[u8] = &{tokens:?};\n\
             /// Steps (0-based) after which every logit is recorded.\n\
             pub const CHECKPOINTS: &[usize] = &{checkpoints:?};\n\
             /// FNV-1a over the bits of every step's logits.\n\
             pub const ALL_STEPS_FNV: u64 = 0x{hash:016x};\n\
             /// f32 bit patterns, VOCAB per checkpoint.\n\
             pub const LOGIT_BITS: &[u32] = &[\n{}];\n",
            hex_rows(&bits)
        );
        std::fs::write(GOLDEN, text).expect("write the golden logits");
        eprintln!("TIDEPOOL_BLESS=1: rewrote {GOLDEN}");
        return;
    }
    assert_eq!(
        golden::MODEL_BYTES,
        model_bytes,
        "the golden logits are for another model file"
    );
    assert_golden(&mut quant, "QuantLstm::new");
}

/// `quant`'s logits on the golden run are the golden's, bit for bit.
fn assert_golden(quant: &mut QuantLstm, what: &str) {
    let (bits, hash) = quant_golden_run(quant, golden::TOKENS, golden::CHECKPOINTS);
    assert_eq!(bits.len(), golden::CHECKPOINTS.len() * VOCAB);
    let differ = bits
        .iter()
        .zip(golden::LOGIT_BITS)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(differ, 0, "{what}: {differ} logits differ from {GOLDEN}");
    assert_eq!(
        hash,
        golden::ALL_STEPS_FNV,
        "{what}: the logits of some step differ"
    );
}

fn shipped_tpq() -> Vec<u8> {
    std::fs::read(TPQ).expect("the shipped quantized model web/models/melody-lstm.tpq")
}

#[test]
fn the_shipped_tpq_is_exactly_the_safetensors_model_quantized() {
    let (model, _) = shipped();
    let written = quant_file::write(&model).unwrap();
    assert!(
        written == shipped_tpq(),
        "web/models/melody-lstm.tpq is stale: run `tidepool melody export-quantized` \
         ({} bytes written, {} committed)",
        written.len(),
        shipped_tpq().len()
    );
    // The numbers too, not only the bytes: what the file holds is what `QuantLstm::new` plays.
    let read = quant_file::weights(&shipped_tpq()).unwrap();
    assert!(read == tidepool_melody::quant::QuantWeights::of(&model));
}

#[test]
fn the_shipped_tpq_plays_the_golden_logits_bit_for_bit() {
    let mut quant = quant_file::read(&shipped_tpq()).expect("the shipped .tpq loads");
    assert_golden(&mut quant, "web/models/melody-lstm.tpq");
    // And it steps without allocating, as the engine needs.
    quant.reset();
    quant.step(60, 0);
    let allocs = allocations_during(|| {
        for t in [62, 129, 128, 129, 64] {
            std::hint::black_box(quant.step(t, 0)[0]);
        }
    });
    assert_eq!(allocs, 0);
}
