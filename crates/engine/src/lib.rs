//! The tidepool engine: transport, parameters and patches, the reservoir LFO and arpeggiator of
//! ReMi driving a polyphonic synth, the melody models and the rhythm sequencer's autoencoder
//! tracks, all on one sample-accurate clock.
//!
//! Pure Rust, no browser or audio-API dependency: the CLI renders with it natively and the wasm
//! crate runs it unchanged inside an AudioWorklet.
//!
//! ```
//! use tidepool_engine::{Engine, Input, InputEvent, Patch};
//! let mut engine = Engine::new(48000.0, &Patch::default());
//! engine.push_event(InputEvent { frame: 0, input: Input::NoteOn { pitch: 60, velocity: 100 } });
//! let (mut l, mut r) = (vec![0.0; 4800], vec![0.0; 4800]);
//! engine.process(&mut l, &mut r);
//! assert!(engine.notes().iter().any(|n| n.pitch == 60 && n.velocity > 0));
//! ```

mod arp;
pub mod bindings;
mod engine;
mod events;
mod keys;
pub mod learned;
mod lfo;
pub mod lfo_cc;
pub mod melody;
pub mod midi_clock;
mod network_bytes;
pub mod params;
mod patch;
pub mod performance;
pub mod render;
pub mod rhythm;
pub mod smf;
mod synth;
mod transport;
pub mod wav;

pub use arp::{Mode as ArpMode, Velocity as ArpVelocity};
#[cfg(feature = "spectral")]
pub use engine::network_radius;
pub use engine::{
    Built, Engine, Rebuild, Shape, Status, CONTROL_FRAMES, INPUT_CAPACITY, MIDI_CAPACITY,
    OUTPUT_CAPACITY,
};
pub use events::{ClockIn, FixedQueue, Input, InputEvent, MidiEvent, NoteEvent, Source};
pub use lfo::{Destination, Smoothing};
pub use melody::{Brain, Phase as MelodyPhase};
#[cfg(feature = "spectral")]
pub use network_bytes::build_network_bytes;
pub use network_bytes::{network_from_bytes, Which};
pub use params::{ParamId, ParamSpec, ParamValues, MELODY_FILE_MODEL, PARAMS};
pub use patch::{format_value, Parsed, Patch, PatchError, MAX_PATCH_BYTES, VERSION_TAG};
pub use synth::{Modulation, SynthSettings, CEILING, MAX_VOICES};
pub use transport::{Clock, FreeClock, Transport};
