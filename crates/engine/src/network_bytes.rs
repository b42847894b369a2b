//! A network built off the audio thread, as bytes for the trip to it: a Worker builds the
//! LFO's or the arpeggiator's reservoir (the O(N³) radius and the O(N·K) draws), the audio thread
//! only reads the weights back (a copy) and swaps the network in at a block boundary.
//!
//! Layout (little-endian u32 words): `TPNW`, version 1, which (0 LFO, 1 arpeggiator), neurons,
//! connectivity (f32 bits), seed low and high words, then the network (`Esn::write_bytes`).

use crate::engine::{Built, Shape};
use tidepool_reservoir::{Esn, ReservoirArp, ReservoirLfo};

const MAGIC: &[u8; 4] = b"TPNW";
const VERSION: u32 = 1;
const HEADER: usize = 28;

/// Which of the engine's two networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Lfo,
    Arp,
}

/// Builds the network `which` of `shape` (with W's radius if known, NaN to compute it here) and
/// writes it as bytes. Allocates and takes up to about a second: for a worker. Needs the
/// `spectral` feature (the worker runs the tools module, which has it).
#[cfg(feature = "spectral")]
pub fn build_network_bytes(which: Which, shape: Shape, radius: f64) -> Vec<u8> {
    let (n, c, seed) = shape;
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    let code = match which {
        Which::Lfo => 0,
        Which::Arp => 1,
    };
    for word in [
        VERSION,
        code,
        n as u32,
        c.to_bits(),
        seed as u32,
        (seed >> 32) as u32,
    ] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    match which {
        Which::Lfo => ReservoirLfo::with_radius(n, c, seed, radius)
            .esn()
            .write_bytes(&mut out),
        Which::Arp => ReservoirArp::with_radius(n, c, seed, radius)
            .esn()
            .write_bytes(&mut out),
    }
    out
}

/// Reads bytes from [`build_network_bytes`] into a [`Built`] holding that one network, ready for
/// [`crate::Engine::install`]. Everything is checked (header, sizes, every weight finite, the
/// network's shape against the header's): the error says what is wrong.
pub fn network_from_bytes(bytes: &[u8]) -> Result<Built, String> {
    if bytes.len() < HEADER || &bytes[..4] != MAGIC {
        return Err("not a tidepool network (no TPNW header)".into());
    }
    let word = |i: usize| {
        let at = 4 + 4 * i;
        u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    };
    if word(0) != VERSION {
        return Err(format!(
            "network format version {} (expected {VERSION})",
            word(0)
        ));
    }
    let shape: Shape = (
        word(2) as usize,
        f32::from_bits(word(3)),
        word(4) as u64 | (word(5) as u64) << 32,
    );
    let (esn, used) = Esn::read_bytes(&bytes[HEADER..])?;
    if HEADER + used != bytes.len() {
        return Err(format!(
            "{} bytes after the network",
            bytes.len() - HEADER - used
        ));
    }
    if esn.neurons() != shape.0 {
        return Err(format!(
            "the header says {} neurons, the network has {}",
            shape.0,
            esn.neurons()
        ));
    }
    let mut built = Built::default();
    match word(1) {
        0 => {
            let lfo = ReservoirLfo::from_esn(esn).ok_or("not an LFO network's shape")?;
            built.lfo = Some((shape, lfo));
        }
        1 => {
            let arp = ReservoirArp::from_esn(esn, shape.2).ok_or("not an arpeggiator's shape")?;
            built.arp = Some((shape, arp));
        }
        other => return Err(format!("unknown network kind {other}")),
    }
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Rebuild;

    #[test]
    fn bytes_read_back_into_the_network_the_engine_would_build() {
        let shape = (60, 0.2, 7);
        let built = Rebuild {
            lfo: Some(shape),
            arp: Some(shape),
        }
        .build();
        for which in [Which::Lfo, Which::Arp] {
            let read = network_from_bytes(&build_network_bytes(which, shape, f64::NAN)).unwrap();
            let (mut direct, mut wire) = match which {
                Which::Lfo => (
                    built.lfo.as_ref().unwrap().1.esn().clone(),
                    read.lfo.unwrap().1.esn().clone(),
                ),
                Which::Arp => (
                    built.arp.as_ref().unwrap().1.esn().clone(),
                    read.arp.unwrap().1.esn().clone(),
                ),
            };
            for i in 0..40 {
                let x = [(i % 5) as f32];
                let a = direct.step(&x, tidepool_reservoir::Feedback::None).to_vec();
                let b = wire.step(&x, tidepool_reservoir::Feedback::None).to_vec();
                assert_eq!(
                    a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                    b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
                );
            }
        }
    }

    #[test]
    fn wrong_bytes_are_refused_with_a_reason() {
        let good = build_network_bytes(Which::Arp, (20, 0.3, 1), f64::NAN);
        assert!(network_from_bytes(&good).is_ok());
        assert!(network_from_bytes(b"nope").unwrap_err().contains("TPNW"));
        let mut version = good.clone();
        version[4] = 9;
        assert!(network_from_bytes(&version)
            .unwrap_err()
            .contains("version"));
        let mut neurons = good.clone();
        neurons[12] = 21;
        assert!(network_from_bytes(&neurons)
            .unwrap_err()
            .contains("neurons"));
        let mut longer = good.clone();
        longer.push(0);
        assert!(network_from_bytes(&longer).unwrap_err().contains("after"));
        for len in 0..good.len() {
            assert!(network_from_bytes(&good[..len]).is_err(), "{len} bytes");
        }
    }
}
