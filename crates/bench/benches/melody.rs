//! One step (batch 1) of the shipped melody LSTM (embedding 64, 2 × 256, 130 outputs: 885k
//! multiply-adds), natively: the f32 model and its quantized copy (i8 weights, `quant`).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use tidepool_melody::model_file;
use tidepool_melody::quant::QuantLstm;

fn lstm_step(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../web/models/melody-lstm.safetensors"
    );
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("no model at {path}: train one first");
        return;
    };
    let (mut model, _) = model_file::load(&bytes).expect("the shipped model loads");
    let mut quant = QuantLstm::new(&model);
    let mut t = 0u8;
    c.bench_function("lstm_step_batch1_e64_h256x2", |b| {
        b.iter(|| {
            t = if t == 129 { 60 } else { 129 };
            black_box(model.step(t, 0)[0])
        })
    });
    c.bench_function("lstm_step_batch1_e64_h256x2_quant", |b| {
        b.iter(|| {
            t = if t == 129 { 60 } else { 129 };
            black_box(quant.step(t, 0)[0])
        })
    });
}

criterion_group!(benches, lstm_step);
criterion_main!(benches);
