//! A built network as bytes, so one thread can build it and another (the audio thread) only
//! copy it in: the weights exactly as generated, little-endian, validated on the way back.
//!
//! Layout (u32 and f32 little-endian): N, D, K, F, layout (0 dense, 1 sparse), the diagonal
//! count, the diagonal offsets, W's stored values, Win (D×N, column-major), Wfb (F×N), bias (N),
//! Wout (K×N). Knobs and state are not part of it: the receiver sets the knobs, the state starts
//! at rest.

use crate::esn::{Esn, MAX_NEURONS};
use crate::matrix::{Layout, Recurrent};

/// The most inputs, readouts or fed-back values a network on the wire may have: far above what
/// the instrument uses (1 input, 32 readouts), low enough that a corrupt count cannot ask for a
/// huge allocation.
const MAX_PORTS: usize = 256;

impl Esn {
    /// Appends the network's weights to `out` (see the module documentation).
    pub fn write_bytes(&self, out: &mut Vec<u8>) {
        let w = &self.w;
        let layout = match w.layout() {
            Layout::Dense => 0,
            Layout::Sparse => 1,
        };
        let counts = [
            self.n,
            self.inputs,
            self.outputs,
            self.feedback,
            layout,
            w.offsets.len(),
        ];
        out.reserve(4 * (counts.len() + w.offsets.len() + w.values.len() + self.n * 8));
        for v in counts.iter().chain(&w.offsets) {
            out.extend_from_slice(&(*v as u32).to_le_bytes());
        }
        for part in [&w.values, &self.win, &self.wfb, &self.bias, &self.wout] {
            for v in part.iter() {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }

    /// Reads a network written by [`Esn::write_bytes`] from the start of `bytes`; returns it and
    /// the bytes it used. Every count, offset and weight is checked: the error names what is
    /// wrong, and nothing is allocated before the sizes are known to fit in `bytes`.
    pub fn read_bytes(bytes: &[u8]) -> Result<(Esn, usize), String> {
        let mut r = Reader { bytes, at: 0 };
        let n = r.count("neurons", 1, MAX_NEURONS)?;
        let inputs = r.count("inputs", 0, MAX_PORTS)?;
        let outputs = r.count("outputs", 0, MAX_PORTS)?;
        let feedback = r.count("feedback", 0, MAX_PORTS)?;
        let layout = match r.count("layout", 0, 1)? {
            0 => Layout::Dense,
            _ => Layout::Sparse,
        };
        let diagonals = r.count("diagonal count", 0, n)?;
        let stored = match layout {
            Layout::Dense => n * n,
            Layout::Sparse => diagonals * n,
        };
        let floats = stored + (inputs + feedback + 1 + outputs) * n;
        r.need(4 * (diagonals + floats))?;
        let mut offsets = Vec::with_capacity(diagonals);
        for _ in 0..diagonals {
            offsets.push(r.count("diagonal offset", 0, n - 1)?);
        }
        if layout == Layout::Dense && diagonals != 0 {
            return Err("a dense W has no diagonal offsets".into());
        }
        if layout == Layout::Sparse && (diagonals == 0 || offsets.windows(2).any(|w| w[0] >= w[1]))
        {
            return Err("a sparse W needs distinct diagonal offsets in increasing order".into());
        }
        let values = r.floats("W", stored)?;
        let w = match layout {
            Layout::Dense => Recurrent::dense(n, values),
            Layout::Sparse => Recurrent::sparse(n, offsets, values),
        };
        let win = r.floats("Win", inputs * n)?;
        let wfb = r.floats("Wfb", feedback * n)?;
        let bias = r.floats("bias", n)?;
        let wout = r.floats("Wout", outputs * n)?;
        let esn = Esn::assemble(w, inputs, outputs, feedback, win, wfb, bias, wout);
        Ok((esn, r.at))
    }
}

/// A cursor over little-endian words that says what it was reading when it fails.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn need(&self, len: usize) -> Result<(), String> {
        if self.bytes.len() - self.at < len {
            return Err(format!(
                "network bytes end at {} where {} more were expected",
                self.bytes.len(),
                len
            ));
        }
        Ok(())
    }

    fn word(&mut self) -> Result<[u8; 4], String> {
        self.need(4)?;
        let word = [
            self.bytes[self.at],
            self.bytes[self.at + 1],
            self.bytes[self.at + 2],
            self.bytes[self.at + 3],
        ];
        self.at += 4;
        Ok(word)
    }

    fn count(&mut self, what: &str, min: usize, max: usize) -> Result<usize, String> {
        let at = self.at;
        let v = u32::from_le_bytes(self.word()?) as usize;
        if v < min || v > max {
            return Err(format!("{what} at byte {at} is {v}, not in {min}..={max}"));
        }
        Ok(v)
    }

    /// `len` little-endian floats, all finite. One bulk conversion and one branch-free check:
    /// at a million weights this is the audio thread's whole share of a network swap, so it
    /// must stay a plain pass over memory (a word-by-word read with a check each took 15–30 ms
    /// in the worklet).
    fn floats(&mut self, what: &str, len: usize) -> Result<Vec<f32>, String> {
        self.need(4 * len)?;
        let bytes = &self.bytes[self.at..self.at + 4 * len];
        let out: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let all_finite = out.iter().fold(true, |ok, v| ok & v.is_finite());
        if !all_finite {
            let i = out.iter().position(|v| !v.is_finite()).unwrap_or(0);
            return Err(format!("{what}[{i}] is not a finite number"));
        }
        self.at += 4 * len;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::esn::{Feedback, ReservoirConfig};

    fn network() -> Esn {
        Esn::generate(&ReservoirConfig::pulsed(40, 0.2, 3, 4))
    }

    fn bits(e: &mut Esn) -> Vec<u32> {
        (0..50)
            .flat_map(|i| e.step(&[(i % 3) as f32], Feedback::None).to_vec())
            .map(f32::to_bits)
            .collect()
    }

    #[test]
    fn a_network_read_back_steps_bit_for_bit_as_the_original() {
        for layout in [Layout::Sparse, Layout::Dense] {
            let mut a = Esn::generate_with_layout(&ReservoirConfig::pulsed(40, 0.2, 3, 4), layout);
            let mut bytes = Vec::new();
            a.write_bytes(&mut bytes);
            let (mut b, used) = Esn::read_bytes(&bytes).expect("reads back");
            assert_eq!(used, bytes.len());
            assert_eq!(b.layout(), layout);
            assert_eq!(bits(&mut a), bits(&mut b));
        }
    }

    #[test]
    fn every_truncation_and_bad_value_is_refused_with_a_reason() {
        let mut bytes = Vec::new();
        network().write_bytes(&mut bytes);
        for len in 0..bytes.len() {
            let err = Esn::read_bytes(&bytes[..len]).err();
            assert!(err.is_some(), "{len} of {} bytes accepted", bytes.len());
        }
        let mut nan = bytes.clone();
        let last = nan.len() - 4;
        nan[last..].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Esn::read_bytes(&nan).unwrap_err().contains("Wout"));
        let mut huge = bytes.clone();
        huge[..4].copy_from_slice(&5000u32.to_le_bytes());
        assert!(Esn::read_bytes(&huge).unwrap_err().contains("neurons"));
        let mut offset = bytes;
        offset[24..28].copy_from_slice(&40u32.to_le_bytes());
        assert!(Esn::read_bytes(&offset)
            .unwrap_err()
            .contains("diagonal offset"));
    }
}
