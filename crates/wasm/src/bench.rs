//! The benchmark-only exports (tests/bench/*.mjs): a reservoir and the melody LSTM timed from JS,
//! and the engine's accessors that only benchmarks read. Built only with the `tools` feature, into
//! pkg/tools/, so the page's module does not carry them.

use crate::WasmEngine;
use tidepool_melody::lstm::{Lstm, Stepper};
use tidepool_melody::quant::QuantLstm;
use tidepool_reservoir::{Esn, Feedback, Layout, SeededRng};
use wasm_bindgen::prelude::*;

/// Inputs cycled through by [`WasmReservoir::run`].
const BENCH_INPUTS: usize = 4096;

/// A reservoir for timing steps from JS: the network `tidepool bench-esn` and
/// `tools/bench_reservoirpy.py` time (seed 42, one input, one output, no feedback, spectral
/// radius 0.9, leak 0.3, input and bias scaling 1).
#[wasm_bindgen]
pub struct WasmReservoir {
    esn: Esn,
    inputs: Vec<f32>,
}

#[wasm_bindgen]
impl WasmReservoir {
    /// Generates the network (allocates; includes an O(N³) spectral-radius computation) and a
    /// table of uniform inputs in [-1, 1) from seed 7.
    #[wasm_bindgen(constructor)]
    pub fn new(n: usize, connectivity: f32) -> WasmReservoir {
        let esn = Esn::benchmark(n, connectivity, Layout::Sparse);
        let mut rng = SeededRng::new(7, 0);
        let inputs = (0..BENCH_INPUTS)
            .map(|_| rng.symmetric_f64() as f32)
            .collect();
        WasmReservoir { esn, inputs }
    }

    /// Resets the state, runs `steps` steps over the input table and returns the sum of the
    /// outputs (a checksum, and what keeps the work from being optimised away). Never allocates.
    pub fn run(&mut self, steps: usize) -> f32 {
        self.esn.reset();
        let mut sum = 0.0f32;
        for x in self.inputs.iter().cycle().take(steps) {
            sum += self.esn.step(std::slice::from_ref(x), Feedback::None)[0];
        }
        sum
    }
}

/// [`WasmReservoir::new`] then [`WasmReservoir::run`]: the checksum of `steps` steps of an
/// `n`-neuron reservoir.
#[wasm_bindgen]
pub fn reservoir_steps(n: usize, connectivity: f32, steps: usize) -> f32 {
    WasmReservoir::new(n, connectivity).run(steps)
}

/// [`WasmEngine`]'s Rust-only accessors, exported to JS under their own names.
#[wasm_bindgen]
impl WasmEngine {
    /// See [`WasmEngine::notes_flat`].
    #[wasm_bindgen(js_name = notes_flat)]
    pub fn js_notes_flat(&mut self) -> Vec<u32> {
        self.notes_flat()
    }

    /// See [`WasmEngine::missing_melody_model`].
    #[wasm_bindgen(js_name = missing_melody_model)]
    pub fn js_missing_melody_model(&self) -> i32 {
        self.missing_melody_model()
    }

    /// See [`WasmEngine::rebuild_pending`].
    #[wasm_bindgen(js_name = rebuild_pending)]
    pub fn js_rebuild_pending(&self) -> bool {
        self.rebuild_pending()
    }

    /// See [`WasmEngine::sample_rate`].
    #[wasm_bindgen(js_name = sample_rate)]
    pub fn js_sample_rate(&self) -> f64 {
        self.sample_rate()
    }
}

/// The melody LSTM loaded from its safetensors model file, timed by the benchmarks (the f32
/// model and the quantized copy the engine plays). Only in pkg/tools/: the page's module reads
/// the quantized `.tpq` file and has no safetensors parser (web/melody-model.js checks a model
/// file with `check_melody_lstm`).
#[wasm_bindgen]
pub struct WasmMelody {
    model: Lstm,
    /// The quantized copy `run_quantized` steps (what the engine plays), built on first use.
    quant: Option<QuantLstm>,
}

#[wasm_bindgen]
impl WasmMelody {
    /// Parses and validates a safetensors model file; the error says what is wrong with it.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<WasmMelody, String> {
        let (model, _) = tidepool_melody::model_file::load(bytes)?;
        Ok(WasmMelody { model, quant: None })
    }

    /// Builds the quantized copy now (allocates), so a timing of `run_quantized` leaves it out.
    pub fn quantize(&mut self) {
        self.quant = Some(QuantLstm::new(&self.model));
    }

    /// Runs `steps` steps of the f32 model on a note/hold pattern; returns a checksum.
    pub fn run(&mut self, steps: usize) -> f32 {
        run_pattern(&mut self.model, steps)
    }

    /// As [`WasmMelody::run`], through the quantized copy (what the engine plays).
    pub fn run_quantized(&mut self, steps: usize) -> f32 {
        let model = &self.model;
        run_pattern(
            self.quant.get_or_insert_with(|| QuantLstm::new(model)),
            steps,
        )
    }
}

/// `steps` more steps of a note every fourth 16th, holds between; the sum of logit 0.
fn run_pattern(model: &mut impl Stepper, steps: usize) -> f32 {
    let mut sum = 0.0;
    for i in 0..steps {
        let token = if i % 4 == 0 { 60 + (i % 7) as u8 } else { 129 };
        sum += model.step(token, 0)[0];
    }
    sum
}
