//! The rhythm sequencer's training tools for the page's Web Worker (web/rhythm-worker.js): the
//! data set (rhythms from decoded audio, MIDI files, the played keys and data-set JSON), the
//! trainer stepped a few epochs per call (so the worker can report the loss and take a Cancel
//! between calls), and a trained model's file, decoder text and latent points. Built only with
//! the `tools` feature (pkg/tools/): the page's and the worklet's module never carry training.
//!
//! Everything here wraps `tidepool-rhythm`; no musical decision is made in this file.

use tidepool_rhythm::arch::Arch;
use tidepool_rhythm::audio_windows::LoopSpec;
use tidepool_rhythm::dataset::{Dataset, Entry, MAX_FILE_BYTES};
use tidepool_rhythm::decoder::Decoded;
use tidepool_rhythm::midi_windows::NoteFilter;
use tidepool_rhythm::model::Autoencoder;
use tidepool_rhythm::train::{TrainConfig, Trainer};
use tidepool_rhythm::{model_file, Rhythm, STEPS};
use wasm_bindgen::prelude::*;

/// The largest file the page accepts (the same limit as `tidepool rhythm dataset`), in bytes.
#[wasm_bindgen]
pub fn rhythm_file_limit() -> f64 {
    MAX_FILE_BYTES as f64
}

/// A number from JS that means "not given" when it is NaN or not positive.
fn given(value: f64) -> Option<f64> {
    (value.is_finite() && value > 0.0).then_some(value)
}

/// The training data set, built file by file in the worker.
#[wasm_bindgen]
pub struct RhythmData {
    set: Dataset,
}

impl Default for RhythmData {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl RhythmData {
    #[wasm_bindgen(constructor)]
    pub fn new() -> RhythmData {
        RhythmData {
            set: Dataset::new(),
        }
    }

    /// Reads a data-set JSON (`data/rhythm/builtin.json`, a `tidepool rhythm dataset` file, or
    /// what [`RhythmData::to_json`] wrote); the error names what is wrong with it.
    pub fn from_json(text: &str) -> Result<RhythmData, String> {
        Ok(RhythmData {
            set: Dataset::from_json(text)?,
        })
    }

    /// The data set as JSON (the format of crates/rhythm/src/dataset.rs), for the browser's
    /// storage and the download.
    pub fn to_json(&self) -> String {
        self.set.to_json()
    }

    /// Rhythms in the set.
    pub fn count(&self) -> usize {
        self.set.entries.len()
    }

    /// Adds every 2-bar window of a standard MIDI file; returns how many rhythms it gave. The
    /// error says why the file gave none (not MIDI, no notes …). `channel` 1–16 takes only that
    /// channel (0: all).
    pub fn add_midi(&mut self, name: &str, bytes: &[u8], channel: u32) -> Result<usize, String> {
        let filter = NoteFilter {
            channel: (1..=16).contains(&channel).then(|| (channel - 1) as u8),
            ..NoteFilter::default()
        };
        self.set.add_midi(name, bytes, &filter)
    }

    /// Adds the 2-bar windows of decoded mono audio; `bars` (the whole file's bars) or `bpm` set
    /// the grid (NaN or 0: not given; without either the file is one 2-bar loop). Returns how
    /// many rhythms it gave; the error names the reason it gave none (silent, shorter than a
    /// bar …).
    pub fn add_audio(
        &mut self,
        name: &str,
        samples: &[f32],
        sample_rate: f32,
        bars: f64,
        bpm: f64,
    ) -> Result<usize, String> {
        let spec = LoopSpec {
            bars: given(bars),
            bpm: given(bpm),
            ..LoopSpec::default()
        };
        self.set.add_audio(name, samples, sample_rate, &spec)
    }

    /// Adds rhythms given as 32 velocities each (0: rest), as the engine's record of the keys
    /// played gives them; rhythms without a hit are skipped. Returns how many were added.
    pub fn add_played(&mut self, source: &str, velocities: &[u8]) -> usize {
        let before = self.set.entries.len();
        for (i, steps) in velocities.chunks_exact(STEPS).enumerate() {
            let mut v = [0u8; STEPS];
            v.copy_from_slice(steps);
            let rhythm = Rhythm::new(v.map(|x| x > 0), Some(&v));
            if rhythm.hit_count() > 0 {
                self.set.entries.push(Entry {
                    rhythm,
                    has_velocity: true,
                    src: format!("{source}#{}", i + 1),
                });
            }
        }
        self.set.entries.len() - before
    }

    /// Adds the rhythms of `other` (the built-in corpus, say); with `limit` > 0 only that many,
    /// picked evenly through it (deterministic: the same subset every time).
    pub fn add_from(&mut self, other: &RhythmData, limit: usize) -> usize {
        let all = &other.set.entries;
        let n = if limit == 0 {
            all.len()
        } else {
            limit.min(all.len())
        };
        for k in 0..n {
            self.set.entries.push(all[k * all.len() / n].clone());
        }
        n
    }

    /// Drops repeated rhythms (same hits and velocities); returns how many went.
    pub fn dedup(&mut self) -> usize {
        self.set.dedup()
    }

    /// Each rhythm's 32 velocities (0: rest), one after the other, for the pad's hover.
    pub fn velocities(&self) -> Vec<u8> {
        self.set
            .entries
            .iter()
            .flat_map(|e| e.rhythm.velocity)
            .collect()
    }

    /// Where each rhythm came from ("loop.wav#2", "song.mid#bar 5"), newline-separated.
    pub fn sources(&self) -> String {
        let names: Vec<&str> = self.set.entries.iter().map(|e| e.src.as_str()).collect();
        names.join("\n")
    }
}

/// One training run, stepped from JS.
#[wasm_bindgen]
pub struct RhythmTrainer {
    trainer: Trainer,
}

#[wasm_bindgen]
impl RhythmTrainer {
    /// A fresh model of `arch` ("prototype", "model1", "model2", "model3") over `data`, its
    /// weights drawn from `seed` (a whole number below 2^53); with a velocity head when asked.
    #[wasm_bindgen(constructor)]
    pub fn new(
        data: &RhythmData,
        arch: &str,
        seed: f64,
        velocity_head: bool,
    ) -> Result<RhythmTrainer, String> {
        let config = TrainConfig {
            arch: Arch::from_name(arch)?,
            seed: seed.max(0.0) as u64,
            velocity_head,
            ..TrainConfig::default()
        };
        Ok(RhythmTrainer {
            trainer: Trainer::new(&data.set.rhythms(), &config)?,
        })
    }

    /// Runs `epochs` more epochs and returns the last one's mean loss.
    pub fn run(&mut self, epochs: usize) -> f32 {
        let mut loss = self.trainer.last_loss();
        for _ in 0..epochs {
            loss = self.trainer.epoch();
        }
        loss
    }

    pub fn epochs_done(&self) -> usize {
        self.trainer.epochs_done()
    }

    /// The model as trained so far.
    pub fn model(&self) -> RhythmModel {
        RhythmModel {
            model: self.trainer.model(),
        }
    }
}

/// A trained autoencoder: its file, the decoder the engine plays and the latent points.
#[wasm_bindgen]
pub struct RhythmModel {
    model: Autoencoder,
}

#[wasm_bindgen]
impl RhythmModel {
    /// Reads a model file (.safetensors); the error says what is wrong with it.
    pub fn from_file(bytes: &[u8]) -> Result<RhythmModel, String> {
        Ok(RhythmModel {
            model: model_file::read(bytes)?,
        })
    }

    /// The model file (safetensors with PyTorch names and the training metadata).
    pub fn to_file(&self) -> Vec<u8> {
        model_file::write(&self.model)
    }

    /// The decoder as the text a patch carries after `~` (quantised, base64url).
    pub fn decoder_text(&self) -> String {
        self.model.decoder_ref().to_text()
    }

    /// "prototype", "model1", "model2" or "model3".
    pub fn arch(&self) -> String {
        self.model.arch().name().to_string()
    }

    pub fn has_velocity_head(&self) -> bool {
        self.model.decoder_ref().has_velocity_head()
    }

    /// Epochs, seed, rhythms and final loss of its training as JSON (`{}` when not known).
    pub fn training(&self) -> String {
        match &self.model.training {
            Some(t) => format!(
                "{{\"epochs\":{},\"seed\":{},\"count\":{},\"loss\":{}}}",
                t.epochs,
                t.seed,
                t.data_count,
                if t.final_loss.is_finite() {
                    t.final_loss.to_string()
                } else {
                    "null".to_string()
                }
            ),
            None => "{}".to_string(),
        }
    }

    /// The latent point of every rhythm of `data`: x, y, x, y …
    pub fn points(&self, data: &RhythmData) -> Vec<f32> {
        data.set
            .entries
            .iter()
            .flat_map(|e| self.model.encode(&e.rhythm))
            .collect()
    }

    /// The decoder's 32 probabilities then 32 velocities (0..1) at point (x, y).
    pub fn decode(&self, x: f32, y: f32) -> Vec<f32> {
        let mut out = Decoded::default();
        self.model.decoder_ref().decode([x, y], &mut out);
        out.prob.iter().chain(&out.velocity).copied().collect()
    }
}
