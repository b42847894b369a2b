//! Melody models over 16th-note tokens (the embedded-LSTM-instrument paper's vocabulary): an
//! interpolated Kneser-Ney n-gram model of order 1–4 (the survey's Markov chains, smoothed),
//! evaluation in negative log-likelihood, and temperature sampling.
//!
//! Pure Rust, no web dependency: the same code evaluates natively and will run in the engine.

pub mod dataset;
pub mod key;
pub mod lstm;
pub mod markov;
pub mod metrics;
pub mod model_file;
pub mod ngram;
pub mod quant;
pub mod quant_file;
pub mod tokens;

pub use ngram::NGram;
pub use tokens::{Token, HOLD, NOTE_OFF, VOCAB};
