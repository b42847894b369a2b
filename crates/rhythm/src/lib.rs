//! 32-step rhythms for the rhythm sequencer (Wastnidge, *Towards an Accessible and Rapidly
//! Trainable Rhythm Sequencer Using a Generative Stacked Autoencoder*): the four stacked
//! autoencoders with their training, the decoder the engine plays from, model files (safetensors
//! with PyTorch names; a compact quantised form for links), and the data pipeline that turns the
//! musician's audio loops and MIDI files into many-hot 2-bar rhythms.
//!
//! Pure Rust on `libm` so the same code gives bit-identical numbers natively and in wasm. The
//! engine (and so the page's wasm module) only uses [`decoder`] and [`compact`]; training, onset
//! detection and file reading are linked only into the CLI and the tools module.

pub mod arch;
pub mod audio_file;
pub mod audio_windows;
pub mod compact;
pub mod dataset;
pub mod decoder;
pub mod dense;
pub mod midi_file;
pub mod midi_windows;
pub mod model;
pub mod model_file;
pub mod onset;
pub mod pattern;
pub mod train;

pub use pattern::{Rhythm, STEPS};
