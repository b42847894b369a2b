//! A recorded performance rendered offline for the page's render worker (web/render-worker.js):
//! the engine crate's own performance reader, `Renderer`, WAV and MIDI writers, so the page's
//! files are the ones `tidepool render --performance` writes, byte for byte.
//!
//! ```js
//! const job = new OfflineRender(performanceJson);    // throws with the reason for a bad file
//! if (job.missing_melody_model() === 0) job.install_melody_lstm(bytes);
//! while (job.run(48000) < 1) postMessage({ progress: job.progress() });
//! const wav = job.wav(), mid = job.midi();
//! ```

use tidepool_engine::performance::Performance;
use tidepool_engine::render::Renderer;
use tidepool_engine::smf::{self, TempoMap};
use tidepool_engine::{wav, Brain, Engine, Patch};
use wasm_bindgen::prelude::*;

/// Longest render the page does (wasm memory holds the samples and the WAV bytes, 16 bytes a
/// frame): about 31 minutes at 48 kHz. Longer recordings render with the CLI.
const MAX_PAGE_FRAMES: u64 = 90_000_000;

/// A performance being rendered, a piece at a time.
#[wasm_bindgen]
pub struct OfflineRender {
    engine: Engine,
    renderer: Renderer,
    tempo: TempoMap,
    errors: Vec<String>,
}

#[wasm_bindgen]
impl OfflineRender {
    /// Reads a performance file's text and sets up its render (no audio yet). Errors when the file
    /// cannot be used at all; skipped events and patch fields are listed by
    /// [`OfflineRender::errors`].
    #[wasm_bindgen(constructor)]
    pub fn new(performance_json: &str) -> Result<OfflineRender, String> {
        let read = Performance::parse(performance_json)?;
        let p = read.performance;
        if p.frames > MAX_PAGE_FRAMES {
            return Err(format!(
                "{} frames is more than the page renders ({MAX_PAGE_FRAMES}); render it with \
                 `tidepool render --performance`",
                p.frames
            ));
        }
        let parsed = Patch::parse(&p.patch);
        let mut errors = read.errors;
        errors.extend(parsed.errors.iter().map(|e| format!("patch: {e}")));
        let engine = Engine::new(p.sample_rate, &parsed.patch);
        // The CLI renders in blocks of 128 by default: the same grid here.
        let renderer = Renderer::new(&engine, &p.events, p.frames as usize, 128);
        let tempo = TempoMap::of_render(p.sample_rate, &parsed.patch.values, &p.events);
        Ok(OfflineRender {
            engine,
            renderer,
            tempo,
            errors,
        })
    }

    /// What was skipped: `"event N: …"` and `"patch: key: …"` lines.
    pub fn errors(&self) -> Vec<String> {
        self.errors.clone()
    }

    /// The melody model the patch asks for and the engine lacks: 0 the LSTM, 1–4 an n-gram
    /// order, −1 none. Install it before the first [`OfflineRender::run`], as the CLI does.
    pub fn missing_melody_model(&self) -> i32 {
        self.engine.missing_melody_model().map_or(-1, |m| m as i32)
    }

    /// Installs the melody LSTM from its quantized file's bytes (`melody-lstm.tpq`).
    pub fn install_melody_lstm(&mut self, bytes: &[u8]) -> Result<(), String> {
        drop(self.engine.install_melody(Brain::lstm_from_tpq(bytes)?));
        Ok(())
    }

    /// Installs the musician's model (its `.tpq` bytes, as the page's file slot holds them).
    pub fn install_melody_file(&mut self, bytes: &[u8]) -> Result<(), String> {
        drop(
            self.engine
                .install_melody_file(Brain::lstm_from_tpq(bytes)?),
        );
        Ok(())
    }

    /// Installs an n-gram melody model from its file's bytes.
    pub fn install_melody_ngram(&mut self, bytes: &[u8]) -> Result<(), String> {
        drop(self.engine.install_melody(Brain::ngram_from_bytes(bytes)?));
        Ok(())
    }

    /// The built-in rhythm models the patch's tracks refer to and the engine lacks,
    /// comma-separated. Install each before the first [`OfflineRender::run`], as the CLI does.
    pub fn missing_rhythm_models(&self) -> String {
        let names: Vec<&str> = self.engine.missing_rhythm_models().collect();
        names.join(",")
    }

    /// Installs built-in rhythm model `name` from its compact decoder file's bytes.
    pub fn install_rhythm_builtin(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
        let decoder = tidepool_rhythm::decoder::Decoder::from_compact(bytes)?;
        drop(self.engine.install_rhythm_builtin(name, decoder)?);
        Ok(())
    }

    /// Renders on by about `max_frames` frames; returns the part done, 0..1 (1 when finished).
    pub fn run(&mut self, max_frames: usize) -> f64 {
        self.renderer.run(&mut self.engine, max_frames);
        self.progress()
    }

    /// The part of the render done, 0..1.
    pub fn progress(&self) -> f64 {
        let frames = self.renderer.frames();
        if frames == 0 {
            1.0
        } else {
            self.renderer.done() as f64 / frames as f64
        }
    }

    /// The render as a 32-bit float stereo WAV file (silence past what is rendered so far).
    pub fn wav(&self) -> Vec<u8> {
        let out = self.renderer.output();
        wav::wav_bytes(self.engine.sample_rate() as u32, &out.left, &out.right)
    }

    /// The notes played so far as a standard MIDI file, every note closed at the end.
    pub fn midi(&self) -> Vec<u8> {
        let out = self.renderer.output();
        smf::write(&out.notes, &self.tempo, self.renderer.frames() as u64)
    }
}
