//! Echo state networks for music: the reservoir of ReMi (eqs. 1–3), its LFO (§3) and its arpeggiator (§4).
//!
//! Everything here is pure Rust with no web or audio dependency. Weights come from an explicit seed
//! through a portable generator, transcendental functions come from `libm` (or from the rational
//! [`fast_tanh`]), so the same configuration gives the same numbers natively and in wasm, bit for bit.
//!
//! Construction ([`Esn::generate`], [`ReservoirLfo::new`], [`ReservoirArp::new`]) allocates and may
//! take milliseconds (the spectral radius is computed once); stepping never allocates.
//!
//! The `spectral` feature (on by default) computes W's spectral radius from its eigenvalues. A
//! build without it (the page's wasm module) builds networks from radii computed elsewhere
//! ([`Esn::generate_with_radius`], [`ReservoirLfo::with_radius`], [`ReservoirArp::with_radius`]);
//! where it gets none, see [`Esn::generate_with_radius`].

mod arp;
mod esn;
mod fast_tanh;
mod lfo;
mod matrix;
mod rng;
mod spectral;
mod wire;

pub use arp::{softmax_into, ReservoirArp, MAX_ARP_NOTES};
pub use esn::{Esn, EsnKnobs, EsnMatrices, Feedback, ReservoirConfig, MAX_NEURONS};
pub use fast_tanh::{coefficients as fast_tanh_coefficients, fast_tanh, fast_tanh_slice};
pub use lfo::{sigmoid, ReservoirLfo, MAX_LFO_OUTPUTS};
pub use matrix::{dot, Layout, Recurrent};
pub use rng::SeededRng;
#[cfg(feature = "spectral")]
pub use spectral::spectral_radius;
