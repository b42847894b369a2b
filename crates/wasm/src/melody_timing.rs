//! The quantized melody LSTM ([`tidepool_melody::quant::QuantLstm`]) timed in wasm beside the f32
//! one: `WasmMelody::run_quantized` mirrors `WasmMelody::run` (tests/bench/wasm_reservoir.mjs).

use crate::WasmMelody;
use std::cell::RefCell;
use tidepool_melody::quant::QuantLstm;
use wasm_bindgen::prelude::*;

thread_local! {
    /// The copy `run_quantized` steps. `WasmMelody` has no field for it (timing only): one per
    /// module instance, rebuilt by `quantize`, built on first use otherwise.
    static QUANT: RefCell<Option<QuantLstm>> = const { RefCell::new(None) };
}

#[wasm_bindgen]
impl WasmMelody {
    /// Builds the quantized copy of this model that `run_quantized` steps (allocates; call it
    /// before timing, and again after switching to another `WasmMelody`).
    pub fn quantize(&mut self) {
        let quant = QuantLstm::new(&self.model);
        QUANT.with(|q| *q.borrow_mut() = Some(quant));
    }

    /// As `run`, through the quantized copy (built by `quantize`, or here on first use): `steps`
    /// more steps of the same note/hold pattern; returns the checksum of logit 0.
    pub fn run_quantized(&mut self, steps: usize) -> f32 {
        QUANT.with(|q| {
            let mut q = q.borrow_mut();
            let quant = q.get_or_insert_with(|| QuantLstm::new(&self.model));
            let mut sum = 0.0;
            for i in 0..steps {
                let token = if i % 4 == 0 { 60 + (i % 7) as u8 } else { 129 };
                sum += quant.step(token)[0];
            }
            sum
        })
    }
}
